use std::fmt;

/// Everything the server library can fail with.
///
/// Each variant says who is at fault, which the HTTP and gRPC surfaces map to a
/// status: the caller ([`Error::InvalidRequest`], [`Error::NotFound`]), load
/// ([`Error::Overloaded`]), or the server ([`Error::Storage`], [`Error::Halted`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is malformed or asks for something the log cannot have.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The request is well-formed but names something not (yet) in the log.
    #[error("not found: {0}")]
    NotFound(String),
    /// The append queue is full; nothing was queued. Retry later.
    #[error("overloaded, retry: {0}")]
    Overloaded(String),
    /// The server is shutting down and takes no new appends.
    #[error("shutting down")]
    ShuttingDown,
    /// The log stopped taking appends after a storage failure or a failed
    /// consistency check; a restart recovers from what is durably stored.
    #[error("log halted: {0}")]
    Halted(String),
    /// The storage engine failed.
    #[error("storage: {0}")]
    Storage(#[from] store::Error),
    /// A tree or note operation failed on server-side data.
    #[error("log: {0}")]
    Log(#[from] tlog::Error),
    /// The log key file is unusable.
    #[error("log key {path}: {reason}")]
    LogKey {
        /// Where the key is kept.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Refused to sign: the new tree would not be consistent with the last signed
    /// checkpoint. Nothing was written.
    #[error("refusing to sign an inconsistent checkpoint: {0}")]
    Inconsistent(String),
    /// Listening or serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub(crate) fn invalid(msg: impl fmt::Display) -> Self {
        Error::InvalidRequest(msg.to_string())
    }
}
