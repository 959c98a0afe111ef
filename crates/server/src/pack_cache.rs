//! Encoded update packs, kept for the clients that ask the same question at the
//! same log size.
//!
//! A pack is a function of the repository, the root version and the `from` size
//! asked for, and of the repository's state, which changes only by appending to the
//! log. So a pack built while the latest checkpoint had size S answers the same
//! question for as long as S stays the latest; every pack is dropped when it does
//! not. A pack built while a push is sequenced but not yet published may already
//! hold that push's versions (the builder waits for their checkpoint): it is at
//! least as new as S, and every file in it is proven against the checkpoint inside
//! it, which the client checks as it checks any pack.
//!
//! What it does not do: keep packs across log sizes, share them between server
//! processes, or hold a pack larger than [`MAX_CACHED_PACK_BYTES`] / 4. Errors are
//! never kept.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;

/// Most packs kept at one log size.
pub const MAX_CACHED_PACKS: usize = 256;
/// Most bytes of packs kept at one log size.
pub const MAX_CACHED_PACK_BYTES: usize = 64 << 20;

/// The question a pack answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PackKey {
    /// The repository.
    pub repo: String,
    /// The root version the client trusts.
    pub root: u64,
    /// The log size the client trusts, when it named one.
    pub from: Option<u64>,
}

/// A pack as served: its body and the entity tag of that body.
#[derive(Clone, Debug)]
pub struct CachedPack {
    /// The encoded pack.
    pub body: Bytes,
    /// Its `ETag` value, quoted.
    pub etag: String,
}

/// Packs kept for the latest log size only.
#[derive(Default)]
pub struct PackCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    log_size: u64,
    bytes: usize,
    packs: HashMap<PackKey, CachedPack>,
}

impl Inner {
    /// Forgets every pack of an older log size.
    fn at(&mut self, log_size: u64) {
        if self.log_size != log_size {
            self.log_size = log_size;
            self.bytes = 0;
            self.packs.clear();
        }
    }
}

impl PackCache {
    /// The pack answering `key` while the latest checkpoint has `log_size`.
    pub fn get(&self, log_size: u64, key: &PackKey) -> Option<CachedPack> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.at(log_size);
        inner.packs.get(key).cloned()
    }

    /// Keeps `pack`, built after the latest checkpoint had `log_size`, unless the
    /// log has grown since (a newer pack may be kept already) or the limits are
    /// reached. A pack is kept or not whole: the limits bound memory, not answers.
    pub fn put(&self, log_size: u64, key: PackKey, pack: CachedPack) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if log_size < inner.log_size {
            return;
        }
        inner.at(log_size);
        let size = pack.body.len();
        if size > MAX_CACHED_PACK_BYTES / 4
            || inner.packs.len() >= MAX_CACHED_PACKS
            || inner.bytes + size > MAX_CACHED_PACK_BYTES
        {
            return;
        }
        if let Some(old) = inner.packs.insert(key, pack) {
            inner.bytes -= old.body.len();
        }
        inner.bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(repo: &str, root: u64, from: Option<u64>) -> PackKey {
        PackKey {
            repo: repo.into(),
            root,
            from,
        }
    }

    fn pack(text: &str) -> CachedPack {
        CachedPack {
            body: Bytes::from(text.as_bytes().to_vec()),
            etag: format!("\"{text}\""),
        }
    }

    #[test]
    fn a_pack_is_served_for_its_question_at_its_log_size_only() {
        let cache = PackCache::default();
        let asked = key("example.com/app", 1, None);
        assert!(cache.get(7, &asked).is_none());
        cache.put(7, asked.clone(), pack("at seven"));
        assert_eq!(
            cache.get(7, &asked).map(|p| p.body),
            Some(Bytes::from("at seven"))
        );
        for other in [
            key("example.com/other", 1, None),
            key("example.com/app", 2, None),
            key("example.com/app", 1, Some(5)),
        ] {
            assert!(cache.get(7, &other).is_none(), "{other:?}");
        }
        // The log grew: the pack no longer answers, and is gone for good.
        assert!(cache.get(8, &asked).is_none());
        assert!(cache.get(7, &asked).is_none());
    }

    #[test]
    fn a_pack_built_before_the_log_grew_is_not_kept() {
        let cache = PackCache::default();
        let asked = key("example.com/app", 1, None);
        assert!(cache.get(9, &asked).is_none());
        cache.put(8, asked.clone(), pack("stale"));
        assert!(cache.get(9, &asked).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_limits() {
        let cache = PackCache::default();
        let too_big = CachedPack {
            body: Bytes::from(vec![0u8; MAX_CACHED_PACK_BYTES / 4 + 1]),
            etag: "\"big\"".into(),
        };
        cache.put(1, key("r", 1, None), too_big);
        assert!(cache.get(1, &key("r", 1, None)).is_none());

        for root in 0..MAX_CACHED_PACKS as u64 + 10 {
            cache.put(1, key("r", root, None), pack("p"));
        }
        let kept = (0..MAX_CACHED_PACKS as u64 + 10)
            .filter(|&root| cache.get(1, &key("r", root, None)).is_some())
            .count();
        assert_eq!(kept, MAX_CACHED_PACKS);

        // Replacing a pack counts its bytes once.
        let cache = PackCache::default();
        let quarter = MAX_CACHED_PACK_BYTES / 4;
        for _ in 0..8 {
            cache.put(
                1,
                key("r", 1, None),
                CachedPack {
                    body: Bytes::from(vec![1u8; quarter]),
                    etag: "\"q\"".into(),
                },
            );
        }
        cache.put(1, key("r", 2, None), pack("fits"));
        assert!(cache.get(1, &key("r", 2, None)).is_some());
    }
}
