//! Storage for the log and for the metadata its entries commit to.
//!
//! Two traits, [`LogStore`] and [`MetadataStore`], and three implementations of both:
//! [`rocks::RocksStore`], the embedded default, [`postgres::PgStore`], a database
//! several server instances share (one of them integrating, by the
//! [`SequencerLease`]), and [`memory::MemoryStore`] for tests.
//! Everything one integrated batch writes (entries, the tree hashes they complete, the
//! new tree state and signed checkpoint, metadata blobs and role heads) goes through
//! one [`Batch`] and lands all together or not at all.
//!
//! # What this crate is not
//!
//! No tree math (that is `tlog`: this crate stores the hashes `tlog` computes), no
//! TUF validation, no signing, no policy about what may be appended. It checks one
//! thing itself: a batch must start exactly at the current tree size.
#![forbid(unsafe_code)]

pub mod database_url;
mod error;
pub mod keyfile;
pub mod memory;
pub mod postgres;
pub mod rocks;
mod staged;

pub use staged::MAX_STAGED_ITEMS;

pub use error::Error;
use std::time::Duration;
use tlog::{Hash, HashReader, NodeId};

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Most entries returned by one [`LogStore::entries`] call: one full entry bundle.
pub const MAX_ENTRIES_PER_READ: u64 = 256;

/// Largest cosigned checkpoint note [`LogStore::put_cosigned`] keeps: a note with
/// as many signature lines as a note may carry.
pub const MAX_COSIGNED_NOTE_BYTES: usize = tlog::note::MAX_NOTE_BYTES;

/// The latest checkpoint kept with its witness cosignatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignedNote {
    /// Its tree size.
    pub size: u64,
    /// The signed note with its cosignature lines, exactly as gathered.
    pub note: Vec<u8>,
}

/// The durable state of the log after its last integrated batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogState {
    /// Number of entries.
    pub size: u64,
    /// Right-edge subtree hashes (`tlog::CompactRange::frontier`), largest first.
    pub frontier: Vec<Hash>,
    /// The signed checkpoint note for `size`, exactly as served.
    pub checkpoint: Vec<u8>,
}

/// A new version of a role in a repository, recorded by the batch that logs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleVersion {
    /// Repository name.
    pub repo: String,
    /// Role name.
    pub role: String,
    /// Version.
    pub version: u64,
    /// SHA-256 of the exact metadata bytes (the blob key).
    pub sha256: [u8; 32],
    /// Index of the log entry that records this version; within the batch.
    pub index: u64,
}

/// What is stored about one version of a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionRecord {
    /// Version.
    pub version: u64,
    /// SHA-256 of the exact metadata bytes (the blob key).
    pub sha256: [u8; 32],
    /// Index of the log entry that records it.
    pub index: u64,
}

/// A metadata file and the log entry that commits to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// Index of the entry that logs these bytes; within the batch.
    pub index: u64,
    /// SHA-256 of `bytes`: the key [`MetadataStore::blob`] finds them by.
    pub sha256: [u8; 32],
    /// The file, exactly as received.
    pub bytes: Vec<u8>,
}

/// Most repository names one [`MetadataStore::repos`] call returns.
pub const MAX_REPOS_PER_LIST: usize = 1000;

/// Everything one integrated batch writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Index of the first entry; must equal the stored tree size.
    pub first_index: u64,
    /// Entries, in order.
    pub entries: Vec<Vec<u8>>,
    /// Every tree node the entries complete (from `tlog::CompactRange::append`).
    pub nodes: Vec<(NodeId, Hash)>,
    /// The state after the batch; `state.size` must be `first_index + entries.len()`.
    pub state: Option<LogState>,
    /// Metadata files, each beside the entry that logs it.
    pub blobs: Vec<Blob>,
    /// Role versions this batch makes current.
    pub versions: Vec<RoleVersion>,
}

/// The log: entries, tree hashes, and the latest state.
pub trait LogStore: HashReader + Send + Sync {
    /// The state after the last batch, or `None` for a log never written.
    fn state(&self) -> Result<Option<LogState>>;

    /// Applies `batch` atomically and durably (synced before returning), and drops
    /// the staged batch, if any, in the same write.
    fn commit(&self, batch: &Batch) -> Result<()>;

    /// Keeps `batch` durably (synced) as the one staged batch, in place of any
    /// staged before, without applying it: nothing of it is readable. A log whose
    /// checkpoints are signed by a signer that remembers what it signed stages each
    /// batch before asking, so that a restart finishes that batch instead of
    /// building another the signer would rightly refuse. Its first index must be
    /// the stored size.
    fn stage(&self, batch: &Batch) -> Result<()>;

    /// The staged batch, its state's checkpoint empty; `None` once committed.
    fn staged(&self) -> Result<Option<Batch>>;

    /// Entries `[start, end)`, at most [`MAX_ENTRIES_PER_READ`], all below the stored
    /// size.
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>>;

    /// Keeps `note`, a checkpoint of tree size `size` with the witness
    /// cosignatures its log's policy asks for, durably, unless a larger one is
    /// kept: instances that share the store serve it once they have checked it.
    /// Nothing here checks the note; whoever reads it back must.
    fn put_cosigned(&self, size: u64, note: &[u8]) -> Result<()>;

    /// The cosigned checkpoint kept last by [`LogStore::put_cosigned`].
    fn cosigned(&self) -> Result<Option<CosignedNote>>;

    /// Bytes the store takes on disk, where it can tell (what an operator
    /// watches grow); `None` for a store that keeps nothing on disk.
    fn size_on_disk(&self) -> Result<Option<u64>> {
        Ok(None)
    }
}

/// Refuses a cosigned note over [`MAX_COSIGNED_NOTE_BYTES`].
pub(crate) fn check_cosigned_note(note: &[u8]) -> Result<()> {
    if note.len() > MAX_COSIGNED_NOTE_BYTES {
        return Err(Error::Invalid(format!(
            "a cosigned checkpoint of {} bytes; at most {MAX_COSIGNED_NOTE_BYTES}",
            note.len()
        )));
    }
    Ok(())
}

/// Metadata by content, and the versions of each role.
pub trait MetadataStore: Send + Sync {
    /// A metadata file by the SHA-256 of its bytes.
    fn blob(&self, sha256: &[u8; 32]) -> Result<Option<Vec<u8>>>;

    /// Metadata files by SHA-256, in the order asked (`None` where not stored).
    fn blobs(&self, sha256s: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>> {
        sha256s.iter().map(|sha| self.blob(sha)).collect()
    }

    /// The metadata file stored beside each entry of `[start, end)` (at most
    /// [`MAX_ENTRIES_PER_READ`], all below the stored size), in entry order; `None`
    /// where the entry was logged without one, or where a store written before
    /// files were kept by entry holds it only by content ([`MetadataStore::blob`]
    /// still finds it). A monitor's catch-up reads a bundle's worth at a time, in
    /// log order, so a store keeps these in log order.
    fn entry_blobs(&self, start: u64, end: u64) -> Result<Vec<Option<Vec<u8>>>>;

    /// The current (highest committed) version of `role` in `repo`.
    fn head(&self, repo: &str, role: &str) -> Result<Option<VersionRecord>>;

    /// `version` of `role` in `repo`, if it was ever committed.
    fn version(&self, repo: &str, role: &str, version: u64) -> Result<Option<VersionRecord>>;

    /// Names of repositories with any committed version, in byte order, starting
    /// after `after`; at most `limit` (capped at [`MAX_REPOS_PER_LIST`]).
    fn repos(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>>;
}

/// Most pairs one [`KvStore::scan`] call returns.
pub const MAX_SCAN: usize = 1000;

/// A small durable map for the parties outside the server (a witness's latest
/// cosigned checkpoints, a monitor's position and evidence). Keys are namespaced by
/// their callers.
pub trait KvStore: Send + Sync {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Writes every pair at once, durably (synced before returning): all or none.
    /// Of two pairs with the same key, the later one is what stays.
    fn put_all(&self, pairs: &[(&[u8], &[u8])]) -> Result<()>;

    /// Pairs whose key starts with `prefix`, in key order, after `after` when given;
    /// at most `limit` (capped at [`MAX_SCAN`]).
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
}

/// Who holds the [`SequencerLease`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseHolder {
    /// The holder's name (a server instance's).
    pub holder: String,
    /// Where the holder takes pushes, as it advertised.
    pub address: String,
    /// The fencing token of its term.
    pub token: u64,
    /// How long the lease lasts unless renewed, by the database's clock; `None`
    /// once expired.
    pub expires_in: Option<Duration>,
}

/// The right to integrate, in a store several server instances share: one holder at
/// a time, each term with a larger fencing token, and every write of the log
/// refused once a later term has begun ([`Error::Deposed`]).
pub trait SequencerLease: Send + Sync {
    /// Renews the lease this store holds, or takes it when it is free or expired,
    /// for `ttl` from now by the database's clock. Returns the token held, or
    /// `None` while another holder's lease lasts (or after this store's passed to
    /// another).
    fn take_lease(&self, holder: &str, address: &str, ttl: Duration) -> Result<Option<u64>>;

    /// Gives the lease up at once, so another instance need not wait for it to
    /// expire; this store writes no more until it takes it again.
    fn release_lease(&self) -> Result<()>;

    /// The current holder, if the lease was ever taken.
    fn lease_holder(&self) -> Result<Option<LeaseHolder>>;
}

/// RFC 9162 §2.1.4 at the storage boundary: a committed tree must extend the stored
/// one. The batch's entries, appended to the stored right edge, must give exactly
/// the right edge and the nodes the batch records; a batch built on any other tree
/// (a deposed sequencer's, a fork) is refused.
pub(crate) fn check_extends(size: u64, frontier: &[Hash], batch: &Batch) -> Result<()> {
    let Some(state) = &batch.state else {
        return Ok(());
    };
    let mut range = tlog::CompactRange::from_parts(size, frontier.to_vec())
        .map_err(|e| Error::Corrupt(format!("the stored right edge: {e}")))?;
    let mut nodes = Vec::with_capacity(batch.nodes.len());
    for entry in &batch.entries {
        range
            .append(tlog::leaf_hash(entry), |id, h| nodes.push((id, h)))
            .map_err(|e| Error::Invalid(format!("appending the batch: {e}")))?;
    }
    if range.frontier() != state.frontier.as_slice() {
        return Err(Error::NotAnExtension(format!(
            "its entries after the stored {size} give another tree than its state of size {}",
            state.size
        )));
    }
    if nodes != batch.nodes {
        return Err(Error::NotAnExtension(
            "its nodes are not those its entries complete".into(),
        ));
    }
    Ok(())
}

/// Checks the shape of a batch against the stored size; shared by every
/// implementation so they refuse the same batches.
pub(crate) fn check_batch(batch: &Batch, stored_size: u64) -> Result<()> {
    if batch.first_index != stored_size {
        return Err(Error::Conflict {
            expected: stored_size,
            got: batch.first_index,
        });
    }
    let end = batch.first_index + batch.entries.len() as u64;
    // What a batch records beside an entry must name one of its own entries.
    let outside = |index: u64| !(batch.first_index..end).contains(&index);
    if let Some(v) = batch.versions.iter().find(|v| outside(v.index)) {
        return Err(Error::Invalid(format!(
            "{} {} v{} recorded at entry {}, outside the batch [{}, {end})",
            v.repo, v.role, v.version, v.index, batch.first_index
        )));
    }
    if let Some(b) = batch.blobs.iter().find(|b| outside(b.index)) {
        return Err(Error::Invalid(format!(
            "a metadata file of {} bytes beside entry {}, outside the batch [{}, {end})",
            b.bytes.len(),
            b.index,
            batch.first_index
        )));
    }
    match &batch.state {
        Some(s) if s.size == end => Ok(()),
        Some(s) => Err(Error::Invalid(format!(
            "batch state size {} but entries end at {end}",
            s.size
        ))),
        None if batch.entries.is_empty() => Ok(()),
        None => Err(Error::Invalid(
            "a batch with entries must carry the new state".into(),
        )),
    }
}

pub(crate) fn check_read(start: u64, end: u64, size: u64) -> Result<()> {
    if start > end || end > size || end - start > MAX_ENTRIES_PER_READ {
        return Err(Error::OutOfRange(format!(
            "entries [{start}, {end}) of a log of {size}; at most {MAX_ENTRIES_PER_READ} at once"
        )));
    }
    Ok(())
}
