//! The client's one error type.

use thiserror::Error;

/// Everything the client can refuse or fail at. Each message names the file and,
/// for log checks, the checkpoint involved, so an operator can tell what was wrong.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an HTTP error status.
    #[error("{url}: HTTP {status}: {message}")]
    Http {
        /// The URL fetched.
        url: String,
        /// The status code.
        status: u16,
        /// The server's message, if it sent one.
        message: String,
    },
    /// The request never got an answer.
    #[error("{url}: {message}")]
    Transport {
        /// The URL fetched.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A response longer than the client is willing to read (an endless-data attack).
    #[error("{url}: more than {limit} bytes")]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The limit.
        limit: u64,
    },
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

impl From<edge::Error> for Error {
    fn from(e: edge::Error) -> Self {
        match e {
            edge::Error::Http {
                url,
                status,
                message,
            } => Error::Http {
                url,
                status,
                message,
            },
            edge::Error::Transport { url, message } => Error::Transport { url, message },
            edge::Error::TooLarge { url, limit } => Error::TooLarge { url, limit },
            edge::Error::Io { path, source } => Error::Io { path, source },
            other => Error::Io {
                path: String::new(),
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}

/// The client's result type.
pub type Result<T> = std::result::Result<T, Error>;
