//! What the client believes about the log, and the checks that move that belief
//! forward. Pure: handed bytes, no I/O.
//!
//! The client pins the log's verifier key. It accepts a metadata file only with a
//! proof bundle whose entry is the one the file's own bytes produce, whose checkpoint
//! is signed by the pinned key (and cosigned by enough witnesses when a policy is
//! set), which is consistent with the last checkpoint the client trusted, and which
//! includes the entry. A server that shows this client a version it hides from
//! everyone else must either log it (and monitors see it) or fork the log (and the
//! consistency check or gossip catches it).

use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use tlog::checkpoint::{Checkpoint, VerifiedCheckpoint};
use tlog::hash::{leaf_hash, Hash};
use tlog::note::VerifierKey;
use tuf::logentry::LogEntry;

/// Most hashes in one inclusion or consistency proof: 2·64 covers any tree size a
/// u64 can count, so a longer list is malformed, not big.
pub const MAX_PROOF_HASHES: usize = 128;

/// A k-of-n witness cosignature policy: the one rule clients and monitors apply
/// to a checkpoint's cosignatures ([`WitnessPolicy::cosigners`]).
#[derive(Clone, Debug)]
pub struct WitnessPolicy {
    /// The witnesses' verifier keys (C2SP cosignature/v1).
    pub witnesses: Vec<VerifierKey>,
    /// How many distinct witness keys must have cosigned a checkpoint.
    pub threshold: usize,
    /// Cosignatures whose timestamp is older than this do not count.
    pub max_cosignature_age: Option<std::time::Duration>,
}

impl WitnessPolicy {
    /// `threshold` of `witnesses`, cosignatures of any age.
    pub fn new(witnesses: Vec<VerifierKey>, threshold: usize) -> Self {
        WitnessPolicy {
            witnesses,
            threshold,
            max_cosignature_age: None,
        }
    }

    /// Refuses a policy that cannot mean what it says for the log `log_key`: a
    /// threshold of zero, or above the number of distinct witness keys, or a
    /// witness key that is the log's own key (its holder could cosign for it).
    pub fn check(&self, log_key: &VerifierKey) -> std::result::Result<(), String> {
        if self.witnesses.iter().any(|w| same_key(w, log_key)) {
            return Err(format!(
                "a witness key is the log's own key {log_key}: the log could cosign its own checkpoints"
            ));
        }
        let distinct = distinct_keys(self.witnesses.iter());
        if self.threshold == 0 || self.threshold > distinct {
            return Err(format!(
                "a threshold of {} with {distinct} distinct witness keys",
                self.threshold
            ));
        }
        Ok(())
    }

    /// How many distinct witness keys cosigned `verified` (opened with this
    /// policy's witnesses) no longer than `max_cosignature_age` before `now`
    /// (seconds since the Unix epoch; `None` does not check ages). One key named
    /// twice counts once.
    pub fn cosigners(&self, verified: &VerifiedCheckpoint, now: Option<u64>) -> usize {
        let fresh = |timestamp: Option<u64>| match (self.max_cosignature_age, now) {
            (Some(age), Some(now)) => {
                timestamp.is_some_and(|t| t.saturating_add(age.as_secs()) >= now)
            }
            _ => true,
        };
        distinct_keys(
            verified
                .cosignatures()
                .iter()
                .filter(|c| fresh(c.timestamp))
                .map(|c| &c.key),
        )
    }
}

/// Whether two verifier keys hold the same public key, whatever their names.
fn same_key(a: &VerifierKey, b: &VerifierKey) -> bool {
    a.public_key().as_bytes() == b.public_key().as_bytes()
}

fn distinct_keys<'a>(keys: impl Iterator<Item = &'a VerifierKey>) -> usize {
    let mut seen: Vec<[u8; 32]> = Vec::new();
    for k in keys {
        let bytes = *k.public_key().as_bytes();
        if !seen.contains(&bytes) {
            seen.push(bytes);
        }
    }
    seen.len()
}

/// The proof bundle served at `/repos/{repo}/proof/{n}.{role}.json?from=M`.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct ProofBundle {
    /// The log entry, base64.
    pub entry: String,
    /// Its index in the log.
    pub index: u64,
    /// The signed checkpoint note, cosignatures included.
    pub checkpoint: String,
    /// The inclusion path, base64 hashes.
    pub inclusion: Vec<String>,
    /// The consistency path from `from`, base64 hashes, when `from` was given.
    #[serde(default)]
    pub consistency: Option<Vec<String>>,
}

/// The client's view of one log: the pinned key, the witness policy, and the
/// latest checkpoint it verified.
#[derive(Clone, Debug)]
pub struct LogTrust {
    log_key: VerifierKey,
    policy: Option<WitnessPolicy>,
    trusted: Option<Trusted>,
    /// Seconds since the Unix epoch, for cosignature ages; `None` checks none.
    now: Option<u64>,
}

/// A metadata file as downloaded, to be matched with its log entry.
#[derive(Clone, Copy, Debug)]
pub struct Downloaded<'a> {
    /// The repository it was downloaded from.
    pub repo: &'a str,
    /// The role the TUF workflow accepted it as.
    pub role: &'a str,
    /// The version the TUF workflow accepted it as.
    pub version: u64,
    /// The exact bytes downloaded.
    pub bytes: &'a [u8],
    /// The file name, for errors.
    pub file: &'a str,
}

#[derive(Clone, Debug)]
struct Trusted {
    checkpoint: Checkpoint,
    note: String,
}

/// A short, stable description of a checkpoint for error messages.
pub fn describe(c: &Checkpoint) -> String {
    format!(
        "{} size {} root {}",
        c.origin(),
        c.size(),
        c.root().to_base64()
    )
}

fn hashes(list: &[String], what: &str) -> Result<Vec<Hash>> {
    if list.len() > MAX_PROOF_HASHES {
        return Err(Error::malformed(
            what,
            format!("{} hashes (at most {MAX_PROOF_HASHES})", list.len()),
        ));
    }
    list.iter()
        .map(|h| Hash::from_base64(h).map_err(|e| Error::malformed(what, e)))
        .collect()
}

impl LogTrust {
    /// A view with nothing trusted yet beyond the pinned key.
    pub fn new(log_key: VerifierKey, policy: Option<WitnessPolicy>) -> Self {
        LogTrust {
            log_key,
            policy,
            trusted: None,
            now: None,
        }
    }

    /// Judges cosignature ages (the policy's `max_cosignature_age`) as of `now`,
    /// seconds since the Unix epoch.
    pub fn at(mut self, now: u64) -> Self {
        self.now = Some(now);
        self
    }

    /// Restores the checkpoint trusted in an earlier run. It must still verify under
    /// the pinned key and meet the witness policy (a changed pin or policy does not
    /// inherit old trust); its cosignatures' ages are not judged again.
    pub fn restore(&mut self, note: &str) -> Result<()> {
        let verified = self.open_at(note, "trusted checkpoint", None)?;
        self.trusted = Some(Trusted {
            checkpoint: verified.into_checkpoint(),
            note: note.to_string(),
        });
        Ok(())
    }

    /// The latest trusted checkpoint, if any.
    pub fn trusted(&self) -> Option<&Checkpoint> {
        self.trusted.as_ref().map(|t| &t.checkpoint)
    }

    /// The latest trusted checkpoint's note, to persist.
    pub fn trusted_note(&self) -> Option<&str> {
        self.trusted.as_ref().map(|t| t.note.as_str())
    }

    /// The tree size consistency proofs must start from (0: nothing trusted yet).
    pub fn trusted_size(&self) -> u64 {
        self.trusted().map_or(0, Checkpoint::size)
    }

    /// The pinned key.
    pub fn log_key(&self) -> &VerifierKey {
        &self.log_key
    }

    /// Verifies the note's log signature and the witness policy.
    fn open(&self, note: &str, file: &str) -> Result<VerifiedCheckpoint> {
        self.open_at(note, file, self.now)
    }

    fn open_at(&self, note: &str, file: &str, now: Option<u64>) -> Result<VerifiedCheckpoint> {
        let witnesses = self.policy.as_ref().map_or(&[][..], |p| &p.witnesses);
        let verified =
            tlog::checkpoint::open(note.as_bytes(), &self.log_key, witnesses).map_err(|e| {
                Error::Log {
                    file: file.into(),
                    checkpoint: note.lines().take(2).collect::<Vec<_>>().join(" size "),
                    detail: format!(
                        "checkpoint not signed by the pinned log key {}: {e}",
                        self.log_key
                    ),
                }
            })?;
        if let Some(policy) = &self.policy {
            let fail = |detail: String| Error::Log {
                file: file.into(),
                checkpoint: describe(verified.checkpoint()),
                detail,
            };
            policy
                .check(&self.log_key)
                .map_err(|e| fail(format!("unusable witness policy: {e}")))?;
            let cosigned = policy.cosigners(&verified, now);
            if cosigned < policy.threshold {
                return Err(fail(format!(
                    "witness policy not met: {cosigned} of the required {} cosignatures",
                    policy.threshold
                )));
            }
        }
        Ok(verified)
    }

    /// Verifies a checkpoint served on its own, with the consistency proof from the
    /// trusted size, and returns it. Trust moves only through [`LogTrust::advance`].
    pub fn check_checkpoint(&self, note: &str, consistency: &[String]) -> Result<Checkpoint> {
        let verified = self.open(note, "checkpoint")?;
        self.check_consistency(verified.checkpoint(), consistency, "checkpoint")?;
        Ok(verified.into_checkpoint())
    }

    fn check_consistency(&self, new: &Checkpoint, proof: &[String], file: &str) -> Result<()> {
        let Some(old) = self.trusted().filter(|c| c.size() > 0) else {
            // First use, or only the empty log seen: nothing earlier to be consistent
            // with (every tree extends the empty one; RFC 9162 defines no proof).
            return Ok(());
        };
        let fail = |detail: String| Error::Log {
            file: file.into(),
            checkpoint: describe(new),
            detail,
        };
        if new.size() < old.size() {
            return Err(fail(format!(
                "the log went back: this client already trusts size {}",
                old.size()
            )));
        }
        let proof = hashes(proof, file)?;
        // RFC 9162 §2.1.4.2: the new tree must extend the old one exactly.
        tlog::verify::verify_consistency(old.size(), new.size(), old.root(), new.root(), &proof)
            .map_err(|e| {
                fail(format!(
                    "not consistent with the trusted checkpoint ({}): {e}",
                    describe(old)
                ))
            })
    }

    /// Checks that `newer` extends `older` (both already verified by this view),
    /// by `proof`: two checkpoints seen in one update must be of one log.
    pub fn check_between(
        &self,
        older: &Checkpoint,
        newer: &Checkpoint,
        proof: &[String],
        file: &str,
    ) -> Result<()> {
        let proof = hashes(proof, file)?;
        // RFC 9162 §2.1.4.2, between two checkpoints of the same update.
        tlog::verify::verify_consistency(
            older.size(),
            newer.size(),
            older.root(),
            newer.root(),
            &proof,
        )
        .map_err(|e| Error::Log {
            file: file.into(),
            checkpoint: describe(older),
            detail: format!(
                "not consistent with {} from the same update: {e}",
                describe(newer)
            ),
        })
    }

    /// Checks that `bytes`, downloaded as `role` version `version` of `repo`, is in
    /// the log: the bundle's entry must be the entry these bytes produce, its
    /// checkpoint signed (and cosigned per policy) and consistent with the trusted
    /// one, and its inclusion proof valid. Returns the bundle's checkpoint.
    pub fn check_bundle(
        &self,
        bundle: &ProofBundle,
        repo: &str,
        role: &str,
        version: u64,
        bytes: &[u8],
        file: &str,
    ) -> Result<(Checkpoint, String)> {
        let checkpoint = self.open(&bundle.checkpoint, file)?.into_checkpoint();
        let downloaded = Downloaded {
            repo,
            role,
            version,
            bytes,
            file,
        };
        self.check_bundle_under(bundle, &checkpoint, &downloaded)?;
        Ok((checkpoint, bundle.checkpoint.clone()))
    }

    /// Verifies a checkpoint note's signatures and the witness policy, as a
    /// bundle's checkpoint is verified, and returns its body: several bundles of one
    /// update usually come with one note, which then needs checking once (see
    /// [`LogTrust::check_bundle_under`]).
    pub fn open_checkpoint(&self, note: &str, file: &str) -> Result<Checkpoint> {
        Ok(self.open(note, file)?.into_checkpoint())
    }

    /// [`LogTrust::check_bundle`] for a bundle whose note `checkpoint` was opened by
    /// [`LogTrust::open_checkpoint`] from exactly `bundle.checkpoint`.
    pub fn check_bundle_under(
        &self,
        bundle: &ProofBundle,
        checkpoint: &Checkpoint,
        downloaded: &Downloaded<'_>,
    ) -> Result<()> {
        let Downloaded {
            repo,
            role,
            version,
            bytes,
            file,
        } = *downloaded;
        let fail = |detail: String| Error::Log {
            file: file.into(),
            checkpoint: describe(checkpoint),
            detail,
        };
        // The entry is recomputed from the bytes received: the server's copy of the
        // entry is compared, never trusted.
        let expected = LogEntry::new(repo, role, version, bytes)
            .to_bytes()
            .map_err(|e| fail(format!("cannot describe the file as a log entry: {e}")))?;
        let served = B64
            .decode(&bundle.entry)
            .map_err(|e| Error::malformed(format!("{file} proof bundle entry"), e))?;
        if served != expected {
            return Err(fail(
                "the log entry does not describe these bytes (another version or other content)"
                    .into(),
            ));
        }
        match &bundle.consistency {
            Some(proof) => self.check_consistency(checkpoint, proof, file)?,
            None if self.trusted_size() > 0 => {
                return Err(fail("the bundle has no consistency proof".into()))
            }
            None => {}
        }
        let inclusion = hashes(&bundle.inclusion, file)?;
        // RFC 9162 §2.1.3.2: the audit path must lead from this leaf to the root.
        tlog::verify::verify_inclusion(
            &leaf_hash(&expected),
            bundle.index,
            checkpoint.size(),
            &inclusion,
            checkpoint.root(),
        )
        .map_err(|e| fail(format!("entry {} is not included: {e}", bundle.index)))
    }

    /// Trusts `checkpoint` (already checked by this view) from now on, if it is
    /// newer than the trusted one.
    pub fn advance(&mut self, checkpoint: Checkpoint, note: String) {
        if checkpoint.size() > self.trusted_size() || self.trusted.is_none() {
            self.trusted = Some(Trusted { checkpoint, note });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlog::memory::MemoryHashStore;
    use tlog::note::{KeyName, SignatureType, SignerKey};

    const ORIGIN: &str = "example.com/log";

    fn log_key(seed: u8) -> SignerKey {
        SignerKey::from_seed(
            KeyName::new(ORIGIN).unwrap(),
            SignatureType::Ed25519,
            &[seed; 32],
        )
    }

    /// A log of `n` entries, the first of which describes `doc` as targets v1 of
    /// `example.com/app`.
    struct TestLog {
        store: MemoryHashStore,
        key: SignerKey,
        entry: Vec<u8>,
    }

    impl TestLog {
        fn new(doc: &[u8], n: u64) -> Self {
            let entry = LogEntry::new("example.com/app", "targets", 1, doc)
                .to_bytes()
                .unwrap();
            let mut store = MemoryHashStore::new();
            store.append_leaf(&entry);
            for i in 1..n {
                store.append_leaf(format!("other {i}").as_bytes());
            }
            TestLog {
                store,
                key: log_key(1),
                entry,
            }
        }

        fn note(&self) -> String {
            let cp = Checkpoint::new(ORIGIN, self.store.size(), self.store.root()).unwrap();
            cp.sign(&self.key).unwrap().to_string()
        }

        fn bundle(&self, from: Option<u64>) -> ProofBundle {
            let size = self.store.size();
            let inclusion = tlog::tree::inclusion_proof(0, size, &self.store).unwrap();
            let consistency = from.map(|m| {
                if m == size {
                    Vec::new()
                } else {
                    tlog::tree::consistency_proof(m, size, &self.store).unwrap()
                }
            });
            let b64 = |v: Vec<Hash>| v.iter().map(Hash::to_base64).collect();
            ProofBundle {
                entry: B64.encode(&self.entry),
                index: 0,
                checkpoint: self.note(),
                inclusion: b64(inclusion),
                consistency: consistency.map(b64),
            }
        }
    }

    fn trust() -> LogTrust {
        LogTrust::new(log_key(1).verifier(), None)
    }

    #[test]
    fn a_bundle_for_the_downloaded_bytes_is_accepted_and_trust_advances() {
        let log = TestLog::new(b"doc", 5);
        let mut t = trust();
        let (cp, note) = t
            .check_bundle(
                &log.bundle(None),
                "example.com/app",
                "targets",
                1,
                b"doc",
                "1.targets.json",
            )
            .unwrap();
        t.advance(cp, note);
        assert_eq!(t.trusted_size(), 5);
        let mut grown = log;
        for i in 0..7 {
            grown.store.append_leaf(format!("later {i}").as_bytes());
        }
        let (cp, _) = t
            .check_bundle(
                &grown.bundle(Some(5)),
                "example.com/app",
                "targets",
                1,
                b"doc",
                "f",
            )
            .unwrap();
        assert_eq!(cp.size(), 12);
    }

    #[test]
    fn a_bundle_for_other_bytes_or_another_version_is_refused() {
        let log = TestLog::new(b"doc", 3);
        let t = trust();
        let b = log.bundle(None);
        for (role, version, bytes) in [
            ("targets", 1, &b"other doc"[..]),
            ("targets", 2, &b"doc"[..]),
            ("snapshot", 1, &b"doc"[..]),
        ] {
            let err = t
                .check_bundle(&b, "example.com/app", role, version, bytes, "x.json")
                .unwrap_err();
            assert!(
                err.to_string().contains("does not describe these bytes"),
                "{err}"
            );
        }
        let err = t
            .check_bundle(&b, "example.com/other", "targets", 1, b"doc", "x.json")
            .unwrap_err();
        assert!(err.to_string().contains("does not describe"), "{err}");
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_is_refused() {
        let log = TestLog::new(b"doc", 3);
        let t = LogTrust::new(log_key(2).verifier(), None);
        let err = t
            .check_bundle(
                &log.bundle(None),
                "example.com/app",
                "targets",
                1,
                b"doc",
                "1.targets.json",
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("not signed by the pinned log key"),
            "{err}"
        );
    }

    #[test]
    fn every_corruption_of_the_proofs_is_refused() {
        let log = TestLog::new(b"doc", 13);
        let mut t = trust();
        let early = TestLog::new(b"doc", 6);
        t.advance(
            Checkpoint::new(ORIGIN, 6, early.store.root()).unwrap(),
            early.note(),
        );
        let good = log.bundle(Some(6));
        t.check_bundle(&good, "example.com/app", "targets", 1, b"doc", "f")
            .unwrap();
        let flip = |h: &String| {
            let mut raw = B64.decode(h).unwrap();
            raw[0] ^= 1;
            B64.encode(raw)
        };
        let mut corrupted = Vec::new();
        for i in 0..good.inclusion.len() {
            let mut b = good.clone();
            b.inclusion[i] = flip(&b.inclusion[i]);
            corrupted.push(b);
            let mut b = good.clone();
            b.inclusion.remove(i);
            corrupted.push(b);
        }
        let consistency = good.consistency.clone().unwrap();
        for i in 0..consistency.len() {
            let mut b = good.clone();
            let mut c = consistency.clone();
            c[i] = flip(&c[i]);
            b.consistency = Some(c);
            corrupted.push(b);
            let mut b = good.clone();
            let mut c = consistency.clone();
            c.remove(i);
            b.consistency = Some(c);
            corrupted.push(b);
        }
        let mut b = good.clone();
        b.inclusion.push(good.inclusion[0].clone());
        corrupted.push(b);
        let mut b = good.clone();
        b.index = 1;
        corrupted.push(b);
        let mut b = good.clone();
        b.consistency = None;
        corrupted.push(b);
        let mut b = good.clone();
        b.checkpoint = b.checkpoint.replacen("13\n", "14\n", 1);
        corrupted.push(b);
        assert!(corrupted.len() > 10);
        for (i, b) in corrupted.iter().enumerate() {
            assert!(
                t.check_bundle(b, "example.com/app", "targets", 1, b"doc", "f")
                    .is_err(),
                "corruption {i} accepted"
            );
        }
    }

    #[test]
    fn a_fork_or_a_shorter_log_is_refused_against_the_trusted_checkpoint() {
        let honest = TestLog::new(b"doc", 8);
        let mut t = trust();
        t.advance(
            Checkpoint::new(ORIGIN, 8, honest.store.root()).unwrap(),
            honest.note(),
        );
        // The same first entry, then a different history: a fork.
        let mut fork = TestLog::new(b"doc", 1);
        for i in 0..10 {
            fork.store.append_leaf(format!("forked {i}").as_bytes());
        }
        // A consistency proof of the fork's own history cannot link it to ours.
        let mut b = fork.bundle(None);
        b.consistency = Some(
            tlog::tree::consistency_proof(8, 11, &fork.store)
                .unwrap()
                .iter()
                .map(Hash::to_base64)
                .collect(),
        );
        let err = t
            .check_bundle(
                &b,
                "example.com/app",
                "targets",
                1,
                b"doc",
                "1.targets.json",
            )
            .unwrap_err();
        assert!(err.to_string().contains("not consistent"), "{err}");
        let short = TestLog::new(b"doc", 4);
        let err = t
            .check_bundle(
                &short.bundle(Some(4)),
                "example.com/app",
                "targets",
                1,
                b"doc",
                "f",
            )
            .unwrap_err();
        assert!(err.to_string().contains("went back"), "{err}");
    }

    /// Regression: a client that had trusted the checkpoint of an empty log (a new
    /// server) refused every later checkpoint: "consistency with the empty tree
    /// proves nothing", and bundles served without a proof from size 0.
    #[test]
    fn regression_a_trusted_empty_log_does_not_block_later_checkpoints() {
        let key = log_key(1);
        let empty = Checkpoint::new(ORIGIN, 0, tlog::EMPTY_ROOT).unwrap();
        let mut t = trust();
        let note = empty.sign(&key).unwrap().to_string();
        let again = t.check_checkpoint(&note, &[]).unwrap();
        t.advance(again, note.clone());
        assert!(
            t.check_checkpoint(&note, &[]).is_ok(),
            "the same empty checkpoint"
        );
        let log = TestLog::new(b"doc", 4);
        assert!(t.check_checkpoint(&log.note(), &[]).is_ok());
        t.check_bundle(
            &log.bundle(None),
            "example.com/app",
            "targets",
            1,
            b"doc",
            "f",
        )
        .unwrap();
    }

    #[test]
    fn two_checkpoints_of_one_update_must_be_of_one_log() {
        let mut log = TestLog::new(b"doc", 5);
        let older = Checkpoint::new(ORIGIN, 5, log.store.root()).unwrap();
        for i in 0..4 {
            log.store.append_leaf(format!("more {i}").as_bytes());
        }
        let newer = Checkpoint::new(ORIGIN, 9, log.store.root()).unwrap();
        let proof: Vec<String> = tlog::tree::consistency_proof(5, 9, &log.store)
            .unwrap()
            .iter()
            .map(Hash::to_base64)
            .collect();
        let t = trust();
        t.check_between(&older, &newer, &proof, "f").unwrap();
        let mut fork = TestLog::new(b"doc", 5);
        for i in 0..4 {
            fork.store.append_leaf(format!("forked {i}").as_bytes());
        }
        let forked = Checkpoint::new(ORIGIN, 9, fork.store.root()).unwrap();
        let err = t.check_between(&older, &forked, &proof, "f").unwrap_err();
        assert!(err.to_string().contains("from the same update"), "{err}");
    }

    #[test]
    fn a_witness_policy_needs_enough_distinct_cosignatures() {
        let log = TestLog::new(b"doc", 3);
        let witnesses: Vec<SignerKey> = (0..3)
            .map(|i| {
                SignerKey::from_seed(
                    KeyName::new(format!("witness-{i}.example")).unwrap(),
                    SignatureType::CosignatureV1,
                    &[10 + i; 32],
                )
            })
            .collect();
        let policy = WitnessPolicy::new(witnesses.iter().map(SignerKey::verifier).collect(), 2);
        let t = LogTrust::new(log_key(1).verifier(), Some(policy));
        let cp = Checkpoint::new(ORIGIN, log.store.size(), log.store.root()).unwrap();
        let body = cp.to_text();
        let cosigned = |by: &[usize]| {
            let mut note = cp.sign(&log.key).unwrap();
            for &w in by {
                note.push_signature(
                    tlog::cosignature::cosign(&witnesses[w], &body, 1_700_000_000).unwrap(),
                )
                .unwrap();
            }
            let mut b = log.bundle(None);
            b.checkpoint = note.to_string();
            b
        };
        let check =
            |b: &ProofBundle| t.check_bundle(b, "example.com/app", "targets", 1, b"doc", "f");
        assert!(check(&cosigned(&[0, 2])).is_ok());
        for short in [&[][..], &[1][..]] {
            let err = check(&cosigned(short)).unwrap_err();
            assert!(err.to_string().contains("witness policy not met"), "{err}");
        }
    }

    /// The witness policy counts keys, not names: a compromised witness listed
    /// twice under two names, or the log key listed as a witness, must not let
    /// one key holder meet a threshold of two alone. Old cosignatures do not
    /// count once a maximum age is set.
    #[test]
    fn one_key_under_two_names_counts_once_and_the_log_key_is_no_witness() {
        let log = TestLog::new(b"doc", 3);
        let cp = Checkpoint::new(ORIGIN, log.store.size(), log.store.root()).unwrap();
        let body = cp.to_text();
        let witness = |name: &str, seed: u8| {
            SignerKey::from_seed(
                KeyName::new(name).unwrap(),
                SignatureType::CosignatureV1,
                &[seed; 32],
            )
        };
        let bundle_by = |keys: &[(&SignerKey, u64)]| {
            let mut note = cp.sign(&log.key).unwrap();
            for (k, at) in keys {
                note.push_signature(tlog::cosignature::cosign(k, &body, *at).unwrap())
                    .unwrap();
            }
            let mut b = log.bundle(None);
            b.checkpoint = note.to_string();
            b
        };
        let check = |t: &LogTrust, b: &ProofBundle| {
            t.check_bundle(b, "example.com/app", "targets", 1, b"doc", "f")
                .map(|_| ())
        };

        // One key under two names: two cosignature lines, one cosigner.
        let (a, a_again) = (witness("a.example", 20), witness("a-again.example", 20));
        let other = witness("b.example", 21);
        let policy =
            WitnessPolicy::new(vec![a.verifier(), a_again.verifier(), other.verifier()], 2);
        let t = LogTrust::new(log_key(1).verifier(), Some(policy));
        let err = check(&t, &bundle_by(&[(&a, 1), (&a_again, 1)])).unwrap_err();
        assert!(err.to_string().contains("1 of the required 2"), "{err}");
        check(&t, &bundle_by(&[(&a, 1), (&other, 1)])).unwrap();
        // A threshold above the distinct keys can never be met honestly.
        let policy = WitnessPolicy::new(vec![a.verifier(), a_again.verifier()], 2);
        assert!(policy.check(&log_key(1).verifier()).is_err());

        // The log key, as a cosignature key of the same material.
        let log_as_witness = SignerKey::from_seed(
            KeyName::new(ORIGIN).unwrap(),
            SignatureType::CosignatureV1,
            &[1; 32],
        );
        let policy = WitnessPolicy::new(vec![log_as_witness.verifier(), other.verifier()], 1);
        let t = LogTrust::new(log_key(1).verifier(), Some(policy));
        let err = check(&t, &bundle_by(&[(&log_as_witness, 1)])).unwrap_err();
        assert!(err.to_string().contains("the log's own key"), "{err}");

        // A maximum age: a cosignature made an hour ago is too old for 10 minutes.
        let now = 1_800_000_000;
        let policy = WitnessPolicy {
            max_cosignature_age: Some(std::time::Duration::from_secs(600)),
            ..WitnessPolicy::new(vec![other.verifier()], 1)
        };
        let t = LogTrust::new(log_key(1).verifier(), Some(policy)).at(now);
        let err = check(&t, &bundle_by(&[(&other, now - 3600)])).unwrap_err();
        assert!(err.to_string().contains("0 of the required 1"), "{err}");
        check(&t, &bundle_by(&[(&other, now - 60)])).unwrap();
    }
}
