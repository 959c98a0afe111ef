//! Hash lists (`hashes` of a target or a metafile), and the pair reader they share
//! with the targets map.

use super::*;

/// A file's hashes by algorithm name (hex values), in name order.
///
/// A short list rather than a map: a file lists one or two, and a B-tree leaf (about
/// half a KiB) per target was a large part of parsing and dropping a 10,000-target
/// document. Reads as a JSON object; an algorithm listed twice keeps its last value,
/// as a map would.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hashes(Vec<(String, String)>);

impl Hashes {
    /// The hash listed for `algorithm`.
    pub fn get(&self, algorithm: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(a, _)| a.as_str().cmp(algorithm))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Lists `hash` for `algorithm`, returning the one it replaces.
    pub fn insert(&mut self, algorithm: String, hash: String) -> Option<String> {
        match self.0.binary_search_by(|(a, _)| a.cmp(&algorithm)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, hash)),
            Err(i) => {
                self.0.insert(i, (algorithm, hash));
                None
            }
        }
    }

    /// (algorithm, hash) pairs in algorithm order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.into_iter()
    }

    /// The hashes, in algorithm order.
    pub fn values(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(_, h)| h)
    }

    /// How many algorithms are listed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, String)> for Hashes {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut hashes = Hashes::default();
        for (algorithm, hash) in pairs {
            hashes.insert(algorithm, hash);
        }
        hashes
    }
}

impl<const N: usize> From<[(String, String); N]> for Hashes {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Hashes {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(a, h)| (a, h))
    }
}

impl Serialize for Hashes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (algorithm, hash) in &self.0 {
            map.serialize_entry(algorithm, hash)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Hashes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        deserialize_pairs(d, "a map of hash algorithms to hex digests")
    }
}

/// Most pairs [`deserialize_pairs`] holds in one block while it reads.
const PAIRS_BLOCK: usize = 1024;

/// Reads a JSON object as its (key, value) pairs in order and collects them: how a
/// targets map and a file's hashes are built. Both collections keep the last value
/// of a key listed twice, as inserting one by one would.
pub(super) fn deserialize_pairs<'de, D, K, V, C>(
    d: D,
    expecting: &'static str,
) -> std::result::Result<C, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de>,
    V: Deserialize<'de>,
    C: FromIterator<(K, V)>,
{
    struct Pairs<K, V, C>(&'static str, std::marker::PhantomData<(K, V, C)>);
    impl<'de, K, V, C> serde::de::Visitor<'de> for Pairs<K, V, C>
    where
        K: Deserialize<'de>,
        V: Deserialize<'de>,
        C: FromIterator<(K, V)>,
    {
        type Value = C;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<C, A::Error> {
            // Collected in blocks that stay where they are once full: one vector
            // grown to hold a 10,000-entry targets map would be copied at every
            // doubling, each time onto freshly mapped pages. The hint comes from the
            // input: bounded, so a document cannot make this reserve more than it
            // could hold.
            let mut full: Vec<Vec<(K, V)>> = Vec::new();
            let mut block = Vec::with_capacity(map.size_hint().unwrap_or(4).clamp(1, PAIRS_BLOCK));
            while let Some(entry) = map.next_entry::<K, V>()? {
                if block.len() == block.capacity() {
                    let next = (block.capacity() * 2).min(PAIRS_BLOCK);
                    full.push(std::mem::replace(&mut block, Vec::with_capacity(next)));
                }
                block.push(entry);
            }
            if full.is_empty() {
                return Ok(block.into_iter().collect());
            }
            let mut listed =
                Vec::with_capacity(full.iter().map(Vec::len).sum::<usize>() + block.len());
            for done in full {
                listed.extend(done);
            }
            listed.extend(block);
            Ok(listed.into_iter().collect())
        }
    }
    d.deserialize_map(Pairs(expecting, std::marker::PhantomData))
}
