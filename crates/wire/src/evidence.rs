//! Split-view evidence: two checkpoints signed by one log key that cannot both be
//! true, in a self-contained file anyone can check with the log's verifier key
//! alone (`tuflog log verify-evidence FILE`). Monitors write it; anyone reads it.
//!
//! A log signs a checkpoint for every tree it publishes. Two of its checkpoints
//! prove a fork when
//! - they have the same size and different roots; or
//! - a consistency proof from the smaller size to the larger, computed from the
//!   larger tree's hashes, verifies against the larger root (RFC 9162 §2.1.4.2)
//!   and starts from an old root other than the smaller checkpoint's: the larger
//!   tree's first `m` leaves are not the smaller tree.
//!
//! The file carries that proof and the root it starts from, so checking it needs
//! no access to the log.

use crate::Error;
use serde::{Deserialize, Serialize};
use tlog::checkpoint::VerifiedCheckpoint;
use tlog::{Checkpoint, Hash, VerifierKey};

/// The `type` line of every evidence file.
pub const EVIDENCE_TYPE: &str = "tuflog-split-view-evidence/v1";

/// Largest evidence file read (two notes with cosignatures and a proof).
pub const MAX_EVIDENCE_BYTES: usize = 256 << 10;

/// Two signed checkpoints of one log that are not consistent with each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Always [`EVIDENCE_TYPE`].
    #[serde(rename = "type")]
    pub type_: String,
    /// The log's verifier key, which signed both checkpoints.
    pub log_key: String,
    /// The checkpoint of the smaller (or equal) tree, as signed.
    pub smaller: String,
    /// The checkpoint of the larger tree, as signed.
    pub larger: String,
    /// The proof that the larger tree does not extend the smaller; absent for equal
    /// sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<ForkProof>,
    /// How it was found, for people.
    pub detail: String,
}

/// A consistency proof from the larger tree, and the old root it proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkProof {
    /// The root of the larger tree's first `smaller.size` leaves (base64).
    pub old_root_in_larger: String,
    /// Proof hashes from `smaller.size` to `larger.size` (base64), RFC 9162 §2.1.4.
    pub proof: Vec<String>,
}

/// What a verified evidence file shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The log's origin.
    pub origin: String,
    /// The smaller tree's size.
    pub smaller_size: u64,
    /// The larger tree's size.
    pub larger_size: u64,
    /// Why the two cannot both be true.
    pub reason: String,
}

impl Evidence {
    /// Evidence from two verified checkpoints; `consistency` when their sizes
    /// differ. Orders them by size.
    pub fn new(
        log_key: &VerifierKey,
        a: &str,
        b: &str,
        consistency: Option<(Hash, Vec<Hash>)>,
        detail: String,
    ) -> Result<Self, Error> {
        let size = |note: &str| -> Result<u64, Error> {
            let c = Checkpoint::parse(tlog::Note::parse(note.as_bytes())?.text())?;
            Ok(c.size())
        };
        let (smaller, larger) = if size(a)? <= size(b)? { (a, b) } else { (b, a) };
        Ok(Evidence {
            type_: EVIDENCE_TYPE.into(),
            log_key: log_key.to_string(),
            smaller: smaller.into(),
            larger: larger.into(),
            consistency: consistency.map(|(old, proof)| ForkProof {
                old_root_in_larger: old.to_base64(),
                proof: proof.iter().map(Hash::to_base64).collect(),
            }),
            detail,
        })
    }

    /// Parses an evidence file, refusing one above [`MAX_EVIDENCE_BYTES`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_EVIDENCE_BYTES {
            return Err(Error::Evidence(format!(
                "{} bytes, above the {MAX_EVIDENCE_BYTES}-byte limit",
                bytes.len()
            )));
        }
        let e: Evidence =
            serde_json::from_slice(bytes).map_err(|e| Error::Evidence(e.to_string()))?;
        if e.type_ != EVIDENCE_TYPE {
            return Err(Error::Evidence(format!(
                "type {:?}, not {EVIDENCE_TYPE}",
                e.type_
            )));
        }
        Ok(e)
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Checks that both checkpoints are signed by the log key and cannot both be
    /// true. `pinned`, when given, must be the key the file names: the evidence is
    /// only worth the key that checks it.
    pub fn verify(&self, pinned: Option<&VerifierKey>) -> Result<Verdict, Error> {
        let key = VerifierKey::parse(&self.log_key)?;
        if let Some(pinned) = pinned {
            if *pinned != key {
                return Err(Error::Evidence(format!(
                    "signed by {}, not by the pinned key {pinned}",
                    self.log_key
                )));
            }
        }
        let open = |note: &str| -> Result<VerifiedCheckpoint, Error> {
            Ok(tlog::checkpoint::open(note.as_bytes(), &key, &[])?)
        };
        let (small, large) = (
            open(&self.smaller)?.into_checkpoint(),
            open(&self.larger)?.into_checkpoint(),
        );
        let (m, n) = (small.size(), large.size());
        let verdict = |reason: String| Verdict {
            origin: small.origin().to_string(),
            smaller_size: m,
            larger_size: n,
            reason,
        };
        if m > n {
            return Err(Error::Evidence("the smaller checkpoint is larger".into()));
        }
        if m == n {
            return if small.root() != large.root() {
                Ok(verdict(format!(
                    "two trees of size {m} with roots {} and {}",
                    small.root().to_base64(),
                    large.root().to_base64()
                )))
            } else {
                Err(Error::NoFork("the two checkpoints agree".into()))
            };
        }
        let fork = self
            .consistency
            .as_ref()
            .ok_or_else(|| Error::Evidence("sizes differ and there is no proof".into()))?;
        let old = Hash::from_base64(&fork.old_root_in_larger)?;
        let proof = fork
            .proof
            .iter()
            .map(|h| Hash::from_base64(h))
            .collect::<Result<Vec<_>, _>>()?;
        // RFC 9162 §2.1.4.2: the proof must lead from `old` to the larger root;
        // then `old` is what the larger tree says its first m leaves hash to.
        tlog::verify::verify_consistency(m, n, &old, large.root(), &proof)
            .map_err(|e| Error::Evidence(format!("the proof does not hold: {e}")))?;
        if old == *small.root() {
            return Err(Error::NoFork(
                "the proof shows the two checkpoints are consistent".into(),
            ));
        }
        Ok(verdict(format!(
            "the tree of size {n} begins with a tree of size {m} whose root is {}, not {}",
            old.to_base64(),
            small.root().to_base64()
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tlog::note::{KeyName, SignatureType};
    use tlog::tree::{consistency_proof, tree_root};
    use tlog::{MemoryHashStore, SignerKey};

    fn log_key() -> SignerKey {
        SignerKey::generate(
            KeyName::new("example.com/log").unwrap(),
            SignatureType::Ed25519,
            &mut rand_core::OsRng,
        )
    }

    fn tree(leaves: &[&str]) -> MemoryHashStore {
        let mut t = MemoryHashStore::new();
        for l in leaves {
            t.append_leaf(l.as_bytes());
        }
        t
    }

    fn note(key: &SignerKey, t: &MemoryHashStore) -> String {
        let c = Checkpoint::new(key.public().name().as_str(), t.size(), t.root()).unwrap();
        c.sign(key).unwrap().to_string()
    }

    /// Fork A: a b c. Fork B: a X c d e. B's proof from 3 to 5 starts elsewhere.
    fn fork_evidence(key: &SignerKey) -> Evidence {
        let a = tree(&["a", "b", "c"]);
        let b = tree(&["a", "X", "c", "d", "e"]);
        let old = tree_root(3, &b).unwrap();
        let proof = consistency_proof(3, 5, &b).unwrap();
        Evidence::new(
            &key.verifier(),
            &note(key, &b),
            &note(key, &a),
            Some((old, proof)),
            "test".into(),
        )
        .unwrap()
    }

    #[test]
    fn a_fork_is_proven_by_the_file_alone_and_survives_a_round_trip() {
        let key = log_key();
        let e = Evidence::parse(&fork_evidence(&key).to_json()).unwrap();
        let v = e.verify(Some(&key.verifier())).unwrap();
        assert_eq!((v.smaller_size, v.larger_size), (3, 5));
    }

    #[test]
    fn same_size_different_roots_needs_no_proof() {
        let key = log_key();
        let (a, b) = (tree(&["a", "b"]), tree(&["a", "c"]));
        let e = Evidence::new(
            &key.verifier(),
            &note(&key, &a),
            &note(&key, &b),
            None,
            "".into(),
        )
        .unwrap();
        assert!(e.verify(None).is_ok());
        let same = Evidence::new(
            &key.verifier(),
            &note(&key, &a),
            &note(&key, &a),
            None,
            "".into(),
        )
        .unwrap();
        assert!(matches!(same.verify(None), Err(Error::NoFork(_))));
    }

    /// Every corruption of valid evidence is refused: each proof hash, the old
    /// root, either signature, the key, and a consistent pair passed off as a fork.
    #[test]
    fn every_corruption_of_valid_evidence_is_refused() {
        let key = log_key();
        let good = fork_evidence(&key);
        let flip = |b64: &str| {
            let mut h = Hash::from_base64(b64).unwrap().0;
            h[7] ^= 1;
            Hash(h).to_base64()
        };
        let mut bad = Vec::new();
        for i in 0..good.consistency.as_ref().unwrap().proof.len() {
            let mut e = good.clone();
            let p = &mut e.consistency.as_mut().unwrap().proof[i];
            *p = flip(p);
            bad.push(e);
        }
        let mut e = good.clone();
        let old = &mut e.consistency.as_mut().unwrap().old_root_in_larger;
        *old = flip(old);
        bad.push(e);
        let mut e = good.clone();
        e.consistency.as_mut().unwrap().proof.pop();
        bad.push(e);
        for which in [0, 1] {
            let mut e = good.clone();
            let n = if which == 0 {
                &mut e.smaller
            } else {
                &mut e.larger
            };
            // The last signature byte, inside the base64 of the signature line.
            let at = n.trim_end().len() - 3;
            let c = if &n[at..at + 1] == "A" { "B" } else { "A" };
            n.replace_range(at..at + 1, c);
            bad.push(e);
        }
        let mut e = good.clone();
        e.log_key = log_key().verifier().to_string();
        bad.push(e);
        // A consistent pair with an honest proof is no evidence.
        let a = tree(&["a", "b", "c"]);
        let b = tree(&["a", "b", "c", "d", "e"]);
        bad.push(
            Evidence::new(
                &key.verifier(),
                &note(&key, &a),
                &note(&key, &b),
                Some((
                    tree_root(3, &b).unwrap(),
                    consistency_proof(3, 5, &b).unwrap(),
                )),
                "".into(),
            )
            .unwrap(),
        );
        for (i, e) in bad.iter().enumerate() {
            assert!(e.verify(None).is_err(), "corruption {i} accepted");
        }
        // And a pinned key other than the file's is refused even for good evidence.
        assert!(good.verify(Some(&log_key().verifier())).is_err());
    }
}
