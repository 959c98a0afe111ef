//! What can go wrong at the edges.

/// Every way a fetch or a file replacement can fail.
#[derive(Debug, thiserror::Error)]
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
    /// A reply longer than the caller is willing to read (an endless-data attack).
    #[error("{url}: more than {limit} bytes")]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
