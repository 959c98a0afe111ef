//! Note signing keys kept in one file beside a database: the log's key (Ed25519,
//! named after the log's origin), a witness's cosigning key (cosignature/v1),
//! generated on first start.
//!
//! The file holds the C2SP signed-note private key string
//! (`PRIVATE+KEY+<name>+<key ID>+<base64>`), mode 0600, written to a temporary
//! file, synced and renamed, so a crash never leaves half a key.

use crate::Error;
use std::fs;
use std::path::Path;
use tlog::note::{KeyName, SignatureType};
use tlog::SignerKey;
use zeroize::Zeroizing;

/// Largest key file read; a signer key string is about 100 bytes.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Loads the key at `path`, or generates and stores one named `name` of type
/// `sig_type` if there is no file. A key with another name or type is refused: a
/// log names its key after its origin, a witness after itself, and a silently
/// renamed key would break everyone who pinned it.
pub fn load_or_generate(
    path: &Path,
    name: &str,
    sig_type: SignatureType,
) -> Result<SignerKey, Error> {
    let err = |reason: String| Error::Key {
        path: path.display().to_string(),
        reason,
    };
    let key_name = KeyName::new(name).map_err(|e| err(format!("key name {name:?}: {e}")))?;
    match fs::metadata(path) {
        Ok(meta) => {
            if meta.len() > MAX_KEY_FILE_BYTES {
                return Err(err(format!("larger than {MAX_KEY_FILE_BYTES} bytes")));
            }
            let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| err(e.to_string()))?);
            let key = SignerKey::parse(text.trim_end())
                .map_err(|e| err(format!("not a signer key: {e}")))?;
            if key.public().name() != &key_name {
                return Err(err(format!(
                    "the key is named {:?} but {name:?} was expected (the log's origin or the witness name)",
                    key.public().name().as_str()
                )));
            }
            if key.public().sig_type() != sig_type {
                return Err(err(format!(
                    "the key is of type {:?}, {sig_type:?} was expected",
                    key.public().sig_type()
                )));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SignerKey::generate(key_name, sig_type, &mut rand_core::OsRng);
            write_secret_file(path, key.to_skey_string().as_bytes())
                .map_err(|e| err(e.to_string()))?;
            Ok(key)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

/// Writes a new secret file (the log key, the online-key seed, the admin token):
/// mode 0600, through a synced temporary file renamed into place, so a crash never
/// leaves half a secret.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut line = Zeroizing::new(Vec::with_capacity(contents.len() + 1));
    line.extend_from_slice(contents);
    line.push(b'\n');
    edge::durable::write_atomic_private(path, &line).map_err(|e| match e {
        edge::Error::Io { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_persisted_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/log.key");
        let first = load_or_generate(&path, "example.com/log", SignatureType::Ed25519).unwrap();
        let again = load_or_generate(&path, "example.com/log", SignatureType::Ed25519).unwrap();
        assert_eq!(first.verifier(), again.verifier());
        let mode = fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn a_key_named_for_another_origin_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        load_or_generate(&path, "example.com/log", SignatureType::Ed25519).unwrap();
        let err = load_or_generate(&path, "example.com/other", SignatureType::Ed25519)
            .err()
            .unwrap();
        assert!(err.to_string().contains("was expected"), "{err}");
        let err = load_or_generate(&path, "example.com/log", SignatureType::CosignatureV1)
            .err()
            .unwrap();
        assert!(err.to_string().contains("type"), "{err}");
    }

    #[test]
    fn a_corrupt_key_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        fs::write(&path, "PRIVATE+KEY+garbage").unwrap();
        assert!(load_or_generate(&path, "example.com/log", SignatureType::Ed25519).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "PRIVATE+KEY+garbage");
    }
}
