//! `tuflog update` and `tuflog download`.

use crate::settings::*;
use anyhow::{bail, Context};
use client::publish::Workspace;
use client::Client;
use std::path::Path;

/// The root to start from: the file `--root` names, else none, and then, when
/// nothing is trusted for `repo` yet, an announcement on stderr that version 1 as
/// logged will be trusted on first use.
fn bootstrap_root(
    client: &Client,
    repo: &str,
    root: Option<&Path>,
) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(p) = root {
        return Ok(Some(
            std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        ));
    }
    if !client.metadata_dir(repo)?.join("root.json").exists() {
        eprintln!(
            "tuflog: nothing is trusted for {repo} yet: trusting its root version 1 as the log holds it (trust on first use); give --root to start from a root obtained another way"
        );
    }
    Ok(None)
}

pub fn update(args: &ClientArgs, repo: &str, root: Option<&Path>) -> anyhow::Result<()> {
    let client = client(args)?;
    let root = bootstrap_root(&client, repo, root)?;
    let runtime = runtime()?;
    let report = runtime.block_on(client.update(repo, root))?;
    match args.output {
        Output::Json => print_json(&report)?,
        Output::Human => {
            let versions: Vec<String> = report
                .versions
                .iter()
                .map(|(r, v)| format!("{r} v{v}"))
                .collect();
            say(format!("{repo}: {}", versions.join(", ")));
            if let Some(c) = &report.checkpoint {
                say(format!(
                    "every file proven in {} at size {}",
                    c.origin, c.size
                ));
            }
            for m in &report.monitors {
                say(format!("monitor {}: {}", m.monitor, m.verdict));
            }
        }
    }
    Ok(())
}

/// A progress bar on stderr; indicatif hides it when stderr is not a terminal.
struct Bar(indicatif::ProgressBar);

impl client::Progress for Bar {
    fn start(&self, what: &str, total: Option<u64>) {
        if let Some(t) = total {
            self.0.set_length(t);
        }
        self.0
            .set_message(what.rsplit('/').next().unwrap_or(what).to_string());
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn progress_bar() -> std::sync::Arc<Bar> {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
    ) {
        bar.set_style(style);
    }
    std::sync::Arc::new(Bar(bar))
}

pub fn download(
    args: &ClientArgs,
    repo: &str,
    target: &str,
    out: &Path,
    targets_url: Option<String>,
    root: Option<&Path>,
) -> anyhow::Result<()> {
    let client = client(args)?;
    let root = bootstrap_root(&client, repo, root)?;
    let targets_url = match targets_url {
        Some(u) => u,
        None => {
            let home = home(args)?;
            let dir = Workspace::open(&home, &client.config().server, repo)?.targets_dir();
            if !dir.exists() {
                bail!("no --targets-url, and no local publishing workspace for {repo}");
            }
            format!("file://{}", dir.canonicalize()?.display())
        }
    };
    let client = client.with_progress(progress_bar());
    let runtime = runtime()?;
    let report = runtime.block_on(client.download(repo, target, &targets_url, out, root))?;
    match args.output {
        Output::Json => print_json(&report)?,
        Output::Human => say(format!(
            "{} ({} bytes, sha256 {}) verified and written to {}",
            report.target,
            report.length,
            report.sha256.as_deref().unwrap_or("-"),
            report.written_to.display()
        )),
    }
    Ok(())
}
