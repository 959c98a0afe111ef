//! `tuflog-conformance`: the client-under-test CLI of the TUF conformance suite
//! (theupdateframework/tuf-conformance, CLIENT-CLI.md), for plain TUF repositories
//! without a log. The same workflow code as `tuflog update`, minus the log proofs.
//!
//! ```text
//! tuflog-conformance --metadata-dir D init ROOT_FILE
//! tuflog-conformance --metadata-dir D --metadata-url U refresh
//! tuflog-conformance --metadata-dir D --metadata-url U --target-name P [--target-name P2 …]
//!     --target-base-url TU --target-dir T download
//! ```
//!
//! Exit 0 on success, 1 on any failure. Trusted metadata is kept in D under
//! unversioned names, as the exact bytes received, each file as soon as it is
//! trusted (as python-tuf does: a root rotation stays trusted when a later step
//! fails). Time is the system clock (`clock_gettime` through libc), so the suite's
//! faketime moves it.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use client::{Http, Session};
use std::path::{Path, PathBuf};
use tuf::updater::Limits;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tuflog-conformance",
    about = "TUF conformance suite client (no log proofs)"
)]
struct Cli {
    /// Where trusted metadata lives.
    #[arg(long)]
    metadata_dir: PathBuf,
    /// The repository's metadata URL.
    #[arg(long)]
    metadata_url: Option<String>,
    /// Target paths to download.
    #[arg(long)]
    target_name: Vec<String>,
    /// The repository's targets URL.
    #[arg(long)]
    target_base_url: Option<String>,
    /// Where downloaded targets go.
    #[arg(long)]
    target_dir: Option<PathBuf>,
    /// Pretend it is this many days later.
    #[arg(long, default_value_t = 0)]
    days_in_future: i64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Trust ROOT_FILE as the initial root (no network).
    Init {
        /// The initial root.json.
        trusted_root: PathBuf,
    },
    /// Update top-level metadata.
    Refresh,
    /// Update, then download and verify each --target-name.
    Download,
}

fn main() {
    let code = match Cli::try_parse() {
        Ok(cli) => match run(cli) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("tuflog-conformance: {e:#}");
                1
            }
        },
        Err(e) => {
            let _ = e.print();
            1
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Init { trusted_root } => {
            let bytes = std::fs::read(trusted_root)
                .with_context(|| format!("reading {}", trusted_root.display()))?;
            edge::durable::write_atomic(&cli.metadata_dir.join("root.json"), &bytes)?;
            Ok(())
        }
        Command::Refresh => {
            let rt = runtime()?;
            rt.block_on(async {
                let mut session = session(&cli).await?;
                session.refresh().await?;
                Ok(())
            })
        }
        Command::Download => {
            let base = cli
                .target_base_url
                .as_deref()
                .context("download needs --target-base-url")?;
            let dir = cli
                .target_dir
                .as_deref()
                .context("download needs --target-dir")?;
            if cli.target_name.is_empty() {
                anyhow::bail!("download needs --target-name");
            }
            let rt = runtime()?;
            rt.block_on(async {
                let mut session = session(&cli).await?;
                session.refresh().await?;
                for name in &cli.target_name {
                    download(&mut session, base, dir, name).await?;
                }
                Ok(())
            })
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

async fn session(cli: &Cli) -> anyhow::Result<Session> {
    let url = cli
        .metadata_url
        .as_deref()
        .context("this command needs --metadata-url")?;
    let now = chrono::Utc::now() + chrono::Duration::days(cli.days_in_future);
    let mut session = Session::open(
        Http::new(),
        url,
        &cli.metadata_dir,
        None,
        None,
        now,
        Limits::default(),
    )
    .await?;
    session.persist_each_file(true);
    Ok(session)
}

/// Downloads `name` unless a file with its length and hashes is already there.
async fn download(session: &mut Session, base: &str, dir: &Path, name: &str) -> anyhow::Result<()> {
    let (path, info) = session.find(name).await?;
    let local = dir.join(tuf::updater::local_file_name(&path)?);
    if let Ok(existing) = std::fs::read(&local) {
        if tuf::updater::verify_target(&path, &info, &existing).is_ok() {
            return Ok(());
        }
    }
    let bytes = session.fetch_target(base, &path, &info).await?;
    edge::durable::write_atomic(&local, &bytes)?;
    Ok(())
}
