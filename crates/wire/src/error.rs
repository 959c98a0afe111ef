/// Every way reading or writing one of this crate's formats can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of a JSON format was not what the format allows (bad base64, a
    /// hash of the wrong length, too many hashes).
    #[error("malformed {field}: {detail}")]
    MalformedField {
        /// The field, e.g. `inclusion`.
        field: &'static str,
        /// What was wrong with it.
        detail: String,
    },

    /// An update pack was malformed, or too large to write.
    #[error("malformed update pack: {0}")]
    MalformedPack(String),

    /// A split-view evidence file that is malformed, or whose signatures or
    /// proof do not check.
    #[error("evidence: {0}")]
    Evidence(String),

    /// A well-formed, correctly signed evidence file whose two checkpoints can
    /// both be true: it proves no fork.
    #[error("evidence proves no fork: {0}")]
    NoFork(String),

    /// A note, checkpoint, key or proof inside a format failed its own checks.
    #[error(transparent)]
    Log(#[from] tlog::Error),
}
