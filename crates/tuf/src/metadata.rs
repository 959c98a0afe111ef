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

mod envelope;
mod hashes;
mod targets_map;
use envelope::range_within;
pub use envelope::Metadata;
use hashes::deserialize_pairs;
pub use hashes::Hashes;
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
mod tests;
