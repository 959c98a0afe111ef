//! The monitor's errors.

/// Why a monitor step, a gossip message or an evidence file failed. Alerts are
/// not errors: a monitor that found a lying log did its job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log (or a peer) could not be reached, or answered out of turn.
    #[error("fetching {url}: {reason}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// A checkpoint, a note, a tile or a proof was malformed or did not verify.
    #[error(transparent)]
    Log(#[from] tlog::Error),
    /// The monitor's store failed.
    #[error("monitor state: {0}")]
    Store(#[from] store::Error),
    /// A setting cannot be used (an unreadable CA file).
    #[error("monitor configuration: {0}")]
    Config(String),
    /// The stored state does not hold together (damaged or from another log).
    #[error("the monitor's stored state is damaged: {0}")]
    Damaged(String),
    /// An evidence file is malformed or proves nothing.
    #[error("evidence: {0}")]
    Evidence(String),
    /// Writing an evidence file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn fetch(url: &str, reason: impl std::fmt::Display) -> Self {
        Error::Fetch {
            url: url.into(),
            reason: reason.to_string(),
        }
    }
}

impl From<wire::Error> for Error {
    fn from(e: wire::Error) -> Self {
        match e {
            wire::Error::Log(e) => Error::Log(e),
            other => Error::Evidence(other.to_string()),
        }
    }
}
