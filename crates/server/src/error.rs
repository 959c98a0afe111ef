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
    /// An append reached an instance that follows another's sequencer.
    #[error("not the sequencer: {0}")]
    NotSequencer(String),
    /// This instance no longer holds the sequencer lease of the database it shares
    /// with others (taken over, or not renewed in time); it stops serving.
    #[error("lost the sequencer lease: {0}")]
    LeaseLost(String),
    /// The storage engine failed.
    #[error("storage: {0}")]
    Storage(#[from] store::Error),
    /// A tree or note operation failed on server-side data.
    #[error("log: {0}")]
    Log(#[from] tlog::Error),
    /// A key file (the log key, the online-key seed) is unusable.
    #[error("key file {path}: {reason}")]
    Key {
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
    /// A write without a valid bearer token.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// A valid token that does not cover the repository written to.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The request body or one of its files is over a limit.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A push refused by TUF validation against the repository's state; nothing was
    /// signed or logged.
    #[error("push refused ({code}): {0}", code = .0.code())]
    Push(tuf::Error),
    /// Signing with an online key failed.
    #[error("signing: {0}")]
    Signing(String),
    /// The signer cannot be reached or did not answer in time; nothing was signed
    /// or written for this request. Retry later.
    #[error("signer unavailable, retry: {0}")]
    SignerUnavailable(String),
    /// The signer refused, or answered with something other than what was asked:
    /// the server's request contradicts what the signer already signed.
    #[error("the signer refused: {0}")]
    SignerRefused(String),
}

/// Who is at fault and how, which each surface maps to its own status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Malformed request (HTTP 400, gRPC INVALID_ARGUMENT).
    InvalidRequest,
    /// No valid credentials (401, UNAUTHENTICATED).
    Unauthenticated,
    /// Credentials that do not cover the request (403, PERMISSION_DENIED).
    PermissionDenied,
    /// Nothing there (404, NOT_FOUND).
    NotFound,
    /// A version that does not follow the current one (409, FAILED_PRECONDITION).
    Conflict,
    /// Over a size limit (413, INVALID_ARGUMENT).
    TooLarge,
    /// Well-formed but refused by validation (422, INVALID_ARGUMENT).
    Rejected,
    /// Retry later (503 with Retry-After, UNAVAILABLE).
    Unavailable,
    /// The server's fault (500, INTERNAL).
    Internal,
}

impl Error {
    /// How the surfaces report this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidRequest(_) => ErrorKind::InvalidRequest,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Overloaded(_)
            | Error::ShuttingDown
            | Error::Halted(_)
            | Error::SignerUnavailable(_)
            | Error::LeaseLost(_)
            | Error::NotSequencer(_) => ErrorKind::Unavailable,
            Error::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::TooLarge(_) => ErrorKind::TooLarge,
            Error::Push(e) => match e {
                tuf::Error::Rollback { .. } | tuf::Error::VersionMismatch { .. } => {
                    ErrorKind::Conflict
                }
                tuf::Error::TooLarge { .. } => ErrorKind::TooLarge,
                tuf::Error::Malformed { .. } => ErrorKind::InvalidRequest,
                _ => ErrorKind::Rejected,
            },
            _ => ErrorKind::Internal,
        }
    }

    /// A stable machine-readable code, given to programs beside the message.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Push(e) => e.code(),
            Error::InvalidRequest(_) => "invalid_request",
            Error::NotFound(_) => "not_found",
            Error::Overloaded(_) => "overloaded",
            Error::ShuttingDown => "shutting_down",
            Error::Halted(_) => "halted",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::PermissionDenied(_) => "permission_denied",
            Error::TooLarge(_) => "too_large",
            Error::SignerUnavailable(_) => "signer_unavailable",
            Error::SignerRefused(_) => "signer_refused",
            _ => "internal",
        }
    }

    pub(crate) fn invalid(msg: impl fmt::Display) -> Self {
        Error::InvalidRequest(msg.to_string())
    }
}
