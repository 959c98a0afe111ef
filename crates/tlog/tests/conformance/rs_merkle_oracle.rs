//! rs_merkle as a differential oracle. With leaves pre-hashed as `SHA256(0x00 || d)`
//! and interior nodes hashed as `SHA256(0x01 || l || r)`, its tree (which promotes an
//! unpaired right node unchanged) is the RFC 9162 tree, so its roots and single-leaf
//! proofs must equal ours.

use rs_merkle::{Hasher, MerkleTree};
use sha2::{Digest, Sha256};
use tlog::{Hash, MemoryHashStore};

#[derive(Clone)]
struct Rfc9162Interior;

impl Hasher for Rfc9162Interior {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(right) => {
                let mut h = Sha256::new();
                h.update([0x01]);
                h.update(left);
                h.update(right);
                h.finalize().into()
            }
            None => *left,
        }
    }
}

const MAX_SIZE: usize = 1000;

#[test]
fn roots_and_single_leaf_proofs_equal_rs_merkle_for_every_size_up_to_1000() {
    let leaves: Vec<[u8; 32]> = (0..MAX_SIZE)
        .map(|i| tlog::leaf_hash(format!("leaf {i}").as_bytes()).0)
        .collect();
    let mut store = MemoryHashStore::new();
    let mut proofs_compared = 0usize;
    for size in 1..=MAX_SIZE {
        store.append_leaf_hash(Hash(leaves[size - 1]));
        let theirs = MerkleTree::<Rfc9162Interior>::from_leaves(&leaves[..size]);
        assert_eq!(Some(store.root().0), theirs.root(), "root at size {size}");
        // Every index for small trees; beyond that the edges and a spread of the
        // middle, which covers every shape of path without 500k proofs.
        let indices: Vec<usize> = if size <= 200 {
            (0..size).collect()
        } else {
            let mut v: Vec<usize> = (0..size).step_by(17).collect();
            v.extend([0, 1, size / 2, size - 2, size - 1]);
            v
        };
        for i in indices {
            let ours = tlog::tree::inclusion_proof(i as u64, size as u64, &store).unwrap();
            let theirs_proof = theirs.proof(&[i]);
            let ours: Vec<[u8; 32]> = ours.iter().map(|h| h.0).collect();
            assert_eq!(ours, theirs_proof.proof_hashes(), "proof for {i} in {size}");
            proofs_compared += 1;
        }
    }
    assert!(proofs_compared > 30_000);
}
