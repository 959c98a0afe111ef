//! `tuflog repo`: create repositories, stage targets, sign and push.

use crate::settings::*;
use anyhow::{bail, Context};
use clap::Subcommand;
use client::publish::Workspace;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum RepoCommand {
    /// Create a repository: fetch the server's online keys, write and sign root and
    /// targets, push them.
    Init {
        /// Repository name, e.g. example.com/app.
        repo: String,
        /// Key ID(s) for the root role.
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<String>,
        /// Key ID(s) for the targets role.
        #[arg(long = "targets-key", required = true)]
        targets_keys: Vec<String>,
        /// Root signatures required.
        #[arg(long, default_value_t = 1)]
        root_threshold: u64,
        /// Targets signatures required.
        #[arg(long, default_value_t = 1)]
        targets_threshold: u64,
        #[command(flatten)]
        secret: PassphraseArgs,
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Stage target files (copied into the workspace's targets directory).
    Add {
        /// Repository.
        repo: String,
        /// Files to add.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Target path (only with one file) [default: the file name].
        #[arg(long)]
        path: Option<String>,
        /// Custom metadata for the target(s), as JSON.
        #[arg(long)]
        custom: Option<String>,
    },
    /// Stage the removal of a target.
    Remove {
        /// Repository.
        repo: String,
        /// Target path.
        path: String,
    },
    /// Sign and push every staged change as one atomic push.
    Publish {
        /// Repository.
        repo: String,
        /// Once the push is acknowledged, write each metadata file it logged into
        /// this directory with its C2SP tlog-proof beside it
        /// (`N.ROLE.json`, `N.ROLE.json.tlog-proof`), each verified first.
        #[arg(long, value_name = "DIR")]
        proofs: Option<PathBuf>,
        #[command(flatten)]
        secret: PassphraseArgs,
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Stage a delegation of target paths to a role.
    Delegate {
        /// Repository.
        repo: String,
        /// The delegated role's name.
        role: String,
        /// Key ID(s) of the role, from this keystore.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// Path patterns the role is trusted for (e.g. 'docs/*').
        #[arg(long = "paths", required = true, num_args = 1..)]
        paths: Vec<String>,
        /// Signatures the role needs.
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        /// A target search stops at this role.
        #[arg(long)]
        terminating: bool,
    },
    /// Stage the removal of a delegation.
    Undelegate {
        /// Repository.
        repo: String,
        /// The delegated role's name.
        role: String,
    },
    /// Replace the keys of the root or targets role and push the new root (signed
    /// by the old root keys, and the new ones for root) at once; or, for `online`,
    /// move the server's snapshot and timestamp keys to their next generation, in a
    /// new root signed by the root keys.
    Rotate {
        /// Repository.
        repo: String,
        /// `root`, `targets` or `online`.
        role: String,
        /// The new key ID(s), from this keystore (root and targets).
        #[arg(long = "key")]
        keys: Vec<String>,
        /// Signatures the role needs after the rotation.
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        #[command(flatten)]
        secret: PassphraseArgs,
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Published versions and staged changes.
    Status {
        /// Repository.
        repo: String,
    },
    /// Repositories with a publishing workspace here, or one repository's targets.
    List {
        /// Repository whose targets (published and staged) to list.
        repo: Option<String>,
    },
}

pub fn repo(args: &ClientArgs, command: RepoCommand) -> anyhow::Result<()> {
    let home = home(args)?;
    let file = client_file(&home)?;
    let server = server(args, &file);
    let http = http(args, &file)?;
    let workspace = |repo: &str| -> anyhow::Result<Workspace> {
        Ok(Workspace::open(&home, &server, repo)?.with_http(http.clone()))
    };
    let ks = keystore(args)?;
    let rt = runtime()?;
    match command {
        RepoCommand::Init {
            repo,
            root_keys,
            targets_keys,
            root_threshold,
            targets_threshold,
            secret,
            token: token_args,
        } => {
            let vkey = log_key(args, &file)?;
            let ws = workspace(&repo)?;
            let pass = passphrase(&secret, false)?;
            let mut loaded = Vec::new();
            for (role, ids) in [("root", &root_keys), ("targets", &targets_keys)] {
                for id in ids {
                    loaded.push((role, ks.load(id, &pass)?));
                }
            }
            let keys: Vec<(&str, &tuf::keys::PrivateKey)> =
                loaded.iter().map(|(r, k)| (*r, k)).collect();
            let token = token(&token_args)?;
            let receipt =
                rt.block_on(ws.init(&keys, root_threshold, targets_threshold, &token, &vkey))?;
            match args.output {
                Output::Json => print_json(&receipt)?,
                Output::Human => {
                    say(format!("created {repo}: root v1 and targets v1 logged"));
                    for e in &receipt.entries {
                        say(format!(
                            "  {} v{} at log index {}",
                            e.role, e.version, e.index
                        ));
                    }
                    say(format!(
                        "  targets directory {}",
                        ws.targets_dir().display()
                    ));
                }
            }
        }
        RepoCommand::Add {
            repo,
            files,
            path,
            custom,
        } => {
            if path.is_some() && files.len() > 1 {
                bail!("--path names one target; give one file with it");
            }
            let custom = custom
                .map(|c| serde_json::from_str::<serde_json::Value>(&c))
                .transpose()
                .context("--custom is not JSON")?;
            let ws = workspace(&repo)?;
            for f in &files {
                let target = match &path {
                    Some(p) => p.clone(),
                    None => f
                        .file_name()
                        .and_then(|n| n.to_str())
                        .with_context(|| format!("{}: no usable file name", f.display()))?
                        .to_string(),
                };
                let described = ws.add(f, &target, custom.clone())?;
                match args.output {
                    Output::Json => {
                        print_json(&serde_json::json!({"path": target, "target": described}))?
                    }
                    Output::Human => say(format!("staged {target} ({} bytes)", described.length)),
                }
            }
        }
        RepoCommand::Remove { repo, path } => {
            workspace(&repo)?.remove(&path)?;
            if args.output == Output::Human {
                say(format!("staged removal of {path}"));
            }
        }
        RepoCommand::Publish {
            repo,
            proofs,
            secret,
            token: token_args,
        } => {
            let vkey = log_key(args, &file)?;
            let ws = workspace(&repo)?;
            let ids = ws.signing_keyids("targets", &ks)?;
            if ids.is_empty() {
                bail!("this keystore holds none of {repo}'s targets keys");
            }
            let pass = passphrase(&secret, false)?;
            let keys = ids
                .iter()
                .map(|id| ks.load(id, &pass))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&tuf::keys::PrivateKey> = keys.iter().collect();
            let token = token(&token_args)?;
            let receipt = rt.block_on(ws.publish(&refs, &token, &vkey))?;
            let written = match &proofs {
                Some(dir) => write_proofs(args, &rt, &receipt, dir).with_context(|| {
                    format!(
                        "{repo} is published (log size {}), but its proofs were not all \
                         written to {}; `tuflog log prove` fetches them",
                        receipt.size,
                        dir.display()
                    )
                })?,
                None => Vec::new(),
            };
            match args.output {
                Output::Json if proofs.is_some() => {
                    let mut value = serde_json::to_value(&receipt)?;
                    value["proofs"] = serde_json::json!(written);
                    print_json(&value)?
                }
                Output::Json => print_json(&receipt)?,
                Output::Human => {
                    say(format!("published {repo}, log size {}", receipt.size));
                    for e in &receipt.entries {
                        say(format!(
                            "  {} v{} at log index {}",
                            e.role, e.version, e.index
                        ));
                    }
                    for path in &written {
                        say(format!("  wrote {}", path.display()));
                    }
                }
            }
        }
        RepoCommand::Delegate {
            repo,
            role,
            keys,
            paths,
            threshold,
            terminating,
        } => {
            let public = keys
                .iter()
                .map(|id| ks.public(id).map(|k| k.public))
                .collect::<Result<Vec<_>, _>>()?;
            workspace(&repo)?.delegate(&role, public, threshold, paths, terminating)?;
            if args.output == Output::Human {
                say(format!("staged delegation to {role}"));
            }
        }
        RepoCommand::Undelegate { repo, role } => {
            workspace(&repo)?.undelegate(&role)?;
            if args.output == Output::Human {
                say(format!("staged removal of the delegation to {role}"));
            }
        }
        RepoCommand::Rotate {
            repo,
            role,
            keys,
            threshold,
            secret,
            token: token_args,
        } => {
            if role != "online" && keys.is_empty() {
                bail!("rotating the {role} keys needs the new key ID(s): --key ID");
            }
            if role == "online" && !keys.is_empty() {
                bail!("the server makes the online keys; `rotate {repo} online` takes no --key");
            }
            let vkey = log_key(args, &file)?;
            let ws = workspace(&repo)?;
            let old_ids = ws.signing_keyids("root", &ks)?;
            if old_ids.is_empty() {
                bail!("this keystore holds none of {repo}'s current root keys");
            }
            let pass = passphrase(&secret, false)?;
            let old = old_ids
                .iter()
                .map(|id| ks.load(id, &pass))
                .collect::<Result<Vec<_>, _>>()?;
            let token = token(&token_args)?;
            if role == "online" {
                let rotation =
                    rt.block_on(ws.rotate_online(&old.iter().collect::<Vec<_>>(), &token, &vkey))?;
                match args.output {
                    Output::Json => print_json(&serde_json::json!({
                        "generation": rotation.generation,
                        "receipt": rotation.receipt,
                    }))?,
                    Output::Human => {
                        say(format!(
                            "rotated the online keys of {repo} to generation {}",
                            rotation.generation
                        ));
                        for e in rotation.receipt.iter().flat_map(|r| &r.entries) {
                            say(format!(
                                "  {} v{} at log index {}",
                                e.role, e.version, e.index
                            ));
                        }
                    }
                }
                return Ok(());
            }
            let new = keys
                .iter()
                .map(|id| ks.load(id, &pass))
                .collect::<Result<Vec<_>, _>>()?;
            let receipt = rt.block_on(ws.rotate(
                &role,
                &new.iter().collect::<Vec<_>>(),
                threshold,
                &old.iter().collect::<Vec<_>>(),
                &token,
                &vkey,
            ))?;
            match args.output {
                Output::Json => print_json(&receipt)?,
                Output::Human => {
                    say(format!("rotated the {role} keys of {repo}"));
                    for e in &receipt.entries {
                        say(format!(
                            "  {} v{} at log index {}",
                            e.role, e.version, e.index
                        ));
                    }
                }
            }
        }
        RepoCommand::Status { repo } => {
            let status = workspace(&repo)?.status()?;
            match args.output {
                Output::Json => print_json(&status)?,
                Output::Human => {
                    say(format!(
                        "{}: root v{}, targets v{} ({} targets)",
                        status.repo, status.root_version, status.targets_version, status.targets
                    ));
                    if status.staged.is_empty() {
                        say("nothing staged");
                    }
                    for c in &status.staged {
                        match c {
                            client::publish::Change::AddTarget { path, file } => {
                                say(format!("  add {path} ({} bytes)", file.length));
                            }
                            client::publish::Change::RemoveTarget { path } => {
                                say(format!("  remove {path}"));
                            }
                            client::publish::Change::Delegate {
                                role,
                                paths,
                                threshold,
                                keys,
                                ..
                            } => say(format!(
                                "  delegate {} to {role} ({threshold} of {} keys)",
                                paths.join(" "),
                                keys.len()
                            )),
                            client::publish::Change::Undelegate { role } => {
                                say(format!("  undelegate {role}"));
                            }
                        }
                    }
                }
            }
        }
        RepoCommand::List { repo: None } => {
            let repos = Workspace::list(&home)?;
            match args.output {
                Output::Json => print_json(&repos)?,
                Output::Human => repos.iter().for_each(say),
            }
        }
        RepoCommand::List { repo: Some(repo) } => {
            let targets = workspace(&repo)?.targets()?;
            match args.output {
                Output::Json => print_json(&targets)?,
                Output::Human => {
                    for (path, t) in &targets {
                        let sha = t.hashes.get("sha256").map_or("", String::as_str);
                        say(format!("{path}  {} bytes  sha256:{sha}", t.length));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes every version `receipt` logged into `dir` as `N.ROLE.json` with its
/// tlog-proof beside it, each proven and verified offline by the client first (so
/// against the pinned log key, the witness policy and the client's trusted
/// checkpoint). Returns the proof files written.
fn write_proofs(
    args: &ClientArgs,
    rt: &tokio::runtime::Runtime,
    receipt: &wire::PushReceipt,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let client = client(args)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for e in &receipt.entries {
        let proof = rt.block_on(client.tlog_proof(&receipt.repo, &e.role, e.version))?;
        let name = format!(
            "{}.{}.json",
            e.version,
            tuf::updater::encode_role_name(&e.role)
        );
        let file = dir.join(&name);
        // A version's bytes never change: a different file under its name is kept
        // and reported, never replaced.
        match std::fs::read(&file) {
            Ok(existing) if existing != proof.metadata => bail!(
                "{} exists with other bytes than {} {} v{} as logged",
                file.display(),
                receipt.repo,
                e.role,
                e.version
            ),
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                edge::durable::write_atomic(&file, &proof.metadata)?
            }
            Err(err) => return Err(err).with_context(|| format!("reading {}", file.display())),
        }
        let proof_file = dir.join(format!("{name}.tlog-proof"));
        edge::durable::write_atomic(&proof_file, &proof.text)?;
        written.push(proof_file);
    }
    Ok(written)
}
