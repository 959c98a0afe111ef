//! Log-core benchmarks, each beside rs_merkle on the same leaves in the same run.
//!
//! Run: `cargo bench -p tuflog-bench --bench tlog`. Figures go to `bench/RESULTS.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)]

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rs_merkle::{Hasher, MerkleProof, MerkleTree};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::Duration;
use tlog::tree::{
    consistency_proof, consistency_proof_at_edge, inclusion_proof, inclusion_proof_at_edge,
    RightEdge,
};
use tlog::verify::{verify_consistency, verify_inclusion};
use tlog::{CompactRange, Hash, MemoryHashStore};

/// The issue fixes 160-byte entries: about the size of a tuflog/entry/v1 document.
const ENTRY_BYTES: usize = 160;

/// rs_merkle configured as the RFC 9162 tree: leaves pre-hashed with 0x00, interior
/// nodes hashed with 0x01, an unpaired node promoted unchanged.
#[derive(Clone)]
struct Rfc9162;

impl Hasher for Rfc9162 {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => {
                let mut h = Sha256::new();
                h.update([0x01]);
                h.update(left);
                h.update(r);
                h.finalize().into()
            }
            None => *left,
        }
    }
}

fn entry(i: u64) -> [u8; ENTRY_BYTES] {
    let mut e = [b' '; ENTRY_BYTES];
    let text = format!(
        "{{\"_type\":\"tuflog/entry/v1\",\"length\":{},\"repo\":\"example.com/app\",\"role\":\"targets\",\"sha256\":\"{:016x}\",\"version\":{i}}}",
        1000 + i % 977,
        i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    );
    let n = text.len().min(ENTRY_BYTES);
    e[..n].copy_from_slice(&text.as_bytes()[..n]);
    e
}

fn build_store(size: u64) -> MemoryHashStore {
    let mut s = MemoryHashStore::new();
    for i in 0..size {
        s.append_leaf(&entry(i));
    }
    s
}

/// Cheap deterministic spread of indices, so each iteration asks for another proof.
fn spread(i: u64, modulus: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) % modulus
}

fn append(c: &mut Criterion) {
    const N: u64 = 1 << 16;
    let entries: Vec<[u8; ENTRY_BYTES]> = (0..N).map(entry).collect();
    let mut g = c.benchmark_group("append_160B");
    g.throughput(Throughput::Elements(N));
    g.bench_function("tuflog_memory_store", |b| {
        b.iter_batched(
            MemoryHashStore::new,
            |mut store| {
                for e in &entries {
                    store.append_leaf(e);
                }
                black_box(store.size())
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("rs_merkle_from_leaves", |b| {
        b.iter(|| {
            let leaves: Vec<[u8; 32]> = entries.iter().map(|e| tlog::leaf_hash(e).0).collect();
            black_box(MerkleTree::<Rfc9162>::from_leaves(&leaves).root())
        })
    });
    g.finish();
}

fn root(c: &mut Criterion) {
    let mut g = c.benchmark_group("root_from_leaf_hashes");
    for log2 in [10u32, 16, 20] {
        let n = 1u64 << log2;
        let leaves: Vec<[u8; 32]> = (0..n).map(|i| tlog::leaf_hash(&entry(i)).0).collect();
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(
            BenchmarkId::new("tuflog_compact_range", n),
            &leaves,
            |b, l| {
                b.iter(|| {
                    let mut range = CompactRange::new();
                    for h in l {
                        range.append(Hash(*h), |_, _| {}).unwrap();
                    }
                    black_box(range.root())
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("rs_merkle", n), &leaves, |b, l| {
            b.iter(|| black_box(MerkleTree::<Rfc9162>::from_leaves(l).root()))
        });
    }
    g.finish();
}

fn proofs(c: &mut Criterion) {
    const LOG2_MAX: u32 = 24;
    let store = build_store(1 << LOG2_MAX);
    let mut g = c.benchmark_group("proof_generation");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    // Every tree up to 2^24 is a prefix of the stored one, so one store serves all
    // sizes; 2^24 - 1 is there because non-power-of-two trees fold range hashes.
    let sizes: Vec<u64> = [10u32, 14, 18, 20, 22, 24]
        .iter()
        .map(|l| 1u64 << l)
        .chain([(1 << 24) - 1])
        .collect();
    for &size in &sizes {
        let mut i = 0u64;
        g.bench_with_input(BenchmarkId::new("inclusion", size), &size, |b, &size| {
            b.iter(|| {
                i += 1;
                black_box(inclusion_proof(spread(i, size), size, &store).unwrap())
            })
        });
        let mut i = 0u64;
        g.bench_with_input(BenchmarkId::new("consistency", size), &size, |b, &size| {
            b.iter(|| {
                i += 1;
                let old = 1 + spread(i, size - 1);
                black_box(consistency_proof(old, size, &store).unwrap())
            })
        });
    }
    // With the right edge precomputed, as the server holds it for its latest checkpoint.
    for &size in &[(1u64 << 24) - 1, 1 << 24] {
        let range = tlog::CompactRange::from_reader(size, &store).unwrap();
        let edge = RightEdge::new(&range);
        let mut i = 0u64;
        g.bench_with_input(
            BenchmarkId::new("inclusion_at_edge", size),
            &edge,
            |b, edge| {
                b.iter(|| {
                    i += 1;
                    black_box(inclusion_proof_at_edge(spread(i, size), edge, &store).unwrap())
                })
            },
        );
        let mut i = 0u64;
        g.bench_with_input(
            BenchmarkId::new("consistency_at_edge", size),
            &edge,
            |b, edge| {
                b.iter(|| {
                    i += 1;
                    let old = 1 + spread(i, size - 1);
                    black_box(consistency_proof_at_edge(old, edge, &store).unwrap())
                })
            },
        );
    }
    // The peer at 2^20: rs_merkle keeps every layer too, so this is like for like.
    let n = 1u64 << 20;
    let leaves: Vec<[u8; 32]> = (0..n).map(|i| tlog::leaf_hash(&entry(i)).0).collect();
    let peer = MerkleTree::<Rfc9162>::from_leaves(&leaves);
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("inclusion_rs_merkle", n), |b| {
        b.iter(|| {
            i += 1;
            black_box(peer.proof(&[spread(i, n) as usize]))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("proof_verification");
    let size = 1u64 << LOG2_MAX;
    let root = store.root();
    let index = spread(7, size);
    let leaf = tlog::leaf_hash(&entry(index));
    let proof = inclusion_proof(index, size, &store).unwrap();
    g.bench_function(BenchmarkId::new("inclusion", size), |b| {
        b.iter(|| verify_inclusion(&leaf, index, size, black_box(&proof), &root).unwrap())
    });
    let odd = size - 1;
    let odd_root = tlog::tree::tree_root(odd, &store).unwrap();
    let odd_proof = inclusion_proof(index, odd, &store).unwrap();
    g.bench_function(BenchmarkId::new("inclusion", odd), |b| {
        b.iter(|| verify_inclusion(&leaf, index, odd, black_box(&odd_proof), &odd_root).unwrap())
    });
    let old = spread(9, size - 1) | 1;
    let old_root = tlog::tree::tree_root(old, &store).unwrap();
    let cproof = consistency_proof(old, size, &store).unwrap();
    g.bench_function(BenchmarkId::new("consistency", size), |b| {
        b.iter(|| verify_consistency(old, size, &old_root, &root, black_box(&cproof)).unwrap())
    });
    let pi = spread(7, n) as usize;
    let peer_proof: MerkleProof<Rfc9162> = peer.proof(&[pi]);
    let peer_root = peer.root().unwrap();
    g.bench_function(BenchmarkId::new("inclusion_rs_merkle", n), |b| {
        b.iter(|| {
            assert!(black_box(&peer_proof).verify(peer_root, &[pi], &[leaves[pi]], n as usize))
        })
    });
    g.finish();
}

criterion_group!(benches, append, root, proofs);
criterion_main!(benches);
