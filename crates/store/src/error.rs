/// Every way a storage operation can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage engine failed.
    #[error("rocksdb: {0}")]
    Engine(String),

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
        Error::Engine(e.into_string())
    }
}

impl From<Error> for tlog::Error {
    fn from(e: Error) -> Self {
        tlog::Error::Storage(Box::new(e))
    }
}
