//! The tuflog client.
//!
//! - [`Client::update`] and [`Client::download`]: the TUF client workflow of
//!   `crates/tuf` over HTTP, where every metadata file counts only once a proof bundle
//!   shows it in the pinned log, consistent with every checkpoint this client saw
//!   before (and cosigned by enough witnesses when a policy is set).
//! - [`keystore`]: private keys encrypted at rest (Argon2id, XChaCha20-Poly1305).
//! - [`publish`]: staging and publishing repository changes.
//!
//! It does not host targets (any static file server does) or prompt for
//! passphrases (the CLI does); it asks the configured monitors about each
//! checkpoint before trusting it (`gossip`).
#![forbid(unsafe_code)]

mod error;
pub mod gossip;
pub mod keystore;
pub mod logtrust;
pub mod offline;
pub mod publish;
pub mod update;

pub use edge::http::{Http, Progress};

/// Seconds since the Unix epoch (0 on a clock before it), for cosignature ages.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
pub use error::{Error, Result};
pub use logtrust::{LogTrust, OpenedCheckpoint, ProofBundle, WitnessPolicy};
pub use update::{Session, UpdateReport};

use std::path::{Path, PathBuf};
use tlog::note::VerifierKey;
use tuf::updater::Limits;

/// What a client needs to know before its first update.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The tuflog server, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// The log's verifier key, pinned.
    pub log_key: VerifierKey,
    /// Witness cosignatures required on every checkpoint, if any.
    pub witnesses: Option<WitnessPolicy>,
    /// Where trusted state lives (`client/` below it).
    pub home: PathBuf,
    /// Size and count limits of the TUF workflow.
    pub limits: Limits,
}

/// A verifying client for one tuflog server.
#[derive(Clone)]
pub struct Client {
    config: ClientConfig,
    http: Http,
    progress: Option<std::sync::Arc<dyn edge::http::Progress>>,
    monitors: Vec<String>,
}

/// What a download fetched.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DownloadReport {
    /// The update that preceded it.
    pub update: UpdateReport,
    /// The target path.
    pub target: String,
    /// Its length.
    pub length: u64,
    /// Its SHA-256, hex, when listed.
    pub sha256: Option<String>,
    /// Where it was written.
    pub written_to: PathBuf,
}

/// A metadata version with its C2SP tlog-proof, verified ([`Client::tlog_proof`]).
#[derive(Clone, Debug)]
pub struct OfflineProof {
    /// The metadata file's exact bytes.
    pub metadata: Vec<u8>,
    /// The tlog-proof text, as served.
    pub text: Vec<u8>,
    /// What the proof showed.
    pub proven: offline::ProvenVersion,
}

/// What [`Client::prove`] checked, with the bundle so it can be kept and re-checked
/// offline (`tuflog log verify`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProveReport {
    /// Repository.
    pub repo: String,
    /// Role.
    pub role: String,
    /// Version.
    pub version: u64,
    /// Length of the metadata file.
    pub length: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its log index.
    pub index: u64,
    /// The checkpoint it was proven against.
    pub checkpoint: update::CheckpointSummary,
    /// The proof bundle as served.
    pub bundle: ProofBundle,
}

/// A repository name as one safe path component: percent-encoded, never `.`/`..`.
pub fn repo_component(repo: &str) -> Result<String> {
    if repo.is_empty()
        || repo
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(Error::Usage(format!(
            "{repo:?} is not a repository name (like example.com/app)"
        )));
    }
    Ok(tuf::updater::encode_role_name(repo))
}

impl Client {
    /// A client for `config`.
    pub fn new(config: ClientConfig) -> Self {
        Client {
            config,
            http: Http::new(),
            progress: None,
            monitors: Vec::new(),
        }
    }

    /// Talks to the server and monitors through `http` (e.g. [`Http::trusting`] a
    /// private CA) instead of the default client.
    pub fn with_http(mut self, http: Http) -> Self {
        self.http = http;
        self
    }

    /// Shows every checkpoint to the monitors at `urls` before trusting it (see
    /// [`gossip`]): one that cannot square it with its view stops the update.
    pub fn with_monitors(mut self, urls: Vec<String>) -> Self {
        self.monitors = urls;
        self
    }

    /// Asks the configured monitors about the checkpoint `session` is about to trust.
    async fn gossip(&self, session: &Session) -> Result<Vec<gossip::MonitorVerdict>> {
        match session.checkpoint_to_trust() {
            Some((note, checkpoint)) => {
                gossip::check_with_monitors(&self.http, &self.monitors, note, checkpoint).await
            }
            None => Ok(Vec::new()),
        }
    }

    /// Reports target downloads to `progress`.
    pub fn with_progress(mut self, progress: std::sync::Arc<dyn edge::http::Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn server(&self) -> &str {
        self.config.server.trim_end_matches('/')
    }

    /// Where `repo`'s trusted metadata is kept.
    pub fn metadata_dir(&self, repo: &str) -> Result<PathBuf> {
        Ok(self
            .config
            .home
            .join("client/repos")
            .join(repo_component(repo)?)
            .join("metadata"))
    }

    /// Where the trusted checkpoint of the pinned log is kept: one per log, shared by
    /// every repository on it, so all of them are checked against one view.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.config.home.join("client/logs").join(format!(
            "{}.checkpoint",
            tuf::updater::encode_role_name(self.config.log_key.name().as_str())
        ))
    }

    /// Takes this home's lock, waiting for any other client run that holds it.
    /// Every command that reads trusted state and may replace it holds the lock
    /// from its first read to its last write: two runs at once would otherwise
    /// each start from the same state, and the one committing last could put back
    /// an older checkpoint or older metadata than the other had trusted.
    async fn lock_home(&self) -> Result<std::fs::File> {
        let dir = self.config.home.join("client");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        // The wait blocks a thread, so not one of the runtime's.
        tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| Error::io(&path, std::io::Error::other(e)))?
            .map_err(|e| Error::io(&path, e))
    }

    /// The log view, with the checkpoint trusted in earlier runs.
    pub fn log_trust(&self) -> Result<LogTrust> {
        let mut trust = LogTrust::new(self.config.log_key.clone(), self.config.witnesses.clone())
            .at(unix_now());
        let path = self.checkpoint_path();
        if let Some(note) = edge::durable::read_optional(&path)? {
            let note = String::from_utf8(note)
                .map_err(|e| Error::malformed(path.display().to_string(), e))?;
            trust.restore(&note)?;
        }
        Ok(trust)
    }

    /// Where `repo`'s proofs come from, checked against this client's log view.
    fn proofs(&self, repo: &str) -> Result<update::Proofs> {
        Ok(update::Proofs {
            proof_url: format!("{}/repos/{repo}/proof", self.server()),
            log_url: format!("{}/log", self.server()),
            repo: repo.to_string(),
            log: self.log_trust()?,
            checkpoint_path: self.checkpoint_path(),
        })
    }

    async fn session(&self, repo: &str, bootstrap_root: Option<Vec<u8>>) -> Result<Session> {
        let proofs = self.proofs(repo)?;
        Session::open(
            self.http.clone(),
            &format!("{}/repos/{repo}/metadata", self.server()),
            &self.metadata_dir(repo)?,
            Some(proofs),
            bootstrap_root,
            chrono::Utc::now(),
            self.config.limits,
        )
        .await
    }

    /// Refreshes `repo`'s trusted metadata (TUF §5.3–§5.6), each file proven in the
    /// log. `bootstrap_root` is used only when nothing is trusted yet; without it the
    /// first update trusts version 1 of the root as logged (trust on first use).
    pub async fn update(
        &self,
        repo: &str,
        bootstrap_root: Option<Vec<u8>>,
    ) -> Result<UpdateReport> {
        let _locked = self.lock_home().await?;
        let mut session = self.session(repo, bootstrap_root).await?;
        session.refresh().await?;
        let monitors = self.gossip(&session).await?;
        let mut report = session.commit()?;
        report.monitors = monitors;
        Ok(report)
    }

    /// Updates, finds `target`, downloads it from `targets_url`, verifies it and
    /// writes it to `out` atomically.
    pub async fn download(
        &self,
        repo: &str,
        target: &str,
        targets_url: &str,
        out: &Path,
        bootstrap_root: Option<Vec<u8>>,
    ) -> Result<DownloadReport> {
        let _locked = self.lock_home().await?;
        let mut session = self.session(repo, bootstrap_root).await?;
        session.refresh().await?;
        let (path, info) = session.find(target).await?;
        let bytes = session
            .fetch_target_with_progress(targets_url, &path, &info, self.progress.as_deref())
            .await?;
        let monitors = self.gossip(&session).await?;
        let mut update = session.commit()?;
        update.monitors = monitors;
        edge::durable::write_atomic(out, &bytes)?;
        Ok(DownloadReport {
            update,
            target: path,
            length: info.length,
            sha256: info.hashes.get("sha256").cloned(),
            written_to: out.to_path_buf(),
        })
    }

    /// [`Client::prove`], then the same version's C2SP tlog-proof from the server,
    /// returned once it verifies offline ([`offline::verify_tlog_proof`]) against
    /// the file, the pinned log key and the witness policy: the text a release
    /// keeps beside the file.
    pub async fn tlog_proof(&self, repo: &str, role: &str, version: u64) -> Result<OfflineProof> {
        let (_, metadata) = self.prove_file(repo, role, version).await?;
        let name = format!("{version}.{}", tuf::updater::encode_role_name(role));
        let url = format!("{}/repos/{repo}/proof/{name}.tlog-proof", self.server());
        let text = self
            .http
            .get(&url, tlog::tlog_proof::MAX_PROOF_BYTES as u64)
            .await?
            .ok_or_else(|| Error::Usage(format!("{url}: not found")))?;
        let proven = offline::verify_tlog_proof(
            &text,
            &metadata,
            &self.config.log_key,
            self.config.witnesses.as_ref(),
            unix_now(),
        )?;
        Ok(OfflineProof {
            metadata,
            text,
            proven,
        })
    }

    /// Proves by hand that `role` version `version` of `repo` is in the log: fetches
    /// the file and its proof bundle, checks them as an update would, and trusts the
    /// bundle's checkpoint.
    pub async fn prove(&self, repo: &str, role: &str, version: u64) -> Result<ProveReport> {
        Ok(self.prove_file(repo, role, version).await?.0)
    }

    /// [`Client::prove`], also returning the file's bytes it proved.
    async fn prove_file(
        &self,
        repo: &str,
        role: &str,
        version: u64,
    ) -> Result<(ProveReport, Vec<u8>)> {
        repo_component(repo)?;
        let _locked = self.lock_home().await?;
        let file = format!("{version}.{}.json", tuf::updater::encode_role_name(role));
        let url = format!("{}/repos/{repo}/metadata/{file}", self.server());
        let bytes = self
            .http
            .get(&url, self.config.limits.targets_max_bytes)
            .await?
            .ok_or_else(|| Error::Usage(format!("{url}: not found")))?;
        let mut proofs = self.proofs(repo)?;
        let bundle = update::fetch_bundle(&self.http, &proofs, &file).await?;
        let opened = proofs
            .log
            .check_bundle(&bundle, repo, role, version, &bytes, &file)?;
        // Shown to the monitors before it is trusted, as an update's is.
        gossip::check_with_monitors(
            &self.http,
            &self.monitors,
            opened.note(),
            opened.checkpoint(),
        )
        .await?;
        let summary = update::CheckpointSummary::from(opened.checkpoint());
        proofs.log.advance(opened)?;
        if let Some(note) = proofs.log.trusted_note() {
            edge::durable::write_atomic(&self.checkpoint_path(), note.as_bytes())?;
        }
        let (length, hashes) = tuf::editor::describe(&bytes);
        let report = ProveReport {
            repo: repo.into(),
            role: role.into(),
            version,
            length,
            sha256: hashes.get("sha256").cloned().unwrap_or_default(),
            index: bundle.index,
            checkpoint: summary,
            bundle,
        };
        Ok((report, bytes))
    }

    /// The log's latest checkpoint, verified against the pinned key, the witness
    /// policy and the trusted checkpoint (by a consistency proof), then trusted.
    pub async fn checkpoint(&self) -> Result<update::CheckpointSummary> {
        let _locked = self.lock_home().await?;
        let mut trust = self.log_trust()?;
        let url = format!("{}/log/checkpoint", self.server());
        let note = self
            .http
            .get(&url, update::MAX_CHECKPOINT_BYTES)
            .await?
            .ok_or_else(|| Error::Usage(format!("{url}: no checkpoint")))?;
        let note = String::from_utf8(note).map_err(|e| Error::malformed(&url, e))?;
        let parsed = tlog::checkpoint::Checkpoint::parse(
            tlog::note::Note::parse(note.as_bytes())
                .map_err(|e| Error::malformed(&url, e))?
                .text(),
        )
        .map_err(|e| Error::malformed(&url, e))?;
        let from = trust.trusted_size();
        let proof = if from > 0 && from < parsed.size() {
            let log_url = format!("{}/log", self.server());
            update::fetch_consistency(&self.http, &log_url, from, parsed.size()).await?
        } else {
            Vec::new()
        };
        let opened = trust.check_checkpoint(&note, &proof)?;
        gossip::check_with_monitors(&self.http, &self.monitors, &note, opened.checkpoint()).await?;
        let summary = update::CheckpointSummary::from(opened.checkpoint());
        trust.advance(opened)?;
        if let Some(note) = trust.trusted_note() {
            edge::durable::write_atomic(&self.checkpoint_path(), note.as_bytes())?;
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_become_one_safe_path_component() {
        assert_eq!(
            repo_component("example.com/app").unwrap(),
            "example.com%2Fapp"
        );
        for bad in ["", "..", "a/../b", "a//b", "/a", "a/", "."] {
            assert!(repo_component(bad).is_err(), "{bad:?}");
        }
    }
}
