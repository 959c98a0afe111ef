//! The online keys: each repository's snapshot and timestamp keys, held by the
//! service and used through the [`Signer`] trait.
//!
//! The embedded default, [`LocalSigner`], derives every repository's keys from one
//! 32-byte seed kept beside the database (`online.seed`, mode 0600), with
//! [`tuf::online::OnlineSeed`]. The seed is as sensitive as all online keys together.
//!
//! A separate signer (`tuflog signer`, keys in another process, behind mutual TLS)
//! implements the same trait ([`crate::remote_signer::RemoteSigner`]); the server
//! then never sees a private key.

use super::name::RepoName;
use crate::Error;
use std::fs;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use tuf::keys::{Key, PrivateKey, Signature};
use tuf::online::{OnlineKeyring, OnlineSeed};

/// Which online role a key signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnlineRole {
    /// snapshot.json
    Snapshot,
    /// timestamp.json
    Timestamp,
}

impl OnlineRole {
    /// The TUF role name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnlineRole::Snapshot => "snapshot",
            OnlineRole::Timestamp => "timestamp",
        }
    }
}

/// A repository's online public keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineKeys {
    /// The snapshot key.
    pub snapshot: Key,
    /// Its key ID.
    pub snapshot_keyid: String,
    /// The timestamp key.
    pub timestamp: Key,
    /// Its key ID.
    pub timestamp_keyid: String,
    /// The last snapshot version signed, when the signer keeps track (a separate
    /// signer does; it refuses to sign another document with that version).
    pub snapshot_signed: Option<u64>,
    /// The last timestamp version signed, when the signer keeps track.
    pub timestamp_signed: Option<u64>,
}

/// A boxed future, so the trait stays object-safe for a remote implementation.
pub type SignFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Holds the online keys and signs with them.
pub trait Signer: Send + Sync {
    /// The public keys of `repo`.
    fn keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys>;

    /// A signature by `repo`'s `role` key over `message` (the canonical JSON of a
    /// document's `signed`).
    fn sign<'a>(
        &'a self,
        repo: &'a RepoName,
        role: OnlineRole,
        message: &'a [u8],
    ) -> SignFuture<'a, Signature>;
}

/// The in-process signer: keys derived from one seed.
pub struct LocalSigner {
    keys: OnlineKeyring,
}

impl LocalSigner {
    /// Loads the seed at `path`, or generates and stores one if there is no file.
    pub fn load_or_generate(path: &Path) -> Result<Self, Error> {
        let err = |reason: String| Error::Key {
            path: path.display().to_string(),
            reason,
        };
        match fs::read(path) {
            Ok(bytes) => {
                let bytes = zeroize::Zeroizing::new(bytes);
                let text = std::str::from_utf8(&bytes).map_err(|_| err("not a hex seed".into()))?;
                let seed = OnlineSeed::from_hex(text).map_err(|e| err(e.to_string()))?;
                Ok(LocalSigner::with_seed(seed))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed = OnlineSeed::generate(&mut rand_core::OsRng);
                crate::logkey::write_secret_file(path, seed.to_hex().as_bytes())
                    .map_err(|e| err(e.to_string()))?;
                Ok(LocalSigner::with_seed(seed))
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// A signer from a seed given directly (tests, benchmarks).
    pub fn from_seed(seed: [u8; tuf::online::SEED_BYTES]) -> Self {
        LocalSigner::with_seed(OnlineSeed::from_bytes(seed))
    }

    fn with_seed(seed: OnlineSeed) -> Self {
        LocalSigner {
            keys: OnlineKeyring::new(seed),
        }
    }

    fn private_key(&self, repo: &RepoName, role: OnlineRole) -> Result<Arc<PrivateKey>, Error> {
        self.keys
            .key(role.as_str(), repo.as_str())
            .map_err(|e| Error::Signing(e.to_string()))
    }
}

impl Signer for LocalSigner {
    fn keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys> {
        Box::pin(async move {
            let snapshot = self.private_key(repo, OnlineRole::Snapshot)?;
            let timestamp = self.private_key(repo, OnlineRole::Timestamp)?;
            Ok(OnlineKeys {
                snapshot: snapshot.public().clone(),
                snapshot_keyid: snapshot.key_id().to_string(),
                timestamp: timestamp.public().clone(),
                timestamp_keyid: timestamp.key_id().to_string(),
                snapshot_signed: None,
                timestamp_signed: None,
            })
        })
    }

    fn sign<'a>(
        &'a self,
        repo: &'a RepoName,
        role: OnlineRole,
        message: &'a [u8],
    ) -> SignFuture<'a, Signature> {
        Box::pin(async move {
            let key = self.private_key(repo, role)?;
            // Ed25519 signing is deterministic; the generator is not consulted.
            key.sign_envelope(message, &mut rand_core::OsRng)
                .map_err(|e| Error::Signing(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<T>(f: SignFuture<'_, T>) -> Result<T, Error> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn keys_are_per_repository_and_role_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("online.seed");
        let a = RepoName::new("example.com/a").unwrap();
        let b = RepoName::new("example.com/b").unwrap();
        let first = LocalSigner::load_or_generate(&path).unwrap();
        let ka = block(first.keys(&a)).unwrap();
        let kb = block(first.keys(&b)).unwrap();
        assert_ne!(ka.snapshot_keyid, ka.timestamp_keyid);
        assert_ne!(ka.snapshot_keyid, kb.snapshot_keyid);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = LocalSigner::load_or_generate(&path).unwrap();
        assert_eq!(block(again.keys(&a)).unwrap(), ka);
        let sig = block(again.sign(&a, OnlineRole::Timestamp, b"msg")).unwrap();
        assert_eq!(sig.keyid, ka.timestamp_keyid);
        let public = ka.timestamp.parse(&ka.timestamp_keyid).unwrap();
        assert!(public.verify(b"msg", &hex::decode(&sig.sig).unwrap()));
        fs::write(&path, "not hex").unwrap();
        assert!(LocalSigner::load_or_generate(&path).is_err());
    }
}
