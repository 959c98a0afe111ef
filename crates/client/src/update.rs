//! Drives the sans-io TUF workflow ([`tuf::updater::Updater`]) over HTTP, checking a
//! log proof for every metadata file before it counts, and persisting trusted state
//! only when the whole update succeeded.

use crate::logtrust::{LogTrust, ProofBundle};
use crate::{Error, Result};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use edge::durable::{read_optional, write_atomic, Replacement};
use edge::Http;
use std::path::{Path, PathBuf};
use tuf::metadata::TargetFile;
use tuf::updater::{
    encode_role_name, verify_target, Accepted, Limits, LocalRole, Response, Updater,
};

/// Largest proof bundle read: an entry, a checkpoint with cosignatures and two
/// paths of at most 128 hashes.
pub const MAX_BUNDLE_BYTES: u64 = 64 * 1024;
/// Largest checkpoint note read.
pub const MAX_CHECKPOINT_BYTES: u64 = 16 * 1024;

mod prefetch;
mod proofs;
mod report;

use prefetch::{declared_version, pack_max_bytes, Ahead, PackState};
pub use proofs::Proofs;
pub(crate) use proofs::{fetch_bundle, fetch_consistency};
use proofs::{parse_bundle, BundleBody, PendingProof};
pub use report::{CheckpointSummary, UpdateReport};

/// One update of one repository: the TUF workflow, the proofs, and the files to
/// persist once everything checked out.
pub struct Session {
    http: Http,
    metadata_url: String,
    metadata_dir: PathBuf,
    proofs: Option<Proofs>,
    updater: Updater,
    staged: Vec<Accepted>,
    persist_each: bool,
    /// Proof bundles requested, not yet checked (see [`Session::settle`]).
    pending: Vec<PendingProof>,
    /// Files to write beside the trusted ones and rename over them in
    /// [`Session::commit`] only: metadata as it is accepted, and the checkpoint
    /// that came with it.
    replacement: Replacement,
    /// How many of `staged` are in `replacement` (or already on disk).
    accepted_staged: usize,
    /// The checkpoint note staged ahead of its check, if any.
    staged_note: Option<String>,
    /// The checkpoint note trusted when the session opened.
    opened_note: Option<String>,
    /// Size limits, for the files fetched ahead.
    limits: Limits,
    /// Timestamp, snapshot and targets under their unversioned names, fetched
    /// while the workflow looks for a newer root (see [`Session::fetch_ahead`]).
    ahead: Vec<Ahead>,
    /// The update pack asked for when the session opened.
    pack: PackState,
}

impl Session {
    /// Starts an update from the trusted root in `metadata_dir/root.json`, or from
    /// `bootstrap_root` when there is none yet. A bootstrap root must itself be
    /// proven in the log when proofs are on. Locally trusted timestamp and snapshot
    /// are offered for rollback checks (TUF §5.3.11 may discard them later).
    pub async fn open(
        http: Http,
        metadata_url: &str,
        metadata_dir: &Path,
        proofs: Option<Proofs>,
        bootstrap_root: Option<Vec<u8>>,
        now: DateTime<Utc>,
        limits: Limits,
    ) -> Result<Self> {
        let root_path = metadata_dir.join("root.json");
        let mut staged = Vec::new();
        let mut pending = Vec::new();
        let root = match read_optional(&root_path)? {
            Some(root) => root,
            None => {
                let root = match bootstrap_root {
                    Some(r) => r,
                    None => {
                        // Trust on first use: version 1, as logged.
                        let url = format!("{}/1.root.json", metadata_url.trim_end_matches('/'));
                        http.get(&url, limits.root_max_bytes)
                            .await?
                            .ok_or_else(|| {
                                Error::Usage(format!("{url}: no root metadata to start from"))
                            })?
                    }
                };
                let doc: tuf::metadata::Metadata<tuf::metadata::Root> =
                    tuf::metadata::Metadata::from_bytes(&root).map_err(|source| Error::Tuf {
                        file: "root.json".into(),
                        source,
                    })?;
                if let Some(p) = &proofs {
                    // Checked with the update's other proofs, in settle(); its
                    // bundle comes in the update pack.
                    pending.push(PendingProof::awaiting_pack(
                        p,
                        "root",
                        doc.version(),
                        doc.shared_bytes(),
                    ));
                }
                staged.push(Accepted {
                    role: "root".into(),
                    version: doc.version(),
                    bytes: doc.shared_bytes(),
                    file_name: "root.json".into(),
                });
                root
            }
        };
        let mut updater = Updater::new(&root, now, limits).map_err(|source| Error::Tuf {
            file: "root.json".into(),
            source,
        })?;
        for (role, name) in [
            (LocalRole::Timestamp, "timestamp.json"),
            (LocalRole::Snapshot, "snapshot.json"),
            (LocalRole::Targets, "targets.json"),
        ] {
            if let Some(bytes) = read_optional(&metadata_dir.join(name))? {
                match updater.load_local(role, &bytes) {
                    Ok(()) => {}
                    // A client that proves its files in the log commits root,
                    // timestamp and snapshot together, so a local file that no
                    // longer verifies under the trusted root was damaged or replaced
                    // behind its back. What it trusted before is its only defence
                    // against a rollback: the update stops.
                    Err(source) if proofs.is_some() => {
                        return Err(Error::Tuf {
                            file: format!(
                                "{} (trusted locally)",
                                metadata_dir.join(name).display()
                            ),
                            source,
                        })
                    }
                    // A plain TUF client persists each file as it is trusted, so an
                    // update cut short after a key rotation leaves a file the new
                    // root does not verify; it is not used, as python-tuf does.
                    Err(e) => {
                        tracing::debug!(file = name, error = %e, "local metadata not used");
                    }
                }
            }
        }
        let proofs_note = proofs
            .as_ref()
            .and_then(|p| p.log.trusted_note().map(str::to_string));
        let mut session = Session {
            http,
            metadata_url: metadata_url.trim_end_matches('/').to_string(),
            metadata_dir: metadata_dir.to_path_buf(),
            proofs,
            updater,
            staged,
            persist_each: false,
            pending,
            replacement: Replacement::default(),
            accepted_staged: 0,
            staged_note: None,
            opened_note: proofs_note,
            limits,
            ahead: Vec::new(),
            pack: PackState::Off,
        };
        // A tuflog server sends what an update needs in one pack; a plain TUF
        // repository (the conformance client) is asked for exactly the files the
        // specification names, in its order.
        session.ask_for_pack();
        Ok(session)
    }

    /// Writes each file to the metadata directory as soon as it is trusted (TUF §5.3.8
    /// "persist root metadata", and so on), instead of all at [`Session::commit`].
    /// Only for plain TUF: with log proofs, nothing may be kept unless every proof
    /// of the update checked out.
    pub fn persist_each_file(&mut self, yes: bool) {
        self.persist_each = yes && self.proofs.is_none();
    }

    /// TUF §5.3–§5.6: root rotations, timestamp, snapshot, top-level targets; each
    /// file proven in the log before the next is asked for.
    pub async fn refresh(&mut self) -> Result<()> {
        let driven = self.drive().await;
        for unused in self.ahead.drain(..) {
            unused.fetch.abort();
        }
        if let PackState::Fetching { fetch, .. } = &self.pack {
            fetch.abort();
        }
        driven?;
        self.settle().await?;
        if !self.updater.is_ready() {
            return Err(Error::Usage(
                "the update ended without trusted targets".into(),
            ));
        }
        Ok(())
    }

    /// TUF §5.6.7: finds `target`, fetching (and proving) delegated roles as needed.
    pub async fn find(&mut self, target: &str) -> Result<(String, TargetFile)> {
        self.updater
            .start_lookup(target)
            .map_err(|source| Error::Tuf {
                file: "targets.json".into(),
                source,
            })?;
        self.drive().await?;
        self.settle().await?;
        self.updater
            .found_target()
            .map(|(p, t)| (p.to_string(), t.clone()))
            .ok_or_else(|| Error::Tuf {
                file: "targets.json".into(),
                source: self
                    .updater
                    .lookup_failure()
                    .cloned()
                    .unwrap_or_else(|| tuf::Error::TargetNotFound(target.into())),
            })
    }

    async fn drive(&mut self) -> Result<()> {
        while let Some(request) = self.updater.next_request().map_err(|source| Error::Tuf {
            file: "update".into(),
            source,
        })? {
            let url = format!("{}/{}", self.metadata_url, request.path);
            self.unpack().await;
            // When the path names the version, its bundle is fetched beside the file
            // itself, off the critical path, unless the pack brought it. Not for the
            // next root, which is usually not there.
            let mut prefetched = match (&self.proofs, request.version) {
                (Some(p), Some(version))
                    if request.role != "root"
                        && self.pack.part(&request.role, Some(version)).is_none() =>
                {
                    Some(PendingProof::start(&self.http, p, &request.role, version))
                }
                _ => None,
            };
            let response = match self.take_ahead(&request).await {
                Some(response) => response,
                None => match self.http.get(&url, request.max_bytes).await? {
                    Some(bytes) => Response::Bytes(bytes.into()),
                    None => Response::NotFound,
                },
            };
            tracing::debug!(file = %request.path, "fetched");
            // Checking top-level targets is the longest step of an update, and the
            // last of a refresh: everything accepted so far, these bytes and the
            // checkpoint of their bundle (usually the one that ends up trusted) are
            // staged first, so the disk syncs them while the CPU checks.
            let mut staged_early = None;
            if let (Response::Bytes(bytes), "targets", false) =
                (&response, request.role.as_str(), self.persist_each)
            {
                self.stage_accepted()?;
                let path = self.metadata_dir.join("targets.json");
                staged_early =
                    Some(stage_if_changed(&mut self.replacement, &path, bytes)?.then_some(path));
                let early_bundle = match &mut prefetched {
                    Some(early) => early.arrived_already().await?,
                    None => self.pack.bundle(&request.role, request.version),
                };
                if let Some(body) = early_bundle {
                    self.stage_note_early(&body)?;
                }
                tracing::debug!(file = %request.path, "staged");
            }
            let accepted = self.updater.handle(response).map_err(|source| Error::Tuf {
                file: request.path.clone(),
                source,
            })?;
            tracing::debug!(file = %request.path, "checked");
            let confirmed_early = match (staged_early, &accepted) {
                (Some(_), Some(_)) => true,
                (Some(Some(path)), None) => {
                    // Fetched but not taken: stage again from what was accepted.
                    self.replacement.unstage(&path);
                    self.accepted_staged = 0;
                    false
                }
                _ => false,
            };
            if let Some(acc) = accepted {
                if acc.role == "root" && !self.ahead.is_empty() {
                    // Fetched before this root was known: a push that rotated the
                    // root may have replaced them since. Fetched again, still ahead.
                    for stale in self.ahead.drain(..) {
                        stale.fetch.abort();
                    }
                    self.fetch_ahead();
                }
                if let Some(p) = &self.proofs {
                    // The bundle is fetched while the workflow asks for its next file;
                    // nothing counts until settle() has checked every bundle.
                    let pending = match prefetched.take() {
                        Some(mut early) if early.is_for(&acc) => {
                            early.bytes = acc.bytes.clone();
                            early
                        }
                        _ => PendingProof::from_pack_or_request(
                            &self.pack,
                            &self.http,
                            p,
                            &acc.role,
                            acc.version,
                            acc.bytes.clone(),
                        ),
                    };
                    self.pending.push(pending);
                }
                if self.persist_each {
                    write_atomic(&self.metadata_dir.join(&acc.file_name), &acc.bytes)?;
                }
                self.staged.push(acc);
                if confirmed_early {
                    self.accepted_staged = self.staged.len();
                }
            }
            if let Some(unused) = prefetched {
                unused.abort();
            }
        }
        Ok(())
    }

    /// Asks for the update pack (with log proofs only): root versions from the
    /// trusted one on, then the latest timestamp, snapshot and targets, each with
    /// its proof bundle.
    fn ask_for_pack(&mut self) {
        let Some(proofs) = &self.proofs else {
            return;
        };
        let Some(base) = proofs
            .proof_url
            .trim_end_matches('/')
            .strip_suffix("/proof")
        else {
            self.fetch_ahead();
            return;
        };
        let mut url = format!(
            "{base}/update?root={}",
            self.updater.trusted().root.version()
        );
        let from = proofs.log.trusted_size();
        if from > 0 {
            url.push_str(&format!("&from={from}"));
        }
        let (http, fetch, max_bytes) =
            (self.http.clone(), url.clone(), pack_max_bytes(&self.limits));
        self.pack = PackState::Fetching {
            url,
            fetch: tokio::spawn(
                async move { http.get(&fetch, max_bytes).await.map_err(Error::from) },
            ),
        };
    }

    /// Waits for the update pack if it is on its way, then gives each proof that
    /// awaited it its bundle. A pack that does not come, or does not read, only
    /// means the files are fetched one by one.
    async fn unpack(&mut self) {
        let PackState::Fetching { url, fetch } = &mut self.pack else {
            return;
        };
        let url = std::mem::take(url);
        let unpacked = match fetch.await {
            Ok(Ok(Some(body))) => {
                let bytes = Bytes::from(body);
                wire::pack::decode(&bytes)
                    .map(|pack| PackState::Arrived { bytes, pack })
                    .map_err(|e| e.to_string())
            }
            Ok(Ok(None)) => Err("not served".to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match unpacked {
            Ok(arrived) => {
                tracing::debug!(%url, "update pack arrived");
                self.pack = arrived;
            }
            Err(why) => {
                tracing::debug!(%url, %why, "no update pack; fetching file by file");
                self.pack = PackState::Off;
                self.fetch_ahead();
            }
        }
        let Some(proofs) = &self.proofs else {
            return;
        };
        for p in &mut self.pending {
            if let BundleBody::InPack = p.body {
                let bytes = std::mem::take(&mut p.bytes);
                *p = PendingProof::from_pack_or_request(
                    &self.pack, &self.http, proofs, &p.role, p.version, bytes,
                );
            }
        }
    }

    /// Starts fetching the latest timestamp, snapshot and top-level targets, under
    /// their unversioned names, while the workflow looks for a newer root: each
    /// round trip would otherwise wait for the file before it. Safe because nothing
    /// fetched ahead is taken unless it is the very file the workflow then asks for
    /// (see [`Session::take_ahead`]), and the workflow checks it as it checks any
    /// file (length and hashes its parent lists, signatures, version; TUF
    /// §5.4–§5.6).
    fn fetch_ahead(&mut self) {
        for (role, max_bytes) in [
            ("timestamp", self.limits.timestamp_max_bytes),
            ("snapshot", self.limits.snapshot_max_bytes),
            ("targets", self.limits.targets_max_bytes),
        ] {
            let (http, url) = (
                self.http.clone(),
                format!("{}/{role}.json", self.metadata_url),
            );
            self.ahead.push(Ahead {
                role,
                fetch: tokio::spawn(
                    async move { http.get(&url, max_bytes).await.map_err(Error::from) },
                ),
            });
        }
    }

    /// The bytes fetched ahead for `request`, if they are the very file it asks for:
    /// within its length, with the hashes its parent lists and, where none are
    /// listed, declaring its version (the timestamp, asked for by the very name it
    /// was fetched under, is taken as it is). Otherwise the file is fetched as
    /// asked, so fetching ahead never changes which bytes the workflow judges (a
    /// server may serve a different latest than the version asked for: a push
    /// mid-update, or an equivocation, which monitors must see the client receive
    /// as logged).
    async fn take_ahead(&mut self, request: &tuf::updater::Request) -> Option<Response> {
        let bytes = match self.pack.part(&request.role, request.version) {
            Some((part, bytes)) => bytes.slice(part.metadata.clone()),
            None => {
                // The pack holds every root up to the latest the server had; a
                // later one is not there, as a 404 would say (the server is no
                // more trusted in one reply than in another).
                if let (Some(latest), "root", Some(v)) = (
                    self.pack.latest_root(),
                    request.role.as_str(),
                    request.version,
                ) {
                    if v > latest {
                        tracing::debug!(file = %request.path, "not in the update pack");
                        return Some(Response::NotFound);
                    }
                }
                let i = self.ahead.iter().position(|a| a.role == request.role)?;
                let ahead = self.ahead.swap_remove(i);
                ahead.fetch.await.ok()?.ok()??.into()
            }
        };
        let fits = bytes.len() as u64 <= request.max_bytes;
        let same = match (&request.hashes, request.version) {
            (Some(hashes), _) => {
                tuf::metadata::check_length_and_hashes(&request.role, &bytes, None, Some(hashes))
                    .is_ok()
            }
            (None, Some(v)) => declared_version(&bytes) == Some(v),
            (None, None) => true,
        };
        if fits && same {
            tracing::debug!(file = %request.path, "fetched ahead");
            Some(Response::Bytes(bytes))
        } else {
            None
        }
    }

    /// Checks every pending proof bundle against the checkpoint trusted when the
    /// update started, then reconciles their checkpoints with one another (the log
    /// may grow during an update): equal sizes must have equal roots, and a smaller
    /// one must be consistent with the largest, which becomes trusted.
    async fn settle(&mut self) -> Result<()> {
        self.unpack().await;
        let Some(proofs) = &mut self.proofs else {
            return Ok(());
        };
        // Each bundle's checkpoint as opened, and the file it came with.
        let mut seen: Vec<(crate::logtrust::OpenedCheckpoint, String)> = Vec::new();
        for mut p in self.pending.drain(..) {
            p.arrive().await?;
            let bundle = parse_bundle(proofs, &p.file, &p.url, p.arrived())?;
            // Bundles served together usually carry one note: its signatures are
            // checked once, and a note already checked is matched byte for byte.
            let checkpoint = match seen.iter().find(|(c, _)| c.note() == bundle.checkpoint) {
                Some((checkpoint, _)) => checkpoint.clone(),
                None => proofs.log.open_checkpoint(&bundle.checkpoint, &p.file)?,
            };
            let downloaded = crate::logtrust::Downloaded {
                repo: &proofs.repo,
                role: &p.role,
                version: p.version,
                bytes: &p.bytes,
                file: &p.file,
            };
            proofs
                .log
                .check_bundle_under(&bundle, &checkpoint, &downloaded)?;
            seen.push((checkpoint, p.file));
        }
        let Some((newest, _)) = seen
            .iter()
            .max_by_key(|(c, _)| c.checkpoint().size())
            .cloned()
        else {
            return Ok(());
        };
        let newest_size = newest.checkpoint().size();
        for (opened, file) in &seen {
            let c = opened.checkpoint();
            if c.size() == newest_size {
                if c.root() != newest.checkpoint().root() {
                    return Err(Error::Log {
                        file: file.clone(),
                        checkpoint: crate::logtrust::describe(c),
                        detail: format!(
                            "split view: another file of this update came with {}",
                            crate::logtrust::describe(newest.checkpoint())
                        ),
                    });
                }
                continue;
            }
            let proof =
                fetch_consistency(&self.http, &proofs.log_url, c.size(), newest_size).await?;
            proofs.log.check_between(opened, &newest, &proof, file)?;
        }
        proofs.log.advance(newest)?;
        tracing::debug!(size = proofs.log.trusted_size(), "every proof checked");
        Ok(())
    }

    /// Downloads `target` (found by [`Session::find`]) from `targets_url` and checks
    /// its length and hashes (TUF §5.7).
    pub async fn fetch_target(
        &self,
        targets_url: &str,
        path: &str,
        info: &TargetFile,
    ) -> Result<Vec<u8>> {
        self.fetch_target_with_progress(targets_url, path, info, None)
            .await
    }

    /// [`Session::fetch_target`], reporting progress.
    pub async fn fetch_target_with_progress(
        &self,
        targets_url: &str,
        path: &str,
        info: &TargetFile,
        progress: Option<&dyn edge::http::Progress>,
    ) -> Result<Vec<u8>> {
        let rel = self.updater.target_download_path(path, info);
        let url = format!(
            "{}/{}",
            targets_url.trim_end_matches('/'),
            encode_target_path(&rel)
        );
        let bytes = self
            .http
            .get_with_progress(&url, info.length, progress)
            .await?
            .ok_or_else(|| edge::Error::Http {
                url: url.clone(),
                status: 404,
                message: "target not found".into(),
            })?;
        verify_target(path, info, &bytes).map_err(|source| Error::Tuf {
            file: path.into(),
            source,
        })?;
        Ok(bytes)
    }

    /// Stages every file accepted since the last call (the latest of each name:
    /// a root rotation accepts several roots).
    fn stage_accepted(&mut self) -> Result<()> {
        let mut latest: std::collections::BTreeMap<&str, &Bytes> = Default::default();
        for acc in self.staged.get(self.accepted_staged..).unwrap_or_default() {
            latest.insert(&acc.file_name, &acc.bytes);
        }
        for (name, bytes) in latest {
            stage_if_changed(&mut self.replacement, &self.metadata_dir.join(name), bytes)?;
        }
        self.accepted_staged = self.staged.len();
        Ok(())
    }

    /// Stages the checkpoint that came with a bundle that is already here before
    /// anything is checked: the newest checkpoint of the update is the one
    /// [`Session::commit`] persists. If another one ends up trusted, commit
    /// stages that instead; a bundle that does not parse is left to settle().
    fn stage_note_early(&mut self, body: &[u8]) -> Result<()> {
        let Some(proofs) = &self.proofs else {
            return Ok(());
        };
        let Ok(bundle) = serde_json::from_slice::<ProofBundle>(body) else {
            return Ok(());
        };
        if self.opened_note.as_deref() == Some(bundle.checkpoint.as_str())
            || self.staged_note.as_deref() == Some(bundle.checkpoint.as_str())
        {
            return Ok(());
        }
        self.replacement
            .stage(&proofs.checkpoint_path, bundle.checkpoint.as_bytes())?;
        self.staged_note = Some(bundle.checkpoint);
        Ok(())
    }

    /// The trusted metadata so far.
    pub fn trusted(&self) -> &tuf::updater::TrustedMetadata {
        self.updater.trusted()
    }

    /// The checkpoint [`Session::commit`] would trust, with its note: what the
    /// client shows its monitors first.
    pub fn checkpoint_to_trust(&self) -> Option<(&str, &tlog::checkpoint::Checkpoint)> {
        let log = &self.proofs.as_ref()?.log;
        Some((log.trusted_note()?, log.trusted()?))
    }

    /// Persists every accepted file under its unversioned name and the trusted
    /// checkpoint, all synced before any is renamed into place, the checkpoint
    /// renamed last. Each file is replaced atomically; a crash among the renames
    /// leaves an older checkpoint, which only means a longer consistency proof
    /// next time.
    pub fn commit(&mut self) -> Result<UpdateReport> {
        self.stage_accepted()?;
        let mut checkpoint = None;
        if let Some(p) = &self.proofs {
            if let (Some(note), Some(c)) = (p.log.trusted_note(), p.log.trusted()) {
                checkpoint = Some(CheckpointSummary::from(c));
                if self.opened_note.as_deref() == Some(note) {
                    self.replacement.unstage(&p.checkpoint_path);
                } else if self.staged_note.as_deref() == Some(note) {
                    self.replacement.rename_last(&p.checkpoint_path);
                } else {
                    self.replacement
                        .stage(&p.checkpoint_path, note.as_bytes())?;
                }
            }
        }
        std::mem::take(&mut self.replacement).commit()?;
        self.staged_note = None;
        tracing::debug!("trusted state persisted");
        let t = self.updater.trusted();
        let mut versions = std::collections::BTreeMap::new();
        versions.insert("root".to_string(), t.root.version());
        if let Some(ts) = &t.timestamp {
            versions.insert("timestamp".into(), ts.version());
        }
        if let Some(s) = &t.snapshot {
            versions.insert("snapshot".into(), s.version());
        }
        for (role, doc) in &t.targets {
            versions.insert(role.clone(), doc.version());
        }
        let accepted = self.staged.drain(..).map(|a| (a.role, a.version)).collect();
        Ok(UpdateReport {
            versions,
            accepted,
            checkpoint,
            monitors: Vec::new(),
        })
    }
}

/// Stages `bytes` for `path` unless the file already holds them; whether it did.
fn stage_if_changed(replacement: &mut Replacement, path: &Path, bytes: &Bytes) -> Result<bool> {
    if read_optional(path)?.as_deref() == Some(&bytes[..]) {
        return Ok(false);
    }
    replacement.stage_shared(path, bytes.clone())?;
    Ok(true)
}

/// Percent-encodes each segment of a target path for a URL, keeping the slashes.
pub fn encode_target_path(path: &str) -> String {
    path.split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, TARGET_SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

const TARGET_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
