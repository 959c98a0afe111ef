//! The `tuflog` and `tuflog-conformance` binaries as users run them: one test binary,
//! modules by subject, regression tests named after their bug.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod conformance;
mod log_commands;
mod quickstart;
mod server_process;
mod surface;
mod witness_process;

use std::path::PathBuf;

/// The repository checkout, read when the test runs (not when it was compiled: a
/// binary built by another clone sharing CARGO_TARGET_DIR must not use that path).
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../..")
}
