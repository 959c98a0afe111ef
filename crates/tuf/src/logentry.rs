//! The log entry `tuflog/entry/v1`: what the transparency log commits to for each
//! metadata version a server accepts.
//!
//! The entry is the canonical JSON (as securesystemslib writes it, see
//! [`crate::canonical`]) of
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
        let mut digest = [0u8; 64];
        self.length == bytes.len() as u64
            && hex::encode_to_slice(Sha256::digest(bytes), &mut digest).is_ok()
            && self.sha256.as_bytes() == digest
    }
}

/// Most metadata bytes one [metadata bundle](encode_metadata_bundle) carries; the
/// documents after that are left out, to be fetched by content.
pub const MAX_METADATA_BUNDLE_BYTES: usize = 16 << 20;

/// Length marker of an entry whose metadata the log does not hold.
const NOT_STORED: u32 = u32::MAX;
/// Length marker of a document left out of a bundle (size limit).
const LEFT_OUT: u32 = u32::MAX - 1;

/// One entry's place in a metadata bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bundled {
    /// The metadata bytes the log holds for the entry's SHA-256.
    Bytes(Vec<u8>),
    /// The log holds no metadata with that SHA-256.
    NotStored,
    /// Left out to keep the bundle within [`MAX_METADATA_BUNDLE_BYTES`].
    LeftOut,
}

/// The metadata bundle of an entry bundle (`GET /metadata/bundle/{N}[.p/{W}]`,
/// tuflog's extension to the tile API, so a monitor fetches metadata by the
/// hundred): for each entry in order, a big-endian u32 length and that many bytes,
/// or a marker length with none.
pub fn encode_metadata_bundle(items: impl IntoIterator<Item = Option<Vec<u8>>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut carried = 0usize;
    for item in items {
        match item {
            None => out.extend_from_slice(&NOT_STORED.to_be_bytes()),
            Some(bytes) => match u32::try_from(bytes.len()) {
                Ok(len) if len < LEFT_OUT && carried + bytes.len() <= MAX_METADATA_BUNDLE_BYTES => {
                    carried += bytes.len();
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend_from_slice(&bytes);
                }
                _ => out.extend_from_slice(&LEFT_OUT.to_be_bytes()),
            },
        }
    }
    out
}

/// Parses a metadata bundle that must hold exactly `count` items.
pub fn parse_metadata_bundle(mut bytes: &[u8], count: usize) -> Result<Vec<Bundled>> {
    let malformed = |reason: &str| Error::Malformed {
        role: "metadata bundle".into(),
        reason: reason.into(),
    };
    let mut out = Vec::with_capacity(count);
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| malformed("a truncated length"))?;
        bytes = rest;
        out.push(match u32::from_be_bytes(*len) {
            NOT_STORED => Bundled::NotStored,
            LEFT_OUT => Bundled::LeftOut,
            n => {
                let n = n as usize;
                if bytes.len() < n {
                    return Err(malformed("a truncated document"));
                }
                let (doc, rest) = bytes.split_at(n);
                bytes = rest;
                Bundled::Bytes(doc.to_vec())
            }
        });
        if out.len() > count {
            return Err(malformed("more items than entries"));
        }
    }
    if out.len() != count {
        return Err(malformed("fewer items than entries"));
    }
    Ok(out)
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
    fn names_are_written_as_securesystemslib_writes_them() {
        // Only `"` and `\` are escaped; control characters and non-ASCII text are
        // written as they are (serde_json alone would write \u0001).
        let e = LogEntry::new(r#"quo"te\back"#, "role\u{1}\u{7f}é𝄞", u64::MAX, b"metadata");
        let text = String::from_utf8(e.to_bytes().unwrap()).unwrap();
        assert!(text.contains(r#""repo":"quo\"te\\back""#), "{text}");
        assert!(text.contains("\"role\":\"role\u{1}\u{7f}é𝄞\""), "{text}");
        assert!(
            text.ends_with(",\"version\":18446744073709551615}"),
            "{text}"
        );
        for (repo, role) in [("example.com/app", "targets"), ("é/𝄞", "")] {
            let e = LogEntry::new(repo, role, 1, b"metadata");
            assert_eq!(LogEntry::from_bytes(&e.to_bytes().unwrap()).unwrap(), e);
        }
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

    #[test]
    fn metadata_bundles_round_trip_and_refuse_truncation_and_miscounts() {
        let items = vec![Some(b"one".to_vec()), None, Some(Vec::new())];
        let bytes = encode_metadata_bundle(items);
        assert_eq!(
            parse_metadata_bundle(&bytes, 3).unwrap(),
            vec![
                Bundled::Bytes(b"one".to_vec()),
                Bundled::NotStored,
                Bundled::Bytes(Vec::new())
            ]
        );
        assert!(parse_metadata_bundle(&bytes, 2).is_err());
        assert!(parse_metadata_bundle(&bytes, 4).is_err());
        for cut in 1..bytes.len() {
            let parsed = parse_metadata_bundle(&bytes[..cut], 3);
            assert!(parsed.is_err(), "cut at {cut}");
        }
        let big = vec![Some(vec![0u8; MAX_METADATA_BUNDLE_BYTES]), Some(vec![1])];
        assert_eq!(
            parse_metadata_bundle(&encode_metadata_bundle(big), 2).unwrap()[1],
            Bundled::LeftOut
        );
    }
}
