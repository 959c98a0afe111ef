//! What a replay reports: alerts on logged versions that break a TUF rule, and
//! the legitimate new versions of watched repositories.

use std::collections::BTreeSet;

/// What is wrong with a logged version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AlertKind {
    /// The entry or the document does not parse, or they disagree.
    Malformed,
    /// The metadata bytes are not the ones the entry commits to.
    ContentMismatch,
    /// The same (repository, role, version) logged twice with different bytes.
    Equivocation,
    /// The same version logged again with the same bytes.
    Duplicate,
    /// A version at or below the latest logged for the role (a rollback).
    VersionNotIncreasing,
    /// A root that is not version N+1 of the root in force.
    RootSkipped,
    /// A root not signed by the previous root's threshold or by its own.
    RootNotAuthorized,
    /// A role not signed by the threshold of keys authorised for it.
    Unauthorized,
    /// A timestamp or snapshot, validly signed, that lists an older version of a
    /// role (or drops a role) than the one logged before it listed (TUF §5.4.3.2,
    /// §5.5.5, applied across the whole log): a freeze or a rollback aimed at
    /// clients that never saw the newer listing.
    MetaRollback,
    /// Two checkpoints of the log that cannot both be true, proven by an evidence
    /// file (raised by the follower and by gossip).
    SplitView,
    /// A checkpoint signed by the log that the log cannot prove consistent with
    /// the monitor's (no conclusive evidence yet).
    UnprovenCheckpoint,
    /// Entries the log served do not hash to the root it signed.
    BadEntries,
    /// The log commits to metadata it does not serve.
    MetadataUnavailable,
    /// The log served a checkpoint smaller than one it signed that the monitor
    /// verified or heard (a rollback, or a view frozen for the monitor).
    CheckpointRollback,
    /// A checkpoint the log signed, heard from someone, that the monitor's tree
    /// has not reached within the deadline: the log does not let it verify what
    /// it shows others.
    CheckpointFrozen,
    /// The newest verified checkpoint is older than the maximum age.
    CheckpointStale,
    /// The log serves a checkpoint short of the witness policy its clients apply.
    WitnessPolicy,
}

impl AlertKind {
    /// Every kind, so that each has a series from the start (at 0): a dashboard
    /// or an alert over one finds it before it first fires.
    pub const ALL: [AlertKind; 17] = [
        AlertKind::Malformed,
        AlertKind::ContentMismatch,
        AlertKind::Equivocation,
        AlertKind::Duplicate,
        AlertKind::VersionNotIncreasing,
        AlertKind::RootSkipped,
        AlertKind::RootNotAuthorized,
        AlertKind::Unauthorized,
        AlertKind::MetaRollback,
        AlertKind::SplitView,
        AlertKind::UnprovenCheckpoint,
        AlertKind::BadEntries,
        AlertKind::MetadataUnavailable,
        AlertKind::CheckpointRollback,
        AlertKind::CheckpointFrozen,
        AlertKind::CheckpointStale,
        AlertKind::WitnessPolicy,
    ];

    /// A stable label (metrics, logs, evidence files).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Malformed => "malformed",
            AlertKind::ContentMismatch => "content_mismatch",
            AlertKind::Equivocation => "equivocation",
            AlertKind::Duplicate => "duplicate",
            AlertKind::VersionNotIncreasing => "version_not_increasing",
            AlertKind::RootSkipped => "root_skipped",
            AlertKind::RootNotAuthorized => "root_not_authorized",
            AlertKind::Unauthorized => "unauthorized",
            AlertKind::MetaRollback => "meta_rollback",
            AlertKind::SplitView => "split_view",
            AlertKind::UnprovenCheckpoint => "unproven_checkpoint",
            AlertKind::BadEntries => "bad_entries",
            AlertKind::MetadataUnavailable => "metadata_unavailable",
            AlertKind::CheckpointRollback => "checkpoint_rollback",
            AlertKind::CheckpointFrozen => "checkpoint_frozen",
            AlertKind::CheckpointStale => "checkpoint_stale",
            AlertKind::WitnessPolicy => "witness_policy",
        }
    }
}

/// A violation found in the entry at `index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// What is wrong.
    pub kind: AlertKind,
    /// The entry's index in the log.
    pub index: u64,
    /// Repository ("?" when the entry does not parse).
    pub repo: String,
    /// Role.
    pub role: String,
    /// Version.
    pub version: u64,
    /// Specifics, for people.
    pub detail: String,
}

/// A version that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVersion {
    /// The entry's index in the log.
    pub index: u64,
    /// Repository.
    pub repo: String,
    /// Role.
    pub role: String,
    /// Version.
    pub version: u64,
    /// Hex SHA-256 of the metadata bytes.
    pub sha256: String,
    /// Key IDs of the signatures it carries (for owners watching for an unexpected
    /// key).
    pub keyids: Vec<String>,
}

/// What one entry (or a delegated version it unblocked) led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A legitimate new version.
    NewVersion(NewVersion),
    /// A violation.
    Alert(Alert),
}

/// Whose legitimate new versions a replay reports as [`Finding::NewVersion`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Watched {
    /// Every repository's.
    #[default]
    All,
    /// Only these repositories'. A monitor that watches none reports none: on a
    /// large log a report per entry is most of what judging an entry allocates.
    Only(BTreeSet<String>),
}

impl Watched {
    /// The repositories a monitor is told to watch, where `*` means all of them.
    pub fn from_names(names: &[String]) -> Self {
        if names.iter().any(|n| n == "*") {
            Watched::All
        } else {
            Watched::Only(names.iter().cloned().collect())
        }
    }

    /// Whether `repo`'s new versions are reported.
    pub fn covers(&self, repo: &str) -> bool {
        match self {
            Watched::All => true,
            Watched::Only(names) => names.contains(repo),
        }
    }
}
