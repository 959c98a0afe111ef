/// Every way a TUF operation of this crate can fail.
///
/// Each variant carries the role (and where it matters the version) so an operator can
/// tell which file was refused and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not JSON, or not the shape the role requires.
    #[error("{role}: malformed metadata: {reason}")]
    Malformed {
        /// The role the bytes were read as.
        role: String,
        /// What was wrong.
        reason: String,
    },

    /// The `_type` field names another role (TUF §4.2: every role has a `_type`).
    #[error("{role}: wrong _type {found:?}")]
    WrongType {
        /// The role the bytes were read as.
        role: String,
        /// The `_type` found.
        found: String,
    },

    /// `spec_version` is not a 1.0.x version this implementation follows.
    #[error("{role}: unsupported spec_version {found:?}")]
    UnsupportedSpecVersion {
        /// The role.
        role: String,
        /// The `spec_version` found.
        found: String,
    },

    /// Fewer distinct authorised keys signed than the threshold requires.
    #[error("{role} v{version}: {valid} valid signature(s) from authorised keys, threshold is {threshold}")]
    ThresholdNotMet {
        /// The role whose signatures were counted.
        role: String,
        /// The version of the document.
        version: u64,
        /// Distinct authorised keys whose signature verified.
        valid: u64,
        /// The threshold.
        threshold: u64,
    },

    /// One key ID names two entries of `signatures` (TUF §4.2: "The keyid MUST be
    /// unique in the signatures array").
    #[error("{role} v{version}: key {keyid} signs more than once")]
    RepeatedSignature {
        /// The role whose signatures were counted.
        role: String,
        /// The version of the document.
        version: u64,
        /// The key ID named twice.
        keyid: String,
    },

    /// A version lower than the trusted one (TUF §5.3.5, §5.4.3, §5.5.5).
    #[error("{role}: rollback from trusted version {trusted} to {new}")]
    Rollback {
        /// The role.
        role: String,
        /// The trusted version.
        trusted: u64,
        /// The offered version.
        new: u64,
    },

    /// A version different from the one its parent lists (TUF §5.5.4, §5.6.4) or from
    /// the one requested (TUF §5.3.5: root N+1).
    #[error("{role}: version {got}, expected {expected}")]
    VersionMismatch {
        /// The role.
        role: String,
        /// The version required.
        expected: u64,
        /// The version found.
        got: u64,
    },

    /// The metadata has expired (TUF §5.3.10, §5.4.4, §5.5.6, §5.6.5: freeze attack).
    #[error("{role} v{version} expired at {expires}")]
    Expired {
        /// The role.
        role: String,
        /// The version.
        version: u64,
        /// When it expired.
        expires: String,
    },

    /// Bytes whose hash or length differs from what trusted metadata lists.
    #[error("{what}: {reason}")]
    HashMismatch {
        /// The file (role or target path).
        what: String,
        /// What differed.
        reason: String,
    },

    /// More bytes than the limit for this file (endless data attack).
    #[error("{what}: {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The file.
        what: String,
        /// Its length.
        len: u64,
        /// The limit.
        limit: u64,
    },

    /// A role listed in the trusted snapshot is missing from the new one (TUF §5.5.5).
    #[error("snapshot v{version} drops {role}, which the trusted snapshot lists")]
    RoleRemoved {
        /// The role that vanished.
        role: String,
        /// The new snapshot's version.
        version: u64,
    },

    /// Metadata a step needs is missing from its parent (for example a role absent
    /// from snapshot's `meta`).
    #[error("{0}")]
    Missing(String),

    /// A key could not be parsed, or is of a type or size this crate refuses.
    #[error("key {keyid}: {reason}")]
    BadKey {
        /// The key ID.
        keyid: String,
        /// What was wrong.
        reason: String,
    },

    /// Signing failed (a key unusable for signing, an RSA failure).
    #[error("signing: {0}")]
    Signing(String),

    /// The target is not described by any trusted targets metadata reachable by the
    /// delegation search.
    #[error("target {0:?} not found in trusted metadata")]
    TargetNotFound(String),

    /// The updater was handed a response it did not ask for, or asked for work after
    /// it failed.
    #[error("updater misuse: {0}")]
    Usage(String),

    /// A repository edit that would produce invalid metadata.
    #[error("edit refused: {0}")]
    Edit(String),
    /// A push breaks a rule of the repository service (an empty push, a pushed
    /// timestamp, a repository created without root and targets, an ambiguous or
    /// looping delegation, a snapshot that does not describe the push).
    #[error("push refused: {0}")]
    Push(String),
    /// A pushed role no current or pushed targets metadata delegates to.
    #[error("{0}: no role delegates to it")]
    UnknownRole(String),
    /// A delegated role lists a target its delegation chain does not allow.
    #[error("{role}: target {target:?} is outside what {delegator} delegates to it")]
    OutsideDelegation {
        /// The delegated role.
        role: String,
        /// The target path.
        target: String,
        /// The delegator whose delegation does not allow the path.
        delegator: String,
    },
    /// Root does not authorise the server's online key for a role the server signs.
    #[error("root does not authorise the online {role} key {keyid} with threshold 1")]
    OnlineKeyNotAuthorised {
        /// snapshot or timestamp.
        role: String,
        /// The online key's ID.
        keyid: String,
    },
}

impl Error {
    /// A stable, machine-readable name for the kind of failure, for APIs that
    /// report errors to programs (`threshold_not_met`, `rollback`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Malformed { .. } => "malformed",
            Error::WrongType { .. } => "wrong_type",
            Error::UnsupportedSpecVersion { .. } => "unsupported_spec_version",
            Error::ThresholdNotMet { .. } => "threshold_not_met",
            Error::RepeatedSignature { .. } => "repeated_signature",
            Error::Rollback { .. } => "rollback",
            Error::VersionMismatch { .. } => "version_mismatch",
            Error::Expired { .. } => "expired",
            Error::HashMismatch { .. } => "hash_mismatch",
            Error::TooLarge { .. } => "too_large",
            Error::RoleRemoved { .. } => "role_removed",
            Error::Missing(_) => "missing",
            Error::BadKey { .. } => "bad_key",
            Error::Signing(_) => "signing",
            Error::TargetNotFound(_) => "target_not_found",
            Error::Usage(_) => "usage",
            Error::Edit(_) => "edit",
            Error::Push(_) => "push_refused",
            Error::UnknownRole(_) => "unknown_role",
            Error::OutsideDelegation { .. } => "outside_delegation",
            Error::OnlineKeyNotAuthorised { .. } => "online_key_not_authorised",
        }
    }

    pub(crate) fn malformed(role: &str, reason: impl Into<String>) -> Self {
        Error::Malformed {
            role: role.to_string(),
            reason: reason.into(),
        }
    }
}
