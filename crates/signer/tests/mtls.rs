//! The signer over real mutual TLS on loopback: only a client certificate from the
//! configured CA, and still valid, gets an answer; every signature is counted.
//! `token.rs` runs the same checks with the keys on a PKCS#11 token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::checks::{
    a_batch_is_judged_request_by_request, checkpoints_are_signed_and_a_fork_refused,
    only_a_valid_client_certificate_is_served,
};
use common::sealed_keys;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_valid_client_certificate_from_the_configured_ca_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let keys = sealed_keys(dir.path());
    only_a_valid_client_certificate_is_served(dir.path(), keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_signed_counted_and_a_fork_refused_over_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let keys = sealed_keys(dir.path());
    checkpoints_are_signed_and_a_fork_refused(dir.path(), keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_the_wire_is_judged_request_by_request() {
    let dir = tempfile::tempdir().unwrap();
    let keys = sealed_keys(dir.path());
    a_batch_is_judged_request_by_request(dir.path(), keys).await;
}
