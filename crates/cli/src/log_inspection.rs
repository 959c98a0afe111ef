//! `tuflog log`: inspect the log by hand.

use crate::settings::*;
use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum LogCommand {
    /// Fetch the log's checkpoint, verify it against the pinned key and the last
    /// trusted checkpoint (consistency proof), and trust it.
    Checkpoint,
    /// Prove that a metadata version is in the log: fetch it and its proof bundle,
    /// check both. `--output json` prints the bundle for `log verify` later.
    Prove {
        /// Repository.
        repo: String,
        /// Role, e.g. targets.
        role: String,
        /// Version.
        version: u64,
    },
    /// Check a monitor's split-view evidence file offline: both checkpoints signed
    /// by the log key, and not both true. Exits 0 only if the file proves a fork.
    VerifyEvidence {
        /// The evidence file (JSON, as a monitor writes it).
        file: PathBuf,
    },
    /// Check offline that a metadata file is in the log, from a saved proof bundle
    /// (the `bundle` of `log prove --output json`, or the server's bundle JSON),
    /// against the pinned log key and the witness policy only.
    Verify {
        /// The proof bundle JSON.
        #[arg(long)]
        bundle: PathBuf,
        /// The metadata file's exact bytes.
        #[arg(long)]
        metadata: PathBuf,
        /// Repository.
        #[arg(long)]
        repo: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// Version.
        #[arg(long)]
        version: u64,
    },
}

pub fn log(args: &ClientArgs, command: LogCommand) -> anyhow::Result<()> {
    if let LogCommand::VerifyEvidence { file } = &command {
        return verify_evidence(args, file);
    }
    let client = client(args)?;
    match command {
        LogCommand::VerifyEvidence { file } => verify_evidence(args, &file)?,
        LogCommand::Checkpoint => {
            let c = runtime()?.block_on(client.checkpoint())?;
            match args.output {
                Output::Json => print_json(&c)?,
                Output::Human => say(format!("{}\n{}\n{}", c.origin, c.size, c.root)),
            }
        }
        LogCommand::Prove {
            repo,
            role,
            version,
        } => {
            let r = runtime()?.block_on(client.prove(&repo, &role, version))?;
            match args.output {
                Output::Json => print_json(&r)?,
                Output::Human => say(format!(
                    "{repo} {role} v{version} (sha256 {}) is entry {} of {} at size {}",
                    r.sha256, r.index, r.checkpoint.origin, r.checkpoint.size
                )),
            }
        }
        LogCommand::Verify {
            bundle,
            metadata,
            repo,
            role,
            version,
        } => {
            let text = read_limited(&bundle, client::update::MAX_BUNDLE_BYTES)?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", bundle.display()))?;
            // Either a bare bundle or `log prove --output json` around one.
            let inner = value.get("bundle").cloned().unwrap_or(value);
            let parsed: wire::ProofBundle = serde_json::from_value(inner)
                .with_context(|| format!("{} is not a proof bundle", bundle.display()))?;
            let bytes = std::fs::read(&metadata)
                .with_context(|| format!("reading {}", metadata.display()))?;
            let trust = client::LogTrust::new(
                client.config().log_key.clone(),
                client.config().witnesses.clone(),
            );
            let file = metadata.display().to_string();
            let opened = trust.check_bundle(&parsed, &repo, &role, version, &bytes, &file)?;
            let checkpoint = opened.checkpoint();
            match args.output {
                Output::Json => print_json(&serde_json::json!({
                    "verified": true,
                    "index": parsed.index,
                    "origin": checkpoint.origin(),
                    "size": checkpoint.size(),
                    "root": checkpoint.root().to_base64(),
                }))?,
                Output::Human => say(format!(
                    "verified: {file} is entry {} of {} at size {}",
                    parsed.index,
                    checkpoint.origin(),
                    checkpoint.size()
                )),
            }
        }
    }
    Ok(())
}

/// `tuflog log verify-evidence`: needs no server, and the pinned log key only if
/// one is configured (the file names its key; a pinned one must match it).
fn verify_evidence(args: &ClientArgs, file: &Path) -> anyhow::Result<()> {
    // No home or no client.toml is no pinned key, not an error: the file names its key.
    let settings = home(args)
        .ok()
        .and_then(|h| client_file(&h).ok())
        .unwrap_or_default();
    let pinned = pinned_log_key(args, &settings)?;
    // One byte over the limit, so that Evidence::parse refuses an oversized file.
    let text = read_limited(file, wire::evidence::MAX_EVIDENCE_BYTES as u64 + 1)?;
    let evidence = wire::evidence::Evidence::parse(text.as_bytes())?;
    let verdict = evidence
        .verify(pinned.as_ref())
        .with_context(|| format!("{} proves no split view", file.display()))?;
    match args.output {
        Output::Json => print_json(&serde_json::json!({
            "proven": true,
            "origin": verdict.origin,
            "log_key": evidence.log_key,
            "smaller_size": verdict.smaller_size,
            "larger_size": verdict.larger_size,
            "reason": verdict.reason,
        }))?,
        Output::Human => {
            say(format!(
                "split view proven: {} signed two checkpoints (sizes {} and {}) that cannot both be true",
                verdict.origin, verdict.smaller_size, verdict.larger_size
            ));
            say(format!("  {}", verdict.reason));
            if pinned.is_none() {
                say(format!(
                    "  signed by {} (no log key pinned here to compare it with)",
                    evidence.log_key
                ));
            }
        }
    }
    Ok(())
}
