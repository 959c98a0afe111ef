//! The client's one error type.

use thiserror::Error;

/// Everything the client can refuse or fail at. Each message names the file and,
/// for log checks, the checkpoint involved, so an operator can tell what was wrong.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A fetch failed (an HTTP error status, no answer, a reply over its
    /// limit), or a local file could not be replaced.
    #[error(transparent)]
    Edge(#[from] edge::Error),
    /// TUF verification refused a file.
    #[error("{file}: {source}")]
    Tuf {
        /// The metadata file.
        file: String,
        /// Why.
        #[source]
        source: tuf::Error,
    },
    /// A log check failed: the file is not provably in the log the client pinned.
    #[error("{file}: {detail} (checkpoint {checkpoint})")]
    Log {
        /// The metadata file (or `checkpoint`).
        file: String,
        /// The checkpoint checked against: origin, size and root.
        checkpoint: String,
        /// What failed.
        detail: String,
    },
    /// Malformed input from the server (a proof bundle, a reply).
    #[error("{what}: {detail}")]
    Malformed {
        /// What was being read.
        what: String,
        /// Why it is unusable.
        detail: String,
    },
    /// The local state or keystore could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The keystore refused: wrong passphrase, unknown key, corrupt file.
    #[error("keystore: {0}")]
    Keystore(String),
    /// The caller asked for something that cannot be done in this state.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn malformed(what: impl Into<String>, detail: impl ToString) -> Self {
        Error::Malformed {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// The client's result type.
pub type Result<T> = std::result::Result<T, Error>;
