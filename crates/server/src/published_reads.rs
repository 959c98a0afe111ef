//! Reads served from the log: tiles, entry bundles, entries and proofs. Every read is
//! bounded by the latest *published* checkpoint, so nothing is served before it is
//! covered by a signed checkpoint, even in the instant between a batch being stored
//! and its checkpoint being published.

use crate::sequencer::{Log, Published, Reader};
use crate::Error;
use std::cell::Cell;
use std::sync::Arc;
use tlog::tile::{Tile, TilePath, FULL_TILE_WIDTH};
use tlog::{Hash, HashReader, NodeId};

/// An inclusion proof with the leaf hash it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// The leaf hash at `index`.
    pub leaf_hash: Hash,
    /// The audit path, leaf to root.
    pub proof: Vec<Hash>,
}

/// A consistency proof between two tree sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// Old size.
    pub from: u64,
    /// New size.
    pub size: u64,
    /// The proof.
    pub proof: Vec<Hash>,
}

impl Log {
    /// The audit path of leaf `index` in the tree of `size` leaves, where `size` is at
    /// most the latest checkpoint's.
    #[tracing::instrument(name = "inclusion_proof", skip(self), level = "info")]
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, Error> {
        let latest = self.latest();
        check_size(size, &latest)?;
        if index >= size {
            return Err(Error::invalid(format!(
                "index {index} is not below size {size}"
            )));
        }
        let reader = WithLeaf {
            inner: self.reader(),
            leaf: NodeId::new(0, index),
            read: Cell::new(None),
        };
        let proof = if size == latest.size() {
            tlog::tree::inclusion_proof_at_edge(index, &latest.edge, &reader)?
        } else {
            tlog::tree::inclusion_proof(index, size, &reader)?
        };
        let leaf_hash = match reader.read.get() {
            Some(h) => h,
            None => reader
                .inner
                .read_hashes(&[reader.leaf])?
                .pop()
                .ok_or(tlog::Error::MissingHash(reader.leaf))?,
        };
        Ok(InclusionProof {
            index,
            size,
            leaf_hash,
            proof,
        })
    }

    /// The consistency proof from `from` to `size` (`0 < from <= size <=` latest).
    #[tracing::instrument(name = "consistency_proof", skip(self), level = "info")]
    pub fn consistency_proof(&self, from: u64, size: u64) -> Result<ConsistencyProof, Error> {
        self.consistency_proof_within(from, size, &self.latest())
    }

    /// The consistency proof from `from` to `size` within the latest checkpoint
    /// signed, witnessed or not (what a witness is sent with it).
    pub fn consistency_proof_to_integrated(
        &self,
        from: u64,
        size: u64,
    ) -> Result<ConsistencyProof, Error> {
        let integrated = self.integrated().borrow().clone();
        self.consistency_proof_within(from, size, &integrated)
    }

    fn consistency_proof_within(
        &self,
        from: u64,
        size: u64,
        latest: &Published,
    ) -> Result<ConsistencyProof, Error> {
        check_size(size, latest)?;
        if from == 0 || from > size {
            return Err(Error::invalid(format!(
                "from must be in 1..=size; got from={from}, size={size}"
            )));
        }
        let reader = self.reader();
        let proof = if size == latest.size() {
            tlog::tree::consistency_proof_at_edge(from, &latest.edge, &reader)?
        } else {
            tlog::tree::consistency_proof(from, size, &reader)?
        };
        Ok(ConsistencyProof { from, size, proof })
    }

    /// The body of a hash tile or entry bundle, if the latest checkpoint covers it.
    /// A partial tile narrower than what is available is served (its content is a
    /// prefix of the wider one, and never changes).
    pub fn tile(&self, path: &TilePath) -> Result<Vec<u8>, Error> {
        let latest = self.latest();
        let (TilePath::Hashes(tile) | TilePath::Entries(tile)) = path;
        check_tile_available(path, tile, &latest)?;
        match path {
            TilePath::Hashes(tile) => Ok(tile.read_body(&self.reader())?),
            TilePath::Entries(tile) => {
                let start = tile.index() * u64::from(FULL_TILE_WIDTH);
                let entries = self
                    .store()
                    .entries(start, start + u64::from(tile.width()))?;
                Ok(tlog::tile::encode_bundle(
                    entries.iter().map(Vec::as_slice),
                )?)
            }
        }
    }

    /// The metadata bundle of entry bundle `tile` ([`tuf::logentry::encode_metadata_bundle`]):
    /// the metadata each entry commits to, by its SHA-256, if the latest
    /// checkpoint covers the bundle.
    pub fn metadata_bundle(&self, tile: &Tile) -> Result<Vec<u8>, Error> {
        let latest = self.latest();
        check_tile_available(&TilePath::Entries(*tile), tile, &latest)?;
        let start = tile.index() * u64::from(FULL_TILE_WIDTH);
        let end = start + u64::from(tile.width());
        let mut docs = self.store().entry_blobs(start, end)?;
        if docs.iter().all(Option::is_some) {
            return Ok(tuf::logentry::encode_metadata_bundle(docs));
        }
        // Files not stored beside their entry (logged again later, or stored before
        // files were kept by entry) are found by the SHA-256 their entry names; an
        // entry that names none (none the server logs) has no metadata.
        let entries = self.store().entries(start, end)?;
        let shas: Vec<Option<[u8; 32]>> = entries
            .iter()
            .zip(&docs)
            .map(|(entry, doc)| {
                if doc.is_some() {
                    return None;
                }
                let e = tuf::logentry::LogEntry::from_bytes(entry).ok()?;
                let mut digest = [0u8; 32];
                hex::decode_to_slice(&e.sha256, &mut digest).ok()?;
                Some(digest)
            })
            .collect();
        let wanted: Vec<[u8; 32]> = shas.iter().flatten().copied().collect();
        let mut found = self.store().blobs(&wanted)?.into_iter();
        for (doc, sha) in docs.iter_mut().zip(&shas) {
            if sha.is_some() {
                *doc = found.next().flatten();
            }
        }
        Ok(tuf::logentry::encode_metadata_bundle(docs))
    }

    /// Entries `[start, end)`, at most [`store::MAX_ENTRIES_PER_READ`], below the
    /// latest checkpoint's size.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, Error> {
        let latest = self.latest();
        if start >= end {
            return Err(Error::invalid(format!(
                "empty range: start {start} is not below end {end}"
            )));
        }
        if end - start > store::MAX_ENTRIES_PER_READ {
            return Err(Error::invalid(format!(
                "at most {} entries at once",
                store::MAX_ENTRIES_PER_READ
            )));
        }
        if end > latest.size() {
            return Err(Error::NotFound(format!(
                "end {end} is beyond the latest checkpoint's size {}",
                latest.size()
            )));
        }
        Ok(self.store().entries(start, end)?)
    }
}

fn check_size(size: u64, latest: &Published) -> Result<(), Error> {
    if size == 0 {
        return Err(Error::invalid("size must be at least 1"));
    }
    if size > latest.size() {
        return Err(Error::NotFound(format!(
            "size {size} is beyond the latest checkpoint's size {}",
            latest.size()
        )));
    }
    Ok(())
}

fn check_tile_available(
    path: &TilePath,
    tile: &Tile,
    latest: &Arc<Published>,
) -> Result<(), Error> {
    let available = Tile::for_tree_size(tile.level(), tile.index(), latest.size());
    match available {
        Some(t) if t.width() >= tile.width() => Ok(()),
        _ => Err(Error::NotFound(format!(
            "{path} is not covered by the latest checkpoint (size {})",
            latest.size()
        ))),
    }
}

/// Reads the leaf hash an inclusion proof is for in the same store call as the
/// proof's own nodes, saving a second lookup per request.
struct WithLeaf<'a> {
    inner: Reader<'a>,
    leaf: NodeId,
    read: Cell<Option<Hash>>,
}

impl HashReader for WithLeaf<'_> {
    fn read_hashes(&self, ids: &[NodeId]) -> tlog::Result<Vec<Hash>> {
        if self.read.get().is_some() {
            return self.inner.read_hashes(ids);
        }
        let mut with_leaf = Vec::with_capacity(ids.len() + 1);
        with_leaf.extend_from_slice(ids);
        with_leaf.push(self.leaf);
        let mut hashes = self.inner.read_hashes(&with_leaf)?;
        self.read.set(hashes.pop());
        Ok(hashes)
    }
}
