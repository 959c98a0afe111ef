//! Proof generation over stored hashes: RFC 9162 §2.1.3.1 (inclusion) and §2.1.4.1
//! (consistency), for any tree sizes.
//!
//! Storage holds the hash of every *complete* subtree, addressed by [`NodeId`]. Every
//! hash a proof needs is either such a node or the hash of a right-edge range of the
//! tree, which is folded from a few complete subtrees. Generation therefore plans the
//! node IDs first, reads them with one [`HashReader::read_hashes`] call (one multi-get
//! on a database), then folds.

use crate::hash::{node_hash, Hash, EMPTY_ROOT};
use crate::{Error, Result};
use std::fmt;

/// The largest level a node can have: a tree of 2^63 leaves is the most a `u64` size
/// can hold with room for the arithmetic.
pub const MAX_LEVEL: u8 = 63;

/// A complete subtree of `2^level` leaves whose first leaf is `index * 2^level`.
///
/// Level 0 nodes are the leaf hashes; node `(level, index)` is the hash of nodes
/// `(level-1, 2*index)` and `(level-1, 2*index+1)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves.
    pub level: u8,
    /// Position among the nodes of that level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` with position `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }

    /// The smallest tree size in which this node is complete.
    pub fn tree_size_needed(&self) -> u64 {
        (self.index + 1) << self.level
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node({}, {})", self.level, self.index)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Read access to the stored hashes of complete subtrees.
///
/// Implementations return the hashes in the order asked, or an error; they must not
/// return a hash for a node they do not hold.
pub trait HashReader {
    /// The hashes of `ids`, in the same order.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        (**self).read_hashes(ids)
    }
}

/// The largest power of two strictly less than `n` (`n >= 2`): the split point `k` of
/// RFC 9162 §2.1.1.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The complete subtrees that make up the leaf range `[begin, end)`, left to right.
///
/// Every range the RFC recursion produces starts at a multiple of the smallest power of
/// two not less than its length, so its decomposition by the binary digits of the
/// length is made of aligned, complete subtrees.
#[expect(
    clippy::cast_possible_truncation,
    reason = "a level is the bit position of a u64, below 64"
)]
fn range_nodes(begin: u64, end: u64, out: &mut Vec<NodeId>) {
    let mut pos = begin;
    let mut remaining = end - begin;
    while remaining > 0 {
        let level = 63 - remaining.leading_zeros();
        out.push(NodeId::new(level as u8, pos >> level));
        pos += 1 << level;
        remaining -= 1 << level;
    }
}

/// The complete subtrees that make up `[0, size)`: the right edge of the tree.
pub(crate) fn range_nodes_from_zero(size: u64, out: &mut Vec<NodeId>) {
    range_nodes(0, size, out);
}

/// One element of a proof plan.
enum Element {
    /// Fold this many planned nodes (taken in order from the plan's node list).
    Fold(u8),
    /// Already known: a right-edge range hash from a [`RightEdge`].
    Known(Hash),
}

/// A proof plan: the stored nodes to read, and how each proof element is made.
struct Plan<'e> {
    nodes: Vec<NodeId>,
    elements: Vec<Element>,
    edge: Option<&'e RightEdge>,
    reverse_output: bool,
}

impl<'e> Plan<'e> {
    fn new(n: usize, edge: Option<&'e RightEdge>) -> Self {
        Plan {
            nodes: Vec::with_capacity(n + 8),
            elements: Vec::with_capacity(n),
            edge,
            reverse_output: false,
        }
    }

    #[expect(
        clippy::cast_possible_truncation,
        reason = "a range has at most 64 subtrees, one per bit of its length"
    )]
    fn push_range(&mut self, begin: u64, end: u64) {
        if let Some(hash) = self.edge.and_then(|e| e.range_hash(begin, end)) {
            self.elements.push(Element::Known(hash));
            return;
        }
        let before = self.nodes.len();
        range_nodes(begin, end, &mut self.nodes);
        self.elements
            .push(Element::Fold((self.nodes.len() - before) as u8));
    }

    /// Reads every planned node at once and folds each element's nodes right to left
    /// (RFC 9162 §2.1.1: `MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`).
    fn execute(self, reader: &impl HashReader) -> Result<Vec<Hash>> {
        let hashes = if self.nodes.is_empty() {
            Vec::new()
        } else {
            reader.read_hashes(&self.nodes)?
        };
        if hashes.len() != self.nodes.len() {
            return Err(Error::Storage(
                format!(
                    "asked for {} hashes, storage returned {}",
                    self.nodes.len(),
                    hashes.len()
                )
                .into(),
            ));
        }
        let mut out = Vec::with_capacity(self.elements.len());
        let mut at = 0usize;
        for element in &self.elements {
            match *element {
                Element::Known(hash) => out.push(hash),
                Element::Fold(span) => {
                    let group = &hashes[at..at + span as usize];
                    at += span as usize;
                    let mut acc = group[group.len() - 1];
                    for h in group[..group.len() - 1].iter().rev() {
                        acc = node_hash(h, &acc);
                    }
                    out.push(acc);
                }
            }
        }
        if self.reverse_output {
            out.reverse();
        }
        Ok(out)
    }
}

/// The hashes of every range `[a, size)` that a proof in the tree of `size` leaves can
/// need, computed once per tree size from its right edge.
///
/// Without it, each proof in a tree whose size is not a power of two folds up to
/// log2(size) stored hashes for its right-edge element; with it, that element is
/// looked up. A server keeps one for its latest checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RightEdge {
    size: u64,
    /// First leaf of each right-edge subtree, ascending.
    starts: Vec<u64>,
    /// `suffixes[i]` is the hash of leaves `[starts[i], size)`.
    suffixes: Vec<Hash>,
}

impl RightEdge {
    /// Precomputes the right-edge range hashes of the tree `range` covers.
    pub fn new(range: &crate::CompactRange) -> Self {
        let size = range.size();
        let ids = crate::CompactRange::frontier_ids(size);
        let starts: Vec<u64> = ids.iter().map(|id| id.index << id.level).collect();
        let mut suffixes = range.frontier().to_vec();
        for i in (0..suffixes.len().saturating_sub(1)).rev() {
            suffixes[i] = node_hash(&suffixes[i], &suffixes[i + 1]);
        }
        RightEdge {
            size,
            starts,
            suffixes,
        }
    }

    /// The tree size this edge belongs to.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree.
    pub fn root(&self) -> Hash {
        self.suffixes.first().copied().unwrap_or(EMPTY_ROOT)
    }

    fn range_hash(&self, begin: u64, end: u64) -> Option<Hash> {
        if end != self.size {
            return None;
        }
        let i = self.starts.binary_search(&begin).ok()?;
        self.suffixes.get(i).copied()
    }
}

/// The root hash of the tree of `size` leaves (RFC 9162 §2.1.1 `MTH(D[n])`).
pub fn tree_root(size: u64, reader: &impl HashReader) -> Result<Hash> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    let mut plan = Plan::new(1, None);
    plan.push_range(0, size);
    Ok(plan.execute(reader)?[0])
}

/// The hash of leaves `[begin, end)` where the range is one the RFC recursion can
/// produce (`begin` a multiple of a power of two at least `end - begin`).
pub fn range_hash(begin: u64, end: u64, reader: &impl HashReader) -> Result<Hash> {
    if begin >= end {
        return Err(Error::InvalidProofRequest(format!(
            "empty leaf range [{begin}, {end})"
        )));
    }
    let width = (end - begin).next_power_of_two();
    if !begin.is_multiple_of(width) {
        return Err(Error::InvalidProofRequest(format!(
            "leaf range [{begin}, {end}) is not a subtree of the RFC 9162 tree"
        )));
    }
    let mut plan = Plan::new(1, None);
    plan.push_range(begin, end);
    Ok(plan.execute(reader)?[0])
}

/// The audit path for leaf `index` in the tree of `size` leaves, leaf to root
/// (RFC 9162 §2.1.3.1 `PATH(m, D[n])`).
pub fn inclusion_proof(index: u64, size: u64, reader: &impl HashReader) -> Result<Vec<Hash>> {
    inclusion_plan(index, size, None)?.execute(reader)
}

/// [`inclusion_proof`] in the tree `edge` describes, taking right-edge hashes from
/// `edge` instead of folding them from storage.
pub fn inclusion_proof_at_edge(
    index: u64,
    edge: &RightEdge,
    reader: &impl HashReader,
) -> Result<Vec<Hash>> {
    inclusion_plan(index, edge.size, Some(edge))?.execute(reader)
}

/// [`consistency_proof`] to the tree `edge` describes, taking right-edge hashes from
/// `edge` instead of folding them from storage.
pub fn consistency_proof_at_edge(
    old_size: u64,
    edge: &RightEdge,
    reader: &impl HashReader,
) -> Result<Vec<Hash>> {
    consistency_plan(old_size, edge.size, Some(edge))?.execute(reader)
}

fn inclusion_plan(index: u64, size: u64, edge: Option<&RightEdge>) -> Result<Plan<'_>> {
    if index >= size {
        return Err(Error::InvalidProofRequest(format!(
            "leaf index {index} is not below tree size {size}"
        )));
    }
    // RFC 9162 §2.1.3.1: for n > 1, with k the largest power of two < n,
    //   PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
    //   PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])  if m >= k
    let mut plan = Plan::new(64, edge);
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            plan.push_range(lo + k, hi);
            hi = lo + k;
        } else {
            plan.push_range(lo, lo + k);
            lo += k;
        }
    }
    // Both recursions meet proof elements root first; proofs list them leaf first.
    plan.reverse_output = true;
    Ok(plan)
}

/// The consistency proof from the tree of `old_size` leaves to the tree of `new_size`
/// leaves (RFC 9162 §2.1.4.1 `PROOF(m, D[n])`).
///
/// `old_size == new_size` gives the empty proof. A proof from size 0 is refused: the
/// RFC defines none, and every tree is trivially an extension of the empty one.
pub fn consistency_proof(
    old_size: u64,
    new_size: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>> {
    consistency_plan(old_size, new_size, None)?.execute(reader)
}

fn consistency_plan(old_size: u64, new_size: u64, edge: Option<&RightEdge>) -> Result<Plan<'_>> {
    if old_size == 0 || old_size > new_size {
        return Err(Error::InvalidProofRequest(format!(
            "no consistency proof from size {old_size} to size {new_size}"
        )));
    }
    // RFC 9162 §2.1.4.1: SUBPROOF(m, D[n], b), with k the largest power of two < n:
    //   m == n: [] if b, else [MTH(D[n])]
    //   m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
    //   m >  k: SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
    let mut plan = Plan::new(65, edge);
    let (mut lo, mut hi) = (0u64, new_size);
    let mut m = old_size;
    let mut whole_old_tree_known = true;
    loop {
        let n = hi - lo;
        if m == n {
            if !whole_old_tree_known {
                plan.push_range(lo, hi);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            plan.push_range(lo + k, hi);
            hi = lo + k;
        } else {
            plan.push_range(lo, lo + k);
            lo += k;
            m -= k;
            whole_old_tree_known = false;
        }
    }
    // Both recursions meet proof elements root first; proofs list them leaf first.
    plan.reverse_output = true;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 40), 1 << 39);
        assert_eq!(split_point((1 << 40) + 1), 1 << 40);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn range_decomposes_into_aligned_complete_subtrees() {
        let mut out = Vec::new();
        range_nodes(8, 15, &mut out);
        assert_eq!(
            out,
            vec![NodeId::new(2, 2), NodeId::new(1, 6), NodeId::new(0, 14)]
        );
    }

    #[test]
    fn range_hash_refuses_ranges_that_are_not_subtrees() {
        let store = crate::MemoryHashStore::new();
        assert!(range_hash(3, 5, &store).is_err());
        assert!(range_hash(4, 4, &store).is_err());
    }

    #[test]
    fn proofs_at_a_right_edge_equal_proofs_from_storage() {
        let mut store = crate::MemoryHashStore::new();
        let mut range = crate::CompactRange::new();
        for size in 1u64..=300 {
            let leaf = crate::leaf_hash(&size.to_be_bytes());
            store.append_leaf_hash(leaf);
            range.append(leaf, |_, _| {}).unwrap();
            let edge = RightEdge::new(&range);
            assert_eq!(edge.root(), store.root());
            for i in 0..size {
                assert_eq!(
                    inclusion_proof_at_edge(i, &edge, &store).unwrap(),
                    inclusion_proof(i, size, &store).unwrap()
                );
                assert_eq!(
                    consistency_proof_at_edge(i + 1, &edge, &store).unwrap(),
                    consistency_proof(i + 1, size, &store).unwrap()
                );
            }
        }
        assert_eq!(
            RightEdge::new(&crate::CompactRange::new()).root(),
            EMPTY_ROOT
        );
    }

    #[test]
    fn requests_outside_the_tree_are_refused() {
        let mut store = crate::MemoryHashStore::new();
        for i in 0u32..5 {
            store.append_leaf(&i.to_be_bytes());
        }
        assert!(inclusion_proof(5, 5, &store).is_err());
        assert!(consistency_proof(0, 5, &store).is_err());
        assert!(consistency_proof(6, 5, &store).is_err());
        assert_eq!(consistency_proof(5, 5, &store).unwrap(), vec![]);
        // A size beyond what is stored is a missing hash, not a wrong answer.
        assert!(matches!(
            inclusion_proof(0, 9, &store),
            Err(Error::MissingHash(_))
        ));
    }
}
