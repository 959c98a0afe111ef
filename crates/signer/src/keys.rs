//! The signer's keys at rest: one file, `keys.sealed`, holding the log key and the
//! online-key seed sealed under a passphrase ([`edge::sealed`]: Argon2id and
//! XChaCha20-Poly1305; a wrong passphrase and any altered byte are refused alike).
//! The log's verifier key is kept beside the ciphertext in the clear, and is also
//! authenticated data, so swapping in another log's sealed keys fails to open.
//!
//! [`KeyHolder`] is what the service signs through, so a hardware token can take
//! the file's place.

use crate::guard::OnlineRole;
use crate::Error;
use edge::sealed::{self, KdfParams};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use tlog::note::{KeyName, SignatureType};
use tlog::{Checkpoint, Hash, SignerKey, VerifierKey};
use tuf::keys::{Key, PrivateKey, Signature};
use tuf::online::{OnlineKeyring, OnlineSeed};
use zeroize::Zeroizing;

/// The format name of the sealed key file.
pub const FORMAT: &str = "tuflog-signer-keys/v1";
/// Largest sealed key file read.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// What the signer signs with.
pub trait KeyHolder: Send + Sync {
    /// The log key's verifier.
    fn log_verifier(&self) -> &VerifierKey;
    /// The signed note of a checkpoint of the log.
    fn sign_checkpoint(&self, size: u64, root: &Hash) -> Result<Vec<u8>, Error>;
    /// The public key of `repo`'s `role` of `generation` (each rotation of a
    /// repository's online keys is a generation), and its key ID.
    fn online_key(
        &self,
        repo: &str,
        role: OnlineRole,
        generation: u32,
    ) -> Result<(Key, String), Error>;
    /// A TUF signature by `repo`'s `role` key of `generation` over `message`.
    fn sign_online(
        &self,
        repo: &str,
        role: OnlineRole,
        generation: u32,
        message: &[u8],
    ) -> Result<Signature, Error>;
}

#[derive(Serialize, Deserialize)]
struct SealedFile {
    format: String,
    verifier: String,
    #[serde(flatten)]
    sealed: sealed::SealedFields,
}

#[derive(Serialize, Deserialize)]
struct Plain {
    log_key: String,
    online_seed: String,
}

fn aad(verifier: &str) -> Vec<u8> {
    format!("{FORMAT}\n{verifier}").into_bytes()
}

/// Reads the JSON key file `init` wrote at `path`, of at most `limit` bytes.
pub(crate) fn read_key_file<T: serde::de::DeserializeOwned>(
    path: &Path,
    limit: u64,
) -> Result<T, Error> {
    let err = |reason: String| Error::Keys(format!("{}: {reason}", path.display()));
    if !path.exists() {
        return Err(err(
            "no such file; create it with `tuflog signer init`".into()
        ));
    }
    let bytes = edge::durable::read_bounded(path, limit).map_err(|e| err(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))
}

/// Where a passphrase comes from.
pub enum Passphrase {
    /// Given directly (read from a file or the environment by the binary).
    Given(Zeroizing<String>),
}

impl Passphrase {
    fn bytes(&self) -> &[u8] {
        match self {
            Passphrase::Given(p) => p.as_bytes(),
        }
    }
}

/// The log key and the online keys, opened from the sealed file. No `Debug`.
pub struct SealedKeys {
    log: SignerKey,
    verifier: VerifierKey,
    online: OnlineKeyring,
}

impl SealedKeys {
    /// Generates a log key named `origin` and an online seed, seals them into
    /// `path` (which must not exist) and returns them.
    pub fn create(
        path: &Path,
        origin: &str,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<Self, Error> {
        let name = KeyName::new(origin).map_err(|e| Error::Keys(format!("origin: {e}")))?;
        let log = SignerKey::generate(name, SignatureType::Ed25519, &mut rand_core::OsRng);
        let online = OnlineSeed::generate(&mut rand_core::OsRng);
        Self::seal(path, log, online, passphrase, params)
    }

    /// Seals keys an embedded server kept in the clear (`log.key`, `online.seed`),
    /// to move a log to this signer.
    pub fn import(
        path: &Path,
        log_key: &str,
        online_seed: &str,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<Self, Error> {
        let log = SignerKey::parse(log_key.trim())
            .map_err(|e| Error::Keys(format!("the log key: {e}")))?;
        let online = OnlineSeed::from_hex(online_seed)
            .map_err(|e| Error::Keys(format!("the online seed: {e}")))?;
        Self::seal(path, log, online, passphrase, params)
    }

    fn seal(
        path: &Path,
        log: SignerKey,
        online: OnlineSeed,
        passphrase: &Passphrase,
        params: KdfParams,
    ) -> Result<Self, Error> {
        if path.exists() {
            return Err(Error::Keys(format!(
                "{} exists; refusing to replace keys",
                path.display()
            )));
        }
        let verifier = log.verifier();
        let plain = Zeroizing::new(
            serde_json::to_vec(&Plain {
                log_key: log.to_skey_string().to_string(),
                online_seed: online.to_hex().to_string(),
            })
            .map_err(|e| Error::Keys(e.to_string()))?,
        );
        let vkey = verifier.to_string();
        let s = sealed::seal(&plain, passphrase.bytes(), &aad(&vkey), params)
            .map_err(|e| Error::Keys(e.to_string()))?;
        let file = SealedFile {
            format: FORMAT.into(),
            verifier: vkey,
            sealed: (&s).into(),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| Error::Keys(e.to_string()))?;
        edge::durable::write_atomic_private(path, &json).map_err(|e| Error::Keys(e.to_string()))?;
        Ok(SealedKeys::new(log, online))
    }

    /// Opens the sealed file at `path`.
    pub fn open(path: &Path, passphrase: &Passphrase) -> Result<Self, Error> {
        let err = |reason: String| Error::Keys(format!("{}: {reason}", path.display()));
        let file: SealedFile = read_key_file(path, MAX_KEY_FILE_BYTES)?;
        if file.format != FORMAT {
            return Err(err(format!("unsupported format {}", file.format)));
        }
        let s = file.sealed.to_sealed().map_err(|e| err(e.to_string()))?;
        let plain = sealed::open(&s, passphrase.bytes(), &aad(&file.verifier))
            .map_err(|e| err(e.to_string()))?;
        let plain: Plain = serde_json::from_slice(&plain).map_err(|e| err(e.to_string()))?;
        let plain = (
            Zeroizing::new(plain.log_key),
            Zeroizing::new(plain.online_seed),
        );
        let log = SignerKey::parse(&plain.0).map_err(|e| err(format!("the log key: {e}")))?;
        if log.verifier().to_string() != file.verifier {
            return Err(err(
                "the sealed log key is not the one named beside it".into()
            ));
        }
        let online = OnlineSeed::from_hex(&plain.1).map_err(|e| err(e.to_string()))?;
        Ok(SealedKeys::new(log, online))
    }

    fn new(log: SignerKey, online: OnlineSeed) -> Self {
        let verifier = log.verifier();
        SealedKeys {
            log,
            verifier,
            online: OnlineKeyring::new(online),
        }
    }

    fn private(
        &self,
        repo: &str,
        role: OnlineRole,
        generation: u32,
    ) -> Result<Arc<PrivateKey>, Error> {
        self.online
            .key(role.as_str(), repo, generation)
            .map_err(|e| Error::Keys(e.to_string()))
    }
}

impl KeyHolder for SealedKeys {
    fn log_verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    fn sign_checkpoint(&self, size: u64, root: &Hash) -> Result<Vec<u8>, Error> {
        let checkpoint = Checkpoint::new(self.verifier.name().as_str(), size, *root)
            .map_err(|e| Error::Malformed(e.to_string()))?;
        let note = checkpoint
            .sign(&self.log)
            .map_err(|e| Error::Keys(e.to_string()))?;
        Ok(note.to_string().into_bytes())
    }

    fn online_key(
        &self,
        repo: &str,
        role: OnlineRole,
        generation: u32,
    ) -> Result<(Key, String), Error> {
        let key = self.private(repo, role, generation)?;
        Ok((key.public().clone(), key.key_id().to_string()))
    }

    fn sign_online(
        &self,
        repo: &str,
        role: OnlineRole,
        generation: u32,
        message: &[u8],
    ) -> Result<Signature, Error> {
        // Ed25519 is deterministic; the generator is not consulted.
        self.private(repo, role, generation)?
            .sign_envelope(message, &mut rand_core::OsRng)
            .map_err(|e| Error::Keys(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(p: &str) -> Passphrase {
        Passphrase::Given(Zeroizing::new(p.into()))
    }

    #[test]
    fn sealed_keys_reopen_the_same_and_refuse_a_wrong_passphrase_or_an_altered_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.sealed");
        let params = KdfParams::dangerous_low_cost();
        let made = SealedKeys::create(&path, "example.com/log", &pass("pw"), params).unwrap();
        assert!(SealedKeys::create(&path, "example.com/log", &pass("pw"), params).is_err());
        let opened = SealedKeys::open(&path, &pass("pw")).unwrap();
        assert_eq!(
            opened.log_verifier().to_string(),
            made.log_verifier().to_string()
        );
        let (_, id) = opened
            .online_key("example.com/r", OnlineRole::Timestamp, 0)
            .unwrap();
        assert_eq!(
            id,
            made.online_key("example.com/r", OnlineRole::Timestamp, 0)
                .unwrap()
                .1
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("PRIVATE+KEY"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(SealedKeys::open(&path, &pass("PW")).is_err());
        // Another log's verifier beside the same ciphertext does not open.
        let other = SignerKey::generate(
            KeyName::new("example.com/other").unwrap(),
            SignatureType::Ed25519,
            &mut rand_core::OsRng,
        );
        let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
        file["verifier"] = other.verifier().to_string().into();
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        assert!(SealedKeys::open(&path, &pass("pw")).is_err());
    }
}
