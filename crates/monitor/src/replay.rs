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

mod findings;
mod repo;

pub use findings::{Alert, AlertKind, Finding, NewVersion, Watched};
use repo::*;

/// Most delegated versions one repository may have waiting for a delegator;
/// beyond it they are judged (and reported) at once.
pub const MAX_PENDING_PER_REPO: usize = 1024;

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

#[cfg(test)]
mod tests;
