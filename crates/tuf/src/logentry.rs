//! The log entry `tuflog/entry/v1`: what the transparency log commits to for each
//! metadata version a server accepts.
//!
//! The entry is the OLPC canonical JSON of
//! `{"_type":"tuflog/entry/v1","length":N,"repo":R,"role":ROLE,"sha256":HEX,"version":V}`
//! where `sha256` and `length` describe the exact metadata file bytes. It is a public
//! format: a client rebuilds it from the bytes it downloaded and checks that exact
//! entry is in the log, so the encoding is fixed here and never changed silently; a
//! new format gets a new `_type`.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The entry type this module reads and writes.
pub const ENTRY_TYPE: &str = "tuflog/entry/v1";

/// Largest entry accepted by [`LogEntry::from_bytes`]: names are bounded by the
/// server, and an entry must fit a C2SP tile entry bundle in any case.
pub const MAX_ENTRY_BYTES: usize = 4096;

/// One logged metadata version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    #[serde(rename = "_type")]
    type_: String,
    /// Length of the metadata file in bytes.
    pub length: u64,
    /// Repository name.
    pub repo: String,
    /// Role name.
    pub role: String,
    /// Lower-case hex SHA-256 of the metadata file.
    pub sha256: String,
    /// The metadata's version.
    pub version: u64,
}

impl LogEntry {
    /// The entry for the metadata file `bytes` of `role` at `version` in `repo`.
    pub fn new(repo: &str, role: &str, version: u64, bytes: &[u8]) -> Self {
        LogEntry {
            type_: ENTRY_TYPE.into(),
            length: bytes.len() as u64,
            repo: repo.into(),
            role: role.into(),
            sha256: hex::encode(Sha256::digest(bytes)),
            version,
        }
    }

    /// The entry bytes: canonical JSON, what the log's leaf hash covers.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::canonical::to_canonical_json(self)
    }

    /// Parses entry bytes, which must be exactly the canonical encoding of a
    /// `tuflog/entry/v1` entry (so one entry has one encoding, and two different
    /// byte strings are never the same entry).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let malformed = |reason: String| Error::Malformed {
            role: ENTRY_TYPE.into(),
            reason,
        };
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(Error::TooLarge {
                what: "log entry".into(),
                len: bytes.len() as u64,
                limit: MAX_ENTRY_BYTES as u64,
            });
        }
        let entry: LogEntry =
            serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if entry.type_ != ENTRY_TYPE {
            return Err(malformed(format!("unknown entry type {:?}", entry.type_)));
        }
        if entry.sha256.len() != 64
            || !entry
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(malformed("sha256 is not 64 lower-case hex digits".into()));
        }
        if entry.to_bytes()? != bytes {
            return Err(malformed("not in canonical form".into()));
        }
        Ok(entry)
    }

    /// True if `bytes` are the metadata file this entry commits to.
    pub fn describes(&self, bytes: &[u8]) -> bool {
        self.length == bytes.len() as u64 && self.sha256 == hex::encode(Sha256::digest(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_the_published_one() {
        let e = LogEntry::new("example.com/app", "targets", 3, b"{}");
        let bytes = e.to_bytes().unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            concat!(
                r#"{"_type":"tuflog/entry/v1","length":2,"repo":"example.com/app","#,
                r#""role":"targets","sha256":"#,
                r#""44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","#,
                r#""version":3}"#
            )
        );
        assert_eq!(LogEntry::from_bytes(&bytes).unwrap(), e);
        assert!(e.describes(b"{}"));
        assert!(!e.describes(b"{ }"));
    }

    #[test]
    fn only_the_canonical_encoding_parses() {
        let e = LogEntry::new("r", "root", 1, b"x").to_bytes().unwrap();
        let text = String::from_utf8(e).unwrap();
        for bad in [
            text.replace(",\"length\"", ", \"length\""),
            text.replace("tuflog/entry/v1", "tuflog/entry/v2"),
            text.replace("\"version\":1}", "\"version\":1,\"extra\":1}"),
            text.replace("2d711642", "2D711642"),
        ] {
            assert!(LogEntry::from_bytes(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
