//! The repository service: TUF repositories by name, validated pushes, online
//! snapshot and timestamp signing, and every accepted metadata version logged.
//!
//! A push is validated by [`tuf::repository::validate_push`] against the
//! repository's current state, the server signs the next snapshot (when root lets
//! it) and timestamp, and everything new goes to the log as **one** append, so it is
//! integrated in one batch or not at all. The repository's state changes only after
//! the append is durable and covered by a signed checkpoint. Pushes to one
//! repository are serialised (each validates against the state the previous one
//! left); pushes to different repositories run side by side and share batches.
//!
//! Reads come from the store and are served only once the log's published
//! checkpoint covers the version's entry.

pub mod auth;
pub mod name;
pub mod signer;

use crate::published_reads::InclusionProof;
use crate::sequencer::{Append, Log, Published};
use crate::Error;
use chrono::{DateTime, Utc};
use name::RepoName;
use sha2::{Digest, Sha256};
use signer::{OnlineKeys, OnlineRole, Signer, TimestampAfter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::RoleVersion;
use tlog::Hash;
use tuf::logentry::LogEntry;
use tuf::metadata::{Expires, Metadata, Role, Root, Snapshot, Targets, Timestamp};
use tuf::repository::{
    next_online, timestamp_for, validate_push, OnlineKeyIds, Push, PushLimits, RepoState,
};

/// Repositories whose state is kept in memory between pushes; beyond this, idle
/// ones are dropped and reloaded from the store when next pushed to.
pub const MAX_LOADED_REPOS: usize = 10_000;

/// How long a read waits for the checkpoint covering a version it found stored
/// (a batch is published right after it is stored, so this is only a backstop).
const PUBLISH_WAIT: Duration = Duration::from_secs(5);

/// Expiries and limits of the repository service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoConfig {
    /// How long a server-signed timestamp is valid.
    pub timestamp_expiry: Duration,
    /// How long a server-signed snapshot is valid.
    pub snapshot_expiry: Duration,
    /// A timestamp (or server-signed snapshot) is re-signed once it has less than
    /// this left.
    pub resign_margin: Duration,
    /// How often the re-signing task looks for timestamps near expiry.
    pub resign_interval: Duration,
    /// Push size and count limits.
    pub limits: PushLimits,
}

impl Default for RepoConfig {
    /// A timestamp lasts a day and is re-signed with six hours left, so clients
    /// that cannot reach the server still see a valid timestamp for hours; a
    /// snapshot lasts a week and is re-signed with the timestamp when it has less
    /// than a timestamp's life plus the margin left.
    fn default() -> Self {
        RepoConfig {
            timestamp_expiry: Duration::from_secs(24 * 3600),
            snapshot_expiry: Duration::from_secs(7 * 24 * 3600),
            resign_margin: Duration::from_secs(6 * 3600),
            resign_interval: Duration::from_secs(60),
            limits: PushLimits::default(),
        }
    }
}

/// One metadata version a push logged.
#[derive(Clone, Debug)]
pub struct LoggedVersion {
    /// Role name.
    pub role: String,
    /// Version.
    pub version: u64,
    /// SHA-256 of the metadata bytes.
    pub sha256: [u8; 32],
    /// Length of the metadata bytes.
    pub length: u64,
    /// The exact log entry.
    pub entry: Vec<u8>,
    /// Its inclusion proof in the push's checkpoint.
    pub inclusion: InclusionProof,
}

/// What a push returns: every version it logged and the checkpoint covering them.
#[derive(Clone, Debug)]
pub struct PushReceipt {
    /// Logged versions, in log order.
    pub versions: Vec<LoggedVersion>,
    /// The checkpoint of the batch they landed in.
    pub checkpoint: Arc<Published>,
}

/// Everything a client needs to check that one metadata version is in the log.
#[derive(Clone, Debug)]
pub struct ProofBundle {
    /// The exact log entry.
    pub entry: Vec<u8>,
    /// Its index.
    pub index: u64,
    /// The signed checkpoint the proofs are for.
    pub checkpoint: Arc<Published>,
    /// Inclusion path of the entry in that checkpoint's tree.
    pub inclusion: Vec<Hash>,
    /// Consistency path from the size the client asked about, if it asked.
    pub consistency: Option<Vec<Hash>>,
}

impl ProofBundle {
    /// This version's proof as C2SP tlog-proof@v1 text, the log entry in its
    /// `extra` line (docs/PROTOCOL.md says how a verifier rebuilds the entry from
    /// the metadata file). HTTP and gRPC serve these same bytes.
    pub fn tlog_proof_text(&self) -> Vec<u8> {
        tlog::tlog_proof::TlogProof {
            extra: Some(self.entry.clone()),
            index: self.index,
            proof: self.inclusion.clone(),
            checkpoint: self.checkpoint.note.clone(),
        }
        .to_text()
    }
}

/// The files of one client update with their bundles ([`Repos::update_pack`]).
#[derive(Clone, Debug)]
pub struct UpdatePack {
    /// The newest root version the repository has.
    pub latest_root: u64,
    /// Root versions in order, then timestamp, snapshot and targets.
    pub files: Vec<PackedFile>,
}

/// One metadata file of an [`UpdatePack`].
#[derive(Clone, Debug)]
pub struct PackedFile {
    /// Role name.
    pub role: &'static str,
    /// Version.
    pub version: u64,
    /// The exact bytes logged.
    pub metadata: Vec<u8>,
    /// Its proof bundle.
    pub bundle: ProofBundle,
}

/// The size limit of one pushed file of `role`, whichever surface it came through.
pub(crate) fn file_limit(limits: &PushLimits, role: &str) -> usize {
    match role {
        "root" => limits.root_max_bytes,
        "snapshot" | "timestamp" => limits.snapshot_max_bytes,
        _ => limits.targets_max_bytes,
    }
}

/// Puts one pushed file of `role` into `push`; a role given twice is refused.
pub(crate) fn add_file(push: &mut Push, role: &str, bytes: Vec<u8>) -> Result<(), Error> {
    let slot = match role {
        "root" => &mut push.root,
        "snapshot" => &mut push.snapshot,
        "timestamp" => &mut push.timestamp,
        _ => {
            if push.targets.contains_key(role) {
                return Err(Error::invalid(format!("{role}.json given twice")));
            }
            push.targets.insert(role.to_string(), bytes);
            return Ok(());
        }
    };
    if slot.is_some() {
        return Err(Error::invalid(format!("{role}.json given twice")));
    }
    *slot = Some(bytes);
    Ok(())
}

/// A repository's in-memory state slot.
#[derive(Default)]
enum Slot {
    /// Not read from the store yet (or dropped after a failure).
    #[default]
    Unloaded,
    /// The store has no such repository.
    Missing,
    /// Current trusted metadata.
    Present(Box<RepoState>),
}

type SlotLock = Arc<tokio::sync::Mutex<Slot>>;

/// The repository service.
pub struct Repos {
    log: Arc<Log>,
    signer: Arc<dyn Signer>,
    config: RepoConfig,
    slots: Mutex<HashMap<RepoName, SlotLock>>,
}

/// A document parsed from bytes the service stored itself; failure means the store
/// is damaged.
fn stored<T: Role>(bytes: &[u8], what: &str) -> Result<Metadata<T>, Error> {
    Metadata::from_bytes(bytes)
        .map_err(|e| Error::Storage(store::Error::Corrupt(format!("stored {what}: {e}"))))
}

fn expires_after(now: DateTime<Utc>, d: Duration) -> Result<Expires, Error> {
    let d = chrono::Duration::from_std(d).map_err(|e| Error::invalid(format!("expiry: {e}")))?;
    // TUF §4.2 expiry strings have whole seconds.
    let t = (now + d).timestamp();
    DateTime::from_timestamp(t, 0)
        .map(Expires)
        .ok_or_else(|| Error::invalid("expiry out of range"))
}

impl Repos {
    /// The service over `log`, signing with `signer`.
    pub fn new(log: Arc<Log>, signer: Arc<dyn Signer>, config: RepoConfig) -> Self {
        Repos {
            log,
            signer,
            config,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The service's configuration.
    pub fn config(&self) -> &RepoConfig {
        &self.config
    }

    /// The online public keys of `repo`, for its root.
    pub async fn keys(&self, repo: &RepoName) -> Result<OnlineKeys, Error> {
        self.signer.keys(repo).await
    }

    /// The online public keys of `repo`'s next generation, for its owner to name
    /// in a root that rotates them.
    pub async fn next_keys(&self, repo: &RepoName) -> Result<OnlineKeys, Error> {
        self.signer.next_keys(repo).await
    }

    fn slot(&self, repo: &RepoName) -> SlotLock {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.get(repo) {
            return s.clone();
        }
        if slots.len() >= MAX_LOADED_REPOS {
            // Only slots nobody holds or waits for are dropped: the map's reference
            // is then the only one, so no push can be using the state.
            slots.retain(|_, s| Arc::strong_count(s) > 1);
        }
        let s = SlotLock::default();
        slots.insert(repo.clone(), s.clone());
        s
    }

    /// Reads a repository's state from the store.
    fn load(&self, repo: &RepoName) -> Result<Slot, Error> {
        let store = self.log.store();
        let name = repo.as_str();
        let read = |role: &str, record: Option<store::VersionRecord>| {
            let record = record.ok_or_else(|| {
                Error::Storage(store::Error::Corrupt(format!("{name}: no stored {role}")))
            })?;
            store.blob(&record.sha256)?.ok_or_else(|| {
                Error::Storage(store::Error::Corrupt(format!(
                    "{name}: {role} v{} has no stored bytes",
                    record.version
                )))
            })
        };
        let Some(root_record) = store.head(name, "root")? else {
            return Ok(Slot::Missing);
        };
        let root: Metadata<Root> = stored(&read("root", Some(root_record))?, "root")?;
        let snapshot: Metadata<Snapshot> = stored(
            &read("snapshot", store.head(name, "snapshot")?)?,
            "snapshot",
        )?;
        let timestamp: Metadata<Timestamp> = stored(
            &read("timestamp", store.head(name, "timestamp")?)?,
            "timestamp",
        )?;
        let mut targets = std::collections::BTreeMap::new();
        for (file, meta) in &snapshot.signed().meta {
            let Some(role) = file.strip_suffix(".json") else {
                continue;
            };
            let doc: Metadata<Targets> =
                stored(&read(role, store.version(name, role, meta.version)?)?, role)?;
            targets.insert(role.to_string(), doc);
        }
        Ok(Slot::Present(Box::new(RepoState {
            root,
            targets,
            snapshot,
            timestamp,
        })))
    }

    #[tracing::instrument(name = "sign_metadata", skip_all, fields(repo = %repo, role = ?role))]
    async fn sign<T: Role>(
        &self,
        repo: &RepoName,
        role: OnlineRole,
        generation: u32,
        signed: T,
    ) -> Result<Metadata<T>, Error> {
        let mut doc = Metadata::unsigned(signed).map_err(|e| Error::Signing(e.to_string()))?;
        let signature = self
            .signer
            .sign(repo, role, generation, doc.canonical_signed())
            .await?;
        doc.add_signature(signature)
            .map_err(|e| Error::Signing(e.to_string()))?;
        Ok(doc)
    }

    /// Signs `snapshot` and the timestamp `after` it: in one request when the signer
    /// makes both (checking that it signed the timestamp this server builds), else
    /// one after the other.
    async fn sign_snapshot_and_timestamp(
        &self,
        repo: &RepoName,
        generation: u32,
        snapshot: Snapshot,
        after: &TimestampAfter,
    ) -> Result<(Metadata<Snapshot>, Metadata<Timestamp>), Error> {
        let signing = |e: tuf::Error| Error::Signing(e.to_string());
        let mut doc = Metadata::unsigned(snapshot).map_err(signing)?;
        let signatures = self
            .signer
            .sign_snapshot_then_timestamp(repo, generation, doc.canonical_signed(), after)
            .await?;
        doc.add_signature(signatures.snapshot).map_err(signing)?;
        let timestamp = timestamp_for(after.version, &doc, after.expires);
        let timestamp = match signatures.timestamp {
            Some((signature, signed)) => {
                let mut t = Metadata::unsigned(timestamp).map_err(signing)?;
                if t.canonical_signed() != signed.as_slice() {
                    return Err(Error::SignerRefused(
                        "the signer signed another timestamp than the one this server built".into(),
                    ));
                }
                t.add_signature(signature).map_err(signing)?;
                t
            }
            None => {
                self.sign(repo, OnlineRole::Timestamp, generation, timestamp)
                    .await?
            }
        };
        Ok((doc, timestamp))
    }

    /// The online keys a push is signed with: those that sign now, or, when the
    /// push carries a root that names the next generation's timestamp key instead
    /// (its owner rotates the online keys), the next generation's. The floors of
    /// what was signed carry over: they are per role, not per key.
    async fn online_keys_for(&self, repo: &RepoName, push: &Push) -> Result<OnlineKeys, Error> {
        let current = self.signer.keys(repo).await?;
        let Some(bytes) = &push.root else {
            return Ok(current);
        };
        // Malformed roots are refused by validation, with its message.
        let Ok(root) = Metadata::<tuf::metadata::Root>::from_bytes(bytes) else {
            return Ok(current);
        };
        let names =
            |keyid: &str| tuf::repository::server_can_sign(root.signed(), "timestamp", keyid);
        if names(&current.timestamp_keyid) {
            return Ok(current);
        }
        let next = match self.signer.next_keys(repo).await {
            Ok(next) => next,
            // A repository the signer never handed keys to has no next generation;
            // validation says what is wrong with the root.
            Err(Error::SignerRefused(_)) => return Ok(current),
            Err(e) => return Err(e),
        };
        if !names(&next.timestamp_keyid) {
            return Ok(current);
        }
        Ok(OnlineKeys {
            snapshot_signed: current.snapshot_signed,
            timestamp_signed: current.timestamp_signed,
            ..next
        })
    }

    /// Validates `push` against `repo`'s current state, signs the next snapshot and
    /// timestamp, and logs every new version in one append.
    #[tracing::instrument(name = "push", skip_all, fields(repo = %repo))]
    pub async fn push(&self, repo: &RepoName, push: Push) -> Result<PushReceipt, Error> {
        let slot = self.slot(repo);
        let mut guard = slot.lock().await;
        if matches!(*guard, Slot::Unloaded) {
            *guard = self.load(repo)?;
        }
        let current = match &*guard {
            Slot::Present(s) => Some(s.as_ref()),
            _ => None,
        };
        let keys = self.online_keys_for(repo, &push).await?;
        let generation = keys.generation;
        let (snapshot_signed, timestamp_signed) = (keys.snapshot_signed, keys.timestamp_signed);
        let online = OnlineKeyIds {
            snapshot: keys.snapshot_keyid,
            timestamp: keys.timestamp_keyid,
        };
        let now = Utc::now();
        let validated = validate_push(current, &push, &online, now, &self.config.limits)
            .map_err(Error::Push)?;
        let mut next = next_online(
            current,
            &validated,
            expires_after(now, self.config.snapshot_expiry)?,
        );
        // A version the signer signed for a push that was then not logged (the log
        // refused the append, the server stopped) is never signed again with other
        // content; the push takes the version after it.
        if let (Some(s), Some(signed)) = (next.snapshot.as_mut(), snapshot_signed) {
            s.version = s.version.max(signed.saturating_add(1));
        }
        if let Some(signed) = timestamp_signed {
            next.timestamp_version = next.timestamp_version.max(signed.saturating_add(1));
        }
        let after = TimestampAfter {
            version: next.timestamp_version,
            expires: expires_after(now, self.config.timestamp_expiry)?,
        };
        let (snapshot, timestamp) = match (next.snapshot, &validated.snapshot) {
            (Some(s), _) => {
                self.sign_snapshot_and_timestamp(repo, generation, s, &after)
                    .await?
            }
            (None, Some(client_signed)) => {
                let timestamp = timestamp_for(after.version, client_signed, after.expires);
                let timestamp = self
                    .sign(repo, OnlineRole::Timestamp, generation, timestamp)
                    .await?;
                (client_signed.clone(), timestamp)
            }
            (None, None) => {
                return Err(Error::Signing("no snapshot to publish".into()));
            }
        };

        let mut docs: Vec<(&str, u64, &[u8])> = Vec::new();
        if let Some(root) = &validated.root {
            docs.push(("root", root.version(), root.bytes()));
        }
        for (role, doc) in &validated.targets {
            docs.push((role, doc.version(), doc.bytes()));
        }
        docs.push(("snapshot", snapshot.version(), snapshot.bytes()));
        docs.push(("timestamp", timestamp.version(), timestamp.bytes()));
        let receipt = self.log_versions(repo, &docs).await?;

        let previous = std::mem::take(&mut *guard);
        let previous = match previous {
            Slot::Present(s) => Some(*s),
            _ => None,
        };
        // On the (unreachable) failure the slot stays unloaded and the next push
        // reloads what the log holds.
        if let Ok(state) = RepoState::apply(previous, validated, snapshot, timestamp) {
            *guard = Slot::Present(Box::new(state));
        }
        tracing::info!(
            repo = %repo,
            versions = receipt.versions.len(),
            size = receipt.checkpoint.size(),
            "push logged"
        );
        Ok(receipt)
    }

    /// Appends one entry per document (with its bytes and role version) as one
    /// append, and returns each with its inclusion proof.
    async fn log_versions(
        &self,
        repo: &RepoName,
        docs: &[(&str, u64, &[u8])],
    ) -> Result<PushReceipt, Error> {
        let mut append = Append::default();
        let mut described = Vec::with_capacity(docs.len());
        for (i, (role, version, bytes)) in docs.iter().enumerate() {
            let entry = LogEntry::new(repo.as_str(), role, *version, bytes)
                .to_bytes()
                .map_err(|e| Error::Signing(e.to_string()))?;
            let sha256: [u8; 32] = Sha256::digest(bytes).into();
            append.entries.push(entry.clone());
            append.blobs.push(store::Blob {
                index: i as u64,
                sha256,
                bytes: bytes.to_vec(),
            });
            append.versions.push(RoleVersion {
                repo: repo.as_str().into(),
                role: role.to_string(),
                version: *version,
                sha256,
                index: i as u64,
            });
            described.push((
                role.to_string(),
                *version,
                sha256,
                bytes.len() as u64,
                entry,
            ));
        }
        let appended = self.log.append(append).await?;
        // Acknowledged against what readers see: for a witnessed log, the first
        // checkpoint covering the push whose cosignatures met the policy.
        let last = appended.first_index + described.len().saturating_sub(1) as u64;
        let checkpoint = self.published_covering(last).await?;
        let size = checkpoint.size();
        let mut versions = Vec::with_capacity(described.len());
        for (i, (role, version, sha256, length, entry)) in described.into_iter().enumerate() {
            let index = appended.first_index + i as u64;
            versions.push(LoggedVersion {
                role,
                version,
                sha256,
                length,
                entry,
                inclusion: self.log.inclusion_proof(index, size)?,
            });
        }
        Ok(PushReceipt {
            versions,
            checkpoint,
        })
    }

    /// The latest published checkpoint, once it covers entry `index`.
    async fn published_covering(&self, index: u64) -> Result<Arc<Published>, Error> {
        let mut rx = self.log.subscribe();
        let wait = async {
            loop {
                let latest = rx.borrow_and_update().clone();
                if latest.size() > index {
                    return Ok(latest);
                }
                if rx.changed().await.is_err() {
                    return Err(Error::ShuttingDown);
                }
            }
        };
        tokio::time::timeout(PUBLISH_WAIT, wait)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Overloaded(format!(
                    "entry {index} is stored but not yet published"
                )))
            })
    }

    fn record(
        &self,
        repo: &RepoName,
        role: &str,
        version: Option<u64>,
    ) -> Result<store::VersionRecord, Error> {
        let store = self.log.store();
        let record = match version {
            Some(v) => store.version(repo.as_str(), role, v)?,
            None => store.head(repo.as_str(), role)?,
        };
        record.ok_or_else(|| {
            Error::NotFound(match version {
                Some(v) => format!("{repo} has no {role} version {v}"),
                None => format!("{repo} has no {role} metadata"),
            })
        })
    }

    /// The exact bytes of `role` at `version` (the latest when `None`) in `repo`.
    pub async fn metadata(
        &self,
        repo: &RepoName,
        role: &str,
        version: Option<u64>,
    ) -> Result<Vec<u8>, Error> {
        let record = self.record(repo, role, version)?;
        self.published_covering(record.index).await?;
        self.blob(&record.sha256).await
    }

    /// A stored metadata file by the SHA-256 of its bytes.
    pub async fn blob(&self, sha256: &[u8; 32]) -> Result<Vec<u8>, Error> {
        self.log.store().blob(sha256)?.ok_or_else(|| {
            Error::NotFound(format!("no metadata with sha256 {}", hex::encode(sha256)))
        })
    }

    /// The proof bundle for `role` `version` of `repo`, against the latest
    /// checkpoint, with a consistency proof from `from` when given.
    pub async fn proof_bundle(
        &self,
        repo: &RepoName,
        role: &str,
        version: u64,
        from: Option<u64>,
    ) -> Result<ProofBundle, Error> {
        if from == Some(0) {
            return Err(Error::invalid("from must be at least 1"));
        }
        let record = self.record(repo, role, Some(version))?;
        let checkpoint = self.published_covering(record.index).await?;
        let consistency = self.consistency_from(from, checkpoint.size())?;
        self.bundle(&record, checkpoint, consistency)
    }

    /// The consistency path a bundle carries from the size `from` the client
    /// trusts to `size`: none when it names none, empty when they are equal.
    fn consistency_from(&self, from: Option<u64>, size: u64) -> Result<Option<Vec<Hash>>, Error> {
        match from {
            None => Ok(None),
            Some(0) => Err(Error::invalid("from must be at least 1")),
            Some(m) if m > size => Err(Error::invalid(format!(
                "from={m} is beyond the log's latest checkpoint ({size})"
            ))),
            Some(m) if m == size => Ok(Some(Vec::new())),
            Some(m) => Ok(Some(self.log.consistency_proof(m, size)?.proof)),
        }
    }

    /// The bundle of `record`'s entry under `checkpoint`, which covers it.
    fn bundle(
        &self,
        record: &store::VersionRecord,
        checkpoint: Arc<Published>,
        consistency: Option<Vec<Hash>>,
    ) -> Result<ProofBundle, Error> {
        let entry = self
            .log
            .store()
            .entries(record.index, record.index + 1)?
            .pop()
            .ok_or_else(|| Error::NotFound(format!("entry {}", record.index)))?;
        let inclusion = self
            .log
            .inclusion_proof(record.index, checkpoint.size())?
            .proof;
        Ok(ProofBundle {
            entry,
            index: record.index,
            checkpoint,
            inclusion,
            consistency,
        })
    }

    /// What one client update of `repo` needs, all proven against one checkpoint:
    /// root versions from `root` on (at most [`wire::pack::MAX_PACK_ROOTS`]), then
    /// the latest timestamp, snapshot and top-level targets, each with its bundle
    /// (with a consistency proof from `from` when given). Roles the repository
    /// lacks are left out; the client asks for them one by one and learns so.
    pub async fn update_pack(
        &self,
        repo: &RepoName,
        root: u64,
        from: Option<u64>,
    ) -> Result<UpdatePack, Error> {
        if from == Some(0) {
            return Err(Error::invalid("from must be at least 1"));
        }
        let store = self.log.store();
        let latest_root = self.record(repo, "root", None)?;
        let mut records = Vec::new();
        let last_root = latest_root
            .version
            .min(root.saturating_add(wire::pack::MAX_PACK_ROOTS as u64 - 1));
        for version in root.max(1)..=last_root {
            if let Some(r) = store.version(repo.as_str(), "root", version)? {
                records.push(("root", r));
            }
        }
        for role in ["timestamp", "snapshot", "targets"] {
            if let Some(r) = store.head(repo.as_str(), role)? {
                records.push((role, r));
            }
        }
        let last_index = records.iter().map(|(_, r)| r.index).max().unwrap_or(0);
        let checkpoint = self.published_covering(last_index).await?;
        let consistency = self.consistency_from(from, checkpoint.size())?;
        let mut files = Vec::with_capacity(records.len());
        for (role, record) in records {
            files.push(PackedFile {
                role,
                version: record.version,
                metadata: self.blob(&record.sha256).await?,
                bundle: self.bundle(&record, checkpoint.clone(), consistency.clone())?,
            });
        }
        Ok(UpdatePack {
            latest_root: latest_root.version,
            files,
        })
    }

    /// Re-signs every timestamp (and server-signed snapshot) that is near expiry.
    /// Returns how many repositories got a new timestamp.
    pub async fn resign_due(&self) -> Result<usize, Error> {
        let mut after: Option<String> = None;
        let mut resigned = 0;
        loop {
            let names = self
                .log
                .store()
                .repos(after.as_deref(), store::MAX_REPOS_PER_LIST)?;
            let Some(last) = names.last().cloned() else {
                break;
            };
            for name in names {
                let Ok(repo) = RepoName::new(&name) else {
                    continue;
                };
                match self.resign_if_due(&repo, Utc::now()).await {
                    Ok(true) => resigned += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(repo = %repo, error = %e, "re-signing the timestamp failed")
                    }
                }
            }
            after = Some(last);
        }
        Ok(resigned)
    }

    /// Re-signs `repo`'s timestamp if it expires within the margin of `now`.
    pub async fn resign_if_due(&self, repo: &RepoName, now: DateTime<Utc>) -> Result<bool, Error> {
        let margin = chrono::Duration::from_std(self.config.resign_margin)
            .map_err(|e| Error::invalid(format!("margin: {e}")))?;
        let due = |t: &Metadata<Timestamp>| t.signed().expires.0 - margin <= now;
        // A cheap look first, without the repository's lock: most are not due.
        if let Some(record) = self.log.store().head(repo.as_str(), "timestamp")? {
            let current: Metadata<Timestamp> =
                stored(&self.blob(&record.sha256).await?, "timestamp")?;
            if !due(&current) {
                return Ok(false);
            }
        } else {
            return Ok(false);
        }
        let slot = self.slot(repo);
        let mut guard = slot.lock().await;
        if matches!(*guard, Slot::Unloaded) {
            *guard = self.load(repo)?;
        }
        let Slot::Present(state) = &*guard else {
            return Ok(false);
        };
        if !due(&state.timestamp) {
            return Ok(false);
        }
        let timestamp_expires = expires_after(now, self.config.timestamp_expiry)?;
        let keys = self.signer.keys(repo).await?;
        let root = state.root.signed();
        let server_signs_snapshot =
            tuf::repository::server_can_sign(root, "snapshot", &keys.snapshot_keyid);
        // A snapshot that would expire before the new timestamp (plus the margin) is
        // renewed with it, when the server holds its key.
        let snapshot = if server_signs_snapshot
            && state.snapshot.signed().expires.0 - margin <= timestamp_expires.0
        {
            let mut next = tuf::editor::next_snapshot(
                Some(state.snapshot.signed()),
                &[],
                expires_after(now, self.config.snapshot_expiry)?,
            );
            if let Some(signed) = keys.snapshot_signed {
                next.version = next.version.max(signed.saturating_add(1));
            }
            Some(
                self.sign(repo, OnlineRole::Snapshot, keys.generation, next)
                    .await?,
            )
        } else {
            None
        };
        let for_snapshot = snapshot.as_ref().unwrap_or(&state.snapshot);
        let timestamp_version = (state.timestamp.version() + 1)
            .max(keys.timestamp_signed.map_or(0, |v| v.saturating_add(1)));
        let timestamp = timestamp_for(timestamp_version, for_snapshot, timestamp_expires);
        let timestamp = self
            .sign(repo, OnlineRole::Timestamp, keys.generation, timestamp)
            .await?;
        let mut docs: Vec<(&str, u64, &[u8])> = Vec::new();
        if let Some(s) = &snapshot {
            docs.push(("snapshot", s.version(), s.bytes()));
        }
        docs.push(("timestamp", timestamp.version(), timestamp.bytes()));
        self.log_versions(repo, &docs).await?;
        if let Slot::Present(state) = &mut *guard {
            if let Some(s) = snapshot {
                state.snapshot = s;
            }
            state.timestamp = timestamp;
        }
        tracing::info!(repo = %repo, "timestamp re-signed before expiry");
        Ok(true)
    }
}
