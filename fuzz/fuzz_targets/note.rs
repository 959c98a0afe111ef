//! Signed-note parsing and verification on arbitrary bytes: typed errors, no panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlog::note::{KeyName, Note, SignatureType, SignerKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        // Whatever parsed must re-serialise to the same bytes.
        assert_eq!(note.to_string().as_bytes(), data);
        let key = SignerKey::from_seed(
            KeyName::new("fuzz.example/log").unwrap(),
            SignatureType::Ed25519,
            &[1; 32],
        );
        let witness = SignerKey::from_seed(
            KeyName::new("fuzz.example/w").unwrap(),
            SignatureType::CosignatureV1,
            &[2; 32],
        );
        let _ = note.verify(&[key.verifier(), witness.verifier()]);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = tlog::VerifierKey::parse(s);
        let _ = SignerKey::parse(s);
    }
});
