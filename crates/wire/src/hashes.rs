//! Hashes on the wire: base64 strings, at most as many as an RFC 9162 proof can
//! hold.

use crate::Error;
use tlog::verify::MAX_PROOF_HASHES;
use tlog::Hash;

/// `hashes` as the JSON formats carry them.
pub fn encode(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_base64).collect()
}

/// The hashes of the proof in `field`; more than [`MAX_PROOF_HASHES`] is malformed
/// whatever they are, so none is decoded then.
pub fn decode(field: &'static str, list: &[String]) -> Result<Vec<Hash>, Error> {
    if list.len() > MAX_PROOF_HASHES {
        return Err(Error::MalformedField {
            field,
            detail: format!("{} hashes (at most {MAX_PROOF_HASHES})", list.len()),
        });
    }
    list.iter()
        .map(|h| {
            Hash::from_base64(h).map_err(|e| Error::MalformedField {
                field,
                detail: e.to_string(),
            })
        })
        .collect()
}

/// The bytes of the base64 `text` in `field`.
pub(crate) fn decode_bytes(field: &'static str, text: &str) -> Result<Vec<u8>, Error> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| Error::MalformedField {
            field,
            detail: e.to_string(),
        })
}

/// `bytes` as base64.
pub(crate) fn encode_bytes(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
