//! The upper levels of the tree, held in memory.
//!
//! Every proof reads one node per level. A node's level-`l` neighbours are far apart
//! in the store for large `l`, so served from RocksDB alone a proof at a million
//! entries costs some twenty point lookups, and that lookup work was most of a proof
//! request's CPU time (`--bench server`: 12,048 inclusion proofs/s without this cache,
//! 20,656 with it).
//! Complete nodes never change once written, so a copy of the upper levels needs no
//! invalidation: the integrator appends the nodes each batch completes, after the
//! batch is durable and before its checkpoint is published.
//!
//! Memory is bounded by [`NODE_CACHE_MAX_HASHES`]: as the log grows, the lowest cached
//! level is dropped, so a proof reads from the store only the few lowest levels.

use crate::sequencer::Storage;
use std::sync::RwLock;
use tlog::{Hash, NodeId};

/// Most hashes held (32 bytes each: 32 MiB). At a million entries that holds every
/// level from 1 up, leaving a proof its leaf and that leaf's sibling to read, which
/// sit side by side in one stored block.
pub const NODE_CACHE_MAX_HASHES: usize = 1 << 20;

/// Hashes read from the store per call while loading the cache at start.
const LOAD_CHUNK: u64 = 4096;

/// Levels `min_level..` of the tree, each a prefix of that level's complete nodes.
#[derive(Debug)]
pub(crate) struct NodeCache {
    min_level: u8,
    /// Indexed by level; levels below `min_level` are empty.
    levels: Vec<Vec<Hash>>,
    held: usize,
    limit: usize,
}

/// Reads from `store` every cached-level node a tree of `size` leaves has completed
/// beyond what `cache` holds: how a following instance, which sees no batches,
/// keeps its cache up with the sequencer's. The store is read without the cache
/// locked, so proofs served meanwhile do not wait on it; only the follower's
/// thread (or the take-over that stops it first) extends the cache then.
pub(crate) fn catch_up(
    cache: &RwLock<NodeCache>,
    size: u64,
    store: &dyn Storage,
) -> tlog::Result<()> {
    let missing = cache
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .missing(size);
    for ids in missing.chunks(usize::try_from(LOAD_CHUNK).unwrap_or(usize::MAX)) {
        let hashes = store.read_hashes(ids)?;
        let nodes: Vec<(NodeId, Hash)> = ids.iter().copied().zip(hashes).collect();
        cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .extend(&nodes);
    }
    Ok(())
}

/// Complete nodes at levels `level..` of a tree of `size` leaves.
fn nodes_from_level(size: u64, level: u8) -> u64 {
    (u32::from(level)..64).map(|l| size >> l).sum()
}

impl NodeCache {
    /// An empty cache for a tree of `size` leaves, holding at most `limit` hashes.
    fn empty(size: u64, limit: usize) -> Self {
        let mut min_level = 0u8;
        while min_level < 63 && nodes_from_level(size, min_level) > limit as u64 {
            min_level += 1;
        }
        NodeCache {
            min_level,
            levels: vec![Vec::new(); 64],
            held: 0,
            limit,
        }
    }

    /// The cached levels of a tree of `size` leaves, read from `store`.
    pub(crate) fn load(size: u64, store: &dyn Storage, limit: usize) -> tlog::Result<Self> {
        let mut cache = NodeCache::empty(size, limit);
        for level in cache.min_level..64 {
            let count = size >> level;
            if count == 0 {
                break;
            }
            let mut start = 0;
            while start < count {
                let end = (start + LOAD_CHUNK).min(count);
                let ids: Vec<NodeId> = (start..end).map(|i| NodeId::new(level, i)).collect();
                let hashes = store.read_hashes(&ids)?;
                cache.held += hashes.len();
                cache.levels[usize::from(level)].extend(hashes);
                start = end;
            }
        }
        Ok(cache)
    }

    /// Adds the nodes a batch completed (in the order the integrator produced them),
    /// then drops the lowest levels until the cache is within its limit.
    pub(crate) fn extend(&mut self, nodes: &[(NodeId, Hash)]) {
        for (id, hash) in nodes {
            if id.level < self.min_level {
                continue;
            }
            let level = &mut self.levels[usize::from(id.level)];
            // Only a node right after the cached prefix is taken, so a level is
            // always a gap-free prefix and a lookup never returns a wrong node.
            if level.len() as u64 == id.index {
                level.push(*hash);
                self.held += 1;
            }
        }
        while self.held > self.limit && self.min_level < 63 {
            let dropped = std::mem::take(&mut self.levels[usize::from(self.min_level)]);
            self.held -= dropped.len();
            self.min_level += 1;
        }
    }

    /// The cached-level nodes a tree of `size` leaves has completed beyond what is
    /// held, level by level in index order.
    fn missing(&self, size: u64) -> Vec<NodeId> {
        let mut missing = Vec::new();
        for level in self.min_level..64 {
            let have = self.levels[usize::from(level)].len() as u64;
            let want = size >> level;
            if want == 0 {
                break;
            }
            missing.extend((have..want).map(|i| NodeId::new(level, i)));
        }
        missing
    }

    /// The cached hash of `id`, if held.
    pub(crate) fn get(&self, id: NodeId) -> Option<Hash> {
        if id.level < self.min_level {
            return None;
        }
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }

    #[cfg(test)]
    pub(crate) fn min_level(&self) -> u8 {
        self.min_level
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use store::LogStore;
    use tlog::CompactRange;

    fn leaf(i: u64) -> Hash {
        tlog::leaf_hash(&i.to_be_bytes())
    }

    fn grow(range: &mut CompactRange, from: u64, to: u64) -> Vec<(NodeId, Hash)> {
        let mut nodes = Vec::new();
        for i in from..to {
            range.append(leaf(i), |id, h| nodes.push((id, h))).unwrap();
        }
        nodes
    }

    #[test]
    fn holds_exactly_the_nodes_the_tree_completed_within_its_limit() {
        let mut range = CompactRange::new();
        let mut all = HashMap::new();
        let mut cache = NodeCache::empty(0, 100);
        let mut size = 0;
        for batch in [1u64, 7, 30, 64, 200] {
            let nodes = grow(&mut range, size, size + batch);
            size += batch;
            all.extend(nodes.iter().copied());
            cache.extend(&nodes);
            assert!(cache.held() <= 100, "held {} at size {size}", cache.held());
            for (id, hash) in &all {
                match cache.get(*id) {
                    Some(h) => assert_eq!(h, *hash, "{id:?}"),
                    None => assert!(id.level < cache.min_level(), "{id:?} missing"),
                }
            }
        }
        // 302 leaves: levels 2.. hold 146 hashes, over the limit; levels 3.. hold 71.
        assert_eq!(cache.min_level(), 3);
        assert_eq!(cache.held(), 71);
        assert!(cache.get(NodeId::new(3, 36)).is_some());
        assert_eq!(cache.get(NodeId::new(3, 37)), None, "beyond the tree");
    }

    #[test]
    fn a_node_after_a_gap_is_not_taken() {
        let mut cache = NodeCache::empty(0, 100);
        cache.extend(&[(NodeId::new(3, 1), leaf(1))]);
        assert_eq!(cache.get(NodeId::new(3, 1)), None);
        assert_eq!(cache.get(NodeId::new(3, 0)), None);
    }

    #[test]
    fn loads_the_levels_that_fit() {
        let store = store::memory::MemoryStore::new();
        let mut range = CompactRange::new();
        let nodes = grow(&mut range, 0, 1000);
        store
            .commit(&store::Batch {
                first_index: 0,
                entries: (0..1000u64).map(|i| i.to_be_bytes().to_vec()).collect(),
                nodes: nodes.clone(),
                state: Some(store::LogState {
                    size: 1000,
                    frontier: range.frontier().to_vec(),
                    checkpoint: Vec::new(),
                }),
                ..store::Batch::default()
            })
            .unwrap();
        let cache = NodeCache::load(1000, &store, 600).unwrap();
        // Levels 1.. of 1000 leaves hold 994 hashes; levels 2.. hold 494.
        assert_eq!(cache.min_level(), 2);
        assert_eq!(cache.held(), 494);
        for (id, hash) in nodes {
            if id.level >= 2 {
                assert_eq!(cache.get(id), Some(hash), "{id:?}");
            }
        }
    }
}
