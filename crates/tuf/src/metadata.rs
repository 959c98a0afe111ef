//! The four top-level roles and delegated targets, in their signed envelope (TUF §4).
//!
//! Parsing keeps three things: the exact bytes received (served and logged as they are,
//! never re-serialised), the OLPC canonical JSON of `signed` as received (what the
//! signatures cover, unknown fields included), and typed fields for the checks. Unknown
//! fields are kept in each struct's `unknown` map, so a document edited and re-signed
//! here loses nothing.

use crate::canonical::canonical_text_borrowed;
use crate::keys::{Key, PrivateKey, Signature};
use crate::{Error, Result};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};
use std::collections::{BTreeMap, BTreeSet};

mod targets_map;
pub use targets_map::{Iter as TargetsIter, TargetsMap};

/// The specification version this crate writes.
pub const SPEC_VERSION: &str = "1.0.34";

/// The top-level role names (TUF §2.1).
pub const TOP_LEVEL_ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

/// Longest `bit_length` for succinct hash bins (TAP 15): 2^32 bins is already far more
/// than any repository delegates to.
pub const MAX_SUCCINCT_BIT_LENGTH: u8 = 32;

/// An expiry time, written `YYYY-MM-DDTHH:MM:SSZ` (TUF §4.2 "EXPIRES").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Expires(pub DateTime<Utc>);

const EXPIRES_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

impl Expires {
    /// Parses the TUF expiry format.
    pub fn parse(s: &str) -> Result<Self> {
        // What `NaiveDateTime::parse_from_str(s, EXPIRES_FORMAT)` does, with the
        // format read once rather than for every document (a monitor reads one per
        // log entry).
        static ITEMS: std::sync::LazyLock<Vec<chrono::format::Item<'static>>> =
            std::sync::LazyLock::new(|| {
                chrono::format::StrftimeItems::new(EXPIRES_FORMAT).collect()
            });
        let mut parsed = chrono::format::Parsed::new();
        chrono::format::parse(&mut parsed, s, ITEMS.iter())
            .and_then(|()| parsed.to_naive_datetime_with_offset(0))
            .map(|t| Expires(t.and_utc()))
            .map_err(|_| Error::malformed("expires", format!("{s:?} is not YYYY-MM-DDTHH:MM:SSZ")))
    }

    /// True if this expiry is not after `now` (expired metadata fails TUF's freeze
    /// checks: "MUST be higher than the fixed update start time").
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.0 <= now
    }
}

impl std::fmt::Display for Expires {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format(EXPIRES_FORMAT))
    }
}

impl Serialize for Expires {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Expires {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // Borrowed from the input where it can be, like an object key.
        let crate::canonical::Key(s) = crate::canonical::Key::deserialize(d)?;
        Expires::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Keys authorised for a role and how many must sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// Authorised key IDs.
    pub keyids: Vec<String>,
    /// Signatures needed.
    pub threshold: u64,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// Root metadata (TUF §4.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// Always `root`.
    #[serde(rename = "_type")]
    pub type_: String,
    /// The specification version the document follows.
    pub spec_version: String,
    /// Whether the repository uses consistent snapshots (TUF §7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_snapshot: Option<bool>,
    /// The version.
    pub version: u64,
    /// The expiry.
    pub expires: Expires,
    /// Keys by key ID.
    pub keys: BTreeMap<String, Key>,
    /// Keys and thresholds of the four top-level roles.
    pub roles: BTreeMap<String, RoleKeys>,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

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
fn deserialize_pairs<'de, D, K, V, C>(
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

/// A file's entry in timestamp or snapshot `meta` (TUF §4.4 METAFILES).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    /// The version of the listed metadata.
    pub version: u64,
    /// Its length in bytes, if listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Its hashes, if listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Hashes>,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// Timestamp metadata (TUF §4.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// Always `timestamp`.
    #[serde(rename = "_type")]
    pub type_: String,
    /// The specification version.
    pub spec_version: String,
    /// The version.
    pub version: u64,
    /// The expiry.
    pub expires: Expires,
    /// Exactly one entry, `snapshot.json`.
    pub meta: BTreeMap<String, MetaFile>,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// Snapshot metadata (TUF §4.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always `snapshot`.
    #[serde(rename = "_type")]
    pub type_: String,
    /// The specification version.
    pub spec_version: String,
    /// The version.
    pub version: u64,
    /// The expiry.
    pub expires: Expires,
    /// `<role>.json` for targets and every delegated role.
    pub meta: BTreeMap<String, MetaFile>,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// A target file's description (TUF §4.5 TARGETS).
///
/// Deserialised by hand (below): a targets document can hold tens of thousands of
/// these, and `#[serde(flatten)]` would buffer each one before reading it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetFile {
    /// Length in bytes.
    pub length: u64,
    /// Hashes by algorithm.
    pub hashes: Hashes,
    /// Application data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

impl<'de> Deserialize<'de> for TargetFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TargetFile;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a TUF target file object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<TargetFile, A::Error> {
                let f = read_target_file::<A, Hashes>(map)?;
                Ok(TargetFile {
                    length: f.length,
                    hashes: f.hashes,
                    custom: f.custom,
                    unknown: f.unknown,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads an object member by member: `known(key, map)` reads the value of a member
/// it knows and says whether that member was read before (`Some(repeated)`), or
/// leaves it (`None`) to be kept, whatever it holds, in the map returned. A member
/// given twice is refused, so no two readers of one document disagree about it.
pub(crate) fn read_members<'de, A: serde::de::MapAccess<'de>>(
    mut map: A,
    mut known: impl FnMut(&str, &mut A) -> std::result::Result<Option<bool>, A::Error>,
) -> std::result::Result<BTreeMap<String, Value>, A::Error> {
    use serde::de::Error as _;
    let mut unknown = BTreeMap::new();
    while let Some(crate::canonical::Key(key)) = map.next_key()? {
        let repeated = match known(&key, &mut map)? {
            Some(repeated) => repeated,
            None => {
                let value = map.next_value::<Value>()?;
                unknown.insert(key.to_string(), value).is_some()
            }
        };
        if repeated {
            return Err(A::Error::custom(format!("duplicate field `{key}`")));
        }
    }
    Ok(unknown)
}

/// The fields of a target file object, with its hashes read as `H`: [`Hashes`] to
/// keep them, or [`HashesChecked`] to check them and keep nothing. One reader for
/// both, so a targets map checked when it is read accepts exactly what parsing each
/// entry later does.
fn read_target_file<'de, A, H>(map: A) -> std::result::Result<TargetFileFields<H>, A::Error>
where
    A: serde::de::MapAccess<'de>,
    H: Deserialize<'de>,
{
    use serde::de::Error as _;
    let mut length = None;
    let mut hashes = None;
    let mut custom = None;
    let unknown = read_members(map, |key, map| {
        Ok(Some(match key {
            "length" => length.replace(map.next_value::<u64>()?).is_some(),
            "hashes" => hashes.replace(map.next_value::<H>()?).is_some(),
            "custom" => custom.replace(map.next_value::<Value>()?).is_some(),
            _ => return Ok(None),
        }))
    })?;
    Ok(TargetFileFields {
        length: length.ok_or_else(|| A::Error::missing_field("length"))?,
        hashes: hashes.ok_or_else(|| A::Error::missing_field("hashes"))?,
        custom,
        unknown,
    })
}

/// A target file's fields, its hashes read as `H`.
struct TargetFileFields<H> {
    length: u64,
    hashes: H,
    custom: Option<Value>,
    unknown: BTreeMap<String, Value>,
}

/// A file's hashes checked as [`Hashes`] reads them (an object of strings), and
/// counted, without keeping them.
struct HashesChecked(usize);

impl<'de> Deserialize<'de> for HashesChecked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = HashesChecked;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of hash algorithms to hex digests")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<HashesChecked, A::Error> {
                use crate::canonical::Key;
                let mut listed = 0;
                while map.next_entry::<Key<'de>, Key<'de>>()?.is_some() {
                    listed += 1;
                }
                Ok(HashesChecked(listed))
            }
        }
        d.deserialize_map(V)
    }
}

/// A delegation to a named role (TUF §4.5 DELEGATIONS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    /// The delegated role's name.
    pub name: String,
    /// Authorised key IDs.
    pub keyids: Vec<String>,
    /// Signatures needed.
    pub threshold: u64,
    /// Whether the search stops after this role (TUF §5.6.7.2.1).
    pub terminating: bool,
    /// Path patterns the role is trusted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Hex prefixes of SHA-256(target path) the role is trusted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// TAP 15 succinct hash-bin delegations: `2^bit_length` bins named
/// `<name_prefix>-<hex bin>`, all sharing one set of keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccinctRoles {
    /// Authorised key IDs, for every bin.
    pub keyids: Vec<String>,
    /// Signatures needed, for every bin.
    pub threshold: u64,
    /// Number of leading bits of SHA-256(target path) that pick the bin.
    pub bit_length: u8,
    /// Prefix of every bin's role name.
    pub name_prefix: String,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// The `delegations` object of targets metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    /// Keys of the delegated roles.
    pub keys: BTreeMap<String, Key>,
    /// Named delegations, in search order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<DelegatedRole>>,
    /// Hash-bin delegations (TAP 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succinct_roles: Option<SuccinctRoles>,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// Targets metadata, top-level or delegated (TUF §4.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Targets {
    /// Always `targets`.
    #[serde(rename = "_type")]
    pub type_: String,
    /// The specification version.
    pub spec_version: String,
    /// The version.
    pub version: u64,
    /// The expiry.
    pub expires: Expires,
    /// Target files by path.
    pub targets: TargetsMap,
    /// Delegations, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
    /// Unknown fields, kept.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

// By hand rather than derived: a derived `#[serde(flatten)]` buffers the whole
// document into a generic tree before reading the fields from it, which for a
// targets list of thousands was most of the parse.
impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_map(TargetsReader { document: None })
    }
}

/// Reads targets metadata; with the document its text lies in, the targets map is
/// kept as an index into that document ([`TargetsMap`]).
struct TargetsReader<'d> {
    document: Option<&'d Bytes>,
}

impl<'de> serde::de::Visitor<'de> for TargetsReader<'_> {
    type Value = Targets;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TUF targets metadata")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        map: A,
    ) -> std::result::Result<Targets, A::Error> {
        use serde::de::Error as _;
        let mut type_ = None;
        let mut spec_version = None;
        let mut version = None;
        let mut expires = None;
        let mut targets = None;
        let mut delegations = None;
        let unknown = read_members(map, |key, map| {
            Ok(Some(match key {
                "_type" => type_.replace(map.next_value::<String>()?).is_some(),
                "spec_version" => spec_version.replace(map.next_value::<String>()?).is_some(),
                "version" => version.replace(map.next_value::<u64>()?).is_some(),
                "expires" => expires.replace(map.next_value::<Expires>()?).is_some(),
                "targets" => {
                    let read = match self.document {
                        Some(document) => map.next_value_seed(targets_map::ReadFrom(document))?,
                        None => map.next_value::<TargetsMap>()?,
                    };
                    targets.replace(read).is_some()
                }
                "delegations" => delegations
                    .replace(map.next_value::<Option<Delegations>>()?)
                    .is_some(),
                _ => return Ok(None),
            }))
        })?;
        Ok(Targets {
            type_: type_.ok_or_else(|| A::Error::missing_field("_type"))?,
            spec_version: spec_version.ok_or_else(|| A::Error::missing_field("spec_version"))?,
            version: version.ok_or_else(|| A::Error::missing_field("version"))?,
            expires: expires.ok_or_else(|| A::Error::missing_field("expires"))?,
            targets: targets.ok_or_else(|| A::Error::missing_field("targets"))?,
            delegations: delegations.flatten(),
            unknown,
        })
    }
}

/// What every role's `signed` has in common.
pub trait Role: Serialize + DeserializeOwned + Clone {
    /// The `_type` value.
    const TYPE: &'static str;
    /// `_type` as parsed.
    fn type_field(&self) -> &str;
    /// `spec_version`.
    fn spec_version(&self) -> &str;
    /// `version`.
    fn version(&self) -> u64;
    /// `expires`.
    fn expires(&self) -> Expires;
    /// Checks beyond the JSON shape.
    fn validate(&self) -> Result<()>;
    /// Reads `signed` from `text`, which lies within `document`.
    fn read_signed(text: &str, _document: &Bytes) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

fn check_threshold_and_keyids(role: &str, keyids: &[String], threshold: u64) -> Result<()> {
    if threshold == 0 {
        return Err(Error::malformed(role, "threshold must be at least 1"));
    }
    let unique: BTreeSet<&String> = keyids.iter().collect();
    if unique.len() != keyids.len() {
        return Err(Error::malformed(role, "keyids are not unique"));
    }
    Ok(())
}

fn check_meta(role: &str, meta: &MetaFile, name: &str) -> Result<()> {
    if meta.version == 0 {
        return Err(Error::malformed(
            role,
            format!("{name}: version must be at least 1"),
        ));
    }
    if meta.hashes.as_ref().is_some_and(Hashes::is_empty) {
        return Err(Error::malformed(role, format!("{name}: empty hashes")));
    }
    Ok(())
}

macro_rules! role_common {
    ($t:ty, $name:literal) => {
        const TYPE: &'static str = $name;
        fn type_field(&self) -> &str {
            &self.type_
        }
        fn spec_version(&self) -> &str {
            &self.spec_version
        }
        fn version(&self) -> u64 {
            self.version
        }
        fn expires(&self) -> Expires {
            self.expires
        }
    };
}

impl Role for Root {
    role_common!(Root, "root");
    fn validate(&self) -> Result<()> {
        let names: BTreeSet<&str> = self.roles.keys().map(String::as_str).collect();
        if names != TOP_LEVEL_ROLES.into_iter().collect() {
            return Err(Error::malformed(
                "root",
                "roles must be exactly root, targets, snapshot and timestamp",
            ));
        }
        for (name, r) in &self.roles {
            check_threshold_and_keyids(&format!("root.roles.{name}"), &r.keyids, r.threshold)?;
        }
        Ok(())
    }
}

impl Timestamp {
    /// The snapshot this timestamp lists (its only entry, once validated).
    pub fn snapshot_meta(&self) -> Option<&MetaFile> {
        self.meta.get("snapshot.json")
    }
}

impl Role for Timestamp {
    role_common!(Timestamp, "timestamp");
    fn validate(&self) -> Result<()> {
        // TUF §4.6: "METAFILES is the same as described for the snapshot.json file. In
        // the case of the timestamp.json file, this MUST only include a description
        // of the snapshot.json file."
        match (self.meta.len(), self.meta.get("snapshot.json")) {
            (1, Some(m)) => check_meta("timestamp", m, "snapshot.json"),
            _ => Err(Error::malformed(
                "timestamp",
                "meta must hold exactly snapshot.json",
            )),
        }
    }
}

impl Role for Snapshot {
    role_common!(Snapshot, "snapshot");
    fn validate(&self) -> Result<()> {
        for (name, m) in &self.meta {
            check_meta("snapshot", m, name)?;
        }
        Ok(())
    }
}

impl Role for Targets {
    role_common!(Targets, "targets");
    fn validate(&self) -> Result<()> {
        if let Some(path) = self.targets.first_without_hashes() {
            return Err(Error::malformed("targets", format!("{path}: empty hashes")));
        }
        if let Some(d) = &self.delegations {
            d.validate()?;
        }
        Ok(())
    }
    fn read_signed(text: &str, document: &Bytes) -> serde_json::Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let targets = de.deserialize_map(TargetsReader {
            document: Some(document),
        })?;
        de.end()?;
        Ok(targets)
    }
}

impl Delegations {
    fn validate(&self) -> Result<()> {
        match (&self.roles, &self.succinct_roles) {
            (Some(roles), None) => {
                let mut seen = BTreeSet::new();
                for r in roles {
                    if TOP_LEVEL_ROLES.contains(&r.name.as_str()) {
                        return Err(Error::malformed(
                            "delegations",
                            format!("delegated role may not be named {:?}", r.name),
                        ));
                    }
                    if r.name.is_empty() || !seen.insert(r.name.as_str()) {
                        return Err(Error::malformed(
                            "delegations",
                            format!("role name {:?} empty or repeated", r.name),
                        ));
                    }
                    if r.paths.is_some() && r.path_hash_prefixes.is_some() {
                        return Err(Error::malformed(
                            "delegations",
                            format!("{}: both paths and path_hash_prefixes", r.name),
                        ));
                    }
                    check_threshold_and_keyids(&r.name, &r.keyids, r.threshold)?;
                }
                Ok(())
            }
            (None, Some(s)) => {
                if s.bit_length == 0 || s.bit_length > MAX_SUCCINCT_BIT_LENGTH {
                    return Err(Error::malformed(
                        "delegations",
                        format!("succinct bit_length {} not in 1..=32", s.bit_length),
                    ));
                }
                check_threshold_and_keyids(&s.name_prefix, &s.keyids, s.threshold)
            }
            _ => Err(Error::malformed(
                "delegations",
                "exactly one of roles and succinct_roles is required",
            )),
        }
    }
}

/// TUF §4.2 "spec_version": this implementation follows 1.0.x.
fn supported_spec_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    let numeric = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    matches!(parts.as_slice(), ["1", "0"])
        || matches!(parts.as_slice(), ["1", "0", patch] if numeric(patch))
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    signatures: &'a [Signature],
    signed: &'a T,
    #[serde(flatten)]
    unknown: &'a BTreeMap<String, Value>,
}

/// A signed metadata document: exact bytes, the canonical form of `signed`, and typed
/// fields. Signatures are not checked here; see [`crate::threshold`].
#[derive(Clone, Debug)]
pub struct Metadata<T> {
    signed: T,
    signatures: Vec<Signature>,
    unknown: BTreeMap<String, Value>,
    canonical: CanonicalSigned,
    bytes: Bytes,
}

/// Where the canonical form of `signed` is: usually the document's own bytes (every
/// producer that writes what it signed), otherwise a copy made by transcoding.
#[derive(Clone, Debug)]
enum CanonicalSigned {
    InBytes(std::ops::Range<usize>),
    Transcoded(Vec<u8>),
}

/// The range `inner` occupies within `outer`, if it is a part of it.
fn range_within(outer: &[u8], inner: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = inner.as_ptr().addr().checked_sub(outer.as_ptr().addr())?;
    let range = start..start.checked_add(inner.len())?;
    (range.end <= outer.len()).then_some(range)
}


/// The envelope of a document, `signed` left as text.
struct Envelope<'b> {
    signed: &'b str,
    signatures: Vec<Signature>,
    unknown: BTreeMap<String, Value>,
}

fn read_envelope<'b>(role: &str, bytes: &'b [u8]) -> Result<Envelope<'b>> {
    serde_json::from_slice(bytes).map_err(|e| Error::malformed(role, e.to_string()))
}

// Read member by member: `signed` is kept raw (it is read twice, for its canonical
// form and for its types, and never built into a tree), and the signatures are read
// where they lie. A member given twice is refused, as in `signed`.
impl<'de: 'b, 'b> Deserialize<'de> for Envelope<'b> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Envelope<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a metadata document")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Envelope<'de>, A::Error> {
                use serde::de::Error as _;
                let mut signed: Option<&'de serde_json::value::RawValue> = None;
                let mut signatures = None;
                let unknown = read_members(map, |key, map| {
                    Ok(Some(match key {
                        "signed" => signed.replace(map.next_value()?).is_some(),
                        "signatures" => signatures
                            .replace(map.next_value::<Vec<Signature>>()?)
                            .is_some(),
                        _ => return Ok(None),
                    }))
                })?;
                Ok(Envelope {
                    signed: signed.ok_or_else(|| A::Error::custom("no signed"))?.get(),
                    signatures: signatures.ok_or_else(|| A::Error::custom("no signatures"))?,
                    unknown,
                })
            }
        }
        d.deserialize_map(V)
    }
}

impl<T: Role> Metadata<T> {
    /// Parses a document read as role `T`. Repeated keys in `signed` are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_shared(Bytes::copy_from_slice(bytes))
    }

    /// [`Metadata::from_bytes`] keeping `bytes` themselves, not a copy.
    pub fn from_shared(document: Bytes) -> Result<Self> {
        let envelope = read_envelope(T::TYPE, &document)?;
        let canonical = canonical_text_borrowed(envelope.signed);
        let typed = T::read_signed(envelope.signed, &document);
        Self::assemble(&document, envelope, canonical, typed)
    }

    /// The document from its parts, once the role-independent checks pass.
    fn assemble(
        bytes: &Bytes,
        envelope: Envelope<'_>,
        canonical: Result<std::borrow::Cow<'_, [u8]>>,
        typed: serde_json::Result<T>,
    ) -> Result<Self> {
        let role = T::TYPE;
        // The signatures cover the canonical form of `signed` as received, unknown
        // fields included; typed parsing never feeds back into it.
        let canonical = match canonical? {
            std::borrow::Cow::Borrowed(text) => range_within(bytes, text).map_or_else(
                || CanonicalSigned::Transcoded(text.to_vec()),
                CanonicalSigned::InBytes,
            ),
            std::borrow::Cow::Owned(text) => CanonicalSigned::Transcoded(text),
        };
        let signed: T = match typed {
            Ok(t) => t,
            Err(e) => {
                #[derive(Deserialize)]
                struct TypeOnly {
                    #[serde(rename = "_type")]
                    type_: Option<String>,
                }
                let found = serde_json::from_str::<TypeOnly>(envelope.signed)
                    .ok()
                    .and_then(|t| t.type_);
                return Err(match found {
                    Some(found) if found != role => Error::WrongType {
                        role: role.into(),
                        found,
                    },
                    _ => Error::malformed(role, e.to_string()),
                });
            }
        };
        if signed.type_field() != role {
            return Err(Error::WrongType {
                role: role.into(),
                found: signed.type_field().into(),
            });
        }
        if !supported_spec_version(signed.spec_version()) {
            return Err(Error::UnsupportedSpecVersion {
                role: role.into(),
                found: signed.spec_version().into(),
            });
        }
        if signed.version() == 0 {
            return Err(Error::malformed(role, "version must be at least 1"));
        }
        signed.validate()?;
        Ok(Metadata {
            signed,
            signatures: envelope.signatures,
            unknown: envelope.unknown,
            canonical,
            bytes: bytes.clone(),
        })
    }

    /// Builds and signs a new document with `keys` (each adds one signature).
    pub fn sign_new(
        signed: T,
        keys: &[&PrivateKey],
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<Self> {
        let mut m = Metadata::unsigned(signed)?;
        for k in keys {
            m.sign_one(k, rng)?;
        }
        m.encode()?;
        Ok(m)
    }

    /// A document with no signatures yet, for a signer outside this crate (the
    /// server's online keys): sign [`Metadata::canonical_signed`], then add the
    /// result with [`Metadata::add_signature`].
    pub fn unsigned(signed: T) -> Result<Self> {
        signed.validate()?;
        let canonical_signed = crate::canonical::to_canonical_json(&signed)?;
        let mut m = Metadata {
            signed,
            signatures: Vec::new(),
            unknown: BTreeMap::new(),
            canonical: CanonicalSigned::Transcoded(canonical_signed),
            bytes: Bytes::new(),
        };
        m.encode()?;
        Ok(m)
    }

    /// Adds (or replaces, by key ID) a signature made elsewhere and re-encodes the
    /// envelope. The signature is not checked here; [`crate::threshold`] does that.
    pub fn add_signature(&mut self, signature: Signature) -> Result<()> {
        self.signatures.retain(|s| s.keyid != signature.keyid);
        self.signatures.push(signature);
        self.encode()
    }

    /// Adds (or replaces) the signature of `key` and re-encodes the envelope.
    pub fn sign_with(
        &mut self,
        key: &PrivateKey,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<()> {
        self.sign_one(key, rng)?;
        self.encode()
    }

    fn sign_one(
        &mut self,
        key: &PrivateKey,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<()> {
        let sig = key.sign_envelope(self.canonical_signed(), rng)?;
        self.signatures.retain(|s| s.keyid != sig.keyid);
        self.signatures.push(sig);
        Ok(())
    }

    /// The envelope is written as compact standard JSON. `signed` is written as its
    /// OLPC canonical form whenever that is also JSON text, so a reader finds the
    /// signed bytes canonical already and verifies them as they are; it is not JSON
    /// when a string holds a control character (the newlines of a PEM key), which
    /// canonical JSON leaves unescaped, and then `signed` is written as compact JSON
    /// with sorted maps. Signatures cover the canonical form either way.
    fn encode(&mut self) -> Result<()> {
        let malformed = |e: serde_json::Error| Error::malformed(T::TYPE, e.to_string());
        let canonical = self.canonical_signed();
        if !canonical.iter().any(|b| *b < 0x20) {
            let mut out = Vec::with_capacity(canonical.len() + 256);
            out.extend_from_slice(b"{\"signatures\":");
            serde_json::to_writer(&mut out, &self.signatures).map_err(malformed)?;
            out.extend_from_slice(b",\"signed\":");
            let start = out.len();
            out.extend_from_slice(canonical);
            let in_bytes = start..out.len();
            for (key, value) in &self.unknown {
                out.push(b',');
                serde_json::to_writer(&mut out, key).map_err(malformed)?;
                out.push(b':');
                serde_json::to_writer(&mut out, value).map_err(malformed)?;
            }
            out.push(b'}');
            self.bytes = out.into();
            self.canonical = CanonicalSigned::InBytes(in_bytes);
            return Ok(());
        }
        if let CanonicalSigned::InBytes(_) = self.canonical {
            self.canonical = CanonicalSigned::Transcoded(canonical.to_vec());
        }
        self.bytes = serde_json::to_vec(&EnvelopeOut {
            signatures: &self.signatures,
            signed: &self.signed,
            unknown: &self.unknown,
        })
        .map_err(malformed)?
        .into();
        Ok(())
    }

    /// The typed `signed` fields.
    pub fn signed(&self) -> &T {
        &self.signed
    }

    /// The signatures.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// The canonical JSON of `signed`: the bytes every signature covers.
    pub fn canonical_signed(&self) -> &[u8] {
        match &self.canonical {
            // The range was taken from these bytes, which do not change without it.
            CanonicalSigned::InBytes(range) => self.bytes.get(range.clone()).unwrap_or_default(),
            CanonicalSigned::Transcoded(text) => text,
        }
    }

    /// The exact bytes parsed or produced. Store and serve these.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// [`Metadata::bytes`], shared rather than copied.
    pub fn shared_bytes(&self) -> Bytes {
        self.bytes.clone()
    }

    /// The role's version.
    pub fn version(&self) -> u64 {
        self.signed.version()
    }
}

/// Refuses a document that has expired at `now` (TUF §5.3.10, §5.4.4, §5.5.6,
/// §5.6.4: a freeze attack). Shared by the client workflow and push validation.
pub(crate) fn check_not_expired<T: Role>(
    doc: &Metadata<T>,
    role: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let expires = doc.signed().expires();
    if expires.is_expired_at(now) {
        return Err(Error::Expired {
            role: role.to_string(),
            version: doc.version(),
            expires: expires.to_string(),
        });
    }
    Ok(())
}

/// Checks `bytes` against a listed length and hashes (TUF §5.5.2, §5.6.2, §5.7.1).
///
/// Every listed hash must be of a supported algorithm (sha256, sha512) and match.
pub fn check_length_and_hashes(
    what: &str,
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&Hashes>,
) -> Result<()> {
    let mismatch = |reason: String| Error::HashMismatch {
        what: what.to_string(),
        reason,
    };
    if let Some(len) = length {
        if bytes.len() as u64 != len {
            return Err(mismatch(format!(
                "length {} differs from listed {len}",
                bytes.len()
            )));
        }
    }
    for (alg, expected) in hashes.into_iter().flatten() {
        let actual = match alg.as_str() {
            "sha256" => hex::encode(Sha256::digest(bytes)),
            "sha512" => hex::encode(Sha512::digest(bytes)),
            other => return Err(mismatch(format!("unsupported hash algorithm {other:?}"))),
        };
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(mismatch(format!("{alg} differs from the listed hash")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_versions_accepted_are_1_0_and_1_0_x() {
        for ok in ["1.0", "1.0.0", "1.0.34", "1.0.31"] {
            assert!(supported_spec_version(ok), "{ok}");
        }
        for bad in [
            "", "1", "2.0.0", "1.1.0", "1.0.x", "1.0.", "1.0.0.0", "v1.0.0",
        ] {
            assert!(!supported_spec_version(bad), "{bad}");
        }
    }

    /// `text` read both ways targets metadata is read: on its own (a built map) and
    /// as a document's `signed` (a map kept as an index into the document).
    fn read_both_ways(text: &str) -> [std::result::Result<Targets, String>; 2] {
        let document = Bytes::copy_from_slice(text.as_bytes());
        let within = std::str::from_utf8(&document).unwrap();
        [
            serde_json::from_str::<Targets>(text).map_err(|e| e.to_string()),
            Targets::read_signed(within, &document).map_err(|e| e.to_string()),
        ]
    }

    #[test]
    fn targets_keep_unknown_fields_and_refuse_duplicate_or_missing_ones() {
        let text = r#"{"_type":"targets","spec_version":"1.0.34","version":3,
            "expires":"2030-01-01T00:00:00Z","x-extra":{"a":[1,2]},
            "targets":{"a.txt":{"length":1,"hashes":{"sha256":"00"},"x-t":true}}}"#;
        for t in read_both_ways(text) {
            let t = t.unwrap();
            assert_eq!(t.version, 3);
            assert!(t.delegations.is_none());
            assert_eq!(t.unknown["x-extra"], serde_json::json!({"a": [1, 2]}));
            assert_eq!(
                t.targets.get("a.txt").unwrap().unknown["x-t"],
                serde_json::json!(true)
            );
            let back = serde_json::to_value(&t).unwrap();
            assert_eq!(back["x-extra"], serde_json::json!({"a": [1, 2]}));
            assert_eq!(back["targets"]["a.txt"]["x-t"], serde_json::json!(true));
        }

        let refused = |text: &str, why: &str| {
            for err in read_both_ways(text) {
                let err = err.unwrap_err();
                assert!(err.contains(why), "{why}: {err}");
            }
        };
        let twice = text.replace(r#""version":3,"#, r#""version":3,"version":4,"#);
        refused(&twice, "duplicate field `version`");
        refused(
            &text.replace(r#""version":3,"#, ""),
            "missing field `version`",
        );
        // A target file is checked as strictly by either reader.
        let file = r#"{"length":1,"hashes":{"sha256":"00"},"x-t":true}"#;
        for (bad, why) in [
            (r#"{"hashes":{"sha256":"00"}}"#, "missing field `length`"),
            (r#"{"length":1}"#, "missing field `hashes`"),
            (
                r#"{"length":1,"length":1,"hashes":{"sha256":"00"}}"#,
                "duplicate field `length`",
            ),
            (r#"{"length":-1,"hashes":{"sha256":"00"}}"#, "invalid value"),
            (r#"{"length":1,"hashes":{"sha256":0}}"#, "invalid type"),
            (r#"{"length":1,"hashes":[]}"#, "invalid type"),
            (
                r#"{"length":1,"hashes":{"sha256":"00"},"custom":1e999}"#,
                "out of range",
            ),
            (r#"[]"#, "invalid type"),
        ] {
            refused(&text.replace(file, bad), why);
        }
        // TUF §4.5: at least one hash; refused when read, or by validation once built.
        let no_hashes = text.replace(file, r#"{"length":1,"hashes":{}}"#);
        let [built, read] = read_both_ways(&no_hashes);
        assert!(built.unwrap().validate().is_err());
        assert!(read.unwrap_err().contains("empty hashes"));

        let null_delegations =
            text.replace(r#""version":3,"#, r#""version":3,"delegations":null,"#);
        for t in read_both_ways(&null_delegations) {
            assert!(t.unwrap().delegations.is_none());
        }
    }

    #[test]
    fn the_envelope_and_its_signatures_keep_unknown_members_and_refuse_repeated_ones() {
        let key = crate::keys::PrivateKey::ed25519_from_seed(&[7; 32]).unwrap();
        let expires = Expires::parse("2040-01-01T00:00:00Z").unwrap();
        let doc = Metadata::sign_new(
            crate::editor::new_targets(expires),
            &[&key],
            &mut rand_core::OsRng,
        )
        .unwrap();
        let mut v: Value = serde_json::from_slice(doc.bytes()).unwrap();
        v["x-envelope"] = serde_json::json!([1]);
        v["signatures"][0]["x-sig"] = serde_json::json!({"a": true});
        let text = serde_json::to_string(&v).unwrap();
        let read = Metadata::<Targets>::from_bytes(text.as_bytes()).unwrap();
        assert_eq!(read.unknown["x-envelope"], serde_json::json!([1]));
        assert_eq!(
            read.signatures()[0].unknown["x-sig"],
            serde_json::json!({"a": true})
        );
        assert_eq!(read.signatures()[0].sig, doc.signatures()[0].sig);
        assert_eq!(read.canonical_signed(), doc.canonical_signed());

        let refused = |text: &str, why: &str| {
            let err = Metadata::<Targets>::from_bytes(text.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(why), "{why}: {err}");
        };
        let object = |v: &Value| serde_json::to_string(v).unwrap();
        let signatures = object(&v["signatures"]);
        let signed = object(&v["signed"]);
        refused(
            &format!(r#"{{"signatures":{signatures},"signed":{signed},"signatures":[]}}"#),
            "duplicate field `signatures`",
        );
        refused(
            &format!(r#"{{"signed":{signed},"signatures":{signatures},"signed":{signed}}}"#),
            "duplicate field `signed`",
        );
        refused(&format!(r#"{{"signatures":{signatures}}}"#), "no signed");
        refused(&format!(r#"{{"signed":{signed}}}"#), "no signatures");
        let keyid = &doc.signatures()[0].keyid;
        let sig = &doc.signatures()[0].sig;
        for (bad, why) in [
            (
                format!(r#"{{"keyid":"{keyid}","keyid":"{keyid}","sig":"{sig}"}}"#),
                "duplicate field `keyid`",
            ),
            (format!(r#"{{"keyid":"{keyid}"}}"#), "missing field `sig`"),
            (format!(r#"{{"sig":"{sig}"}}"#), "missing field `keyid`"),
            (format!(r#"{{"keyid":1,"sig":"{sig}"}}"#), "invalid type"),
        ] {
            refused(
                &format!(r#"{{"signatures":[{bad}],"signed":{signed}}}"#),
                why,
            );
        }
    }

    #[test]
    fn targets_in_any_order_parse_to_one_map_and_a_path_listed_twice_keeps_the_last() {
        let target = |len: u64| format!(r#"{{"length":{len},"hashes":{{"sha256":"00"}}}}"#);
        let doc = |listing: &[(&str, u64)]| {
            let targets: Vec<String> = listing
                .iter()
                .map(|(path, len)| format!(r#""{path}":{}"#, target(*len)))
                .collect();
            format!(
                r#"{{"_type":"targets","spec_version":"1.0","version":1,"expires":"2030-01-01T00:00:00Z","targets":{{{}}}}}"#,
                targets.join(",")
            )
        };
        let lengths = |t: &Targets| -> Vec<(String, u64)> {
            t.targets
                .iter()
                .map(|(p, f)| (p.to_string(), f.length))
                .collect()
        };
        let abc = [("a".to_string(), 1), ("b".into(), 2), ("c".into(), 3)];
        for listing in [
            &[("a", 1), ("b", 2), ("c", 3)][..],
            &[("c", 3), ("a", 1), ("b", 2)],
            // An escaped path is the same path.
            &[("c", 3), ("\\u0061", 1), ("b", 2)],
        ] {
            for t in read_both_ways(&doc(listing)) {
                let t = t.unwrap();
                assert_eq!(lengths(&t), abc, "{listing:?}");
                assert_eq!(t.targets.len(), 3);
                assert_eq!(t.targets.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
                assert_eq!(t.targets.get("b").map(|f| f.length), Some(2));
                assert!(t.targets.contains_key("a") && !t.targets.contains_key("d"));
            }
        }
        let repeated = doc(&[("b", 2), ("a", 1), ("b", 7), ("c", 3), ("b", 9), ("a", 4)]);
        for t in read_both_ways(&repeated) {
            let t = t.unwrap();
            assert_eq!(
                lengths(&t),
                [("a".into(), 4), ("b".into(), 9), ("c".into(), 3)]
            );
        }
        // The same as a map read one insert at a time, which python-tuf matches.
        let v: serde_json::Value = serde_json::from_str(&repeated).unwrap();
        assert_eq!(v["targets"]["b"]["length"], 9);
    }

    #[test]
    fn a_targets_map_read_from_a_document_edits_and_compares_as_a_built_one() {
        let text = r#"{"_type":"targets","spec_version":"1.0","version":1,"expires":"2030-01-01T00:00:00Z","targets":{"a":{"length":1,"hashes":{"sha256":"00"}},"b":{"length":2,"hashes":{"sha256":"11"},"custom":{"k":[1]}}}}"#;
        let [built, read] = read_both_ways(text).map(Result::unwrap);
        assert_eq!(built, read);
        assert_eq!(
            format!("{:?}", built.targets),
            format!("{:?}", read.targets)
        );
        assert_eq!(
            crate::canonical::to_canonical_json(&built).unwrap(),
            crate::canonical::to_canonical_json(&read).unwrap()
        );
        let mut edited = read.clone();
        let c = edited.targets.get("a").unwrap().into_owned();
        assert_eq!(edited.targets.insert("c".into(), c.clone()), None);
        assert_eq!(edited.targets.remove("a").map(|f| f.length), Some(1));
        assert_eq!(edited.targets.keys().collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(edited.targets.get("c").as_deref(), Some(&c));
        assert_ne!(edited, read);
        let mut built = built;
        built.targets.remove("a");
        built.targets.insert("c".into(), c);
        assert_eq!(edited, built);
    }

    #[test]
    fn expires_round_trips_and_is_strict() {
        let e = Expires::parse("2030-01-02T03:04:05Z").unwrap();
        assert_eq!(e.to_string(), "2030-01-02T03:04:05Z");
        for bad in [
            "2030-01-02",
            "2030-01-02T03:04:05",
            "2030-01-02T03:04:05+00:00",
            "x",
        ] {
            assert!(Expires::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hashes_read_as_an_object_in_any_order_and_write_in_algorithm_order() {
        let read = |text: &str| serde_json::from_str::<Hashes>(text).unwrap();
        let h = read(r#"{"sha512":"bb","sha256":"aa"}"#);
        assert_eq!(h, read(r#"{"sha256":"aa","sha512":"bb"}"#));
        assert_eq!(h.get("sha256").map(String::as_str), Some("aa"));
        assert_eq!(h.get("sha384"), None);
        assert_eq!(h.len(), 2);
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"sha256":"aa","sha512":"bb"}"#
        );
        // Listed twice: the last value, as a map keeps it.
        assert_eq!(
            read(r#"{"sha256":"aa","sha256":"cc"}"#),
            Hashes::from([("sha256".to_string(), "cc".to_string())])
        );
        assert!(read("{}").is_empty());
        assert!(serde_json::from_str::<Hashes>(r#"{"sha256":1}"#).is_err());
        assert!(serde_json::from_str::<Hashes>(r#"["sha256","aa"]"#).is_err());
        let mut h = h;
        assert_eq!(h.insert("sha256".into(), "dd".into()), Some("aa".into()));
        assert_eq!(h.insert("blake2b".into(), "ee".into()), None);
        let order: Vec<&String> = h.iter().map(|(a, _)| a).collect();
        assert_eq!(order, ["blake2b", "sha256", "sha512"]);
    }

    #[test]
    fn length_and_hash_checks() {
        let h: Hashes = [("sha256".to_string(), hex::encode(Sha256::digest(b"abc")))].into();
        check_length_and_hashes("f", b"abc", Some(3), Some(&h)).unwrap();
        assert!(check_length_and_hashes("f", b"abd", Some(3), Some(&h)).is_err());
        assert!(check_length_and_hashes("f", b"abc", Some(4), Some(&h)).is_err());
        let odd: Hashes = [("md5".to_string(), "00".to_string())].into();
        assert!(check_length_and_hashes("f", b"abc", None, Some(&odd)).is_err());
    }
}
