//! RFC 9162 §2.1.1 hashing: the leaf and interior-node hash functions.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt;

/// Length in bytes of every hash in the tree (SHA-256).
pub const HASH_LEN: usize = 32;

/// A SHA-256 Merkle tree hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_LEN]);

/// RFC 9162 §2.1.1: the hash of an empty tree is the hash of the empty string,
/// `SHA-256()` = e3b0c442…b855.
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// RFC 9162 §2.1.1: `MTH({d(0)}) = HASH(0x00 || d(0))`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// RFC 9162 §2.1.1: `HASH(0x01 || left || right)` for an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 1 + 2 * HASH_LEN];
    block[0] = NODE_PREFIX;
    block[1..1 + HASH_LEN].copy_from_slice(&left.0);
    block[1 + HASH_LEN..].copy_from_slice(&right.0);
    Hash(Sha256::digest(block).into())
}

impl Hash {
    /// Takes a hash from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> crate::Result<Self> {
        <[u8; HASH_LEN]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| crate::Error::MalformedHash("not 32 bytes"))
    }

    /// Parses standard (padded) base64, as used by checkpoints and proof documents.
    pub fn from_base64(text: &str) -> crate::Result<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| crate::Error::MalformedHash("not standard base64"))?;
        Self::from_slice(&bytes)
    }

    /// Standard (padded) base64.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT.0.as_slice(), Sha256::digest([]).as_slice());
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        // The RFC 6962 test leaf "" hashes to 6e340b9c…, the root of the 1-leaf tree.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        // Root of the first two RFC 6962 test leaves ("" and 0x00).
        assert_eq!(
            node_hash(&leaf_hash(b""), &leaf_hash(&[0])).to_hex(),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
        );
        let l = leaf_hash(b"x");
        assert_ne!(node_hash(&l, &l), leaf_hash(&[l.0, l.0].concat()));
    }

    #[test]
    fn base64_round_trip_and_rejects_wrong_length() {
        let h = leaf_hash(b"a");
        assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
        assert!(Hash::from_base64("ZG9uJ3QgY2FyZSAx").is_err());
        assert!(Hash::from_base64("not base64!").is_err());
        assert!(Hash::from_slice(&[0; 31]).is_err());
    }
}
