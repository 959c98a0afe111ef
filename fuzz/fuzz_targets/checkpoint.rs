//! Checkpoint parsing, alone and inside a signed note: typed errors, no panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlog::checkpoint::{open, Checkpoint};
use tlog::note::{KeyName, SignatureType, SignerKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = Checkpoint::parse(text) {
            assert_eq!(c.to_text(), text);
        }
    }
    let log = SignerKey::from_seed(
        KeyName::new("fuzz.example/log").unwrap(),
        SignatureType::Ed25519,
        &[1; 32],
    );
    let _ = open(data, &log.verifier(), &[]);
});
