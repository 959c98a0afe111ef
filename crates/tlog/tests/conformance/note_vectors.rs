//! C2SP signed-note and tlog-cosignature vectors: notes verify, signing the text with
//! the signer key reproduces the note byte for byte, and the cosignature verifies.

use serde::Deserialize;
use tlog::cosignature::{cosign, signed_message};
use tlog::note::{KeyName, Note, SignatureType, SignerKey, VerifierKey};

#[derive(Deserialize)]
struct Vectors {
    signed_notes: Vec<SignedNote>,
    cosignatures: Vec<Cosignature>,
}

#[derive(Deserialize)]
struct SignedNote {
    desc: String,
    vkey: String,
    note: String,
    skey: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Cosignature {
    witness_seed_hex: String,
    witness_vkey: String,
    checkpoint_body: String,
    timestamp: u64,
    signed_message: String,
    signature_line: String,
}

fn vectors() -> Vectors {
    let raw = std::fs::read(crate::testdata().join("notes/vectors.json")).unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[test]
fn every_vector_note_verifies_under_its_key() {
    let v = vectors();
    assert!(v.signed_notes.len() >= 3);
    for n in &v.signed_notes {
        let key = VerifierKey::parse(&n.vkey).unwrap();
        let note = Note::parse(n.note.as_bytes()).unwrap();
        let ok = note.verify(std::slice::from_ref(&key)).unwrap();
        assert_eq!(ok.len(), 1, "{}", n.desc);
        assert_eq!(key.to_string(), n.vkey, "verifier key string round-trips");
        assert_eq!(note.to_string(), n.note, "note re-serialises byte for byte");
    }
}

#[test]
fn signing_the_text_reproduces_the_note_byte_for_byte() {
    let v = vectors();
    let mut signed = 0;
    for n in v.signed_notes.iter().filter(|n| n.skey.is_some()) {
        let skey = SignerKey::parse(n.skey.as_deref().unwrap()).unwrap();
        assert_eq!(skey.verifier().to_string(), n.vkey);
        assert_eq!(skey.to_skey_string().as_str(), n.skey.as_deref().unwrap());
        let mut note = Note::new(n.text.clone().unwrap()).unwrap();
        note.sign(&skey).unwrap();
        assert_eq!(note.to_string(), n.note, "{}", n.desc);
        signed += 1;
    }
    assert!(signed >= 1);
}

#[test]
fn a_note_signed_by_one_vector_key_is_rejected_by_another() {
    let v = vectors();
    let a = &v.signed_notes[1];
    let b = VerifierKey::parse(&v.signed_notes[2].vkey).unwrap();
    let note = Note::parse(a.note.as_bytes()).unwrap();
    assert!(note.verify(&[b]).is_err());
}

#[test]
fn the_cosignature_vector_verifies_and_is_reproduced() {
    for c in vectors().cosignatures {
        let seed: [u8; 32] = hex::decode(&c.witness_seed_hex)
            .unwrap()
            .try_into()
            .unwrap();
        let vkey = VerifierKey::parse(&c.witness_vkey).unwrap();
        let signer = SignerKey::from_seed(vkey.name().clone(), SignatureType::CosignatureV1, &seed);
        assert_eq!(signer.verifier(), vkey);
        assert_eq!(
            signed_message(c.timestamp, &c.checkpoint_body),
            c.signed_message.as_bytes()
        );
        let line = cosign(&signer, &c.checkpoint_body, c.timestamp).unwrap();
        assert_eq!(line.to_line(), c.signature_line);

        let note = format!("{}\n{}", c.checkpoint_body, c.signature_line);
        let verified = Note::parse(note.as_bytes())
            .unwrap()
            .verify(std::slice::from_ref(&vkey))
            .unwrap();
        assert_eq!(verified[0].timestamp, Some(c.timestamp));

        // The same key as a plain Ed25519 (0x01) verifier has another key ID, so the
        // cosignature line is not its signature: the note is unverified, not accepted.
        let plain = VerifierKey::new(
            KeyName::new(vkey.name().as_str()).unwrap(),
            SignatureType::Ed25519,
            *vkey.public_key(),
        );
        assert!(Note::parse(note.as_bytes())
            .unwrap()
            .verify(&[plain])
            .is_err());
    }
}
