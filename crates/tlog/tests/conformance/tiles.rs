//! Proofs computed from tiles alone agree with proofs from stored hashes, tiles hold
//! what the spec says they hold, and corrupted tiles never yield a proof that
//! verifies.

use std::cell::RefCell;
use std::sync::OnceLock;
use tlog::tile::{Tile, TileHashReader, TilePath, FULL_TILE_WIDTH};
use tlog::tree::{consistency_proof, inclusion_proof, tree_root, HashReader};
use tlog::verify::{verify_consistency, verify_inclusion};
use tlog::{Hash, MemoryHashStore, TileSource};

/// Large enough for level-2 tiles (65,536 leaves per level-2 hash).
const SIZE: u64 = 70_123;

fn store() -> &'static MemoryHashStore {
    static S: OnceLock<MemoryHashStore> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = MemoryHashStore::new();
        for i in 0..SIZE {
            s.append_leaf(&i.to_be_bytes());
        }
        s
    })
}

/// Serves tiles as a log would for a tree of `size`: only tiles that tree has, at the
/// width it has them, built from storage; optionally corrupting one byte.
struct Server {
    size: u64,
    corrupt: Option<(Tile, usize)>,
    served: RefCell<Vec<Tile>>,
}

impl TileSource for Server {
    fn read_tiles(&self, tiles: &[Tile]) -> tlog::Result<Vec<Vec<u8>>> {
        tiles
            .iter()
            .map(|t| {
                let expected = Tile::for_tree_size(t.level(), t.index(), self.size);
                assert_eq!(
                    Some(*t),
                    expected,
                    "asked for a tile the tree does not have"
                );
                self.served.borrow_mut().push(*t);
                let mut body = t.read_body(store())?;
                if let Some((bad, at)) = self.corrupt {
                    if bad == *t {
                        let n = body.len();
                        body[at % n] ^= 1;
                    }
                }
                Ok(body)
            })
            .collect()
    }
}

fn server(size: u64) -> Server {
    Server {
        size,
        corrupt: None,
        served: RefCell::new(Vec::new()),
    }
}

#[test]
fn proofs_from_tiles_equal_proofs_from_storage() {
    let s = store();
    for size in [1, 2, 255, 256, 257, 65_535, 65_536, 65_537, 70_000, SIZE] {
        let srv = server(size);
        let tiles = TileHashReader::new(size, &srv);
        assert_eq!(
            tree_root(size, &tiles).unwrap(),
            tree_root(size, s).unwrap()
        );
        for index in [0, size / 3, size / 2, size - 1] {
            assert_eq!(
                inclusion_proof(index, size, &tiles).unwrap(),
                inclusion_proof(index, size, s).unwrap(),
                "inclusion {index} in {size}"
            );
        }
        for old in [1, size / 7 + 1, size / 2 + 1, size] {
            assert_eq!(
                consistency_proof(old, size, &tiles).unwrap(),
                consistency_proof(old, size, s).unwrap(),
                "consistency {old} to {size}"
            );
        }
        assert!(!srv.served.borrow().is_empty());
    }
}

#[test]
fn each_hash_of_a_higher_tile_is_the_root_of_a_full_tile_below() {
    let s = store();
    let level1 = Tile::for_tree_size(1, 0, SIZE).unwrap();
    assert!(level1.is_full());
    let body = level1.read_body(s).unwrap();
    for i in 0..u64::from(FULL_TILE_WIDTH) {
        let below = Tile::new(0, i, FULL_TILE_WIDTH).unwrap();
        let hashes: Vec<Hash> = below
            .read_body(s)
            .unwrap()
            .chunks(32)
            .map(|c| Hash::from_slice(c).unwrap())
            .collect();
        let mut level = hashes;
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| tlog::node_hash(&p[0], &p[1]))
                .collect();
        }
        let start = i as usize * 32;
        assert_eq!(&body[start..start + 32], level[0].as_bytes());
    }
    // Entry bundles follow level-0 coordinates.
    assert_eq!(
        TilePath::parse("tile/entries/273.p/235").unwrap(),
        TilePath::Entries(Tile::for_tree_size(0, 273, SIZE).unwrap())
    );
}

#[test]
fn a_corrupted_tile_never_yields_a_proof_that_verifies() {
    let s = store();
    let size = SIZE;
    let root = tree_root(size, s).unwrap();
    let old = 40_000;
    let old_root = tree_root(old, s).unwrap();
    let index: u64 = 12_345;
    let leaf = tlog::leaf_hash(&index.to_be_bytes());
    // Corrupt, in turn, every tile the honest proofs touch.
    let honest = server(size);
    let reader = TileHashReader::new(size, &honest);
    inclusion_proof(index, size, &reader).unwrap();
    consistency_proof(old, size, &reader).unwrap();
    let touched = honest.served.borrow().clone();
    assert!(touched.len() >= 3);
    for tile in touched {
        for at in [0, 31, 100, 8191] {
            let srv = Server {
                size,
                corrupt: Some((tile, at)),
                served: RefCell::new(Vec::new()),
            };
            let reader = TileHashReader::new(size, &srv);
            if let Ok(p) = inclusion_proof(index, size, &reader) {
                if p != inclusion_proof(index, size, s).unwrap() {
                    assert!(verify_inclusion(&leaf, index, size, &p, &root).is_err());
                }
            }
            if let Ok(p) = consistency_proof(old, size, &reader) {
                if p != consistency_proof(old, size, s).unwrap() {
                    assert!(verify_consistency(old, size, &old_root, &root, &p).is_err());
                }
            }
        }
    }
}

#[test]
fn short_tiles_and_hashes_beyond_the_tree_are_errors() {
    struct Short;
    impl TileSource for Short {
        fn read_tiles(&self, tiles: &[Tile]) -> tlog::Result<Vec<Vec<u8>>> {
            Ok(tiles.iter().map(|t| vec![0; t.byte_len() - 1]).collect())
        }
    }
    let reader = TileHashReader::new(1000, &Short);
    assert!(inclusion_proof(3, 1000, &reader).is_err());
    let srv = server(1000);
    let reader = TileHashReader::new(1000, &srv);
    assert!(reader.read_hashes(&[tlog::NodeId::new(0, 1000)]).is_err());
    assert!(reader.read_hashes(&[tlog::NodeId::new(10, 0)]).is_err());
}
