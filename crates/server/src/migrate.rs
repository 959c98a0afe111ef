//! Moving a log from the embedded RocksDB into PostgreSQL, checkpoints intact.
//!
//! The copy is rebuilt from what the source holds, not trusted from it: entries are
//! read in order and appended to a new tree, whose nodes are what is written; each
//! entry's metadata file and role version come along in the same batch; and the
//! last batch carries the source's signed checkpoint, which the copied tree must
//! match. The target must be empty, and is written under the sequencer lease, so
//! no server integrates into it meanwhile.
//!
//! Afterwards the copy is checked as a server opening it would check it (the stored
//! checkpoint, right edge and nodes agree), and every role's current version and
//! every version copied are compared with the source's.

use crate::sequencer::Storage;
use crate::Error;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::time::Duration;
use store::{Batch, Blob, LogState, RoleVersion, SequencerLease, MAX_ENTRIES_PER_READ};
use tlog::{leaf_hash, CompactRange};
use tuf::logentry::LogEntry;

/// Entries per batch written to the target.
pub const ENTRIES_PER_BATCH: u64 = 4 * MAX_ENTRIES_PER_READ;
/// How long the lease taken for the move lasts between batches.
const LEASE: Duration = Duration::from_secs(60);

/// What was moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// Entries, which is also the size of the checkpoint moved.
    pub entries: u64,
    /// Metadata files stored beside their entries.
    pub files: u64,
    /// Role versions recorded.
    pub versions: u64,
    /// Repositories and roles whose current version was compared.
    pub roles: u64,
}

/// Copies the log in `from` into `to`, which must hold no log, then checks the
/// copy; `progress` hears (entries copied, entries in all) after each batch.
pub fn move_log<T>(
    from: &dyn Storage,
    to: &T,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Moved, Error>
where
    T: Storage + SequencerLease,
{
    let source = from
        .state()?
        .ok_or_else(|| Error::invalid("the source holds no log"))?;
    if from.staged()?.is_some() {
        return Err(Error::invalid(
            "the source has a batch waiting for its checkpoint: start the server on it once \
             (it finishes that batch), stop it, then move the log",
        ));
    }
    if let Some(target) = to.state()? {
        return Err(Error::invalid(format!(
            "the database already holds a log of {} entries; moving a log needs an empty one",
            target.size
        )));
    }
    let holder = format!("tuflog-server migrate/{}", std::process::id());
    if to.take_lease(&holder, "", LEASE)?.is_none() {
        return Err(Error::invalid(
            "a server instance holds the database's sequencer lease: stop it first",
        ));
    }
    let moved = copy(from, to, &source, &holder, progress);
    let released = to.release_lease();
    let moved = moved?;
    released?;
    Ok(moved)
}

fn copy<T>(
    from: &dyn Storage,
    to: &T,
    source: &LogState,
    holder: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Moved, Error>
where
    T: Storage + SequencerLease,
{
    let total = source.size;
    let mut range = CompactRange::new();
    let mut moved = Moved {
        entries: 0,
        files: 0,
        versions: 0,
        roles: 0,
    };
    let mut roles: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        let first = range.size();
        let end = (first + ENTRIES_PER_BATCH).min(total);
        let mut batch = Batch {
            first_index: first,
            ..Batch::default()
        };
        let mut start = first;
        while start < end {
            let stop = (start + MAX_ENTRIES_PER_READ).min(end);
            let entries = from.entries(start, stop)?;
            let files = from.entry_blobs(start, stop)?;
            for ((index, entry), file) in (start..stop).zip(entries).zip(files) {
                range.append(leaf_hash(&entry), |id, h| batch.nodes.push((id, h)))?;
                if let Some(v) = recorded_version(from, index, &entry)? {
                    roles.insert((v.repo.clone(), v.role.clone()));
                    batch.versions.push(v);
                }
                if let Some(bytes) = file {
                    batch.blobs.push(Blob {
                        index,
                        sha256: Sha256::digest(&bytes).into(),
                        bytes,
                    });
                }
                batch.entries.push(entry);
            }
            start = stop;
        }
        let last = end == total;
        batch.state = Some(LogState {
            size: end,
            frontier: range.frontier().to_vec(),
            // Only the source's own checkpoint is ever stored; a batch before the
            // last carries none, and a server refuses to open a copy left there.
            checkpoint: if last {
                source.checkpoint.clone()
            } else {
                Vec::new()
            },
        });
        moved.files += batch.blobs.len() as u64;
        moved.versions += batch.versions.len() as u64;
        to.commit(&batch)?;
        moved.entries = end;
        progress(end, total);
        if last {
            break;
        }
        if to.take_lease(holder, "", LEASE)?.is_none() {
            return Err(Error::LeaseLost(
                "a server took the database's sequencer lease during the move".into(),
            ));
        }
    }
    if range.frontier() != source.frontier.as_slice() {
        return Err(Error::Inconsistent(
            "the source's entries do not hash to its stored right edge".into(),
        ));
    }
    check(from, to, source, &roles)?;
    moved.roles = roles.len() as u64;
    Ok(moved)
}

/// The version the source records at entry `index`, if that entry logs one.
fn recorded_version(
    from: &dyn Storage,
    index: u64,
    entry: &[u8],
) -> Result<Option<RoleVersion>, Error> {
    let Ok(logged) = LogEntry::from_bytes(entry) else {
        return Ok(None);
    };
    let record = from.version(&logged.repo, &logged.role, logged.version)?;
    Ok(record.filter(|r| r.index == index).map(|r| RoleVersion {
        repo: logged.repo,
        role: logged.role,
        version: r.version,
        sha256: r.sha256,
        index,
    }))
}

/// The copy, checked: its stored state is the source's, its nodes hash to the
/// checkpoint's root, and every role's current version is the source's.
fn check(
    from: &dyn Storage,
    to: &dyn Storage,
    source: &LogState,
    roles: &BTreeSet<(String, String)>,
) -> Result<(), Error> {
    let copied = to
        .state()?
        .ok_or_else(|| Error::Inconsistent("the copy holds no log state".into()))?;
    if &copied != source {
        return Err(Error::Inconsistent(
            "the copied log state differs from the source's".into(),
        ));
    }
    let from_nodes =
        CompactRange::from_reader(copied.size, &crate::sequencer::Reader::store_only(to))?;
    let from_edge = CompactRange::from_parts(copied.size, copied.frontier.clone())?;
    if from_nodes.root() != from_edge.root() {
        return Err(Error::Inconsistent(
            "the copied nodes do not hash to the copied right edge".into(),
        ));
    }
    // The signature is the server's to check when it opens the copy (it holds the
    // verifier key); what the checkpoint says must already be this tree.
    let body = std::str::from_utf8(&copied.checkpoint)
        .ok()
        .and_then(|note| note.split_once("\n\n"))
        .map(|(body, _)| format!("{body}\n"))
        .ok_or_else(|| Error::Inconsistent("the checkpoint is not a signed note".into()))?;
    let checkpoint = tlog::Checkpoint::parse(&body)?;
    if checkpoint.size() != copied.size || checkpoint.root() != &from_edge.root() {
        return Err(Error::Inconsistent(format!(
            "the checkpoint is for size {} and another root than the copied tree of {}",
            checkpoint.size(),
            copied.size
        )));
    }
    for (repo, role) in roles {
        if from.head(repo, role)? != to.head(repo, role)? {
            return Err(Error::Inconsistent(format!(
                "{repo} {role}: the current version differs after the copy"
            )));
        }
    }
    Ok(())
}
