//! The `targets` object of targets metadata: target files by path (TUF §4.5).
//!
//! A map read from a document is checked in full when it is read, and then kept as
//! an index into the document's bytes: each file is parsed when it is asked for. A
//! client looks up one path among thousands, and building (then dropping) a typed
//! entry for every one of them was most of the time a full update took. A map built
//! or edited here is an ordinary B-tree.

use super::{read_target_file, HashesChecked, TargetFile};
use crate::canonical::Key;
use bytes::Bytes;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::{btree_map, BTreeMap};
use std::ops::Range;

/// Target files by path, in path order.
///
/// Read from a document (see the module documentation), every entry has been
/// checked exactly as [`TargetFile`]'s reader checks it, and a path listed twice
/// keeps its last value, as with inserts (and python-tuf's JSON reader). Editing a
/// map read from a document turns it into an owned one first.
#[derive(Clone, Default)]
pub struct TargetsMap {
    /// The entries of a map read from a document; `built` is then empty.
    read: Option<ReadMap>,
    built: BTreeMap<String, TargetFile>,
}

/// Entries of a map as a document lists them: unique, in path order.
#[derive(Clone)]
struct ReadMap {
    document: Bytes,
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    path: PathText,
    /// The target file object's text in the document.
    file: Range<usize>,
}

#[derive(Clone)]
enum PathText {
    /// Where the path lies in the document (it had no escapes).
    InDocument(Range<usize>),
    /// The path with its escapes resolved.
    Unescaped(Box<str>),
}

impl ReadMap {
    fn path_bytes<'a>(&'a self, entry: &'a Entry) -> &'a [u8] {
        match &entry.path {
            PathText::InDocument(range) => self.document.get(range.clone()).unwrap_or_default(),
            PathText::Unescaped(path) => path.as_bytes(),
        }
    }

    /// The ranges were taken from `&str`s within the document, so this is never
    /// empty for a path that is not.
    fn path<'a>(&'a self, entry: &'a Entry) -> &'a str {
        std::str::from_utf8(self.path_bytes(entry)).unwrap_or_default()
    }

    /// The file, parsed from text that was checked when the map was read; `None`
    /// cannot happen for text that passed that check.
    fn file(&self, entry: &Entry) -> Option<TargetFile> {
        let text = self.document.get(entry.file.clone())?;
        serde_json::from_slice(text).ok()
    }

    fn find(&self, path: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| self.path_bytes(e).cmp(path.as_bytes()))
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    fn into_built(self) -> BTreeMap<String, TargetFile> {
        self.entries
            .iter()
            .filter_map(|e| Some((self.path(e).to_string(), self.file(e)?)))
            .collect()
    }
}

impl TargetsMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many paths are listed.
    pub fn len(&self) -> usize {
        self.read.as_ref().map_or(0, |r| r.entries.len()) + self.built.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `path` is listed.
    pub fn contains_key(&self, path: &str) -> bool {
        match &self.read {
            Some(read) => read.find(path).is_some(),
            None => self.built.contains_key(path),
        }
    }

    /// The file listed at `path`.
    pub fn get(&self, path: &str) -> Option<Cow<'_, TargetFile>> {
        match &self.read {
            Some(read) => read.find(path).and_then(|e| read.file(e)).map(Cow::Owned),
            None => self.built.get(path).map(Cow::Borrowed),
        }
    }

    /// The listed paths, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        let read = self
            .read
            .as_ref()
            .map(|read| read.entries.iter().map(|e| read.path(e)));
        read.into_iter()
            .flatten()
            .chain(self.built.keys().map(String::as_str))
    }

    /// (path, file) pairs in path order. Files of a map read from a document are
    /// parsed as they are reached.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            read: self.read.as_ref().map(|read| (read, read.entries.iter())),
            built: self.built.iter(),
        }
    }

    /// Lists `file` at `path`, returning the file it replaces.
    pub fn insert(&mut self, path: String, file: TargetFile) -> Option<TargetFile> {
        self.built().insert(path, file)
    }

    /// Removes `path`, returning its file.
    pub fn remove(&mut self, path: &str) -> Option<TargetFile> {
        self.built().remove(path)
    }

    fn built(&mut self) -> &mut BTreeMap<String, TargetFile> {
        if let Some(read) = self.read.take() {
            self.built = read.into_built();
        }
        &mut self.built
    }

    /// The first path listing no hash (TUF §4.5 asks for at least one), in a map
    /// built here: a map read from a document refused those when it was read.
    pub(super) fn first_without_hashes(&self) -> Option<&str> {
        self.built
            .iter()
            .find(|(_, f)| f.hashes.is_empty())
            .map(|(p, _)| p.as_str())
    }
}

/// Iterator over a [`TargetsMap`]'s (path, file) pairs.
pub struct Iter<'a> {
    read: Option<(&'a ReadMap, std::slice::Iter<'a, Entry>)>,
    built: btree_map::Iter<'a, String, TargetFile>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, Cow<'a, TargetFile>);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((read, entries)) = &mut self.read {
            let read: &'a ReadMap = read;
            if let Some(next) =
                entries.find_map(|e| Some((read.path(e), Cow::Owned(read.file(e)?))))
            {
                return Some(next);
            }
        }
        self.built
            .next()
            .map(|(p, f)| (p.as_str(), Cow::Borrowed(f)))
    }
}

impl<'a> IntoIterator for &'a TargetsMap {
    type Item = (&'a str, Cow<'a, TargetFile>);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<(String, TargetFile)> for TargetsMap {
    fn from_iter<I: IntoIterator<Item = (String, TargetFile)>>(pairs: I) -> Self {
        BTreeMap::from_iter(pairs).into()
    }
}

impl From<BTreeMap<String, TargetFile>> for TargetsMap {
    fn from(built: BTreeMap<String, TargetFile>) -> Self {
        TargetsMap { read: None, built }
    }
}

impl PartialEq for TargetsMap {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for TargetsMap {}

impl std::fmt::Debug for TargetsMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for TargetsMap {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// Read without a document to point into (not through [`super::Metadata`]): built.
impl<'de> Deserialize<'de> for TargetsMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        super::deserialize_pairs(d, "a map of target paths to target files")
            .map(|built: BTreeMap<String, TargetFile>| built.into())
    }
}

/// Reads a targets map from text lying within `document`, checking every entry and
/// keeping where each lies.
pub(super) struct ReadFrom<'d>(pub(super) &'d Bytes);

impl<'de> DeserializeSeed<'de> for ReadFrom<'_> {
    type Value = TargetsMap;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<TargetsMap, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ReadFrom<'_> {
    type Value = TargetsMap;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map of target paths to target files")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<TargetsMap, A::Error> {
        use serde::de::Error as _;
        let document = self.0;
        let within = |text: &str| super::range_within(document, text.as_bytes());
        let mut entries = Vec::new();
        while let Some(Key(path)) = map.next_key()? {
            let file: &'de serde_json::value::RawValue = map.next_value()?;
            let hashes = serde_json::from_str::<TargetFileChecked>(file.get())
                .map_err(|e| A::Error::custom(format!("target {path:?}: {e}")))?
                .0;
            // TUF §4.5 TARGETS: "HASHES ... one or more".
            if hashes == 0 {
                return Err(A::Error::custom(format!("{path}: empty hashes")));
            }
            let file = within(file.get())
                .ok_or_else(|| A::Error::custom("a target file outside its document"))?;
            let path = match path {
                Cow::Borrowed(p) => {
                    within(p).map_or_else(|| PathText::Unescaped(p.into()), PathText::InDocument)
                }
                Cow::Owned(p) => PathText::Unescaped(p.into_boxed_str()),
            };
            entries.push(Entry { path, file });
        }
        let mut read = ReadMap {
            document: document.clone(),
            entries,
        };
        let ordered = read
            .entries
            .windows(2)
            .all(|w| read.path_bytes(&w[0]) < read.path_bytes(&w[1]));
        if !ordered {
            let mut entries = std::mem::take(&mut read.entries);
            // Stable, so a repeated path's entries stay in document order and the
            // last of them is the one kept.
            entries.sort_by(|a, b| read.path_bytes(a).cmp(read.path_bytes(b)));
            entries.dedup_by(|later, earlier| {
                let repeat = read.path_bytes(later) == read.path_bytes(earlier);
                if repeat {
                    std::mem::swap(later, earlier);
                }
                repeat
            });
            read.entries = entries;
        }
        Ok(TargetsMap {
            read: Some(read),
            built: BTreeMap::new(),
        })
    }
}

/// A target file object checked as [`TargetFile`] reads it, keeping only how many
/// hashes it lists.
struct TargetFileChecked(usize);

impl<'de> Deserialize<'de> for TargetFileChecked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TargetFileChecked;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a TUF target file object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<TargetFileChecked, A::Error> {
                let HashesChecked(listed) = read_target_file::<A, HashesChecked>(map)?.hashes;
                Ok(TargetFileChecked(listed))
            }
        }
        d.deserialize_map(V)
    }
}
