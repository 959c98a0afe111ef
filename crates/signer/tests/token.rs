//! The signer with its keys on a PKCS#11 token (SoftHSM2): keys made on the token
//! and found again after a restart, every signature verified, a wrong PIN and a
//! descriptor naming another key refused, and the mutual-TLS and fork checks of
//! `mtls.rs` over the token's keys.
//!
//! One test: the module is loaded once per process, and `SOFTHSM2_CONF` is read
//! when it is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::checks::{
    a_batch_is_judged_request_by_request, checkpoints_are_signed_and_a_fork_refused,
    only_a_valid_client_certificate_is_served,
};
use common::{softhsm, ORIGIN};
use signer::guard::OnlineRole;
use signer::keys::KeyHolder;
use signer::pkcs11::{OnlineKeyType, Pin, TokenConfig, TokenKeys};
use std::sync::Arc;

fn pin(p: &str) -> Pin {
    Pin::new(zeroize::Zeroizing::new(p.into()))
}

fn config(token: &str) -> TokenConfig {
    TokenConfig {
        module: softhsm::module(),
        token: token.into(),
    }
}

fn signs_and_verifies(keys: &TokenKeys, repo: &str) -> (String, String) {
    let root = tlog::leaf_hash(b"entry");
    let note = keys.sign_checkpoint(1, &root).unwrap();
    let cp = tlog::checkpoint::open(&note, keys.log_verifier(), &[])
        .unwrap()
        .into_checkpoint();
    assert_eq!((cp.size(), cp.root()), (1, &root));
    let mut ids = Vec::new();
    for role in [OnlineRole::Snapshot, OnlineRole::Timestamp] {
        let (key, keyid) = keys.online_key(repo, role, 0).unwrap();
        let sig = keys
            .sign_online(repo, role, 0, b"canonical signed")
            .unwrap();
        assert_eq!(sig.keyid, keyid);
        let public = key.parse(&keyid).unwrap();
        let bytes = hex::decode(&sig.sig).unwrap();
        assert!(public.verify(b"canonical signed", &bytes));
        assert!(!public.verify(b"other signed", &bytes));
        ids.push(keyid);
    }
    assert_ne!(ids[0], ids[1], "one key per role");
    (ids.remove(0), ids.remove(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_on_a_token_sign_verify_survive_a_restart_and_serve_over_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let conf = softhsm::config(dir.path());
    // Edition 2021: safe, and this binary's only test sets it before the module loads.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    softhsm::init_token(&conf, "tuflog-ed25519");
    softhsm::init_token(&conf, "tuflog-ecdsa");
    let descriptor = dir.path().join("token.json");
    let good = pin(softhsm::PIN);

    let made =
        TokenKeys::create(&descriptor, config("tuflog-ed25519"), &good, ORIGIN, None).unwrap();
    assert_eq!(made.online_key_type(), OnlineKeyType::Ed25519);
    let verifier = made.log_verifier().to_string();
    let ids = signs_and_verifies(&made, "example.com/app");
    drop(made);
    // The descriptor exists: a second key set is not made over it.
    assert!(TokenKeys::create(&descriptor, config("tuflog-ed25519"), &good, ORIGIN, None).is_err());

    assert!(TokenKeys::open(&descriptor, &pin("wrong")).is_err());
    let reopened = TokenKeys::open(&descriptor, &good).unwrap();
    assert_eq!(reopened.log_verifier().to_string(), verifier);
    // The same online keys, found on the token by their labels.
    assert_eq!(signs_and_verifies(&reopened, "example.com/app"), ids);
    assert_ne!(signs_and_verifies(&reopened, "example.com/other"), ids);
    drop(reopened);

    // A descriptor naming another log key than the token's is refused.
    let text = std::fs::read_to_string(&descriptor).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let other = tlog::SignerKey::generate(
        tlog::note::KeyName::new(ORIGIN).unwrap(),
        tlog::note::SignatureType::Ed25519,
        &mut rand_core::OsRng,
    );
    json["verifier"] = other.verifier().to_string().into();
    std::fs::write(&descriptor, serde_json::to_vec(&json).unwrap()).unwrap();
    let err = TokenKeys::open(&descriptor, &good).err().unwrap();
    assert!(err.to_string().contains("not the"), "{err}");
    std::fs::write(&descriptor, text).unwrap();

    // ECDSA P-256 online keys, for tokens without EdDSA; the log key stays Ed25519.
    let ecdsa_descriptor = dir.path().join("token-ecdsa.json");
    let ecdsa = TokenKeys::create(
        &ecdsa_descriptor,
        config("tuflog-ecdsa"),
        &good,
        ORIGIN,
        Some(OnlineKeyType::EcdsaP256),
    )
    .unwrap();
    signs_and_verifies(&ecdsa, "example.com/app");
    let (key, _) = ecdsa
        .online_key("example.com/app", OnlineRole::Timestamp, 0)
        .unwrap();
    assert_eq!(key.scheme, "ecdsa-sha2-nistp256");
    drop(ecdsa);

    // The wire checks, with the keys on the token.
    let keys: Arc<dyn KeyHolder> = Arc::new(TokenKeys::open(&descriptor, &good).unwrap());
    let wire = tempfile::tempdir().unwrap();
    only_a_valid_client_certificate_is_served(wire.path(), keys.clone()).await;
    let wire = tempfile::tempdir().unwrap();
    checkpoints_are_signed_and_a_fork_refused(wire.path(), keys.clone()).await;
    let wire = tempfile::tempdir().unwrap();
    a_batch_is_judged_request_by_request(wire.path(), keys).await;
}
