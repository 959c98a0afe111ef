//! The proof bundle of one metadata version, served at
//! `GET /repos/{repo}/proof/{n}.{role}.json[?from=M]` and inside update packs:
//!
//! ```json
//! {"entry":"<base64 log entry>","index":7,"checkpoint":"<signed note>",
//!  "inclusion":["<base64 hash>",…],"consistency":["<base64 hash>",…]}
//! ```
//!
//! `consistency` is there when the client asked `from=M`: the RFC 9162 §2.1.4
//! proof from its tree of size M to the checkpoint's. The bundle is only a
//! carrier: a client recomputes the entry from the file it downloaded and checks
//! every proof itself.

use crate::json::{from_json, JsonLine};
use crate::{hashes, Error};
use serde::{Deserialize, Serialize};
use tlog::Hash;

/// One metadata version's log entry with its proofs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofBundle {
    /// The log entry, base64.
    pub entry: String,
    /// Its index in the log.
    pub index: u64,
    /// The signed checkpoint note, cosignatures included.
    pub checkpoint: String,
    /// The inclusion path, base64 hashes.
    pub inclusion: Vec<String>,
    /// The consistency path from the size the client named, base64 hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<Vec<String>>,
}

impl JsonLine for ProofBundle {}

impl ProofBundle {
    /// The bundle of the entry `entry` at `index`, proven by `inclusion` in the
    /// checkpoint `note`, and by `consistency` from the size the client named.
    pub fn new(
        entry: &[u8],
        index: u64,
        note: &str,
        inclusion: &[Hash],
        consistency: Option<&[Hash]>,
    ) -> Self {
        ProofBundle {
            entry: hashes::encode_bytes(entry),
            index,
            checkpoint: note.to_string(),
            inclusion: hashes::encode(inclusion),
            consistency: consistency.map(hashes::encode),
        }
    }

    /// Reads a bundle.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        from_json("proof bundle", bytes)
    }

    /// The log entry's bytes.
    pub fn entry_bytes(&self) -> Result<Vec<u8>, Error> {
        hashes::decode_bytes("entry", &self.entry)
    }

    /// The inclusion path.
    pub fn inclusion_hashes(&self) -> Result<Vec<Hash>, Error> {
        hashes::decode("inclusion", &self.inclusion)
    }

    /// The consistency path, when the bundle has one.
    pub fn consistency_hashes(&self) -> Option<Result<Vec<Hash>, Error>> {
        self.consistency
            .as_deref()
            .map(|list| hashes::decode("consistency", list))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tlog::verify::MAX_PROOF_HASHES;

    fn sample() -> ProofBundle {
        let h = tlog::leaf_hash(b"x");
        ProofBundle::new(b"entry", 3, "note\n", &[h, h], Some(&[h]))
    }

    #[test]
    fn a_bundle_reads_back_as_written() {
        let b = sample();
        let back = ProofBundle::from_json(&b.to_json_line()).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.entry_bytes().unwrap(), b"entry");
        assert_eq!(back.inclusion_hashes().unwrap().len(), 2);
        assert_eq!(back.consistency_hashes().unwrap().unwrap().len(), 1);
    }

    #[test]
    fn a_bundle_without_consistency_has_no_such_field() {
        let h = tlog::leaf_hash(b"x");
        let b = ProofBundle::new(b"e", 0, "n", &[h], None);
        let text = String::from_utf8(b.to_json_line()).unwrap();
        assert!(!text.contains("consistency"), "{text}");
        assert!(ProofBundle::from_json(text.as_bytes())
            .unwrap()
            .consistency
            .is_none());
    }

    #[test]
    fn a_proof_longer_than_any_tree_needs_is_malformed_before_decoding() {
        let mut b = sample();
        b.inclusion = vec!["not base64".into(); MAX_PROOF_HASHES + 1];
        let err = b.inclusion_hashes().unwrap_err();
        assert!(err.to_string().contains("at most"), "{err}");
    }

    #[test]
    fn a_hash_of_the_wrong_length_or_bad_base64_is_malformed() {
        for bad in ["AAAA", "!!!", ""] {
            let mut b = sample();
            b.inclusion[0] = bad.into();
            assert!(b.inclusion_hashes().is_err(), "{bad:?}");
            let mut b = sample();
            b.consistency = Some(vec![bad.into()]);
            assert!(b.consistency_hashes().unwrap().is_err(), "{bad:?}");
        }
        let mut b = sample();
        b.entry = "!".into();
        assert!(b.entry_bytes().is_err());
    }
}
