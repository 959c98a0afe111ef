//! Every parser returns a typed error, never a panic, on arbitrary input; and every
//! single-bit corruption of a valid signed checkpoint is rejected. The same entry
//! points are the fuzz targets in `fuzz/`.

use proptest::prelude::*;
use tlog::checkpoint::{open, Checkpoint};
use tlog::note::{KeyName, Note, SignatureType, SignerKey, VerifierKey};
use tlog::tile::{parse_bundle, TilePath};

fn log_key() -> SignerKey {
    SignerKey::from_seed(
        KeyName::new("log.example/tuflog").unwrap(),
        SignatureType::Ed25519,
        &[42; 32],
    )
}

fn witness() -> SignerKey {
    SignerKey::from_seed(
        KeyName::new("witness.example/w1").unwrap(),
        SignatureType::CosignatureV1,
        &[43; 32],
    )
}

fn signed_checkpoint() -> String {
    let cp = Checkpoint::new("log.example/tuflog", 1234, tlog::leaf_hash(b"r")).unwrap();
    let mut note = cp.sign(&log_key()).unwrap();
    let w = tlog::cosignature::cosign(&witness(), note.text(), 1_700_000_000).unwrap();
    note.push_signature(w).unwrap();
    note.to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Note::parse(&bytes);
        let _ = parse_bundle(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = Checkpoint::parse(s);
            let _ = TilePath::parse(s);
            let _ = VerifierKey::parse(s);
            let _ = SignerKey::parse(s);
        }
    }

    #[test]
    fn parsers_never_panic_on_near_valid_text(
        prefix in "(tile/(entries|[0-9]{1,3})/)?(x[0-9]{3}/){0,7}[0-9]{0,4}(\\.p/[0-9]{0,4})?",
        body in "[a-z./]{1,12}\n[0-9]{1,21}\n[A-Za-z0-9+/=]{0,48}\n([ -~]{0,8}\n){0,3}",
    ) {
        if let Ok(TilePath::Hashes(t) | TilePath::Entries(t)) = TilePath::parse(&prefix) {
            let again = TilePath::parse(&prefix).unwrap().to_string();
            prop_assert_eq!(&again, &prefix, "accepted paths are canonical: {:?}", t);
        }
        if let Ok(c) = Checkpoint::parse(&body) {
            prop_assert_eq!(c.to_text(), body);
        }
    }
}

#[test]
fn every_bit_flip_of_a_signed_checkpoint_is_rejected() {
    let good = signed_checkpoint();
    let log = log_key().verifier();
    let w = witness().verifier();
    let v = open(good.as_bytes(), &log, std::slice::from_ref(&w)).unwrap();
    assert_eq!(v.cosignatures().len(), 1);
    let bytes = good.as_bytes();
    let mut accepted = Vec::new();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut m = bytes.to_vec();
            m[i] ^= 1 << bit;
            if let Ok(v) = open(&m, &log, std::slice::from_ref(&w)) {
                // Accepting is only right if the witness line became an unknown
                // signer (its name or ID changed) and the checkpoint is unchanged.
                if v.checkpoint().to_text()
                    != Checkpoint::parse(&good[..good.find("\n\n").unwrap() + 1])
                        .unwrap()
                        .to_text()
                    || !v.cosignatures().is_empty()
                {
                    accepted.push((i, bit));
                }
            }
        }
    }
    assert!(accepted.is_empty(), "corruptions accepted at {accepted:?}");
}

#[test]
fn a_checkpoint_signed_by_another_key_with_the_same_name_is_rejected() {
    let impostor = SignerKey::from_seed(
        KeyName::new("log.example/tuflog").unwrap(),
        SignatureType::Ed25519,
        &[99; 32],
    );
    let cp = Checkpoint::new("log.example/tuflog", 1, tlog::leaf_hash(b"x")).unwrap();
    let note = cp.sign(&impostor).unwrap().to_string();
    assert!(open(note.as_bytes(), &log_key().verifier(), &[]).is_err());
}
