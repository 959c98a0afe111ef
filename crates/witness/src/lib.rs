//! A witness for transparency logs, as C2SP tlog-witness specifies it: it is
//! configured with logs (origin and verifier key), remembers the latest checkpoint
//! it cosigned for each, and cosigns a new one only when it is signed by the log
//! and provably extends the one before (RFC 9162 consistency proof). A log can then
//! no longer show two parties two histories without one of them holding a
//! checkpoint no honest witness cosigned.
//!
//! [`Witness::add_checkpoint`] is the protocol, over any [`store::KvStore`];
//! [`http`] serves it (`POST /add-checkpoint`, `GET /checkpoint?origin=…`,
//! `/metrics`, `/healthz`). The specification leaves monitor retrieval "TBD";
//! `GET /checkpoint` is tuflog's: the latest checkpoint cosigned for a log, with
//! the witness's cosignature, so monitors hear what the witness was shown.
//!
//! # What this crate does not do
//!
//! No bastion, no
//! request authentication beyond the checkpoint's signature (as specified). It does
//! not fetch anything from the log: proofs come with the request. A witness whose
//! database is lost must get a new key, not be restarted empty: it would cosign
//! from size zero again.
#![forbid(unsafe_code)]

pub mod http;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use store::KvStore;
use tlog::checkpoint::Checkpoint;
use tlog::note::{Note, SignerKey, VerifierKey};
use tlog::verify::verify_consistency;

pub use tlog::witness_protocol::AddCheckpoint;

/// Namespace of the latest cosigned checkpoint per origin in the store.
const LATEST: &[u8] = b"witness/latest/";
/// Namespace of requests kept as evidence of log misbehaviour.
const EVIDENCE: &[u8] = b"witness/evidence/";

/// Why a checkpoint was not cosigned; each maps to the status code the
/// specification gives it ([`Error::status`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request does not parse (400).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// "The old size MUST be equal to or lower than the checkpoint size" (400).
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeTooLarge {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// No log with this origin is configured (404).
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// No signature verifies against the log's key (403).
    #[error("no valid signature by the log's key: {0}")]
    NotSigned(String),
    /// The old size is not the size last cosigned (409, body: that size).
    #[error("old size {old} but the last cosigned checkpoint has size {latest}")]
    StaleOldSize {
        /// The request's old size.
        old: u64,
        /// The size of the latest cosigned checkpoint.
        latest: u64,
    },
    /// Same size as the last cosigned checkpoint, another root (409).
    #[error("a different root for size {0} than the one cosigned")]
    DifferentRoot(u64),
    /// The consistency proof does not verify (422).
    #[error("consistency proof rejected: {0}")]
    BadProof(String),
    /// The witness's own storage failed (500); nothing was cosigned.
    #[error("storage: {0}")]
    Store(#[from] store::Error),
    /// The witness could not sign (500): its own fault, not the request's.
    #[error("cosigning: {0}")]
    Cosign(String),
}

impl Error {
    /// The HTTP status code tlog-witness assigns to this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Error::Malformed(_) | Error::OldSizeTooLarge { .. } => 400,
            Error::NotSigned(_) => 403,
            Error::UnknownOrigin(_) => 404,
            Error::StaleOldSize { .. } | Error::DifferentRoot(_) => 409,
            Error::BadProof(_) => 422,
            Error::Store(_) | Error::Cosign(_) => 500,
        }
    }
}

/// The latest checkpoint cosigned for a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// Its body.
    pub checkpoint: Checkpoint,
    /// The note as the log sent it (the log's signature is the evidence).
    pub note: Vec<u8>,
}

/// The witness: its key, the logs it follows, and its state.
pub struct Witness {
    key: SignerKey,
    logs: BTreeMap<String, VerifierKey>,
    store: Arc<dyn KvStore>,
    /// The size check and the store of the new checkpoint happen under this lock:
    /// two requests racing must not roll the recorded size back.
    state: Mutex<()>,
    clock: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl Witness {
    /// A witness signing with `key` (a cosignature/v1 key) for the logs whose
    /// verifier keys are `logs` (each log's origin is its key's name), with state
    /// in `store`.
    pub fn new(key: SignerKey, logs: Vec<VerifierKey>, store: Arc<dyn KvStore>) -> Self {
        Witness {
            key,
            logs: logs
                .into_iter()
                .map(|k| (k.name().as_str().to_string(), k))
                .collect(),
            store,
            state: Mutex::new(()),
            clock: Box::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
        }
    }

    /// Uses `clock` (POSIX seconds) for cosignature timestamps.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The witness's verifier key (what logs and clients configure).
    pub fn verifier(&self) -> VerifierKey {
        self.key.verifier()
    }

    /// The latest checkpoint cosigned for `origin`, with this witness's
    /// cosignature (checkpoints stored before cosignatures were kept have none).
    pub fn latest(&self, origin: &str) -> Result<Option<Cosigned>, Error> {
        let Some(note) = self.store.get(&key(LATEST, origin))? else {
            return Ok(None);
        };
        let checkpoint = Note::parse(&note)
            .and_then(|n| Checkpoint::parse(n.text()))
            .map_err(|e| store::Error::Corrupt(format!("stored checkpoint of {origin}: {e}")))?;
        Ok(Some(Cosigned { checkpoint, note }))
    }

    /// Handles an `add-checkpoint` request body: the cosignature lines to reply
    /// with, or why not. Every step is the specification's, in its order.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<String, Error> {
        let request = AddCheckpoint::parse(body).map_err(|e| Error::Malformed(e.to_string()))?;
        let note = Note::parse(&request.note).map_err(|e| Error::Malformed(e.to_string()))?;
        let checkpoint =
            Checkpoint::parse(note.text()).map_err(|e| Error::Malformed(e.to_string()))?;
        // "If the checkpoint origin is unknown, the witness MUST respond with a
        // 404 Not Found."
        let log_key = self
            .logs
            .get(checkpoint.origin())
            .ok_or_else(|| Error::UnknownOrigin(checkpoint.origin().to_string()))?;
        // "The witness MUST verify the checkpoint signature against the public
        // key(s) it trusts for the checkpoint origin, and it MUST ignore signatures
        // from unknown keys ... If none of the signatures verify ... 403."
        note.verify(std::slice::from_ref(log_key))
            .map_err(|e| Error::NotSigned(e.to_string()))?;
        // "The old size MUST be equal to or lower than the checkpoint size.
        // Otherwise ... 400 Bad Request."
        if request.old_size > checkpoint.size() {
            return Err(Error::OldSizeTooLarge {
                old: request.old_size,
                size: checkpoint.size(),
            });
        }
        let _exclusive = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let latest = self.latest(checkpoint.origin())?;
        let latest_size = latest.as_ref().map_or(0, |c| c.checkpoint.size());
        // "The witness MUST check that the old size matches the size of the latest
        // checkpoint it cosigned for the checkpoint's origin (or zero ...). If it
        // doesn't match ... 409 Conflict."
        if request.old_size != latest_size {
            return Err(Error::StaleOldSize {
                old: request.old_size,
                latest: latest_size,
            });
        }
        // A cosigned empty tree is old size zero too: every tree extends it, and
        // RFC 9162 defines no proof from it.
        match latest.as_ref().filter(|l| l.checkpoint.size() > 0) {
            // "The proof MUST be empty if the old size is zero."
            None if !request.proof.is_empty() => {
                return Err(Error::BadProof(
                    "a proof from size zero must be empty".into(),
                ));
            }
            None => {}
            // "If the old size matches the checkpoint size, the witness MUST check
            // that the root hashes are also identical ... 409 Conflict."
            Some(old)
                if old.checkpoint.size() == checkpoint.size()
                    && old.checkpoint.root() != checkpoint.root() =>
            {
                self.keep_evidence(&checkpoint, body, "a different root for the same size");
                return Err(Error::DifferentRoot(checkpoint.size()));
            }
            Some(old) if old.checkpoint.size() == checkpoint.size() => {}
            // "The consistency proof lines MUST encode a Merkle Consistency Proof
            // from the old size to the checkpoint size ... If [it] doesn't verify
            // ... 422 Unprocessable Entity."
            Some(old) => {
                if let Err(e) = verify_consistency(
                    old.checkpoint.size(),
                    checkpoint.size(),
                    old.checkpoint.root(),
                    checkpoint.root(),
                    &request.proof,
                ) {
                    self.keep_evidence(&checkpoint, body, "the consistency proof failed");
                    return Err(Error::BadProof(e.to_string()));
                }
            }
        }
        // Signed first: a witness that cannot sign must not have moved on.
        let line = tlog::cosignature::cosign(&self.key, note.text(), (self.clock)())
            .map_err(|e| Error::Cosign(e.to_string()))?;
        // "The witness MUST persist the new checkpoint before responding." Kept
        // with the witness's own cosignature, so that monitors reading it back
        // (`GET /checkpoint`) hold what the witness vouched for.
        let mut cosigned = note.clone();
        cosigned
            .push_signature(line.clone())
            .map_err(|e| Error::Cosign(e.to_string()))?;
        self.store.put_all(&[(
            &key(LATEST, checkpoint.origin()),
            cosigned.to_string().as_bytes(),
        )])?;
        Ok(line.to_line())
    }

    /// "The witness MAY log the request even if the consistency proof doesn't
    /// verify ... as it might be proof of log misbehavior": the log signed it, so
    /// it is evidence. Only signed requests get here, so nobody else can fill the
    /// store.
    fn keep_evidence(&self, checkpoint: &Checkpoint, body: &[u8], why: &str) {
        tracing::warn!(
            origin = checkpoint.origin(),
            size = checkpoint.size(),
            reason = why,
            "a checkpoint signed by the log was refused: kept as evidence"
        );
        let at = (self.clock)();
        let mut k = key(EVIDENCE, checkpoint.origin());
        k.push(0);
        k.extend_from_slice(&at.to_be_bytes());
        k.extend_from_slice(&checkpoint.size().to_be_bytes());
        if let Err(e) = self.store.put_all(&[(&k, body)]) {
            tracing::error!(error = %e, "could not store the evidence");
        }
    }

    /// Requests kept as evidence for `origin`, oldest first (at most
    /// [`store::MAX_SCAN`]).
    pub fn evidence(&self, origin: &str) -> Result<Vec<Vec<u8>>, Error> {
        let mut prefix = key(EVIDENCE, origin);
        prefix.push(0);
        Ok(self
            .store
            .scan(&prefix, None, store::MAX_SCAN)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }
}

fn key(namespace: &[u8], origin: &str) -> Vec<u8> {
    let mut k = namespace.to_vec();
    k.extend_from_slice(origin.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tlog::note::{KeyName, SignatureType};
    use tlog::{Checkpoint, MemoryHashStore};

    fn key(name: &str, t: SignatureType) -> SignerKey {
        SignerKey::generate(KeyName::new(name).unwrap(), t, &mut rand_core::OsRng)
    }

    fn request(log: &SignerKey, tree: &MemoryHashStore, old: u64) -> Vec<u8> {
        let note = Checkpoint::new(log.public().name().as_str(), tree.size(), tree.root())
            .unwrap()
            .sign(log)
            .unwrap()
            .to_string();
        AddCheckpoint {
            old_size: old,
            proof: Vec::new(),
            note: note.into_bytes(),
        }
        .to_body()
    }

    /// Found by the server's cosigner: a witness that had cosigned a log's empty
    /// checkpoint answered its first real one, sent from old size zero, with 422
    /// ("consistency with the empty tree proves nothing"), so a new witnessed log
    /// never got past its first push.
    #[test]
    fn regression_a_witness_that_cosigned_the_empty_tree_takes_its_extension_from_zero() {
        let log = key("example.com/log", SignatureType::Ed25519);
        let w = Witness::new(
            key("example.com/w", SignatureType::CosignatureV1),
            vec![log.verifier()],
            Arc::new(store::memory::MemoryKv::default()),
        );
        let mut tree = MemoryHashStore::new();
        w.add_checkpoint(&request(&log, &tree, 0)).unwrap();
        tree.append_leaf(b"first");
        w.add_checkpoint(&request(&log, &tree, 0)).unwrap();
        // Now at size 1: old size zero is stale.
        tree.append_leaf(b"second");
        assert!(matches!(
            w.add_checkpoint(&request(&log, &tree, 0)),
            Err(Error::StaleOldSize { latest: 1, .. })
        ));
    }

    /// A witness that cannot sign (here: a clock beyond what a cosignature can
    /// carry) answers 500, its own fault, and stores nothing: the same request
    /// succeeds once it can sign again.
    #[test]
    fn a_witness_that_cannot_sign_answers_500_and_does_not_move_on() {
        let log = key("example.com/log", SignatureType::Ed25519);
        let kv: Arc<dyn KvStore> = Arc::new(store::memory::MemoryKv::default());
        let witness_key = key("example.com/w", SignatureType::CosignatureV1);
        let skey = witness_key.to_skey_string();
        let broken =
            Witness::new(witness_key, vec![log.verifier()], kv.clone()).with_clock(|| u64::MAX);
        let mut tree = MemoryHashStore::new();
        tree.append_leaf(b"first");
        let err = broken.add_checkpoint(&request(&log, &tree, 0)).unwrap_err();
        assert_eq!(err.status(), 500, "{err}");
        let fixed = Witness::new(SignerKey::parse(&skey).unwrap(), vec![log.verifier()], kv);
        fixed.add_checkpoint(&request(&log, &tree, 0)).unwrap();
    }
}
