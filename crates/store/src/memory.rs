//! An in-memory [`LogStore`] and [`MetadataStore`], for tests. Same checks and same
//! all-or-nothing batches as the RocksDB store; nothing survives the process.

use crate::{
    check_batch, check_cosigned_note, check_read, Batch, CosignedNote, LogState, LogStore,
    MetadataStore, Result, VersionRecord, MAX_REPOS_PER_LIST,
};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use tlog::{Hash, HashReader, NodeId};

#[derive(Default)]
struct Inner {
    entries: Vec<Vec<u8>>,
    nodes: BTreeMap<NodeId, Hash>,
    state: Option<LogState>,
    /// Kept encoded, so the in-memory store round-trips it as the durable ones do.
    staged: Option<Vec<u8>>,
    /// Files by the index of the entry that logs them.
    entry_blobs: BTreeMap<u64, Vec<u8>>,
    /// The entry each file was last logged beside, by the file's SHA-256.
    blob_entries: BTreeMap<[u8; 32], u64>,
    heads: BTreeMap<(String, String), VersionRecord>,
    versions: BTreeMap<(String, String, u64), VersionRecord>,
    cosigned: Option<CosignedNote>,
}

/// Everything in memory behind one lock.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces a stored tree node, bypassing every check: fault injection for
    /// tests of what sits above the store (a log must notice and refuse to sign).
    pub fn dangerous_overwrite_node(&self, id: NodeId, hash: Hash) {
        self.lock().nodes.insert(id, hash);
    }

    /// Replaces the stored log state, bypassing every check: a database rewritten
    /// by an attacker, for tests of those who read it.
    pub fn dangerous_replace_state(&self, state: LogState) {
        self.lock().state = Some(state);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied batch: commit
        // validates first and mutates only after, with no fallible step in between.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl HashReader for MemoryStore {
    fn read_hashes(&self, ids: &[NodeId]) -> tlog::Result<Vec<Hash>> {
        let inner = self.lock();
        ids.iter()
            .map(|id| {
                inner
                    .nodes
                    .get(id)
                    .copied()
                    .ok_or(tlog::Error::MissingHash(*id))
            })
            .collect()
    }
}

impl LogStore for MemoryStore {
    fn state(&self) -> Result<Option<LogState>> {
        Ok(self.lock().state.clone())
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        let mut inner = self.lock();
        let size = inner.state.as_ref().map_or(0, |s| s.size);
        check_batch(batch, size)?;
        inner.staged = None;
        inner.entries.extend(batch.entries.iter().cloned());
        inner.nodes.extend(batch.nodes.iter().copied());
        if let Some(s) = &batch.state {
            inner.state = Some(s.clone());
        }
        for b in &batch.blobs {
            inner.entry_blobs.insert(b.index, b.bytes.clone());
            inner.blob_entries.insert(b.sha256, b.index);
        }
        for v in &batch.versions {
            let record = VersionRecord {
                version: v.version,
                sha256: v.sha256,
                index: v.index,
            };
            let key = (v.repo.clone(), v.role.clone());
            if inner
                .heads
                .get(&key)
                .is_none_or(|cur| cur.version < v.version)
            {
                inner.heads.insert(key, record);
            }
            inner
                .versions
                .insert((v.repo.clone(), v.role.clone(), v.version), record);
        }
        Ok(())
    }

    fn stage(&self, batch: &Batch) -> Result<()> {
        let mut inner = self.lock();
        let size = inner.state.as_ref().map_or(0, |s| s.size);
        check_batch(batch, size)?;
        inner.staged = Some(crate::staged::encode(batch)?);
        Ok(())
    }

    fn staged(&self) -> Result<Option<Batch>> {
        self.lock()
            .staged
            .as_deref()
            .map(crate::staged::decode)
            .transpose()
    }

    fn put_cosigned(&self, size: u64, note: &[u8]) -> Result<()> {
        check_cosigned_note(note)?;
        let mut inner = self.lock();
        if inner.cosigned.as_ref().is_none_or(|kept| kept.size <= size) {
            inner.cosigned = Some(CosignedNote {
                size,
                note: note.to_vec(),
            });
        }
        Ok(())
    }

    fn cosigned(&self) -> Result<Option<CosignedNote>> {
        Ok(self.lock().cosigned.clone())
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let inner = self.lock();
        check_read(start, end, inner.entries.len() as u64)?;
        Ok((start..end)
            .filter_map(|i| inner.entries.get(usize::try_from(i).ok()?).cloned())
            .collect())
    }
}

impl MetadataStore for MemoryStore {
    fn blob(&self, sha256: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        let inner = self.lock();
        Ok(inner
            .blob_entries
            .get(sha256)
            .and_then(|index| inner.entry_blobs.get(index))
            .cloned())
    }

    fn entry_blobs(&self, start: u64, end: u64) -> Result<Vec<Option<Vec<u8>>>> {
        let inner = self.lock();
        check_read(start, end, inner.entries.len() as u64)?;
        Ok((start..end)
            .map(|i| inner.entry_blobs.get(&i).cloned())
            .collect())
    }

    fn head(&self, repo: &str, role: &str) -> Result<Option<VersionRecord>> {
        Ok(self
            .lock()
            .heads
            .get(&(repo.to_string(), role.to_string()))
            .copied())
    }

    fn version(&self, repo: &str, role: &str, version: u64) -> Result<Option<VersionRecord>> {
        Ok(self
            .lock()
            .versions
            .get(&(repo.to_string(), role.to_string(), version))
            .copied())
    }

    fn repos(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let inner = self.lock();
        let mut names: Vec<String> = Vec::new();
        for (repo, _) in inner.heads.keys() {
            if after.is_some_and(|a| repo.as_str() <= a) || names.last().is_some_and(|l| l == repo)
            {
                continue;
            }
            if names.len() == limit.min(MAX_REPOS_PER_LIST) {
                break;
            }
            names.push(repo.clone());
        }
        Ok(names)
    }
}

/// A [`crate::KvStore`] in memory.
#[derive(Default)]
pub struct MemoryKv {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryKv {
    fn map(&self) -> MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl crate::KvStore for MemoryKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map().get(key).cloned())
    }

    fn put_all(&self, pairs: &[(&[u8], &[u8])]) -> Result<()> {
        let mut map = self.map();
        for (k, v) in pairs {
            map.insert(k.to_vec(), v.to_vec());
        }
        Ok(())
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let map = self.map();
        let start = after.map_or_else(|| prefix.to_vec(), <[u8]>::to_vec);
        Ok(map
            .range(start..)
            .filter(|(k, _)| after.is_none_or(|a| k.as_slice() != a))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit.min(crate::MAX_SCAN))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
