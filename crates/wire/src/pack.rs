//! tuflog's update pack: the files one client update needs, each with its proof
//! bundle, in one reply (`GET /repos/{repo}/update?root=N[&from=M]`).
//!
//! A client that asks for each metadata file and each proof bundle separately
//! waits on eight requests; the pack carries the same bytes in one. It is only
//! transport: the client judges every file and every bundle exactly as if it had
//! fetched it alone, and asks separately for anything the pack lacks.
//!
//! # Format
//!
//! ```text
//! "tuflog-update-pack/v1\n"
//! u64  latest root version the server holds
//! u16  number of parts
//! per part:
//!   u8   role name length, role name (UTF-8)
//!   u64  version
//!   u32  metadata length, metadata (the exact bytes logged)
//!   u32  proof bundle length, proof bundle (JSON, as `proof/{n}.{role}.json` serves it)
//! ```
//!
//! Integers are big-endian. Nothing follows the last part.
//!
//! # What this module does not do
//!
//! It does not look inside the metadata or the bundles: the TUF workflow and the
//! proof checks do, as for files fetched one by one.

use crate::Error;
use std::ops::Range;

/// The first line of every pack.
pub const PACK_MAGIC: &[u8] = b"tuflog-update-pack/v1\n";

/// Most parts in one pack: a root chain of at most [`MAX_PACK_ROOTS`] and the
/// other three top-level roles.
pub const MAX_PACK_PARTS: usize = MAX_PACK_ROOTS + 3;

/// Bytes before the first part: the magic line, the latest root version and the
/// part count.
pub const PACK_HEADER_BYTES: usize = PACK_MAGIC.len() + 8 + 2;

/// Most bytes a part's framing takes besides its metadata and bundle: the role
/// name's length and at most 255 bytes of it, the version, two lengths.
pub const PART_FRAMING_MAX_BYTES: usize = 1 + 255 + 8 + 4 + 4;

/// Most root versions one pack carries; a longer chain is fetched file by file
/// after the pack's last root.
pub const MAX_PACK_ROOTS: usize = 32;

/// One file of a pack: its role, version, and where its bytes and its proof
/// bundle sit in the pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackPart {
    /// Role name.
    pub role: String,
    /// Metadata version.
    pub version: u64,
    /// The metadata's bytes within the pack.
    pub metadata: Range<usize>,
    /// The proof bundle's bytes within the pack.
    pub bundle: Range<usize>,
}

/// A decoded pack: the parts, as ranges into the bytes it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pack {
    /// The newest root version the server held when it wrote the pack: a client
    /// that asks for a later one knows the server has none.
    pub latest_root: u64,
    /// The parts, in the order written.
    pub parts: Vec<PackPart>,
}

/// A file to write into a pack.
pub struct PackFile<'a> {
    /// Role name (at most 255 bytes).
    pub role: &'a str,
    /// Metadata version.
    pub version: u64,
    /// The exact metadata bytes.
    pub metadata: &'a [u8],
    /// The proof bundle, as JSON.
    pub bundle: &'a [u8],
}

/// Writes a pack of `files`.
pub fn encode(latest_root: u64, files: &[PackFile<'_>]) -> Result<Vec<u8>, Error> {
    let count = u16::try_from(files.len())
        .ok()
        .filter(|&n| usize::from(n) <= MAX_PACK_PARTS)
        .ok_or_else(|| {
            Error::MalformedPack(format!("{} parts, more than {MAX_PACK_PARTS}", files.len()))
        })?;
    let body: usize = files
        .iter()
        .map(|f| 1 + f.role.len() + 8 + 4 + f.metadata.len() + 4 + f.bundle.len())
        .sum();
    let mut out = Vec::with_capacity(PACK_HEADER_BYTES + body);
    out.extend_from_slice(PACK_MAGIC);
    out.extend_from_slice(&latest_root.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    for f in files {
        let role_len = u8::try_from(f.role.len())
            .map_err(|_| Error::MalformedPack(format!("role name {:?} is too long", f.role)))?;
        let length = |what: &str, bytes: &[u8]| {
            u32::try_from(bytes.len())
                .map_err(|_| Error::MalformedPack(format!("{what} of {} is too long", f.role)))
        };
        out.push(role_len);
        out.extend_from_slice(f.role.as_bytes());
        out.extend_from_slice(&f.version.to_be_bytes());
        out.extend_from_slice(&length("metadata", f.metadata)?.to_be_bytes());
        out.extend_from_slice(f.metadata);
        out.extend_from_slice(&length("proof bundle", f.bundle)?.to_be_bytes());
        out.extend_from_slice(f.bundle);
    }
    Ok(out)
}

/// Reads a pack. Every length is checked against what remains, so a truncated or
/// padded pack is refused whole.
pub fn decode(bytes: &[u8]) -> Result<Pack, Error> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(PACK_MAGIC.len())? != PACK_MAGIC {
        return Err(Error::MalformedPack("not an update pack".into()));
    }
    let latest_root = r.u64()?;
    let count = usize::from(r.u16()?);
    if count > MAX_PACK_PARTS {
        return Err(Error::MalformedPack(format!(
            "{count} parts, more than {MAX_PACK_PARTS}"
        )));
    }
    let mut parts = Vec::with_capacity(count);
    for _ in 0..count {
        let role_len = usize::from(r.u8()?);
        let role = std::str::from_utf8(r.take(role_len)?)
            .map_err(|_| Error::MalformedPack("a role name is not UTF-8".into()))?
            .to_string();
        let version = r.u64()?;
        let metadata = r.span()?;
        let bundle = r.span()?;
        parts.push(PackPart {
            role,
            version,
            metadata,
            bundle,
        });
    }
    if r.at != bytes.len() {
        return Err(Error::MalformedPack(format!(
            "{} bytes after the last part",
            bytes.len() - r.at
        )));
    }
    Ok(Pack { latest_root, parts })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let range = self.range(n)?;
        Ok(&self.bytes[range])
    }

    fn range(&mut self, n: usize) -> Result<Range<usize>, Error> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| Error::MalformedPack("truncated".into()))?;
        let range = self.at..end;
        self.at = end;
        Ok(range)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, Error> {
        self.array().map(u16::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, Error> {
        self.array().map(u64::from_be_bytes)
    }

    /// A u32 length and the bytes it counts.
    fn span(&mut self) -> Result<Range<usize>, Error> {
        let n = u32::from_be_bytes(self.array()?);
        let n = usize::try_from(n).map_err(|_| Error::MalformedPack("truncated".into()))?;
        self.range(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        encode(
            3,
            &[
                PackFile {
                    role: "root",
                    version: 3,
                    metadata: b"{\"root\":3}",
                    bundle: b"{\"index\":0}",
                },
                PackFile {
                    role: "targets",
                    version: 7,
                    metadata: b"",
                    bundle: b"{\"index\":9}",
                },
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_pack_reads_back_as_written() {
        let bytes = sample();
        let pack = decode(&bytes).unwrap();
        assert_eq!(pack.latest_root, 3);
        assert_eq!(pack.parts.len(), 2);
        let (root, targets) = (&pack.parts[0], &pack.parts[1]);
        assert_eq!((root.role.as_str(), root.version), ("root", 3));
        assert_eq!(&bytes[root.metadata.clone()], b"{\"root\":3}");
        assert_eq!(&bytes[root.bundle.clone()], b"{\"index\":0}");
        assert_eq!((targets.role.as_str(), targets.version), ("targets", 7));
        assert!(targets.metadata.is_empty());
        assert_eq!(&bytes[targets.bundle.clone()], b"{\"index\":9}");
    }

    #[test]
    fn every_truncation_and_any_trailing_byte_is_refused() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert!(
                matches!(decode(&bytes[..n]), Err(Error::MalformedPack(_))),
                "a pack cut to {n} bytes was read"
            );
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(matches!(decode(&padded), Err(Error::MalformedPack(_))));
    }

    #[test]
    fn a_wrong_magic_a_bad_role_name_or_too_many_parts_is_refused() {
        let mut bytes = sample();
        bytes[0] ^= 1;
        assert!(decode(&bytes).is_err());

        let mut bytes = sample();
        let role_at = PACK_HEADER_BYTES + 1;
        bytes[role_at] = 0xff;
        assert!(decode(&bytes).is_err(), "a role name that is not UTF-8");

        let mut bytes = sample();
        let count_at = PACK_MAGIC.len() + 8;
        bytes[count_at..count_at + 2]
            .copy_from_slice(&(u16::try_from(MAX_PACK_PARTS).unwrap() + 1).to_be_bytes());
        assert!(decode(&bytes).is_err());

        let file = PackFile {
            role: "timestamp",
            version: 1,
            metadata: b"",
            bundle: b"",
        };
        let too_many: Vec<PackFile<'_>> =
            (0..=MAX_PACK_PARTS).map(|_| PackFile { ..file }).collect();
        assert!(encode(1, &too_many).is_err());
        let long_role = "r".repeat(256);
        assert!(encode(
            1,
            &[PackFile {
                role: &long_role,
                ..file
            }]
        )
        .is_err());
    }
}
