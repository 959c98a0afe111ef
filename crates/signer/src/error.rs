//! Everything the signer can fail with, and the stable code each refusal carries.

/// A refusal or failure of the signer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A checkpoint for another log than the one whose key this signer holds.
    #[error("this signer signs checkpoints of {expected}, not {found}")]
    WrongOrigin {
        /// The configured origin.
        expected: String,
        /// The origin asked for.
        found: String,
    },
    /// A checkpoint smaller than the last one signed.
    #[error("asked to sign size {asked}, but size {last} was signed already")]
    CheckpointRollback {
        /// The last size signed.
        last: u64,
        /// The size asked for.
        asked: u64,
    },
    /// The proof does not start at the last checkpoint signed.
    #[error("the proof starts at size {from}, but the last checkpoint signed is of size {last}")]
    NotFromLast {
        /// The last size signed.
        last: u64,
        /// Where the proof starts.
        from: u64,
    },
    /// The new tree is not an extension of the last one signed, or is another tree
    /// of the same size.
    #[error("not an extension of the last checkpoint signed: {0}")]
    Fork(String),
    /// A repository whose keys this signer never created.
    #[error("unknown repository {0}")]
    UnknownRepository(String),
    /// A repository name the configuration does not allow.
    #[error("repository {0} is not allowed by this signer's configuration")]
    RepositoryNotAllowed(String),
    /// A version lower than one already signed for the role.
    #[error("{repo} {role}: asked to sign v{asked}, but v{last} was signed already")]
    MetadataRollback {
        /// The repository.
        repo: String,
        /// The role.
        role: String,
        /// The last version signed.
        last: u64,
        /// The version asked for.
        asked: u64,
    },
    /// A second, different document with a version already signed.
    #[error("{repo} {role} v{version} was signed already with other content")]
    Equivocation {
        /// The repository.
        repo: String,
        /// The role.
        role: String,
        /// The version.
        version: u64,
    },
    /// A key of a generation the repository's online keys were rotated away from.
    #[error("{repo}: online keys of generation {generation} were retired; generation {current} signs now")]
    RetiredKey {
        /// The repository.
        repo: String,
        /// The generation asked for.
        generation: u32,
        /// The repository's current generation.
        current: u32,
    },
    /// A request that is not what the signer signs (not canonical JSON of the
    /// role, a bad hash, an unknown role).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The durable state failed.
    #[error("storage: {0}")]
    Store(#[from] store::Error),
    /// A key is missing, unreadable or does not open.
    #[error("keys: {0}")]
    Keys(String),
    /// Certificates or TLS set-up.
    #[error("TLS: {0}")]
    Tls(String),
    /// Listening or serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// Every code [`Error::code`] gives a refusal, so that each has a series from the
/// start (at 0).
pub const REFUSAL_CODES: [&str; 10] = [
    "wrong_origin",
    "checkpoint_rollback",
    "not_from_last_signed",
    "fork",
    "unknown_repository",
    "repository_not_allowed",
    "metadata_rollback",
    "equivocation",
    "retired_key",
    "malformed",
];

impl Error {
    /// A stable machine-readable code, given in brackets before the message.
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongOrigin { .. } => "wrong_origin",
            Error::CheckpointRollback { .. } => "checkpoint_rollback",
            Error::NotFromLast { .. } => "not_from_last_signed",
            Error::Fork(_) => "fork",
            Error::UnknownRepository(_) => "unknown_repository",
            Error::RepositoryNotAllowed(_) => "repository_not_allowed",
            Error::MetadataRollback { .. } => "metadata_rollback",
            Error::Equivocation { .. } => "equivocation",
            Error::RetiredKey { .. } => "retired_key",
            Error::Malformed(_) => "malformed",
            _ => "internal",
        }
    }

    /// Whether the signer refused on purpose (as opposed to failing).
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            Error::Store(_) | Error::Keys(_) | Error::Tls(_) | Error::Io(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_code_is_listed_for_the_metrics() {
        let s = || String::from("x");
        let refusals = [
            Error::WrongOrigin {
                expected: s(),
                found: s(),
            },
            Error::CheckpointRollback { last: 2, asked: 1 },
            Error::NotFromLast { last: 2, from: 1 },
            Error::Fork(s()),
            Error::UnknownRepository(s()),
            Error::RepositoryNotAllowed(s()),
            Error::MetadataRollback {
                repo: s(),
                role: s(),
                last: 2,
                asked: 1,
            },
            Error::Equivocation {
                repo: s(),
                role: s(),
                version: 1,
            },
            Error::RetiredKey {
                repo: s(),
                generation: 1,
                current: 2,
            },
            Error::Malformed(s()),
        ];
        assert!(refusals.iter().all(Error::is_refusal));
        let codes: Vec<&str> = refusals.iter().map(Error::code).collect();
        assert_eq!(codes, REFUSAL_CODES);
    }
}
