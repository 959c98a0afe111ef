//! The RocksDB store, tuflog's embedded default.
//!
//! Column families, one per kind of record, so each gets the table options its access
//! pattern wants:
//!
//! | family | key | value | access |
//! |---|---|---|---|
//! | `entries` | index (u64 BE) | entry bytes | ranges, appends at the end |
//! | `nodes` | level (u8), index (u64 BE) | 32-byte hash | point multi-gets per proof |
//! | `state` | `log` | size, frontier, signed checkpoint | one key, every batch |
//! | `state` | `staged` | the batch being signed | one key, every batch with a separate signer |
//! | `state` | `cosigned` | size (u64 BE), the checkpoint with its cosignatures | one key, each cosigned checkpoint |
//! | `entry_blobs` | index (u64 BE) of the entry that logs the file | metadata file bytes | ranges in log order (monitors), point gets |
//! | `blob_entries` | SHA-256 | index (u64 BE) into `entry_blobs` | point gets by content |
//! | `heads` | repo NUL role | version (u64 BE), SHA-256, entry index (u64 BE) | point gets, repo listing |
//! | `versions` | repo NUL role NUL version (u64 BE) | version, SHA-256, entry index | point gets |
//!
//! Options, and why:
//! - one LRU block cache of [`BLOCK_CACHE_BYTES`] shared by every family, and one
//!   budget of [`WRITE_BUFFERS_BYTES`] for the memtables of all families, so the
//!   store's memory is bounded as a whole, whatever the log's size (the server's RSS
//!   goal is 200 MiB at a million entries);
//! - bloom filters (10 bits per key, ~1% false positives) on the point-lookup families,
//!   so a miss (an unknown blob, a version never pushed) costs no data-block read, and
//!   whole-key bloom filters on their memtables, so a key already flushed costs no
//!   skip-list search;
//! - metadata files keyed by the entry that logs them, not by their hash: a monitor
//!   reads every file in log order, and keyed by hash each one cost a random data
//!   block read and decompressed (most of the server's CPU in a catch-up). A read by content takes one more point get, in
//!   `blob_entries`, whose 40-byte records mostly stay in the block cache;
//! - LZ4 on `entries` and `entry_blobs`, which are JSON and shrink
//!   several-fold for a cheap CPU cost on the write path, and zstd on the bottommost
//!   level of `entries`, where most data settles and reads are ranges (metadata files
//!   are also read one at a time by clients, a block decompressed per file, so they
//!   stay LZ4); no compression on `nodes` and `blob_entries`, which are SHA-256
//!   output and do not compress;
//! - every batch is one `WriteBatch` written with `sync`: the WAL is on disk before
//!   [`LogStore::commit`] returns, so an acknowledged append survives power loss, and
//!   a crash mid-write leaves the batch wholly there or wholly absent.

use crate::{
    check_batch, check_read, Batch, CosignedNote, Error, LogState, LogStore, MetadataStore, Result,
    VersionRecord, MAX_REPOS_PER_LIST,
};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Options, WriteBatch,
    WriteOptions, DB,
};
use std::path::Path;
use std::sync::Mutex;
use tlog::{Hash, HashReader, NodeId};

/// Bytes of block cache shared by all column families.
pub const BLOCK_CACHE_BYTES: usize = 64 << 20;
/// Bytes of memtables of all column families together: past it, RocksDB flushes the
/// largest. Without it each of the seven families could hold two 64 MiB memtables.
pub const WRITE_BUFFERS_BYTES: usize = 64 << 20;
/// Bloom filter bits per key on point-lookup families.
const BLOOM_BITS_PER_KEY: f64 = 10.0;
/// Share of a memtable's size given to its whole-key bloom filter, on point-lookup
/// families: 64 MiB memtables get about 1.3 MiB of filter.
const MEMTABLE_BLOOM_RATIO: f64 = 0.02;
/// Format version of the `state` record, first byte of its value.
const STATE_FORMAT: u8 = 1;
const STATE_KEY: &[u8] = b"log";
/// The staged batch, beside the state in the same column family.
const STAGED_KEY: &[u8] = b"staged";
/// The latest cosigned checkpoint, beside the state: its size (8 bytes, big-endian)
/// then the note.
const COSIGNED_KEY: &[u8] = b"cosigned";

const ENTRIES: &str = "entries";
const NODES: &str = "nodes";
const STATE: &str = "state";
/// A column family of an earlier layout (files keyed by content alone), found only
/// in stores written before `entry_blobs`: dropped on open when empty, refused when
/// it holds anything.
const LEGACY_BLOBS: &str = "blobs";
const ENTRY_BLOBS: &str = "entry_blobs";
const BLOB_ENTRIES: &str = "blob_entries";
const HEADS: &str = "heads";
const VERSIONS: &str = "versions";

/// The log and metadata in one RocksDB database.
pub struct RocksStore {
    db: DB,
    /// The database's directory.
    path: std::path::PathBuf,
    /// Serialises commits: the size check and the head updates read, then write.
    commit_lock: Mutex<()>,
}

fn family(
    name: &str,
    cache: &Cache,
    bloom: bool,
    compression: DBCompressionType,
    bottommost: DBCompressionType,
) -> ColumnFamilyDescriptor {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    let mut opts = Options::default();
    if bloom {
        table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
        // Every point read searches the memtables before any table file; without a
        // filter, a key that is not there still costs a skip-list descent (the
        // largest cost of serving a monitor's catch-up, under perf).
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(MEMTABLE_BLOOM_RATIO);
    }
    opts.set_block_based_table_factory(&table);
    opts.set_compression_type(compression);
    opts.set_bottommost_compression_type(bottommost);
    ColumnFamilyDescriptor::new(name, opts)
}

/// Drops [`LEGACY_BLOBS`] if it is empty. A store whose files still live there was
/// written by an early version and is refused rather than read in part.
fn drop_empty_legacy_family(db: &mut DB) -> Result<()> {
    let holds_files = {
        let cf = db
            .cf_handle(LEGACY_BLOBS)
            .ok_or_else(|| Error::Corrupt(format!("column family {LEGACY_BLOBS} missing")))?;
        db.iterator_cf(cf, rocksdb::IteratorMode::Start)
            .next()
            .is_some()
    };
    if holds_files {
        return Err(Error::Corrupt(format!(
            "metadata files are in the column family `{LEGACY_BLOBS}` of an early layout, \
             which this version no longer reads; serve this store with the version that \
             wrote it, or start a new log"
        )));
    }
    db.drop_cf(LEGACY_BLOBS)?;
    Ok(())
}

impl RocksStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_db_write_buffer_size(WRITE_BUFFERS_BYTES);
        use DBCompressionType as C;
        let families = vec![
            // Read in ranges, a block decompressed per many entries: zstd's better
            // ratio at the bottommost level, where most data settles, is cheap.
            family(ENTRIES, &cache, false, C::Lz4, C::Zstd),
            family(NODES, &cache, true, C::None, C::None),
            family(STATE, &cache, false, C::None, C::None),
            // Read one at a time by clients, a block decompressed per document: zstd
            // there (with a decompression context made per block) was a fifth of the
            // server's CPU time serving a monitor's catch-up.
            family(ENTRY_BLOBS, &cache, false, C::Lz4, C::Lz4),
            family(BLOB_ENTRIES, &cache, true, C::None, C::None),
            family(HEADS, &cache, true, C::None, C::None),
            family(VERSIONS, &cache, true, C::None, C::None),
        ];
        let legacy =
            DB::list_cf(&opts, path).is_ok_and(|names| names.iter().any(|n| n == LEGACY_BLOBS));
        let mut families = families;
        if legacy {
            families.push(family(LEGACY_BLOBS, &cache, true, C::Lz4, C::Lz4));
        }
        let mut db = DB::open_cf_descriptors(&opts, path, families)?;
        if legacy {
            drop_empty_legacy_family(&mut db)?;
        }
        Ok(RocksStore {
            db,
            path: path.to_path_buf(),
            commit_lock: Mutex::new(()),
        })
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| Error::Corrupt(format!("column family {name} missing")))
    }

    fn stored_size(&self) -> Result<u64> {
        Ok(self.state()?.map_or(0, |s| s.size))
    }
}

fn node_key(id: NodeId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = id.level;
    k[1..].copy_from_slice(&id.index.to_be_bytes());
    k
}

fn name_key(parts: &[&str]) -> Result<Vec<u8>> {
    let mut k = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if p.as_bytes().contains(&0) {
            return Err(Error::Invalid(format!("name {p:?} contains NUL")));
        }
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p.as_bytes());
    }
    Ok(k)
}

fn version_key(repo: &str, role: &str, version: u64) -> Result<Vec<u8>> {
    let mut k = name_key(&[repo, role])?;
    k.push(0);
    k.extend_from_slice(&version.to_be_bytes());
    Ok(k)
}

fn encode_state(s: &LogState) -> Result<Vec<u8>> {
    let count = u8::try_from(s.frontier.len())
        .map_err(|_| Error::Invalid("frontier longer than 64".into()))?;
    let mut v = Vec::with_capacity(10 + 32 * s.frontier.len() + s.checkpoint.len());
    v.push(STATE_FORMAT);
    v.extend_from_slice(&s.size.to_be_bytes());
    v.push(count);
    for h in &s.frontier {
        v.extend_from_slice(h.as_bytes());
    }
    v.extend_from_slice(&s.checkpoint);
    Ok(v)
}

fn decode_state(v: &[u8]) -> Result<LogState> {
    let corrupt = |what: &str| Error::Corrupt(format!("log state: {what}"));
    let (&format, rest) = v.split_first().ok_or_else(|| corrupt("empty"))?;
    if format != STATE_FORMAT {
        return Err(corrupt("unknown format"));
    }
    let (size, rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("truncated size"))?;
    let (&count, mut rest) = rest
        .split_first()
        .ok_or_else(|| corrupt("truncated count"))?;
    let mut frontier = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let (h, r) = rest
            .split_first_chunk::<32>()
            .ok_or_else(|| corrupt("truncated frontier"))?;
        frontier.push(Hash(*h));
        rest = r;
    }
    Ok(LogState {
        size: u64::from_be_bytes(*size),
        frontier,
        checkpoint: rest.to_vec(),
    })
}

fn encode_record(r: &VersionRecord) -> [u8; 48] {
    let mut v = [0u8; 48];
    v[..8].copy_from_slice(&r.version.to_be_bytes());
    v[8..40].copy_from_slice(&r.sha256);
    v[40..].copy_from_slice(&r.index.to_be_bytes());
    v
}

fn decode_record(v: &[u8]) -> Result<VersionRecord> {
    let corrupt = || Error::Corrupt(format!("version record of {} bytes, not 48", v.len()));
    let (version, rest) = v.split_first_chunk::<8>().ok_or_else(corrupt)?;
    let (sha256, rest) = rest.split_first_chunk::<32>().ok_or_else(corrupt)?;
    let index: &[u8; 8] = rest.try_into().map_err(|_| corrupt())?;
    Ok(VersionRecord {
        version: u64::from_be_bytes(*version),
        sha256: *sha256,
        index: u64::from_be_bytes(*index),
    })
}

fn entry_index(v: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = v.try_into().map_err(|_| {
        Error::Corrupt(format!(
            "a metadata file's entry index of {} bytes, not 8",
            v.len()
        ))
    })?;
    Ok(u64::from_be_bytes(bytes))
}

fn missing_beside(index: u64) -> Error {
    Error::Corrupt(format!(
        "the metadata file logged by entry {index} is indexed but not stored"
    ))
}

fn hash32(v: &[u8], what: &str) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| Error::Corrupt(format!("{what} is not 32 bytes")))
}

impl HashReader for RocksStore {
    fn read_hashes(&self, ids: &[NodeId]) -> tlog::Result<Vec<Hash>> {
        let cf = self.cf(NODES)?;
        let keys: Vec<[u8; 9]> = ids.iter().map(|id| node_key(*id)).collect();
        let values = self.db.batched_multi_get_cf(cf, &keys, false);
        ids.iter()
            .zip(values)
            .map(|(id, v)| match v.map_err(Error::from)? {
                Some(bytes) => Ok(Hash(hash32(&bytes, "stored hash")?)),
                None => Err(tlog::Error::MissingHash(*id)),
            })
            .collect()
    }
}

impl LogStore for RocksStore {
    fn state(&self) -> Result<Option<LogState>> {
        self.db
            .get_cf(self.cf(STATE)?, STATE_KEY)?
            .map(|v| decode_state(&v))
            .transpose()
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        let _writer = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        check_batch(batch, self.stored_size()?)?;
        let mut wb = WriteBatch::default();
        let entries = self.cf(ENTRIES)?;
        for (i, e) in batch.entries.iter().enumerate() {
            wb.put_cf(entries, (batch.first_index + i as u64).to_be_bytes(), e);
        }
        let nodes = self.cf(NODES)?;
        for (id, h) in &batch.nodes {
            wb.put_cf(nodes, node_key(*id), h.as_bytes());
        }
        if let Some(s) = &batch.state {
            wb.put_cf(self.cf(STATE)?, STATE_KEY, encode_state(s)?);
        }
        wb.delete_cf(self.cf(STATE)?, STAGED_KEY);
        let (entry_blobs, blob_entries) = (self.cf(ENTRY_BLOBS)?, self.cf(BLOB_ENTRIES)?);
        for b in &batch.blobs {
            wb.put_cf(entry_blobs, b.index.to_be_bytes(), &b.bytes);
            wb.put_cf(blob_entries, b.sha256, b.index.to_be_bytes());
        }
        let (heads, versions) = (self.cf(HEADS)?, self.cf(VERSIONS)?);
        let mut new_heads: std::collections::BTreeMap<Vec<u8>, VersionRecord> = Default::default();
        for v in &batch.versions {
            let record = VersionRecord {
                version: v.version,
                sha256: v.sha256,
                index: v.index,
            };
            let key = name_key(&[&v.repo, &v.role])?;
            let current = match new_heads.get(&key) {
                Some(h) => Some(*h),
                None => self
                    .db
                    .get_cf(heads, &key)?
                    .map(|b| decode_record(&b))
                    .transpose()?,
            };
            if current.is_none_or(|cur| cur.version < v.version) {
                new_heads.insert(key, record);
            }
            wb.put_cf(
                versions,
                version_key(&v.repo, &v.role, v.version)?,
                encode_record(&record),
            );
        }
        for (key, record) in new_heads {
            wb.put_cf(heads, key, encode_record(&record));
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(wb, &wo)?;
        Ok(())
    }

    fn stage(&self, batch: &Batch) -> Result<()> {
        let _writer = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        check_batch(batch, self.stored_size()?)?;
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.put_cf_opt(
            self.cf(STATE)?,
            STAGED_KEY,
            crate::staged::encode(batch)?,
            &wo,
        )?;
        Ok(())
    }

    fn staged(&self) -> Result<Option<Batch>> {
        self.db
            .get_cf(self.cf(STATE)?, STAGED_KEY)?
            .map(|v| crate::staged::decode(&v))
            .transpose()
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        check_read(start, end, self.stored_size()?)?;
        let cf = self.cf(ENTRIES)?;
        let keys: Vec<[u8; 8]> = (start..end).map(u64::to_be_bytes).collect();
        self.db
            .batched_multi_get_cf(cf, &keys, true)
            .into_iter()
            .zip(start..end)
            .map(|(v, i)| {
                v?.map(|b| b.to_vec())
                    .ok_or_else(|| Error::Corrupt(format!("entry {i} missing below the log size")))
            })
            .collect()
    }

    fn put_cosigned(&self, size: u64, note: &[u8]) -> Result<()> {
        crate::check_cosigned_note(note)?;
        let _writer = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.cosigned()?.is_some_and(|kept| kept.size > size) {
            return Ok(());
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        let value = [size.to_be_bytes().as_slice(), note].concat();
        self.db
            .put_cf_opt(self.cf(STATE)?, COSIGNED_KEY, value, &wo)?;
        Ok(())
    }

    fn size_on_disk(&self) -> Result<Option<u64>> {
        // Every file of the database (tables, write-ahead log, manifest): what the
        // disk holds, flushed or not. RocksDB keeps them in one flat directory.
        let mut total = 0u64;
        for file in std::fs::read_dir(&self.path)? {
            let metadata = file?.metadata()?;
            if metadata.is_file() {
                total = total.saturating_add(metadata.len());
            }
        }
        Ok(Some(total))
    }

    fn cosigned(&self) -> Result<Option<CosignedNote>> {
        let Some(value) = self.db.get_cf(self.cf(STATE)?, COSIGNED_KEY)? else {
            return Ok(None);
        };
        match value.split_first_chunk::<8>() {
            Some((size, note)) if note.len() <= crate::MAX_COSIGNED_NOTE_BYTES => {
                Ok(Some(CosignedNote {
                    size: u64::from_be_bytes(*size),
                    note: note.to_vec(),
                }))
            }
            _ => Err(Error::Corrupt(format!(
                "a cosigned checkpoint record of {} bytes",
                value.len()
            ))),
        }
    }
}

impl MetadataStore for RocksStore {
    fn blob(&self, sha256: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        // One way to find a file (beside its entry, else where older stores kept it
        // by content), for one file as for many.
        Ok(self.blobs(std::slice::from_ref(sha256))?.pop().flatten())
    }

    fn blobs(&self, sha256s: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>> {
        let indices = self
            .db
            .batched_multi_get_cf(self.cf(BLOB_ENTRIES)?, sha256s, false)
            .into_iter()
            .map(|v| v?.map(|i| entry_index(&i)).transpose())
            .collect::<Result<Vec<Option<u64>>>>()?;
        let by_entry: Vec<[u8; 8]> = indices.iter().flatten().map(|i| i.to_be_bytes()).collect();
        let mut by_entry = self
            .db
            .batched_multi_get_cf(self.cf(ENTRY_BLOBS)?, &by_entry, false)
            .into_iter();
        indices
            .iter()
            .map(|index| match index {
                Some(index) => match by_entry.next() {
                    Some(Ok(Some(bytes))) => Ok(Some(bytes.to_vec())),
                    Some(Err(e)) => Err(e.into()),
                    Some(Ok(None)) | None => Err(missing_beside(*index)),
                },
                None => Ok(None),
            })
            .collect()
    }

    fn entry_blobs(&self, start: u64, end: u64) -> Result<Vec<Option<Vec<u8>>>> {
        check_read(start, end, self.stored_size()?)?;
        let keys: Vec<[u8; 8]> = (start..end).map(u64::to_be_bytes).collect();
        self.db
            .batched_multi_get_cf(self.cf(ENTRY_BLOBS)?, &keys, true)
            .into_iter()
            .map(|v| Ok(v?.map(|b| b.to_vec())))
            .collect()
    }

    fn head(&self, repo: &str, role: &str) -> Result<Option<VersionRecord>> {
        self.db
            .get_cf(self.cf(HEADS)?, name_key(&[repo, role])?)?
            .map(|b| decode_record(&b))
            .transpose()
    }

    fn version(&self, repo: &str, role: &str, version: u64) -> Result<Option<VersionRecord>> {
        self.db
            .get_cf(self.cf(VERSIONS)?, version_key(repo, role, version)?)?
            .map(|b| decode_record(&b))
            .transpose()
    }

    fn repos(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let heads = self.cf(HEADS)?;
        let limit = limit.min(MAX_REPOS_PER_LIST);
        let mut names = Vec::new();
        // Keys are `repo NUL role`: seeking to `repo \x01` skips every role of `repo`
        // (no name contains NUL), so each step lands on the next repository.
        let mut seek: Vec<u8> = match after {
            Some(a) => [name_key(&[a])?, vec![1]].concat(),
            None => Vec::new(),
        };
        let mut it = self.db.raw_iterator_cf(heads);
        while names.len() < limit {
            it.seek(&seek);
            let Some(key) = it.key() else { break };
            let repo = key.split(|b| *b == 0).next().unwrap_or(key);
            let name = String::from_utf8(repo.to_vec())
                .map_err(|_| Error::Corrupt("repository name is not UTF-8".into()))?;
            seek = [repo, &[1]].concat();
            names.push(name);
        }
        it.status()?;
        Ok(names)
    }
}

/// A [`crate::KvStore`] in its own RocksDB database (one default column family).
/// RocksDB's lock file keeps a second process from opening it.
pub struct RocksKv {
    db: DB,
}

impl RocksKv {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        Ok(RocksKv {
            db: DB::open(&opts, path)?,
        })
    }
}

impl crate::KvStore for RocksKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?)
    }

    fn put_all(&self, pairs: &[(&[u8], &[u8])]) -> Result<()> {
        // Written in key order: the memtable keeps where its last insert went, so a
        // key just after it costs a few comparisons instead of a search from the top
        // of the skip list (a monitor's batch is tens of thousands of keys in log
        // order). The sort is stable, so of two pairs with one key the later still
        // wins.
        let mut in_key_order: Vec<&(&[u8], &[u8])> = pairs.iter().collect();
        in_key_order.sort_by_key(|(k, _)| *k);
        let mut batch = WriteBatch::default();
        for (k, v) in in_key_order {
            batch.put(k, v);
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        Ok(self.db.write_opt(batch, &opts)?)
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = after.unwrap_or(prefix);
        let mut out = Vec::new();
        for item in self.db.iterator(rocksdb::IteratorMode::From(
            start,
            rocksdb::Direction::Forward,
        )) {
            let (k, v) = item?;
            if after.is_some_and(|a| &*k == a) {
                continue;
            }
            if !k.starts_with(prefix) || out.len() >= limit.min(crate::MAX_SCAN) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_encoding_round_trips_and_rejects_damage() {
        let s = LogState {
            size: 77,
            frontier: vec![Hash([1; 32]), Hash([2; 32]), Hash([3; 32])],
            checkpoint: b"note\n\n- sig\n".to_vec(),
        };
        let enc = encode_state(&s).unwrap();
        assert_eq!(decode_state(&enc).unwrap(), s);
        assert!(decode_state(&enc[..20]).is_err());
        assert!(decode_state(&[]).is_err());
        let mut other = enc.clone();
        other[0] = 9;
        assert!(decode_state(&other).is_err());
    }

    #[test]
    fn a_store_of_the_early_layout_is_refused_unless_its_old_files_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let write_legacy = |at: &Path, holding: bool| {
            let mut opts = Options::default();
            opts.create_if_missing(true);
            opts.create_missing_column_families(true);
            let db = DB::open_cf(&opts, at, [LEGACY_BLOBS]).unwrap();
            if holding {
                db.put_cf(db.cf_handle(LEGACY_BLOBS).unwrap(), [7; 32], b"old")
                    .unwrap();
            }
        };
        write_legacy(dir.path(), true);
        let refused = RocksStore::open(dir.path());
        assert!(
            matches!(&refused, Err(Error::Corrupt(m)) if m.contains("early layout")),
            "{:?}",
            refused.err()
        );
        // Nothing was changed by the refusal: the old files are still there.
        let names = DB::list_cf(&Options::default(), dir.path()).unwrap();
        assert!(names.iter().any(|n| n == LEGACY_BLOBS));

        let empty = tempfile::tempdir().unwrap();
        write_legacy(empty.path(), false);
        let s = RocksStore::open(empty.path()).unwrap();
        drop(s);
        let names = DB::list_cf(&Options::default(), empty.path()).unwrap();
        assert!(!names.iter().any(|n| n == LEGACY_BLOBS), "{names:?}");
        RocksStore::open(empty.path()).unwrap();
    }

    #[test]
    fn an_index_that_points_at_nothing_is_damage_not_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let s = RocksStore::open(dir.path()).unwrap();
        s.db.put_cf(s.cf(BLOB_ENTRIES).unwrap(), [9; 32], 5u64.to_be_bytes())
            .unwrap();
        assert!(matches!(s.blob(&[9; 32]), Err(Error::Corrupt(_))));
        assert!(matches!(s.blobs(&[[9; 32]]), Err(Error::Corrupt(_))));
        assert_eq!(s.blobs(&[[8; 32]]).unwrap(), [None]);
    }

    #[test]
    fn names_with_nul_are_refused() {
        assert!(name_key(&["a\0b", "root"]).is_err());
        assert_eq!(name_key(&["a", "b"]).unwrap(), b"a\0b");
    }
}
