//! Proof verification, step by step as RFC 9162 §2.1.3.2 and §2.1.4.2 give it.

use crate::hash::{node_hash, Hash};
use crate::{Error, Result};

/// The longest proof this module will look at. A `u64`-sized tree has at most 64
/// levels, so no inclusion proof is longer than 64 hashes and no consistency proof
/// longer than 65; anything longer is rejected before any hashing.
pub const MAX_PROOF_HASHES: usize = 65;

/// Verifies that `leaf` is the leaf hash at `index` in the tree of `size` leaves whose
/// root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    // RFC 9162 §2.1.3.2 step 5: "compare r against the root_hash".
    if &computed != root {
        return Err(Error::ProofRejected(
            "inclusion proof leads to a different root",
        ));
    }
    Ok(())
}

/// The root an inclusion proof leads to, or an error if the proof has the wrong shape
/// for `(index, size)`. The caller must compare the result with a trusted root.
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash> {
    // RFC 9162 §2.1.3.2 step 1: "Compare leaf_index from the inclusion_proof_v2
    // structure against tree_size. If leaf_index is greater than or equal to
    // tree_size, then fail the proof verification."
    if index >= size {
        return Err(Error::ProofRejected("leaf index is not below tree size"));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(Error::ProofRejected("inclusion proof is too long"));
    }
    // Step 2: "Set fn to leaf_index and sn to tree_size - 1."
    let (mut fn_, mut sn) = (index, size - 1);
    // Step 3: "Set r to hash."
    let mut r = *leaf;
    // Step 4: "For each value p in the inclusion_path array:"
    for p in proof {
        // 4a: "If sn is 0, then stop the iteration and fail the proof verification."
        if sn == 0 {
            return Err(Error::ProofRejected("inclusion proof is too long"));
        }
        // 4b: "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn_ & 1 == 1 || fn_ == sn {
            // 4b.i: "Set r to HASH(0x01 || p || r)."
            r = node_hash(p, &r);
            // 4b.ii: "If LSB(fn) is not set, then right-shift both fn and sn equally
            // until either LSB(fn) is set or fn is 0."
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            // "Otherwise: Set r to HASH(0x01 || r || p)."
            r = node_hash(&r, p);
        }
        // 4c: "Finally, right-shift both fn and sn one time."
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5: "Compare sn to 0."
    if sn != 0 {
        return Err(Error::ProofRejected("inclusion proof is too short"));
    }
    Ok(r)
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. A proof from size 0 is rejected:
/// it proves nothing, and accepting one would let a caller believe it had checked
/// something it had not.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    if old_size > new_size {
        return Err(Error::ProofRejected("old tree is larger than new tree"));
    }
    if old_size == 0 {
        return Err(Error::ProofRejected(
            "consistency with the empty tree proves nothing",
        ));
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(Error::ProofRejected(
                "consistency proof between equal sizes must be empty",
            ));
        }
        if old_root != new_root {
            return Err(Error::ProofRejected(
                "equal tree sizes with different roots",
            ));
        }
        return Ok(());
    }
    // RFC 9162 §2.1.4.2 step 1: "If consistency_path is an empty array, stop and fail
    // the proof verification."
    if proof.is_empty() {
        return Err(Error::ProofRejected("consistency proof is empty"));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(Error::ProofRejected("consistency proof is too long"));
    }
    // Step 2: "If first is an exact power of 2, then prepend first_hash to the
    // consistency_path array."
    let prefix = old_size.is_power_of_two().then_some(old_root);
    let mut path = prefix.into_iter().chain(proof.iter());
    // Step 3: "Set fn to first - 1 and sn to second - 1."
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    // Step 4: "If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn)
    // is not set."
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5: "Set both fr and sr to the first value in the consistency_path array."
    let Some(first) = path.next() else {
        return Err(Error::ProofRejected("consistency proof is empty"));
    };
    let (mut fr, mut sr) = (*first, *first);
    // Step 6: "For each subsequent value c in the consistency_path array:"
    for c in path {
        // 6a: "If sn is 0, then stop the iteration and fail the proof verification."
        if sn == 0 {
            return Err(Error::ProofRejected("consistency proof is too long"));
        }
        // 6b: "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn_ & 1 == 1 || fn_ == sn {
            // 6b.i: "Set fr to HASH(0x01 || c || fr)."
            fr = node_hash(c, &fr);
            // 6b.ii: "Set sr to HASH(0x01 || c || sr)."
            sr = node_hash(c, &sr);
            // 6b.iii: "If LSB(fn) is not set, then right-shift both fn and sn equally
            // until either LSB(fn) is set or fn is 0."
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            // "Otherwise: Set sr to HASH(0x01 || sr || c)."
            sr = node_hash(&sr, c);
        }
        // 6c: "Finally, right-shift both fn and sn one time."
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7: "verify that the fr calculated is equal to the first_hash supplied, that
    // the sr calculated is equal to the second_hash supplied, and that sn is 0."
    if sn != 0 {
        return Err(Error::ProofRejected("consistency proof is too short"));
    }
    if &fr != old_root {
        return Err(Error::ProofRejected(
            "consistency proof does not lead to the old root",
        ));
    }
    if &sr != new_root {
        return Err(Error::ProofRejected(
            "consistency proof does not lead to the new root",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{consistency_proof, inclusion_proof};
    use crate::MemoryHashStore;

    fn store(n: u64) -> MemoryHashStore {
        let mut s = MemoryHashStore::new();
        for i in 0..n {
            s.append_leaf(&i.to_le_bytes());
        }
        s
    }

    #[test]
    fn every_proof_in_small_trees_verifies() {
        let s = store(70);
        let mut roots = vec![crate::EMPTY_ROOT];
        let mut partial = MemoryHashStore::new();
        for i in 0..70u64 {
            partial.append_leaf(&i.to_le_bytes());
            roots.push(partial.root());
        }
        for size in 1..=70u64 {
            for index in 0..size {
                let p = inclusion_proof(index, size, &s).unwrap();
                let leaf = crate::leaf_hash(&index.to_le_bytes());
                verify_inclusion(&leaf, index, size, &p, &roots[size as usize]).unwrap();
            }
            for old in 1..=size {
                let p = consistency_proof(old, size, &s).unwrap();
                verify_consistency(old, size, &roots[old as usize], &roots[size as usize], &p)
                    .unwrap();
            }
        }
    }

    #[test]
    fn oversized_proofs_are_rejected_before_hashing() {
        let h = crate::EMPTY_ROOT;
        let long = vec![h; MAX_PROOF_HASHES + 1];
        assert!(verify_inclusion(&h, 0, u64::MAX, &long, &h).is_err());
        assert!(verify_consistency(1, u64::MAX, &h, &h, &long).is_err());
    }
}
