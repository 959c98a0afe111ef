//! tuflog's integration tests: real servers on 127.0.0.1:0, RocksDB in temporary
//! directories. One binary; modules by subject; regression tests named after their
//! bug. `scripts/test` runs it three times: with the keys in each server's data
//! directory, then with `TUFLOG_TEST_SIGNER=remote`, each server's keys in a
//! separate signer over mutual TLS (`remote`), then with `TUFLOG_TEST_STORE=postgres`,
//! each server's log in a PostgreSQL database (`store_switch`).
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
mod instances;
mod interop;
mod log_api;
mod monitor;
mod publisher;
mod pushes_refused;
mod remote;
mod repos;
mod restart;
mod signer;
mod store_switch;
mod tlog_proofs;
mod tls;
mod util;
mod witness;
