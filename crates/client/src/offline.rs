//! Offline proofs in the C2SP tlog-proof@v1 format: that a metadata file was
//! logged, checked with nothing but the file, the proof, the pinned log key and
//! the witness policy.
//!
//! tuflog's proofs carry the log entry in their `extra` line. The entry is not
//! trusted: it only names the repository, role and version; the verifier rebuilds
//! the entry from those and the file's own bytes, requires it to be the very
//! bytes in the proof, and proves the inclusion of that entry's leaf.

use crate::{Error, Result};
use tlog::tlog_proof::TlogProof;
use tlog::witness_policy::WitnessPolicy;
use tlog::{leaf_hash, VerifierKey};
use tuf::logentry::LogEntry;

/// What a verified proof shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenVersion {
    /// The repository.
    pub repo: String,
    /// The role.
    pub role: String,
    /// The version.
    pub version: u64,
    /// The entry's index in the log.
    pub index: u64,
    /// The size of the checkpoint it is proven in.
    pub size: u64,
    /// How many distinct witnesses of the policy cosigned that checkpoint.
    pub cosigners: usize,
}

/// Verifies that `metadata` (a metadata file's exact bytes) was logged, by
/// `proof`, under `log_key` and, with `policy`, cosigned by enough witnesses
/// (`now`: seconds since the Unix epoch, for cosignature ages).
pub fn verify_tlog_proof(
    proof: &[u8],
    metadata: &[u8],
    log_key: &VerifierKey,
    policy: Option<&WitnessPolicy>,
    now: u64,
) -> Result<ProvenVersion> {
    let parsed = TlogProof::parse(proof).map_err(|e| Error::malformed("tlog-proof", e))?;
    let carried = parsed
        .extra
        .as_deref()
        .ok_or_else(|| Error::malformed("tlog-proof", "no log entry in its extra line"))?;
    let entry =
        LogEntry::from_bytes(carried).map_err(|e| Error::malformed("tlog-proof's log entry", e))?;
    let rebuilt = LogEntry::new(&entry.repo, &entry.role, entry.version, metadata)
        .to_bytes()
        .map_err(|e| Error::malformed("the metadata file", e))?;
    let file = format!("{}/{}.{}.json", entry.repo, entry.version, entry.role);
    if rebuilt != carried {
        return Err(Error::Log {
            file,
            checkpoint: "not opened".into(),
            detail: "the proof's log entry does not describe this file (other content, \
                     or another role or version)"
                .into(),
        });
    }
    let opened = parsed
        .verify(&leaf_hash(&rebuilt), log_key, policy, Some(now))
        .map_err(|e| Error::Log {
            file: file.clone(),
            checkpoint: describe(&parsed.checkpoint),
            detail: e.to_string(),
        })?;
    Ok(ProvenVersion {
        repo: entry.repo,
        role: entry.role,
        version: entry.version,
        index: parsed.index,
        size: opened.checkpoint().size(),
        cosigners: policy.map_or(0, |p| p.cosigners(&opened, Some(now))),
    })
}

/// The first lines of a checkpoint note (origin and size), for messages.
fn describe(note: &[u8]) -> String {
    String::from_utf8_lossy(note)
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlog::note::{KeyName, SignatureType};
    use tlog::{Checkpoint, MemoryHashStore, SignerKey};

    fn log_key() -> SignerKey {
        SignerKey::from_seed(
            KeyName::new("example.com/log").unwrap(),
            SignatureType::Ed25519,
            &[5; 32],
        )
    }

    /// A log of three entries, the second for `file` (targets v2 of
    /// example.com/app); its proof.
    fn logged(file: &[u8]) -> Vec<u8> {
        let entries: Vec<Vec<u8>> = [
            LogEntry::new("example.com/app", "root", 1, b"root"),
            LogEntry::new("example.com/app", "targets", 2, file),
            LogEntry::new("example.com/app", "snapshot", 2, b"snapshot"),
        ]
        .iter()
        .map(|e| e.to_bytes().unwrap())
        .collect();
        let mut store = MemoryHashStore::new();
        for e in &entries {
            store.append_leaf(e);
        }
        let note = Checkpoint::new("example.com/log", 3, store.root())
            .unwrap()
            .sign(&log_key())
            .unwrap()
            .to_string();
        TlogProof {
            extra: Some(entries[1].clone()),
            index: 1,
            proof: tlog::tree::inclusion_proof(1, 3, &store).unwrap(),
            checkpoint: note.into_bytes(),
        }
        .to_text()
    }

    #[test]
    fn a_file_is_proven_by_its_proof_and_no_other_file_is() {
        let proof = logged(b"the targets file");
        let proven =
            verify_tlog_proof(&proof, b"the targets file", &log_key().verifier(), None, 0).unwrap();
        assert_eq!(
            (
                proven.role.as_str(),
                proven.version,
                proven.index,
                proven.size
            ),
            ("targets", 2, 1, 3)
        );
        assert!(
            verify_tlog_proof(&proof, b"another file", &log_key().verifier(), None, 0).is_err()
        );
        // An entry in the extra line for another file, even one that is logged,
        // does not prove this one.
        let other = LogEntry::new("example.com/app", "root", 1, b"root")
            .to_bytes()
            .unwrap();
        let mut swapped = TlogProof::parse(&proof).unwrap();
        swapped.extra = Some(other);
        assert!(
            verify_tlog_proof(&swapped.to_text(), b"root", &log_key().verifier(), None, 0).is_err()
        );
        // Without the entry there is nothing to rebuild.
        let mut bare = TlogProof::parse(&proof).unwrap();
        bare.extra = None;
        assert!(verify_tlog_proof(
            &bare.to_text(),
            b"the targets file",
            &log_key().verifier(),
            None,
            0
        )
        .is_err());
    }
}
