//! Checks between a trusted document and the one that would replace it, shared by
//! the client and the monitor, which applies them to every version logged.

use crate::metadata::{check_length_and_hashes, Snapshot, TargetFile, Timestamp};
use crate::{Error, Result};

/// TUF §5.4.3.2: "The version number of the snapshot metadata file in the trusted
/// timestamp metadata file, if any, MUST be less than or equal to its version number
/// in the new timestamp metadata file." The client checks it against the timestamp
/// it trusts; a monitor, against the timestamp logged before, for every client.
pub fn check_snapshot_listing(trusted: &Timestamp, new: &Timestamp) -> Result<()> {
    let listed = |t: &Timestamp| t.snapshot_meta().map(|m| m.version);
    if let (Some(old), Some(new_v)) = (listed(trusted), listed(new)) {
        if new_v < old {
            return Err(Error::Rollback {
                role: "snapshot (listed in timestamp)".into(),
                trusted: old,
                new: new_v,
            });
        }
    }
    Ok(())
}

/// TUF §5.5.5: "The version number of the targets metadata file, and all delegated
/// targets metadata files, if any, in the trusted snapshot metadata file, if any,
/// MUST be less than or equal to its version number in the new snapshot metadata
/// file. Furthermore, any targets metadata filename that was listed in the trusted
/// snapshot metadata file, if any, MUST continue to be listed in the new snapshot
/// metadata file." Shared by the client and the monitor, as
/// [`check_snapshot_listing`].
pub fn check_targets_listing(trusted: &Snapshot, new: &Snapshot) -> Result<()> {
    for (name, old) in &trusted.meta {
        let role = name.strip_suffix(".json").unwrap_or(name).to_string();
        let Some(now_listed) = new.meta.get(name) else {
            return Err(Error::RoleRemoved {
                role,
                version: new.version,
            });
        };
        if now_listed.version < old.version {
            return Err(Error::Rollback {
                role,
                trusted: old.version,
                new: now_listed.version,
            });
        }
    }
    Ok(())
}

/// TUF §5.7.1: "Verify the desired target against its targets metadata": its length
/// and every listed hash.
pub fn verify_target(path: &str, info: &TargetFile, bytes: &[u8]) -> Result<()> {
    check_length_and_hashes(path, bytes, Some(info.length), Some(&info.hashes))
}
