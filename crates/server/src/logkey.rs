//! The log's signing key: Ed25519, named after the log's origin, generated on first
//! start and kept in one file beside the database (`store::keyfile`).

use crate::Error;
use std::path::Path;
use tlog::note::SignatureType;
use tlog::SignerKey;

/// Loads the log key at `path`, or generates and stores one named `origin`.
pub fn load_or_generate(path: &Path, origin: &str) -> Result<SignerKey, Error> {
    store::keyfile::load_or_generate(path, origin, SignatureType::Ed25519).map_err(|e| match e {
        store::Error::Key { path, reason } => Error::Key { path, reason },
        other => Error::Key {
            path: path.display().to_string(),
            reason: other.to_string(),
        },
    })
}

pub(crate) use store::keyfile::write_secret_file;
