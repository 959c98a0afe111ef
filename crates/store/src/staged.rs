//! The byte form of a staged batch ([`crate::LogStore::stage`]): everything a batch
//! writes, kept until its checkpoint is signed, so that a restart finishes the batch
//! the signer may already have signed instead of building a different one.
//!
//! Big-endian integers, length-prefixed byte strings, one format byte first. Every
//! count and length is checked against what is left before anything is allocated.

use crate::{Batch, Blob, Error, LogState, Result, RoleVersion};
use tlog::{Hash, NodeId};

const FORMAT: u8 = 1;

/// Most entries, nodes, files or versions one staged batch may hold: well above what
/// the sequencer puts in one batch (entries up to its batch limit plus one append).
pub const MAX_STAGED_ITEMS: u32 = 1 << 20;

struct Writer(Vec<u8>);

impl Writer {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn count(&mut self, n: usize) -> Result<()> {
        let n = u32::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_STAGED_ITEMS)
            .ok_or_else(|| Error::Invalid(format!("{n} items in one staged batch")))?;
        self.0.extend_from_slice(&n.to_be_bytes());
        Ok(())
    }
    fn bytes(&mut self, b: &[u8]) -> Result<()> {
        let n = u32::try_from(b.len())
            .map_err(|_| Error::Invalid(format!("{} bytes in one staged item", b.len())))?;
        self.0.extend_from_slice(&n.to_be_bytes());
        self.0.extend_from_slice(b);
        Ok(())
    }
    fn hash(&mut self, h: &Hash) {
        self.0.extend_from_slice(h.as_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("staged batch: {what}"))
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(corrupt(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_be_bytes(b))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4, what)?);
        Ok(u32::from_be_bytes(b))
    }
    /// A count, no larger than the limit nor than the bytes left could hold.
    fn count(&mut self, min_item_bytes: usize, what: &str) -> Result<usize> {
        let n = self.u32(what)?;
        if n > MAX_STAGED_ITEMS || (n as usize).saturating_mul(min_item_bytes) > self.0.len() {
            return Err(corrupt(what));
        }
        Ok(n as usize)
    }
    fn bytes(&mut self, what: &str) -> Result<&'a [u8]> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }
    fn hash(&mut self, what: &str) -> Result<Hash> {
        let mut h = [0u8; 32];
        h.copy_from_slice(self.take(32, what)?);
        Ok(Hash(h))
    }
    fn string(&mut self, what: &str) -> Result<String> {
        String::from_utf8(self.bytes(what)?.to_vec()).map_err(|_| corrupt(what))
    }
}

/// The bytes of `batch`; its checkpoint is not kept (it is not signed yet).
pub(crate) fn encode(batch: &Batch) -> Result<Vec<u8>> {
    let state = batch
        .state
        .as_ref()
        .ok_or_else(|| Error::Invalid("a staged batch must carry its new state".into()))?;
    let mut w = Writer(Vec::with_capacity(
        64 + batch.entries.iter().map(|e| e.len() + 4).sum::<usize>()
            + batch.nodes.len() * 41
            + batch
                .blobs
                .iter()
                .map(|b| b.bytes.len() + 44)
                .sum::<usize>(),
    ));
    w.0.push(FORMAT);
    w.u64(batch.first_index);
    w.count(batch.entries.len())?;
    for e in &batch.entries {
        w.bytes(e)?;
    }
    w.count(batch.nodes.len())?;
    for (id, h) in &batch.nodes {
        w.0.push(id.level);
        w.u64(id.index);
        w.hash(h);
    }
    w.count(batch.blobs.len())?;
    for b in &batch.blobs {
        w.u64(b.index);
        w.0.extend_from_slice(&b.sha256);
        w.bytes(&b.bytes)?;
    }
    w.count(batch.versions.len())?;
    for v in &batch.versions {
        w.bytes(v.repo.as_bytes())?;
        w.bytes(v.role.as_bytes())?;
        w.u64(v.version);
        w.0.extend_from_slice(&v.sha256);
        w.u64(v.index);
    }
    w.u64(state.size);
    w.count(state.frontier.len())?;
    for h in &state.frontier {
        w.hash(h);
    }
    Ok(w.0)
}

/// A batch from [`encode`]'s bytes, its state's checkpoint empty.
pub(crate) fn decode(bytes: &[u8]) -> Result<Batch> {
    let mut r = Reader(bytes);
    if r.take(1, "format")? != [FORMAT] {
        return Err(corrupt("unknown format"));
    }
    let first_index = r.u64("first index")?;
    let n = r.count(4, "entry count")?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        entries.push(r.bytes("entry")?.to_vec());
    }
    let n = r.count(41, "node count")?;
    let mut nodes = Vec::with_capacity(n);
    for _ in 0..n {
        let level = r.take(1, "node level")?[0];
        let index = r.u64("node index")?;
        nodes.push((NodeId { level, index }, r.hash("node hash")?));
    }
    let n = r.count(44, "file count")?;
    let mut blobs = Vec::with_capacity(n);
    for _ in 0..n {
        let index = r.u64("file index")?;
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(r.take(32, "file digest")?);
        blobs.push(Blob {
            index,
            sha256,
            bytes: r.bytes("file")?.to_vec(),
        });
    }
    let n = r.count(56, "version count")?;
    let mut versions = Vec::with_capacity(n);
    for _ in 0..n {
        let repo = r.string("repository name")?;
        let role = r.string("role name")?;
        let version = r.u64("version")?;
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(r.take(32, "version digest")?);
        versions.push(RoleVersion {
            repo,
            role,
            version,
            sha256,
            index: r.u64("version index")?,
        });
    }
    let size = r.u64("size")?;
    let n = r.count(32, "frontier length")?;
    let mut frontier = Vec::with_capacity(n);
    for _ in 0..n {
        frontier.push(r.hash("frontier")?);
    }
    if !r.0.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(Batch {
        first_index,
        entries,
        nodes,
        state: Some(LogState {
            size,
            frontier,
            checkpoint: Vec::new(),
        }),
        blobs,
        versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Batch {
        Batch {
            first_index: 7,
            entries: vec![b"one".to_vec(), b"two".to_vec()],
            nodes: vec![
                (NodeId::new(0, 7), Hash([1; 32])),
                (NodeId::new(3, 0), Hash([2; 32])),
            ],
            state: Some(LogState {
                size: 9,
                frontier: vec![Hash([3; 32]), Hash([4; 32])],
                checkpoint: b"not kept".to_vec(),
            }),
            blobs: vec![Blob {
                index: 8,
                sha256: [5; 32],
                bytes: b"{}".to_vec(),
            }],
            versions: vec![RoleVersion {
                repo: "example.com/r".into(),
                role: "timestamp".into(),
                version: 3,
                sha256: [5; 32],
                index: 8,
            }],
        }
    }

    #[test]
    fn a_staged_batch_round_trips_without_its_checkpoint() {
        let mut expected = batch();
        let bytes = encode(&expected).unwrap();
        if let Some(s) = expected.state.as_mut() {
            s.checkpoint.clear();
        }
        assert_eq!(decode(&bytes).unwrap(), expected);
    }

    #[test]
    fn every_truncation_and_a_trailing_byte_are_refused_without_panicking() {
        let bytes = encode(&batch()).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        let mut huge_count = bytes;
        huge_count[9..13].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode(&huge_count).is_err());
    }
}
