//! TUF replay of a log, entry by entry: what a monitor concludes from each logged
//! metadata version, with no I/O.
//!
//! Per repository, it keeps the root in force, the latest version of every targets
//! role (for delegations), and the SHA-256 of every version ever logged per role.
//! For each entry it checks, in order:
//! 1. the entry parses and the bytes are the ones it commits to (length, SHA-256);
//! 2. no (repository, role, version) was logged before, with other bytes
//!    (equivocation) or the same (duplicate), and the version is above the latest
//!    logged for the role;
//! 3. the document parses as its role and carries the entry's version;
//! 4. a root is version N+1 of the root in force and is signed by that root's
//!    threshold and by its own (TUF §5.3.4); a first root is signed by its own;
//! 5. timestamp, snapshot and targets are signed by the threshold of keys the root
//!    in force authorises for them (TUF §5.4.2, §5.5.3, §5.6.3), and a timestamp
//!    or snapshot lists no older version of a role than the one before it did
//!    (TUF §5.4.3.2, §5.5.5): what each client checks against its own trusted
//!    files, checked here across the whole log;
//! 6. a delegated role is signed by the keys a targets role in force delegates it
//!    to (TUF §5.6.7.2). The server logs a push's targets roles in name order, so a
//!    delegated role may precede its delegator in the same push: it waits, and is
//!    judged at the next targets version or, at the latest, at the repository's next
//!    snapshot, which every push logs after its targets roles.
//!
//! A version that fails a check is reported and not taken as in force: later
//! entries are judged against what was legitimately logged.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use tuf::logentry::LogEntry;
use tuf::metadata::{Metadata, Role, Root, Snapshot, Targets, Timestamp};
use tuf::threshold::{verify_next_root, verify_threshold, Authorization};

/// Most delegated versions one repository may have waiting for a delegator;
/// beyond it they are judged (and reported) at once.
pub const MAX_PENDING_PER_REPO: usize = 1024;

/// What is wrong with a logged version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AlertKind {
    /// The entry or the document does not parse, or they disagree.
    Malformed,
    /// The metadata bytes are not the ones the entry commits to.
    ContentMismatch,
    /// The same (repository, role, version) logged twice with different bytes.
    Equivocation,
    /// The same version logged again with the same bytes.
    Duplicate,
    /// A version at or below the latest logged for the role (a rollback).
    VersionNotIncreasing,
    /// A root that is not version N+1 of the root in force.
    RootSkipped,
    /// A root not signed by the previous root's threshold or by its own.
    RootNotAuthorized,
    /// A role not signed by the threshold of keys authorised for it.
    Unauthorized,
    /// A timestamp or snapshot, validly signed, that lists an older version of a
    /// role (or drops a role) than the one logged before it listed (TUF §5.4.3.2,
    /// §5.5.5, applied across the whole log): a freeze or a rollback aimed at
    /// clients that never saw the newer listing.
    MetaRollback,
    /// Two checkpoints of the log that cannot both be true, proven by an evidence
    /// file (raised by the follower and by gossip).
    SplitView,
    /// A checkpoint signed by the log that the log cannot prove consistent with
    /// the monitor's (no conclusive evidence yet).
    UnprovenCheckpoint,
    /// Entries the log served do not hash to the root it signed.
    BadEntries,
    /// The log commits to metadata it does not serve.
    MetadataUnavailable,
    /// The log served a checkpoint smaller than one it signed that the monitor
    /// verified or heard (a rollback, or a view frozen for the monitor).
    CheckpointRollback,
    /// A checkpoint the log signed, heard from someone, that the monitor's tree
    /// has not reached within the deadline: the log does not let it verify what
    /// it shows others.
    CheckpointFrozen,
    /// The newest verified checkpoint is older than the maximum age.
    CheckpointStale,
    /// The log serves a checkpoint short of the witness policy its clients apply.
    WitnessPolicy,
}

impl AlertKind {
    /// A stable label (metrics, logs, evidence files).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Malformed => "malformed",
            AlertKind::ContentMismatch => "content_mismatch",
            AlertKind::Equivocation => "equivocation",
            AlertKind::Duplicate => "duplicate",
            AlertKind::VersionNotIncreasing => "version_not_increasing",
            AlertKind::RootSkipped => "root_skipped",
            AlertKind::RootNotAuthorized => "root_not_authorized",
            AlertKind::Unauthorized => "unauthorized",
            AlertKind::MetaRollback => "meta_rollback",
            AlertKind::SplitView => "split_view",
            AlertKind::UnprovenCheckpoint => "unproven_checkpoint",
            AlertKind::BadEntries => "bad_entries",
            AlertKind::MetadataUnavailable => "metadata_unavailable",
            AlertKind::CheckpointRollback => "checkpoint_rollback",
            AlertKind::CheckpointFrozen => "checkpoint_frozen",
            AlertKind::CheckpointStale => "checkpoint_stale",
            AlertKind::WitnessPolicy => "witness_policy",
        }
    }
}

/// A violation found in the entry at `index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// What is wrong.
    pub kind: AlertKind,
    /// The entry's index in the log.
    pub index: u64,
    /// Repository ("?" when the entry does not parse).
    pub repo: String,
    /// Role.
    pub role: String,
    /// Version.
    pub version: u64,
    /// Specifics, for people.
    pub detail: String,
}

/// A version that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVersion {
    /// The entry's index in the log.
    pub index: u64,
    /// Repository.
    pub repo: String,
    /// Role.
    pub role: String,
    /// Version.
    pub version: u64,
    /// Hex SHA-256 of the metadata bytes.
    pub sha256: String,
    /// Key IDs of the signatures it carries (for owners watching for an unexpected
    /// key).
    pub keyids: Vec<String>,
}

/// What one entry (or a delegated version it unblocked) led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A legitimate new version.
    NewVersion(NewVersion),
    /// A violation.
    Alert(Alert),
}

/// Whose legitimate new versions a replay reports as [`Finding::NewVersion`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Watched {
    /// Every repository's.
    #[default]
    All,
    /// Only these repositories'. A monitor that watches none reports none: on a
    /// large log a report per entry is most of what judging an entry allocates.
    Only(BTreeSet<String>),
}

impl Watched {
    /// The repositories a monitor is told to watch, where `*` means all of them.
    pub fn from_names(names: &[String]) -> Self {
        if names.iter().any(|n| n == "*") {
            Watched::All
        } else {
            Watched::Only(names.iter().cloned().collect())
        }
    }

    /// Whether `repo`'s new versions are reported.
    pub fn covers(&self, repo: &str) -> bool {
        match self {
            Watched::All => true,
            Watched::Only(names) => names.contains(repo),
        }
    }
}

/// The replay of one log.
#[derive(Default)]
pub struct Replay {
    repos: BTreeMap<String, RepoReplay>,
    watched: Watched,
    /// Repositories whose root, targets roles or waiting versions changed since
    /// [`Replay::take_changes`].
    dirty: BTreeSet<String>,
    /// Versions logged since [`Replay::take_changes`].
    new_logged: Vec<Logged>,
}

/// One repository's part of a batch: its state, taken out of the replay while a
/// thread judges its entries (with their positions in the batch).
struct RepoWork {
    name: String,
    state: RepoReplay,
    entries: Vec<(usize, LogEntry)>,
}

/// What judging one entry leaves for the replay as a whole.
#[derive(Default)]
struct Judged {
    findings: Vec<Finding>,
    /// The version, when it was taken as logged (whether or not it is legitimate).
    logged: Option<Logged>,
    /// Whether the repository's stored state changed; only ever set with `logged`,
    /// which names the repository.
    dirty: bool,
}

/// One logged (repository, role, version) and the SHA-256 (hex) of its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    /// Repository.
    pub repo: String,
    /// Role.
    pub role: String,
    /// Version.
    pub version: u64,
    /// Hex SHA-256 of the metadata bytes.
    pub sha256: String,
}

/// Below this many entries a batch's entries are parsed on one thread: a thread
/// costs more than it saves.
const PARALLEL_ENTRY_PARSE: usize = 1024;

/// The entries of `batch`, parsed in order, on up to `threads` threads: this runs
/// before a batch can be shared out by repository, while nothing else is judged.
fn parse_entries(batch: &[(u64, &[u8], &[u8])], threads: usize) -> Vec<tuf::Result<LogEntry>> {
    let parse = |part: &[(u64, &[u8], &[u8])]| {
        part.iter()
            .map(|(_, entry_bytes, _)| LogEntry::from_bytes(entry_bytes))
            .collect::<Vec<_>>()
    };
    let threads = threads.clamp(1, batch.len().div_ceil(PARALLEL_ENTRY_PARSE).max(1));
    if threads == 1 {
        return parse(batch);
    }
    let per_thread = batch.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut parts = batch.chunks(per_thread);
        let first = parts.next().unwrap_or_default();
        let others: Vec<_> = parts.map(|part| scope.spawn(move || parse(part))).collect();
        let mut parsed = parse(first);
        for other in others {
            parsed.extend(
                other
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        parsed
    })
}

impl From<LogEntry> for Logged {
    fn from(entry: LogEntry) -> Self {
        Logged {
            repo: entry.repo,
            role: entry.role,
            version: entry.version,
            sha256: entry.sha256,
        }
    }
}

/// What a repository's replay holds besides its logged versions, as exact bytes:
/// what a monitor stores to resume.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepoState {
    /// The root in force.
    pub root: Option<Vec<u8>>,
    /// The latest legitimate version of each targets role.
    pub targets: Vec<(String, Vec<u8>)>,
    /// Delegated versions waiting for their delegator: index, entry, metadata.
    pub pending: Vec<(u64, Vec<u8>, Vec<u8>)>,
    /// The latest legitimate timestamp, as of the last change of the snapshot
    /// version it lists.
    pub timestamp: Option<Vec<u8>>,
    /// The latest legitimate snapshot.
    pub snapshot: Option<Vec<u8>>,
}

/// What changed since the last [`Replay::take_changes`].
#[derive(Debug, Default)]
pub struct Changes {
    /// The whole state of every repository that changed.
    pub repos: Vec<(String, RepoState)>,
    /// Every version logged since.
    pub logged: Vec<Logged>,
}

#[derive(Default)]
struct RepoReplay {
    root: Option<Metadata<Root>>,
    /// Latest legitimate version of every targets role, top-level and delegated.
    targets: BTreeMap<String, Metadata<Targets>>,
    /// Every version logged per role, with its SHA-256 (hex).
    logged: BTreeMap<String, BTreeMap<u64, String>>,
    /// Delegated versions waiting for their delegator.
    pending: Vec<Pending>,
    /// The latest legitimate timestamp and snapshot: what the next one must not
    /// list less than.
    timestamp: Option<Metadata<Timestamp>>,
    snapshot: Option<Metadata<Snapshot>>,
    /// Whether its legitimate new versions are reported (set for each batch from
    /// [`Watched`]).
    watched: bool,
}

struct Pending {
    index: u64,
    entry: LogEntry,
    entry_bytes: Vec<u8>,
    doc: Metadata<Targets>,
}

impl Replay {
    /// An empty replay (a log from its first entry).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports the legitimate new versions of `watched` repositories only (all of
    /// them until this is called). Alerts are raised for every repository.
    pub fn watch(&mut self, watched: Watched) {
        self.watched = watched;
    }

    /// Judges the entry at `index` with the metadata bytes it commits to.
    pub fn entry(&mut self, index: u64, entry_bytes: &[u8], metadata: &[u8]) -> Vec<Finding> {
        let entry = match LogEntry::from_bytes(entry_bytes) {
            Ok(e) => e,
            Err(e) => return vec![malformed_entry(index, &e)],
        };
        let watched = self.watched.covers(&entry.repo);
        let repo = self.repos.entry(entry.repo.clone()).or_default();
        repo.watched = watched;
        let judged = repo.judge(index, entry, entry_bytes, metadata);
        self.absorb(judged)
    }

    /// Judges a batch of `(index, entry, metadata)` in log order, exactly as
    /// [`Replay::entry`] one by one would, on up to `threads` threads.
    ///
    /// Repositories share nothing in a replay, so each thread takes whole
    /// repositories, judges their entries in log order, and the findings are put
    /// back in log order. This is how a monitor keeps both cores busy: the
    /// signature checks, most of a replay's work, run where the entries are judged.
    pub fn entries(&mut self, batch: &[(u64, &[u8], &[u8])], threads: usize) -> Vec<Finding> {
        let mut early: Vec<(usize, Judged)> = Vec::new();
        let mut groups: BTreeMap<String, Vec<(usize, LogEntry)>> = BTreeMap::new();
        for (position, parsed) in parse_entries(batch, threads).into_iter().enumerate() {
            match parsed {
                Ok(e) => match groups.get_mut(&e.repo) {
                    Some(group) => group.push((position, e)),
                    None => {
                        groups.insert(e.repo.clone(), vec![(position, e)]);
                    }
                },
                Err(e) => {
                    let index = batch[position].0;
                    early.push((position, Judged::alert(malformed_entry(index, &e))));
                }
            }
        }
        // Each repository's state leaves the map for its thread, and comes back.
        let mut work: Vec<RepoWork> = groups
            .into_iter()
            .map(|(name, entries)| {
                let mut state = self.repos.remove(&name).unwrap_or_default();
                state.watched = self.watched.covers(&name);
                RepoWork {
                    state,
                    name,
                    entries,
                }
            })
            .collect();
        // Longest first, each to the least loaded thread.
        work.sort_by_key(|w| std::cmp::Reverse(w.entries.len()));
        let threads = threads.clamp(1, work.len().max(1));
        let mut shares: Vec<(usize, Vec<RepoWork>)> =
            (0..threads).map(|_| (0, Vec::new())).collect();
        for w in work {
            if let Some(share) = shares.iter_mut().min_by_key(|(load, _)| *load) {
                share.0 += w.entries.len();
                share.1.push(w);
            }
        }
        let judge_share = |share: Vec<RepoWork>| {
            let mut judged = Vec::new();
            let mut states = Vec::with_capacity(share.len());
            for RepoWork {
                name,
                mut state,
                entries,
            } in share
            {
                for (position, entry) in entries {
                    let (index, entry_bytes, metadata) = batch[position];
                    judged.push((position, state.judge(index, entry, entry_bytes, metadata)));
                }
                states.push((name, state));
            }
            (judged, states)
        };
        let mut done: Vec<_> = if shares.len() == 1 {
            shares.into_iter().map(|(_, s)| judge_share(s)).collect()
        } else {
            std::thread::scope(|scope| {
                let running: Vec<_> = shares
                    .into_iter()
                    .map(|(_, share)| scope.spawn(|| judge_share(share)))
                    .collect();
                running
                    .into_iter()
                    .map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        let mut in_order = early;
        for (judged, states) in done.drain(..) {
            in_order.extend(judged);
            self.repos.extend(states);
        }
        in_order.sort_by_key(|(position, _)| *position);
        in_order
            .into_iter()
            .flat_map(|(_, judged)| self.absorb(judged))
            .collect()
    }

    /// Takes note of what judging an entry changed; its findings.
    fn absorb(&mut self, judged: Judged) -> Vec<Finding> {
        if let Some(logged) = judged.logged {
            if judged.dirty {
                self.dirty.insert(logged.repo.clone());
            }
            self.new_logged.push(logged);
        }
        judged.findings
    }

    /// The repositories seen so far.
    pub fn repos(&self) -> impl Iterator<Item = &str> {
        self.repos.keys().map(String::as_str)
    }

    /// What changed since the last call: what a monitor writes, with its position,
    /// in one durable batch.
    pub fn take_changes(&mut self) -> Changes {
        let dirty = std::mem::take(&mut self.dirty);
        let repos = dirty
            .into_iter()
            .filter_map(|name| {
                let state = self.repos.get(&name)?.state();
                Some((name, state))
            })
            .collect();
        Changes {
            repos,
            logged: std::mem::take(&mut self.new_logged),
        }
    }

    /// A replay resumed from stored state. Every stored document is parsed again;
    /// one that no longer parses means the store is damaged.
    pub fn restore(
        repos: impl IntoIterator<Item = (String, RepoState)>,
        logged: impl IntoIterator<Item = Logged>,
    ) -> Result<Self, String> {
        let mut replay = Replay::new();
        for (name, state) in repos {
            let damaged = |what: &str, e: tuf::Error| format!("{name}: stored {what}: {e}");
            let mut repo = RepoReplay {
                root: state
                    .root
                    .map(|b| Metadata::<Root>::from_bytes(&b))
                    .transpose()
                    .map_err(|e| damaged("root", e))?,
                timestamp: state
                    .timestamp
                    .map(|b| Metadata::<Timestamp>::from_bytes(&b))
                    .transpose()
                    .map_err(|e| damaged("timestamp", e))?,
                snapshot: state
                    .snapshot
                    .map(|b| Metadata::<Snapshot>::from_bytes(&b))
                    .transpose()
                    .map_err(|e| damaged("snapshot", e))?,
                ..RepoReplay::default()
            };
            for (role, bytes) in state.targets {
                let doc = Metadata::<Targets>::from_bytes(&bytes).map_err(|e| damaged(&role, e))?;
                repo.targets.insert(role, doc);
            }
            for (index, entry_bytes, metadata) in state.pending {
                let entry = LogEntry::from_bytes(&entry_bytes)
                    .map_err(|e| format!("{name}: stored waiting entry {index}: {e}"))?;
                let doc = Metadata::<Targets>::from_bytes(&metadata)
                    .map_err(|e| damaged(&entry.role, e))?;
                repo.pending.push(Pending {
                    index,
                    entry,
                    entry_bytes,
                    doc,
                });
            }
            replay.repos.insert(name, repo);
        }
        for l in logged {
            replay
                .repos
                .entry(l.repo)
                .or_default()
                .logged
                .entry(l.role)
                .or_default()
                .insert(l.version, l.sha256);
        }
        Ok(replay)
    }
}

impl RepoReplay {
    /// Judges the entry at `index` of this repository (see the module docs for
    /// the checks, in order).
    fn judge(
        &mut self,
        index: u64,
        entry: LogEntry,
        entry_bytes: &[u8],
        metadata: &[u8],
    ) -> Judged {
        let at = |kind, detail: String| {
            alert(kind, index, &entry.repo, &entry.role, entry.version, detail)
        };
        // 1. The bytes are the ones the entry commits to.
        if !entry.describes(metadata) {
            let sha = hex::encode(Sha256::digest(metadata));
            return Judged::alert(at(
                AlertKind::ContentMismatch,
                format!(
                    "the entry commits to {} bytes with SHA-256 {}; the metadata served is {} bytes with SHA-256 {sha}",
                    entry.length, entry.sha256, metadata.len()
                ),
            ));
        }
        // 2. Each (repository, role, version) once; versions only go up.
        let logged = self.logged.get(&entry.role);
        if let Some(earlier) = logged.and_then(|l| l.get(&entry.version)) {
            return Judged::alert(if *earlier == entry.sha256 {
                at(
                    AlertKind::Duplicate,
                    "this version was logged before".into(),
                )
            } else {
                at(
                    AlertKind::Equivocation,
                    format!(
                        "version {} was logged before with SHA-256 {earlier}; now with {}",
                        entry.version, entry.sha256
                    ),
                )
            });
        }
        let latest = logged.and_then(|l| l.keys().next_back().copied());
        // The role's name is copied only for its first version.
        match self.logged.get_mut(&entry.role) {
            Some(l) => {
                l.insert(entry.version, entry.sha256.clone());
            }
            None => {
                let first = BTreeMap::from([(entry.version, entry.sha256.clone())]);
                self.logged.insert(entry.role.clone(), first);
            }
        }
        // Taken as logged from here on, legitimate or not; the entry itself becomes
        // the record once judged (no copies of its names per entry).
        let mut judged = Judged {
            findings: Vec::new(),
            logged: None,
            dirty: entry.role != "timestamp",
        };
        if let Some(latest) = latest.filter(|l| *l > entry.version) {
            judged.findings.push(at(
                AlertKind::VersionNotIncreasing,
                format!("version {latest} was logged before"),
            ));
            judged.logged = Some(entry.into());
            return judged;
        }
        // 3–6, by role.
        let repo = self;
        let findings = &mut judged.findings;
        match entry.role.as_str() {
            "root" => findings.extend(repo.root(index, &entry, metadata)),
            "timestamp" => {
                let (found, doc) =
                    repo.top_level::<Timestamp>(index, &entry, metadata, |r, new| {
                        r.timestamp.as_ref().map_or(Ok(()), |t| {
                            tuf::client::check_snapshot_listing(t.signed(), new)
                        })
                    });
                findings.extend(found);
                if let Some(doc) = doc {
                    // Re-signed timestamps that list the same snapshot change nothing
                    // the next check needs: only a new listing is stored.
                    let listed =
                        |t: &Metadata<Timestamp>| t.signed().snapshot_meta().map(|m| m.version);
                    if repo.timestamp.as_ref().and_then(listed) != listed(&doc) {
                        judged.dirty = true;
                    }
                    repo.timestamp = Some(doc);
                }
            }
            "snapshot" => {
                let (found, doc) = repo.top_level::<Snapshot>(index, &entry, metadata, |r, new| {
                    r.snapshot.as_ref().map_or(Ok(()), |s| {
                        tuf::client::check_targets_listing(s.signed(), new)
                    })
                });
                findings.extend(found);
                if doc.is_some() {
                    repo.snapshot = doc;
                }
                // Every push logs its snapshot after its targets roles: whatever
                // still waits for a delegator has none.
                findings.extend(repo.judge_pending(true));
            }
            "targets" => {
                if let Some(doc) = parse::<Targets>(index, &entry, metadata, findings) {
                    findings.extend(repo.authorise_top_level(index, &entry, doc));
                    findings.extend(repo.judge_pending(false));
                }
            }
            _ => {
                if let Some(doc) = parse::<Targets>(index, &entry, metadata, findings) {
                    repo.pending.push(Pending {
                        index,
                        entry: entry.clone(),
                        entry_bytes: entry_bytes.to_vec(),
                        doc,
                    });
                    let overflow = repo.pending.len() > MAX_PENDING_PER_REPO;
                    findings.extend(repo.judge_pending(overflow));
                }
            }
        }
        judged.logged = Some(entry.into());
        judged
    }

    fn state(&self) -> RepoState {
        RepoState {
            root: self.root.as_ref().map(|r| r.bytes().to_vec()),
            targets: self
                .targets
                .iter()
                .map(|(role, doc)| (role.clone(), doc.bytes().to_vec()))
                .collect(),
            pending: self
                .pending
                .iter()
                .map(|p| (p.index, p.entry_bytes.clone(), p.doc.bytes().to_vec()))
                .collect(),
            timestamp: self.timestamp.as_ref().map(|t| t.bytes().to_vec()),
            snapshot: self.snapshot.as_ref().map(|s| s.bytes().to_vec()),
        }
    }

    fn root(&mut self, index: u64, entry: &LogEntry, bytes: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        let Some(doc) = parse::<Root>(index, entry, bytes, &mut findings) else {
            return findings;
        };
        let fail = |kind, detail: String| vec![on_entry(kind, index, entry, detail)];
        let judged = match &self.root {
            // TUF §5.3.4, §5.3.5: the rule every judge of a new root applies.
            Some(trusted) => verify_next_root(trusted.signed(), &doc).map_err(|e| {
                let kind = match e {
                    tuf::Error::Rollback { .. } | tuf::Error::VersionMismatch { .. } => {
                        AlertKind::RootSkipped
                    }
                    _ => AlertKind::RootNotAuthorized,
                };
                (kind, format!("against root v{}: {e}", trusted.version()))
            }),
            None => authorised(doc.signed(), "root", &doc).map_err(|e| {
                (
                    AlertKind::RootNotAuthorized,
                    format!("not signed by its own threshold: {e}"),
                )
            }),
        };
        if let Err((kind, detail)) = judged {
            return fail(kind, detail);
        }
        findings.extend(self.new_version(index, entry, &doc));
        self.root = Some(doc);
        findings
    }

    /// A timestamp or snapshot: signed as the root in force says, and listing no
    /// less than the one before it (`listing`). Returns the document when it is
    /// legitimate.
    fn top_level<T: Role>(
        &self,
        index: u64,
        entry: &LogEntry,
        bytes: &[u8],
        listing: impl FnOnce(&Self, &T) -> Result<(), tuf::Error>,
    ) -> (Vec<Finding>, Option<Metadata<T>>) {
        let mut findings = Vec::new();
        let Some(doc) = parse::<T>(index, entry, bytes, &mut findings) else {
            return (findings, None);
        };
        if let Err(detail) = self.check_top_level(entry, &doc) {
            findings.push(on_entry(AlertKind::Unauthorized, index, entry, detail));
            return (findings, None);
        }
        if let Err(e) = listing(self, doc.signed()) {
            findings.push(on_entry(
                AlertKind::MetaRollback,
                index,
                entry,
                format!("lists less than the {} logged before it: {e}", entry.role),
            ));
            return (findings, None);
        }
        findings.extend(self.new_version(index, entry, &doc));
        (findings, Some(doc))
    }

    fn authorise_top_level(
        &mut self,
        index: u64,
        entry: &LogEntry,
        doc: Metadata<Targets>,
    ) -> Vec<Finding> {
        match self.check_top_level(entry, &doc) {
            Ok(()) => {
                let found = self.new_version(index, entry, &doc);
                self.targets.insert(entry.role.clone(), doc);
                found.into_iter().collect()
            }
            Err(detail) => vec![on_entry(AlertKind::Unauthorized, index, entry, detail)],
        }
    }

    /// TUF §5.4.2, §5.5.3, §5.6.3: signed by the threshold the root in force sets.
    fn check_top_level<T: Role>(&self, entry: &LogEntry, doc: &Metadata<T>) -> Result<(), String> {
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| "no root of this repository was logged before it".to_string())?;
        authorised(root.signed(), &entry.role, doc).map_err(|e| {
            format!(
                "not signed by the keys root v{} authorises for {}: {e}",
                root.version(),
                entry.role
            )
        })
    }

    /// Takes every waiting delegated version some targets role in force now
    /// delegates to; with `final_say`, reports the rest as unauthorised.
    fn judge_pending(&mut self, final_say: bool) -> Vec<Finding> {
        let mut findings = Vec::new();
        loop {
            let before = self.pending.len();
            let waiting = std::mem::take(&mut self.pending);
            for p in waiting {
                if self.delegated_by_one_in_force(&p) {
                    findings.extend(self.new_version(p.index, &p.entry, &p.doc));
                    self.targets.insert(p.entry.role.clone(), p.doc);
                } else {
                    self.pending.push(p);
                }
            }
            // A role taken may itself delegate to another that waits.
            if self.pending.len() == before {
                break;
            }
        }
        if final_say {
            for p in self.pending.drain(..) {
                findings.push(alert(
                    AlertKind::Unauthorized,
                    p.index,
                    &p.entry.repo,
                    &p.entry.role,
                    p.entry.version,
                    "no targets role in force delegates it to the keys that signed it".into(),
                ));
            }
        }
        findings
    }

    /// TUF §5.6.7.2: signed by the threshold of keys a delegator names for it.
    fn delegated_by_one_in_force(&self, p: &Pending) -> bool {
        self.targets
            .iter()
            .filter(|(name, _)| **name != p.entry.role)
            .filter_map(|(_, delegator)| delegator.signed().delegations.as_ref())
            .any(|delegations| {
                Authorization::delegated(delegations, &p.entry.role)
                    .and_then(|auth| verify_threshold(&auth, &p.doc))
                    .is_ok()
            })
    }
}

fn authorised<T: Role>(root: &Root, role: &str, doc: &Metadata<T>) -> tuf::Result<()> {
    verify_threshold(&Authorization::top_level(root, role)?, doc)
}

fn malformed_entry(index: u64, e: &tuf::Error) -> Finding {
    alert(
        AlertKind::Malformed,
        index,
        "?",
        "?",
        0,
        format!("the entry does not parse: {e}"),
    )
}

impl Judged {
    fn alert(finding: Finding) -> Judged {
        Judged {
            findings: vec![finding],
            ..Judged::default()
        }
    }
}

/// Parses `bytes` as `T` at the entry's version, or records why not; a document
/// parsed `ahead` (from the same bytes, at that version) is taken as it is.
fn parse<T: Role>(
    index: u64,
    entry: &LogEntry,
    bytes: &[u8],
    findings: &mut Vec<Finding>,
) -> Option<Metadata<T>> {
    let problem = match Metadata::<T>::from_bytes(bytes) {
        Ok(doc) if doc.version() == entry.version => return Some(doc),
        Ok(doc) => format!("the document is version {}", doc.version()),
        Err(e) => format!("the document does not parse as {}: {e}", T::TYPE),
    };
    findings.push(on_entry(AlertKind::Malformed, index, entry, problem));
    None
}

fn alert(
    kind: AlertKind,
    index: u64,
    repo: &str,
    role: &str,
    version: u64,
    detail: String,
) -> Finding {
    Finding::Alert(Alert {
        kind,
        index,
        repo: repo.into(),
        role: role.into(),
        version,
        detail,
    })
}

fn on_entry(kind: AlertKind, index: u64, entry: &LogEntry, detail: String) -> Finding {
    alert(kind, index, &entry.repo, &entry.role, entry.version, detail)
}

impl RepoReplay {
    /// The report of a legitimate new version, when this repository is watched.
    fn new_version<T: Role>(
        &self,
        index: u64,
        entry: &LogEntry,
        doc: &Metadata<T>,
    ) -> Option<Finding> {
        self.watched.then(|| new_version(index, entry, doc))
    }
}

fn new_version<T: Role>(index: u64, entry: &LogEntry, doc: &Metadata<T>) -> Finding {
    Finding::NewVersion(NewVersion {
        index,
        repo: entry.repo.clone(),
        role: entry.role.clone(),
        version: entry.version,
        sha256: entry.sha256.clone(),
        keyids: doc
            .signatures()
            .iter()
            .filter(|s| !s.sig.is_empty())
            .map(|s| s.keyid.clone())
            .collect(),
    })
}

#[cfg(test)]
mod tests;
