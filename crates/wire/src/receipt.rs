//! The push receipt: `POST /repos/{repo}/push` answers, once the push is in the
//! log, with every version it logged and the checkpoint they are proven against.
//! A publisher checks each of its files against it as a client would.

use crate::json::{from_json, JsonLine};
use crate::{hashes, Error, ProofBundle};
use serde::{Deserialize, Serialize};
use tlog::Hash;

/// What a push logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReceipt {
    /// The repository.
    pub repo: String,
    /// The signed checkpoint the entries are proven against.
    pub checkpoint: String,
    /// The log size at that checkpoint.
    pub size: u64,
    /// One per logged version, in log order.
    pub entries: Vec<ReceiptEntry>,
}

/// One logged version in a [`PushReceipt`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptEntry {
    /// Role.
    pub role: String,
    /// Version.
    pub version: u64,
    /// Log index.
    pub index: u64,
    /// SHA-256 of the metadata bytes, hex.
    pub sha256: String,
    /// Length of the metadata bytes.
    pub length: u64,
    /// The log entry, base64.
    pub entry: String,
    /// The entry's leaf hash (RFC 9162 §2.1.1), base64.
    pub leaf_hash: String,
    /// Inclusion path, base64 hashes.
    pub inclusion: Vec<String>,
}

/// One logged version as the server describes it, for [`ReceiptEntry::new`].
pub struct Logged<'a> {
    /// Role.
    pub role: &'a str,
    /// Version.
    pub version: u64,
    /// Log index.
    pub index: u64,
    /// SHA-256 of the metadata bytes.
    pub sha256: &'a [u8; 32],
    /// Length of the metadata bytes.
    pub length: u64,
    /// The log entry.
    pub entry: &'a [u8],
    /// The entry's leaf hash.
    pub leaf_hash: &'a Hash,
    /// Inclusion path in the receipt's checkpoint.
    pub inclusion: &'a [Hash],
}

impl ReceiptEntry {
    /// The entry describing `logged`.
    pub fn new(logged: &Logged<'_>) -> Self {
        ReceiptEntry {
            role: logged.role.to_string(),
            version: logged.version,
            index: logged.index,
            sha256: hex::encode(logged.sha256),
            length: logged.length,
            entry: hashes::encode_bytes(logged.entry),
            leaf_hash: logged.leaf_hash.to_base64(),
            inclusion: hashes::encode(logged.inclusion),
        }
    }
}

impl JsonLine for PushReceipt {}

impl PushReceipt {
    /// Reads a receipt.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        from_json("push receipt", bytes)
    }

    /// The entry for `role` version `version`, if the push logged it.
    pub fn entry(&self, role: &str, version: u64) -> Option<&ReceiptEntry> {
        self.entries
            .iter()
            .find(|e| e.role == role && e.version == version)
    }

    /// `entry` as a proof bundle against this receipt's checkpoint, to be checked
    /// exactly as a client checks any bundle.
    pub fn bundle(&self, entry: &ReceiptEntry) -> ProofBundle {
        ProofBundle {
            entry: entry.entry.clone(),
            index: entry.index,
            checkpoint: self.checkpoint.clone(),
            inclusion: entry.inclusion.clone(),
            consistency: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_receipt_reads_back_as_written_and_yields_its_bundles() {
        let leaf = tlog::leaf_hash(b"entry");
        let entry = ReceiptEntry::new(&Logged {
            role: "targets",
            version: 2,
            index: 5,
            sha256: &[1; 32],
            length: 10,
            entry: b"entry",
            leaf_hash: &leaf,
            inclusion: &[leaf],
        });
        let receipt = PushReceipt {
            repo: "example.com/app".into(),
            checkpoint: "note\n".into(),
            size: 6,
            entries: vec![entry],
        };
        let back = PushReceipt::from_json(&receipt.to_json_line()).unwrap();
        assert_eq!(back, receipt);
        let e = back.entry("targets", 2).unwrap();
        assert!(back.entry("targets", 3).is_none());
        let bundle = back.bundle(e);
        assert_eq!(bundle.entry_bytes().unwrap(), b"entry");
        assert_eq!(bundle.inclusion_hashes().unwrap(), vec![leaf]);
        assert_eq!(bundle.checkpoint, "note\n");
    }
}
