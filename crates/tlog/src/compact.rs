//! Appending to the tree without reading it: a compact range over `[0, size)`.
//!
//! The right edge of a tree of `size` leaves is one complete subtree per set bit of
//! `size`. Holding only those hashes, an append knows every node the new leaf
//! completes (the hashes to store) and the new root, in O(log n) hashing and no reads.

use crate::hash::{node_hash, Hash, EMPTY_ROOT};
use crate::tree::{range_nodes_from_zero, HashReader, NodeId};
use crate::{Error, Result};

/// The roots of the complete subtrees along the right edge of a tree.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    /// One hash per set bit of `size`, largest (leftmost) subtree first.
    frontier: Vec<Hash>,
}

impl CompactRange {
    /// The range of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the range from its parts, as kept by storage.
    pub fn from_parts(size: u64, frontier: Vec<Hash>) -> Result<Self> {
        if frontier.len() != size.count_ones() as usize {
            return Err(Error::InvalidProofRequest(format!(
                "a tree of size {size} has {} right-edge subtrees, got {}",
                size.count_ones(),
                frontier.len()
            )));
        }
        Ok(CompactRange { size, frontier })
    }

    /// Rebuilds the range of the tree of `size` leaves from stored hashes.
    pub fn from_reader(size: u64, reader: &impl HashReader) -> Result<Self> {
        let ids = Self::frontier_ids(size);
        let frontier = reader.read_hashes(&ids)?;
        Self::from_parts(size, frontier)
    }

    /// The stored nodes that form the right edge of a tree of `size` leaves.
    pub fn frontier_ids(size: u64) -> Vec<NodeId> {
        let mut ids = Vec::with_capacity(size.count_ones() as usize);
        range_nodes_from_zero(size, &mut ids);
        ids
    }

    /// Number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The right-edge subtree hashes, largest first.
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// Appends a leaf hash, handing `store` every node it completes: the leaf itself
    /// at level 0, then each parent the leaf closes, bottom up.
    pub fn append(&mut self, leaf: Hash, mut store: impl FnMut(NodeId, Hash)) -> Result<()> {
        if self.size == u64::MAX >> 1 {
            return Err(Error::InvalidProofRequest("tree is full".into()));
        }
        let mut hash = leaf;
        let mut id = NodeId::new(0, self.size);
        store(id, hash);
        // A set low bit in the node's index means its left sibling is complete and on
        // the frontier: merge them and climb.
        while id.index & 1 == 1 {
            let left = self
                .frontier
                .pop()
                .ok_or_else(|| Error::Storage("compact range frontier underflow".into()))?;
            hash = node_hash(&left, &hash);
            id = NodeId::new(id.level + 1, id.index >> 1);
            store(id, hash);
        }
        self.frontier.push(hash);
        self.size += 1;
        Ok(())
    }

    /// The root hash of the tree covered (RFC 9162 §2.1.1).
    pub fn root(&self) -> Hash {
        let mut nodes = self.frontier.iter().rev();
        let Some(last) = nodes.next() else {
            return EMPTY_ROOT;
        };
        nodes.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn roots_match_the_rfc_6962_test_leaves() {
        let leaves: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let mut range = CompactRange::new();
        assert_eq!(range.root().to_hex(), roots[0]);
        for (i, leaf) in leaves.iter().enumerate() {
            range.append(leaf_hash(leaf), |_, _| {}).unwrap();
            assert_eq!(range.root().to_hex(), roots[i + 1], "size {}", i + 1);
        }
    }

    #[test]
    fn append_emits_each_completed_node_once_in_order() {
        let mut range = CompactRange::new();
        let mut emitted = Vec::new();
        for i in 0u64..4 {
            range
                .append(leaf_hash(&i.to_be_bytes()), |id, _| emitted.push(id))
                .unwrap();
        }
        assert_eq!(
            emitted,
            vec![
                NodeId::new(0, 0),
                NodeId::new(0, 1),
                NodeId::new(1, 0),
                NodeId::new(0, 2),
                NodeId::new(0, 3),
                NodeId::new(1, 1),
                NodeId::new(2, 0),
            ]
        );
    }

    #[test]
    fn from_parts_rejects_a_frontier_of_the_wrong_length() {
        assert!(CompactRange::from_parts(3, vec![EMPTY_ROOT]).is_err());
        assert!(CompactRange::from_parts(0, vec![]).is_ok());
    }
}
