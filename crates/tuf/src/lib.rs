//! The TUF half of tuflog: metadata, keys, the threshold rule, repository editing, and
//! the client workflow as a state machine that is handed bytes.
//!
//! # What this crate is not
//!
//! No I/O, no async runtime, no clock and no randomness of its own: the caller fixes
//! the update time, supplies a random number generator for signing, and moves bytes.
//! No transparency log: whether a document is in the log is checked above this crate.
//! No key storage: private keys are handed in and out as values.
//!
//! The specification followed is TUF 1.0.x (theupdateframework/specification), with
//! TAP 15 succinct hash bins. Checks quote the section that requires them.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::cast_possible_truncation))]

pub mod canonical;
pub mod delegation;
pub mod editor;
mod error;
pub mod keys;
pub mod logentry;
pub mod metadata;
pub mod online;
pub mod repository;
pub mod threshold;
pub mod updater;

pub use error::Error;
pub use keys::{Key, KeyKind, PrivateKey};
pub use metadata::{Metadata, Root, Snapshot, Targets, Timestamp};

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
