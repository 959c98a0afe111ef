//! C2SP tlog-cosignature, cosignature/v1: timestamped Ed25519 witness cosignatures
//! (signature type `0x04`).
//!
//! The signature on the note line is 72 bytes: a big-endian u64 POSIX timestamp and an
//! Ed25519 signature over
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <checkpoint body>
//! ```
//!
//! Verification goes through [`crate::Note::verify`] with a type-0x04
//! [`crate::VerifierKey`]; this module builds the message and signs. It does not
//! decide whether a cosigner's timestamp is recent enough: that is client policy.

use crate::note::{NoteSignature, SignatureType, SignerKey};
use crate::{Error, Result};
use ed25519_dalek::Signature;

/// The header line that separates cosignatures from every other use of the key.
pub const HEADER: &str = "cosignature/v1\n";
/// "It MUST NOT exceed 2^63 - 1."
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;
/// Length of a `timestamped_signature` for Ed25519: 8-byte timestamp + 64-byte signature.
pub const TIMESTAMPED_SIGNATURE_LEN: usize = 8 + 64;

/// The message a cosigner signs for `checkpoint_body` at `timestamp`.
pub fn signed_message(timestamp: u64, checkpoint_body: &str) -> Vec<u8> {
    format!("{HEADER}time {timestamp}\n{checkpoint_body}").into_bytes()
}

/// Splits a `timestamped_signature`; `None` if it is malformed or the timestamp is out
/// of range.
pub(crate) fn split_timestamped_signature(sig: &[u8]) -> Option<(u64, Signature)> {
    let sig: &[u8; TIMESTAMPED_SIGNATURE_LEN] = sig.try_into().ok()?;
    let (ts, ed) = sig.split_at(8);
    let timestamp = u64::from_be_bytes(ts.try_into().ok()?);
    if timestamp > MAX_TIMESTAMP {
        return None;
    }
    Some((timestamp, Signature::from_slice(ed).ok()?))
}

/// Cosigns `checkpoint_body` (the note text, without signature lines) at `timestamp`,
/// returning the signature line to append to the checkpoint note.
pub fn cosign(signer: &SignerKey, checkpoint_body: &str, timestamp: u64) -> Result<NoteSignature> {
    if signer.public().sig_type() != SignatureType::CosignatureV1 {
        return Err(Error::MalformedKey(
            "cosigning needs a cosignature/v1 (0x04) key".into(),
        ));
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(Error::MalformedCosignature(format!(
            "timestamp {timestamp} exceeds 2^63 - 1"
        )));
    }
    let sig = signer.sign_bytes(&signed_message(timestamp, checkpoint_body));
    let mut signature = Vec::with_capacity(TIMESTAMPED_SIGNATURE_LEN);
    signature.extend_from_slice(&timestamp.to_be_bytes());
    signature.extend_from_slice(&sig);
    Ok(NoteSignature {
        name: signer.public().name().clone(),
        key_id: signer.public().key_id(),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{KeyName, Note};

    fn witness() -> SignerKey {
        SignerKey::from_seed(
            KeyName::new("w.example/1").unwrap(),
            SignatureType::CosignatureV1,
            &[3; 32],
        )
    }

    #[test]
    fn cosignature_verifies_with_its_timestamp_and_not_on_other_text() {
        let w = witness();
        let body = "log.example\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let mut note = Note::new(body).unwrap();
        note.push_signature(cosign(&w, body, 99).unwrap()).unwrap();
        let verified = note.verify(&[w.verifier()]).unwrap();
        assert_eq!(verified[0].timestamp, Some(99));

        let mut other = Note::new(body.replace('5', "6")).unwrap();
        other.push_signature(cosign(&w, body, 99).unwrap()).unwrap();
        assert!(other.verify(&[w.verifier()]).is_err());

        // Changing the timestamp bytes breaks the signature: the time is signed.
        let mut retimed = note.clone();
        let mut sig = retimed.signatures()[0].clone();
        sig.signature[7] ^= 1;
        retimed = {
            let mut n = Note::new(body).unwrap();
            n.push_signature(sig).unwrap();
            n
        };
        assert!(retimed.verify(&[w.verifier()]).is_err());
    }

    #[test]
    fn out_of_range_timestamps_and_wrong_key_types_are_refused() {
        let w = witness();
        assert!(cosign(&w, "x\n", MAX_TIMESTAMP + 1).is_err());
        let plain =
            SignerKey::from_seed(KeyName::new("l").unwrap(), SignatureType::Ed25519, &[3; 32]);
        assert!(cosign(&plain, "x\n", 1).is_err());
        let mut raw = [0u8; TIMESTAMPED_SIGNATURE_LEN];
        raw[0] = 0x80;
        assert!(split_timestamped_signature(&raw).is_none());
        assert!(split_timestamped_signature(&raw[1..]).is_none());
    }
}
