//! `tuflog log`: inspect the log by hand.

use crate::settings::*;
use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};

/// What `log prove` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProofFormat {
    /// A report of what was proven (`--output json` for the bundle).
    Report,
    /// The C2SP tlog-proof text.
    TlogProof,
}

#[derive(Subcommand)]
pub enum LogCommand {
    /// Fetch the log's checkpoint, verify it against the pinned key and the last
    /// trusted checkpoint (consistency proof), and trust it.
    Checkpoint,
    /// Prove that a metadata version is in the log: fetch it and its proof bundle,
    /// check both. `--output json` prints the bundle for `log verify` later;
    /// `--format tlog-proof` prints the version's C2SP tlog-proof instead, once it
    /// verifies (save it as FILE.tlog-proof beside the file).
    Prove {
        /// Repository.
        repo: String,
        /// Role, e.g. targets.
        role: String,
        /// Version.
        version: u64,
        /// What to print: a report (with `--output`), or the tlog-proof text.
        #[arg(long, value_enum, default_value_t = ProofFormat::Report)]
        format: ProofFormat,
    },
    /// Check a monitor's split-view evidence file offline: both checkpoints signed
    /// by the log key, and not both true. Exits 0 only if the file proves a fork.
    VerifyEvidence {
        /// The evidence file (JSON, as a monitor writes it).
        file: PathBuf,
    },
    /// Check offline that a metadata file is in the log, against the pinned log
    /// key and the witness policy only: from a C2SP tlog-proof (`log verify
    /// FILE.tlog-proof --metadata FILE`), or from a saved proof bundle (`--bundle`,
    /// the `bundle` of `log prove --output json`, with --repo, --role, --version).
    /// Exits 0 when the file is proven, 1 when it is not (the message says why),
    /// 2 on bad usage.
    Verify {
        /// The tlog-proof file.
        #[arg(conflicts_with_all = ["bundle", "repo", "role", "version"], required_unless_present = "bundle")]
        proof: Option<PathBuf>,
        /// The proof bundle JSON.
        #[arg(long, requires_all = ["repo", "role", "version"])]
        bundle: Option<PathBuf>,
        /// The metadata file's exact bytes.
        #[arg(long)]
        metadata: PathBuf,
        /// Repository (with --bundle).
        #[arg(long)]
        repo: Option<String>,
        /// Role (with --bundle).
        #[arg(long)]
        role: Option<String>,
        /// Version (with --bundle).
        #[arg(long)]
        version: Option<u64>,
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
            format: ProofFormat::TlogProof,
        } => {
            let proof = runtime()?.block_on(client.tlog_proof(&repo, &role, version))?;
            use std::io::Write;
            std::io::stdout()
                .write_all(&proof.text)
                .context("writing the proof")?;
        }
        LogCommand::Prove {
            repo,
            role,
            version,
            format: ProofFormat::Report,
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
            proof: Some(proof),
            metadata,
            ..
        } => {
            let text = read_limited(&proof, tlog::tlog_proof::MAX_PROOF_BYTES as u64)?;
            let bytes = std::fs::read(&metadata)
                .with_context(|| format!("reading {}", metadata.display()))?;
            let proven = client::offline::verify_tlog_proof(
                text.as_bytes(),
                &bytes,
                &client.config().log_key,
                client.config().witnesses.as_ref(),
                client::unix_now(),
            )
            .with_context(|| {
                format!("{} does not prove {}", proof.display(), metadata.display())
            })?;
            match args.output {
                Output::Json => print_json(&serde_json::json!({
                    "verified": true,
                    "repo": proven.repo,
                    "role": proven.role,
                    "version": proven.version,
                    "index": proven.index,
                    "size": proven.size,
                    "cosigners": proven.cosigners,
                }))?,
                Output::Human => say(format!(
                    "verified: {} is {} {} v{}, entry {} of the log at size {}",
                    metadata.display(),
                    proven.repo,
                    proven.role,
                    proven.version,
                    proven.index,
                    proven.size
                )),
            }
        }
        LogCommand::Verify {
            proof: None,
            bundle: Some(bundle),
            metadata,
            repo: Some(repo),
            role: Some(role),
            version: Some(version),
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
        LogCommand::Verify { .. } => {
            anyhow::bail!(
                "log verify: give a tlog-proof file, or --bundle with --repo, --role and --version"
            )
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
