//! tuflog's integration tests: real servers on 127.0.0.1:0, RocksDB in temporary
//! directories. One binary; modules by subject; regression tests named after their
//! bug.
// A test binary: a failed unwrap is a failed test, with its location.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod attacks;
mod bad_input;
mod client;
mod crash;
mod grpc;
mod grpc_repos;
mod interop;
mod log_api;
mod monitor;
mod publisher;
mod pushes_refused;
mod repos;
mod restart;
mod signer;
mod util;
mod witness;
