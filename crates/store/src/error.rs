/// Every way a storage operation can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage engine failed; the message names the engine.
    #[error("{0}")]
    Engine(String),

    /// A write of the log by a sequencer that no longer holds the sequencer lease
    /// (another instance took it over); nothing was written.
    #[error("not the sequencer: {0}")]
    Deposed(String),

    /// A batch whose entries, appended to the stored tree, do not give the tree it
    /// claims: committing it would fork the log. Nothing was written.
    #[error("the batch does not extend the stored tree: {0}")]
    NotAnExtension(String),

    /// Stored bytes do not decode: the database is damaged or not tuflog's.
    #[error("corrupt store: {0}")]
    Corrupt(String),

    /// A batch did not start at the stored tree size (another writer, or a bug).
    #[error("batch starts at index {got} but the log holds {expected} entries")]
    Conflict {
        /// The stored size.
        expected: u64,
        /// The batch's first index.
        got: u64,
    },

    /// A batch that is inconsistent in itself.
    #[error("invalid batch: {0}")]
    Invalid(String),

    /// A key file is unusable (unreadable, malformed, or another key than expected).
    #[error("key file {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A read outside the log or over the per-read limit.
    #[error("out of range: {0}")]
    OutOfRange(String),
}

impl From<rocksdb::Error> for Error {
    fn from(e: rocksdb::Error) -> Self {
        Error::Engine(format!("rocksdb: {}", e.into_string()))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Engine(e.to_string())
    }
}

impl From<Error> for tlog::Error {
    fn from(e: Error) -> Self {
        tlog::Error::Storage(Box::new(e))
    }
}
