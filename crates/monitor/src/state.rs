//! The monitor's durable state in a [`KvStore`]: the log it follows, its latest
//! verified checkpoint, every leaf hash it replayed (so it can prove a fork from its
//! own tree), and the replay's state. Each follow batch is one synced write, so a
//! restart resumes exactly where the last batch ended.

use crate::replay::{Changes, Logged, Replay, RepoState};
use crate::Error;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use store::{KvStore, MAX_SCAN};
use tlog::tile::MAX_BUNDLE_ENTRIES;
use tlog::{Hash, MemoryHashStore, NodeId};

const LOG_KEY: &[u8] = b"monitor/log";
const CHECKPOINT: &[u8] = b"monitor/checkpoint";
/// When the stored checkpoint's size was first verified (seconds since the epoch).
const CHECKPOINT_AT: &[u8] = b"monitor/checkpoint_at";
/// Checkpoints heard ahead of the monitor's tree, kept until it passes them.
const HEARD: &[u8] = b"monitor/heard";
const SIZE: &[u8] = b"monitor/size";
const LEAVES: &[u8] = b"monitor/leaves/";
const REPO: &[u8] = b"monitor/repo/";
const LOGGED: &[u8] = b"monitor/logged/";

/// What a monitor resumes from.
pub struct Stored {
    /// The latest verified checkpoint note.
    pub checkpoint: Option<String>,
    /// When a checkpoint of its size was first verified (seconds since the epoch).
    pub checkpoint_at: Option<u64>,
    /// Signed checkpoints heard ahead of the tree, not yet judged.
    pub heard: Vec<HeardRecord>,
    /// Every leaf replayed.
    pub tree: MemoryHashStore,
    /// The replay.
    pub replay: Replay,
}

/// The monitor's store.
#[derive(Clone)]
pub struct State {
    kv: Arc<dyn KvStore>,
}

/// A signed checkpoint heard ahead of the monitor's tree, kept durably until the
/// tree passes its size and it is judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeardRecord {
    /// The note as heard.
    pub note: String,
    /// When it was first heard (seconds since the epoch).
    pub heard_at: u64,
    /// Who told the monitor (a client, a peer, a witness).
    pub from: String,
}

#[derive(Serialize, Deserialize)]
struct StoredRepo {
    root: Option<String>,
    targets: Vec<(String, String)>,
    pending: Vec<(u64, String, String)>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    snapshot: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(text)
        .map_err(|e| Error::Damaged(format!("stored bytes: {e}")))
}

fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// `prefix`, then each part as a big-endian u16 length and its bytes.
fn key(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    for p in parts {
        let len = u16::try_from(p.len()).unwrap_or(u16::MAX);
        k.extend_from_slice(&len.to_be_bytes());
        k.extend_from_slice(&p[..usize::from(len)]);
    }
    k
}

/// The parts of a key written by [`key`].
fn parts(mut rest: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return None;
        }
        out.push(&tail[..len]);
        rest = &tail[len..];
    }
    Some(out)
}

impl State {
    /// State kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        State { kv }
    }

    /// Every pair under `prefix`, page by page.
    fn scan_all(
        &self,
        prefix: &[u8],
        mut each: impl FnMut(&[u8], Vec<u8>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.kv.scan(prefix, after.as_deref(), MAX_SCAN)?;
            let done = page.len() < MAX_SCAN;
            for (k, v) in &page {
                each(&k[prefix.len()..], v.clone())?;
            }
            match page.into_iter().next_back() {
                Some((k, _)) if !done => after = Some(k),
                _ => return Ok(()),
            }
        }
    }

    /// Loads what a monitor of the log `log_key` stored, refusing state kept for
    /// another log.
    pub fn load(&self, log_key: &str) -> Result<Stored, Error> {
        match self.kv.get(LOG_KEY)? {
            Some(k) if k != log_key.as_bytes() => {
                return Err(Error::Damaged(format!(
                    "this state follows the log {}, not {log_key}",
                    String::from_utf8_lossy(&k)
                )))
            }
            Some(_) => {}
            None => self.kv.put_all(&[(LOG_KEY, log_key.as_bytes())])?,
        }
        let checkpoint = self
            .kv
            .get(CHECKPOINT)?
            .map(|b| String::from_utf8(b).map_err(|e| Error::Damaged(e.to_string())))
            .transpose()?;
        let size = match self.kv.get(SIZE)? {
            Some(b) => u64::from_be_bytes(
                b.as_slice()
                    .try_into()
                    .map_err(|_| Error::Damaged("stored size".into()))?,
            ),
            None => 0,
        };
        let mut tree = MemoryHashStore::new();
        self.scan_all(LEAVES, |k, v| {
            let tile = u64::from_be_bytes(
                k.try_into()
                    .map_err(|_| Error::Damaged("stored leaf tile key".into()))?,
            );
            if tile * MAX_BUNDLE_ENTRIES as u64 != tree.size() || v.len() % 32 != 0 {
                return Err(Error::Damaged(format!("stored leaf tile {tile}")));
            }
            for h in v.chunks_exact(32) {
                if tree.size() < size {
                    tree.append_leaf_hash(Hash::from_slice(h)?);
                }
            }
            Ok(())
        })?;
        if tree.size() != size {
            return Err(Error::Damaged(format!(
                "{} leaf hashes stored for a tree of {size}",
                tree.size()
            )));
        }
        let mut repos = Vec::new();
        self.scan_all(REPO, |k, v| {
            let name = String::from_utf8(k.to_vec()).map_err(|e| Error::Damaged(e.to_string()))?;
            let s: StoredRepo =
                serde_json::from_slice(&v).map_err(|e| Error::Damaged(e.to_string()))?;
            let state = RepoState {
                root: s.root.as_deref().map(unb64).transpose()?,
                targets: s
                    .targets
                    .iter()
                    .map(|(r, b)| Ok((r.clone(), unb64(b)?)))
                    .collect::<Result<_, Error>>()?,
                pending: s
                    .pending
                    .iter()
                    .map(|(i, e, m)| Ok((*i, unb64(e)?, unb64(m)?)))
                    .collect::<Result<_, Error>>()?,
                timestamp: s.timestamp.as_deref().map(unb64).transpose()?,
                snapshot: s.snapshot.as_deref().map(unb64).transpose()?,
            };
            repos.push((name, state));
            Ok(())
        })?;
        let mut logged = Vec::new();
        self.scan_all(LOGGED, |k, v| {
            let damaged = || Error::Damaged("stored logged version".into());
            let p = parts(k).ok_or_else(damaged)?;
            let [repo, role, version] = p.as_slice() else {
                return Err(damaged());
            };
            logged.push(Logged {
                repo: String::from_utf8(repo.to_vec()).map_err(|_| damaged())?,
                role: String::from_utf8(role.to_vec()).map_err(|_| damaged())?,
                version: u64::from_be_bytes((*version).try_into().map_err(|_| damaged())?),
                sha256: String::from_utf8(v).map_err(|_| damaged())?,
            });
            Ok(())
        })?;
        let replay = Replay::restore(repos, logged).map_err(Error::Damaged)?;
        let checkpoint_at = match self.kv.get(CHECKPOINT_AT)? {
            Some(b) => {
                Some(u64::from_be_bytes(b.as_slice().try_into().map_err(
                    |_| Error::Damaged("stored checkpoint time".into()),
                )?))
            }
            None => None,
        };
        let heard = match self.kv.get(HEARD)? {
            Some(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::Damaged(format!("stored heard checkpoints: {e}")))?,
            None => Vec::new(),
        };
        Ok(Stored {
            checkpoint,
            checkpoint_at,
            heard,
            tree,
            replay,
        })
    }

    /// Stores, in one synced write: the leaves of `tree` from `from` on, its size,
    /// the replay's changes and, when given, the new latest checkpoint and when its
    /// size was first verified.
    pub fn save(
        &self,
        tree: &MemoryHashStore,
        from: u64,
        changes: &Changes,
        checkpoint: Option<(&str, u64)>,
    ) -> Result<(), Error> {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let per_tile = MAX_BUNDLE_ENTRIES as u64;
        let size = tree.size();
        let mut tile = from / per_tile;
        while tile * per_tile < size {
            let end = ((tile + 1) * per_tile).min(size);
            let mut hashes = Vec::with_capacity(32 * MAX_BUNDLE_ENTRIES);
            for i in tile * per_tile..end {
                let h = tree
                    .node(NodeId::new(0, i))
                    .ok_or_else(|| Error::Damaged(format!("no leaf {i} in memory")))?;
                hashes.extend_from_slice(h.as_bytes());
            }
            let mut k = LEAVES.to_vec();
            k.extend_from_slice(&be(tile));
            pairs.push((k, hashes));
            tile += 1;
        }
        pairs.push((SIZE.to_vec(), be(size).to_vec()));
        for (name, state) in &changes.repos {
            let stored = StoredRepo {
                root: state.root.as_deref().map(b64),
                targets: state
                    .targets
                    .iter()
                    .map(|(r, b)| (r.clone(), b64(b)))
                    .collect(),
                pending: state
                    .pending
                    .iter()
                    .map(|(i, e, m)| (*i, b64(e), b64(m)))
                    .collect(),
                timestamp: state.timestamp.as_deref().map(b64),
                snapshot: state.snapshot.as_deref().map(b64),
            };
            let mut k = REPO.to_vec();
            k.extend_from_slice(name.as_bytes());
            pairs.push((
                k,
                serde_json::to_vec(&stored).map_err(|e| Error::Damaged(e.to_string()))?,
            ));
        }
        for l in &changes.logged {
            pairs.push((
                key(
                    LOGGED,
                    &[l.repo.as_bytes(), l.role.as_bytes(), &be(l.version)],
                ),
                l.sha256.as_bytes().to_vec(),
            ));
        }
        if let Some((note, at)) = checkpoint {
            pairs.push((CHECKPOINT.to_vec(), note.as_bytes().to_vec()));
            pairs.push((CHECKPOINT_AT.to_vec(), be(at).to_vec()));
        }
        let refs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        Ok(self.kv.put_all(&refs)?)
    }

    /// Stores a new latest checkpoint alone, with when its size was first verified.
    pub fn save_checkpoint(&self, note: &str, at: u64) -> Result<(), Error> {
        Ok(self
            .kv
            .put_all(&[(CHECKPOINT, note.as_bytes()), (CHECKPOINT_AT, &be(at))])?)
    }

    /// Replaces the checkpoints heard ahead of the tree (one synced write).
    pub fn save_heard(&self, heard: &[HeardRecord]) -> Result<(), Error> {
        let bytes = serde_json::to_vec(heard).map_err(|e| Error::Damaged(e.to_string()))?;
        Ok(self.kv.put_all(&[(HEARD, &bytes)])?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_round_trip_their_parts_whatever_bytes_they_hold() {
        let k = key(LOGGED, &[b"a\0b", b"", &be(7)]);
        let p = parts(&k[LOGGED.len()..]).unwrap();
        assert_eq!(p, vec![&b"a\0b"[..], b"", &be(7)[..]]);
        assert!(parts(&[0, 5, 1]).is_none());
    }

    #[test]
    fn leaves_saved_in_batches_reload_as_the_same_tree() {
        let kv: Arc<dyn KvStore> = Arc::new(store::memory::MemoryKv::default());
        let state = State::new(kv);
        state.load("log").unwrap();
        let mut tree = MemoryHashStore::new();
        let mut from = 0;
        for batch in [3u64, 300, 1, 700] {
            for i in 0..batch {
                tree.append_leaf(format!("{from}-{i}").as_bytes());
            }
            state.save(&tree, from, &Changes::default(), None).unwrap();
            from = tree.size();
        }
        let loaded = state.load("log").unwrap();
        assert_eq!(loaded.tree.size(), tree.size());
        assert_eq!(loaded.tree.root(), tree.root());
        assert!(state.load("another log").is_err());
    }
}
