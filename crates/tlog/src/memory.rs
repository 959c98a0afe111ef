//! An in-memory hash store: every complete-subtree hash, by level.
//!
//! For tests, benchmarks and small tools. It holds the same hashes a durable store
//! holds, so code that works against it works against RocksDB.

use crate::compact::CompactRange;
use crate::hash::{leaf_hash, Hash};
use crate::tree::{HashReader, NodeId};
use crate::{Error, Result};

/// All stored hashes of a growing tree, in memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryHashStore {
    /// `levels[l][i]` is the hash of node `(l, i)`.
    levels: Vec<Vec<Hash>>,
    range: CompactRange,
}

impl MemoryHashStore {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry (hashed as a leaf) and returns its index.
    pub fn append_leaf(&mut self, entry: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(entry))
    }

    /// Appends a leaf hash and returns its index.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.range.size();
        let levels = &mut self.levels;
        // The only error is a tree of 2^63 leaves, which memory cannot hold anyway.
        let _ = self.range.append(leaf, |id, hash| {
            let level = id.level as usize;
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(levels[level].len() as u64, id.index);
            levels[level].push(hash);
        });
        index
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// The right edge of the current tree, for proofs at the current size.
    pub fn right_edge(&self) -> crate::RightEdge {
        crate::RightEdge::new(&self.range)
    }

    /// The hash of one stored node, if complete.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(id.level as usize)?.get(index).copied()
    }
}

impl HashReader for MemoryHashStore {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        ids.iter()
            .map(|&id| self.node(id).ok_or(Error::MissingHash(id)))
            .collect()
    }
}
