//! Conformance of `tlog` against public vectors, a second implementation (rs_merkle),
//! properties over random trees, and the parsers' behaviour on arbitrary bytes.
//!
//! One test binary, one module per kind of evidence.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod merkle_vectors;
mod note_vectors;
mod parsers;
mod proof_properties;
mod rs_merkle_oracle;
mod tiles;

use std::path::PathBuf;

/// The package directory, read when the test runs: a test binary built in another
/// clone sharing `CARGO_TARGET_DIR` (CI's clean clone) would otherwise look for its
/// files in that clone, gone by now.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The vectors copied from `shared/vectors` (see `testdata/SOURCES.md`).
pub fn testdata() -> PathBuf {
    manifest_dir().join("testdata")
}
