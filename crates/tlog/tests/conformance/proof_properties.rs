//! Properties over random trees up to a few thousand leaves: every generated proof
//! verifies, and every mutation of it is rejected: each single-bit flip, each dropped
//! hash, an added or duplicated hash at each position, each swap of two differing
//! hashes, a changed index, a doubled or halved size, and a wrong root or leaf.
//!
//! Sizes are mutated only as the transparency-dev vectors mutate them (×2, ÷2). A
//! proof alone cannot tell sizes whose audit paths have the same shape apart: the
//! path for leaf 0 of 3 leaves also "proves" leaf 0 of 4 leaves against the same root.
//! What binds a root to its size is the log's signature on the checkpoint, which is
//! why clients verify against a signed checkpoint and never a bare root.

use proptest::prelude::*;
use std::sync::OnceLock;
use tlog::tree::{consistency_proof, inclusion_proof};
use tlog::verify::{verify_consistency, verify_inclusion};
use tlog::{Hash, MemoryHashStore};

const MAX_SIZE: u64 = 3000;

struct Fixture {
    store: MemoryHashStore,
    /// `roots[n]` is the root of the first `n` leaves.
    roots: Vec<Hash>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut store = MemoryHashStore::new();
        let mut roots = vec![tlog::EMPTY_ROOT];
        for i in 0..MAX_SIZE {
            store.append_leaf(format!("entry {i}").as_bytes());
            roots.push(store.root());
        }
        Fixture { store, roots }
    })
}

fn leaf(i: u64) -> Hash {
    tlog::leaf_hash(format!("entry {i}").as_bytes())
}

/// Every mutant of `proof` that is a different list of hashes.
fn mutants(proof: &[Hash]) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        for bit in 0..256 {
            let mut p = proof.to_vec();
            p[i].0[bit / 8] ^= 1 << (bit % 8);
            out.push(p);
        }
        let mut dropped = proof.to_vec();
        dropped.remove(i);
        out.push(dropped);
        for j in i + 1..proof.len() {
            if proof[i] != proof[j] {
                let mut swapped = proof.to_vec();
                swapped.swap(i, j);
                out.push(swapped);
            }
        }
    }
    for i in 0..=proof.len() {
        let mut added = proof.to_vec();
        added.insert(i, tlog::leaf_hash(b"intruder"));
        out.push(added);
        if let Some(&neighbour) = proof.get(i) {
            let mut duplicated = proof.to_vec();
            duplicated.insert(i, neighbour);
            out.push(duplicated);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_proofs_verify_and_every_mutant_is_rejected(
        size in 1..=MAX_SIZE,
        index_seed in any::<u64>(),
    ) {
        let f = fixture();
        let index = index_seed % size;
        let root = f.roots[size as usize];
        let proof = inclusion_proof(index, size, &f.store).unwrap();
        verify_inclusion(&leaf(index), index, size, &proof, &root).unwrap();

        for m in mutants(&proof) {
            prop_assert!(verify_inclusion(&leaf(index), index, size, &m, &root).is_err());
        }
        let mut wrong_leaf = leaf(index);
        wrong_leaf.0[0] ^= 1;
        prop_assert!(verify_inclusion(&wrong_leaf, index, size, &proof, &root).is_err());
        for (i, s) in [
            (index.wrapping_add(1), size),
            (index.wrapping_sub(1), size),
            (index ^ 1, size),
            (index ^ 2, size),
            (index, size * 2),
            (index, size / 2),
        ] {
            if (i, s) != (index, size) {
                prop_assert!(
                    verify_inclusion(&leaf(index), i, s, &proof, &root).is_err(),
                    "index {} size {} accepted for {} {}", i, s, index, size
                );
            }
        }
        let mut wrong_root = root;
        wrong_root.0[31] ^= 0x80;
        prop_assert!(verify_inclusion(&leaf(index), index, size, &proof, &wrong_root).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_every_mutant_is_rejected(
        new_size in 1..=MAX_SIZE,
        old_seed in any::<u64>(),
    ) {
        let f = fixture();
        let old_size = 1 + old_seed % new_size;
        let (r1, r2) = (f.roots[old_size as usize], f.roots[new_size as usize]);
        let proof = consistency_proof(old_size, new_size, &f.store).unwrap();
        verify_consistency(old_size, new_size, &r1, &r2, &proof).unwrap();

        for m in mutants(&proof) {
            prop_assert!(verify_consistency(old_size, new_size, &r1, &r2, &m).is_err());
        }
        for (a, b) in [
            (old_size * 2, new_size),
            (old_size / 2, new_size),
            (old_size, new_size * 2),
            (old_size, new_size / 2),
        ] {
            if (a, b) != (old_size, new_size) {
                prop_assert!(
                    verify_consistency(a, b, &r1, &r2, &proof).is_err(),
                    "sizes {} {} accepted for {} {}", a, b, old_size, new_size
                );
            }
        }
        if old_size != new_size {
            prop_assert!(verify_consistency(old_size, new_size, &r2, &r1, &proof).is_err());
        }
        let mut wrong = r2;
        wrong.0[5] ^= 4;
        prop_assert!(verify_consistency(old_size, new_size, &r1, &wrong, &proof).is_err());
        let mut wrong = r1;
        wrong.0[5] ^= 4;
        prop_assert!(verify_consistency(old_size, new_size, &wrong, &r2, &proof).is_err());
    }
}

/// A stored root for every size equals the root the compact range computed while
/// appending, so `tree_root` over storage and the append path agree.
#[test]
fn stored_hashes_give_the_same_root_as_the_compact_range() {
    let f = fixture();
    for size in (0..=MAX_SIZE).step_by(7) {
        assert_eq!(
            tlog::tree::tree_root(size, &f.store).unwrap(),
            f.roots[size as usize]
        );
        let range = tlog::CompactRange::from_reader(size, &f.store).unwrap();
        assert_eq!(range.root(), f.roots[size as usize]);
    }
}
