//! C2SP tlog-proof parsing and verification: typed errors, no panics, and every
//! proof that parses is written back as the very bytes that were read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlog::note::{KeyName, SignatureType, SignerKey};
use tlog::tlog_proof::TlogProof;

fuzz_target!(|data: &[u8]| {
    let Ok(proof) = TlogProof::parse(data) else {
        return;
    };
    assert_eq!(proof.to_text(), data);
    let log = SignerKey::from_seed(
        KeyName::new("fuzz.example/log").unwrap(),
        SignatureType::Ed25519,
        &[1; 32],
    );
    let _ = proof.verify(&tlog::Hash([0; 32]), &log.verifier(), None, None);
});
