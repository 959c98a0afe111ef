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
use tlog::checkpoint::Checkpoint;
use tlog::hash::{leaf_hash, Hash};
use tlog::note::VerifierKey;
pub use tlog::witness_policy::WitnessPolicy;
use tuf::logentry::LogEntry;

pub use wire::ProofBundle;

/// The client's view of one log: the pinned key, the witness policy, and the
/// latest checkpoint it verified.
#[derive(Clone, Debug)]
pub struct LogTrust {
    log_key: VerifierKey,
    policy: Option<WitnessPolicy>,
    trusted: Option<OpenedCheckpoint>,
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

/// A checkpoint a [`LogTrust`] opened: signed by its pinned log key and meeting its
/// witness policy, with the note it was read from. Only a `LogTrust` makes one, and
/// only one opened under the same key moves its trust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    checkpoint: Checkpoint,
    note: String,
    log_key: VerifierKey,
}

impl OpenedCheckpoint {
    /// The checkpoint body.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The note it was read from, cosignatures included: what to persist.
    pub fn note(&self) -> &str {
        &self.note
    }
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
    wire::hashes::decode("proof", list).map_err(|e| Error::malformed(what, e))
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
        self.trusted = Some(self.open_at(note, "trusted checkpoint", None)?);
        Ok(())
    }

    /// The latest trusted checkpoint, if any.
    pub fn trusted(&self) -> Option<&Checkpoint> {
        self.trusted.as_ref().map(OpenedCheckpoint::checkpoint)
    }

    /// The latest trusted checkpoint's note, to persist.
    pub fn trusted_note(&self) -> Option<&str> {
        self.trusted.as_ref().map(OpenedCheckpoint::note)
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
    fn open(&self, note: &str, file: &str) -> Result<OpenedCheckpoint> {
        self.open_at(note, file, self.now)
    }

    fn open_at(&self, note: &str, file: &str, now: Option<u64>) -> Result<OpenedCheckpoint> {
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
                .map_err(|e| fail(e.to_string()))?;
            let cosigned = policy.cosigners(&verified, now);
            if cosigned < policy.threshold {
                return Err(fail(format!(
                    "witness policy not met: {cosigned} of the required {} cosignatures",
                    policy.threshold
                )));
            }
        }
        Ok(OpenedCheckpoint {
            checkpoint: verified.into_checkpoint(),
            note: note.to_string(),
            log_key: self.log_key.clone(),
        })
    }

    /// Verifies a checkpoint served on its own, with the consistency proof from the
    /// trusted size, and returns it. Trust moves only through [`LogTrust::advance`].
    pub fn check_checkpoint(&self, note: &str, consistency: &[String]) -> Result<OpenedCheckpoint> {
        let opened = self.open(note, "checkpoint")?;
        self.check_consistency(opened.checkpoint(), consistency, "checkpoint")?;
        Ok(opened)
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

    /// Checks that `newer` extends `older` by `proof`: two checkpoints seen in one
    /// update must be of one log.
    pub fn check_between(
        &self,
        older: &OpenedCheckpoint,
        newer: &OpenedCheckpoint,
        proof: &[String],
        file: &str,
    ) -> Result<()> {
        let (older, newer) = (older.checkpoint(), newer.checkpoint());
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
    ) -> Result<OpenedCheckpoint> {
        let checkpoint = self.open(&bundle.checkpoint, file)?;
        let downloaded = Downloaded {
            repo,
            role,
            version,
            bytes,
            file,
        };
        self.check_bundle_under(bundle, &checkpoint, &downloaded)?;
        Ok(checkpoint)
    }

    /// Verifies a checkpoint note's signatures and the witness policy, as a
    /// bundle's checkpoint is verified, and returns its body: several bundles of one
    /// update usually come with one note, which then needs checking once (see
    /// [`LogTrust::check_bundle_under`]).
    pub fn open_checkpoint(&self, note: &str, file: &str) -> Result<OpenedCheckpoint> {
        self.open(note, file)
    }

    /// [`LogTrust::check_bundle`] for a bundle whose note was opened already, as
    /// `opened`: it must be that very note.
    pub fn check_bundle_under(
        &self,
        bundle: &ProofBundle,
        opened: &OpenedCheckpoint,
        downloaded: &Downloaded<'_>,
    ) -> Result<()> {
        let checkpoint = opened.checkpoint();
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
        if opened.note != bundle.checkpoint || opened.log_key != self.log_key {
            return Err(fail("the bundle's checkpoint is not the one opened".into()));
        }
        // The entry is recomputed from the bytes received: the server's copy of the
        // entry is compared, never trusted.
        let expected = LogEntry::new(repo, role, version, bytes)
            .to_bytes()
            .map_err(|e| fail(format!("cannot describe the file as a log entry: {e}")))?;
        let served = bundle
            .entry_bytes()
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

    /// Trusts `opened` from now on, if it is newer than the trusted one. Its proofs
    /// are the caller's to have checked ([`LogTrust::check_bundle`],
    /// [`LogTrust::check_checkpoint`]); one opened under another key is refused.
    pub fn advance(&mut self, opened: OpenedCheckpoint) -> Result<()> {
        if opened.log_key != self.log_key {
            return Err(Error::Log {
                file: "checkpoint".into(),
                checkpoint: describe(opened.checkpoint()),
                detail: format!("opened under another log key than {}", self.log_key),
            });
        }
        if opened.checkpoint.size() > self.trusted_size() || self.trusted.is_none() {
            self.trusted = Some(opened);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
