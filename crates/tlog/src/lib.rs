//! The transparency-log core of tuflog: RFC 9162 Merkle tree math, C2SP tiles,
//! signed notes, checkpoints and cosignatures.
//!
//! # What this crate is not
//!
//! No I/O, no async runtime, no clock and no randomness of its own: callers hand in
//! bytes, stored hashes (through [`HashReader`]), tiles (through [`TileSource`]), the
//! time, and a random number generator, and take bytes out. No HTTP, no storage
//! engine, and no choice of whom to trust: which witnesses and how many of them is
//! the caller's configuration, counted by [`witness_policy`]. tuflog's own wire
//! formats (proof bundles, update packs, evidence files) live in `tuflog-wire`.
//!
//! # Map
//!
//! | module | specification |
//! |---|---|
//! | [`hash`] | RFC 9162 §2.1.1 leaf and interior hashing |
//! | [`tree`] | RFC 9162 §2.1.3.1 / §2.1.4.1 proof generation over stored hashes |
//! | [`compact`] | append: the hashes to store for each new leaf, and the root |
//! | [`verify`] | RFC 9162 §2.1.3.2 / §2.1.4.2 proof verification |
//! | [`tile`] | C2SP tlog-tiles: tile paths, tile contents, entry bundles, proofs from tiles |
//! | [`note`] | C2SP signed-note with Ed25519 |
//! | [`checkpoint`] | C2SP tlog-checkpoint |
//! | [`decimal`] | the canonical ASCII decimal the C2SP text formats share |
//! | [`cosignature`] | C2SP tlog-cosignature, cosignature/v1 (Ed25519, type 0x04) |
//! | [`witness_protocol`] | C2SP tlog-witness: the `add-checkpoint` request a log sends a witness |
//! | [`witness_policy`] | k of n witnesses: the one rule by which a checkpoint's cosignatures are counted, for clients, monitors and the server alike |
//! | [`tlog_proof`] | C2SP tlog-proof@v1: an offline proof of inclusion with its (cosigned) checkpoint |
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::cast_possible_truncation))]

pub mod checkpoint;
pub mod compact;
pub mod cosignature;
pub mod decimal;
mod error;
pub mod hash;
mod lines;
pub mod memory;
pub mod note;
pub mod tile;
pub mod tlog_proof;
pub mod tree;
pub mod verify;
pub mod witness_policy;
pub mod witness_protocol;

pub use checkpoint::Checkpoint;
pub use compact::CompactRange;
pub use error::Error;
pub use hash::{leaf_hash, node_hash, Hash, EMPTY_ROOT};
pub use memory::MemoryHashStore;
pub use note::{Note, SignerKey, VerifierKey};
pub use tile::{Tile, TileSource};
pub use tree::{HashReader, NodeId, RightEdge};

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
