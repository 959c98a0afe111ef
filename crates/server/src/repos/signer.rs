//! The online keys: each repository's snapshot and timestamp keys, held by the
//! service and used through the [`Signer`] trait.
//!
//! The embedded default, [`LocalSigner`], derives every repository's keys from one
//! 32-byte seed kept beside the database (`online.seed`, mode 0600), with
//! [`tuf::online::OnlineSeed`]. The seed is as sensitive as all online keys together.
//!
//! A repository's online keys come in generations. Its owner rotates them by
//! publishing a root that names the next generation's keys ([`Signer::next_keys`]);
//! the first signature by those keys makes that generation current, and the keys
//! before it sign nothing more. `LocalSigner` keeps each repository's current
//! generation beside the seed (`online.generations`).
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
use tuf::online::{GenerationUse, OnlineKeyring, OnlineSeed};

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
    /// The generation of these keys (0 until the first rotation).
    pub generation: u32,
}

/// A boxed future, so the trait stays object-safe for a remote implementation.
pub type SignFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Holds the online keys and signs with them.
pub trait Signer: Send + Sync {
    /// The public keys of `repo` that sign now.
    fn keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys>;

    /// The public keys of `repo`'s next generation, for a root that rotates its
    /// online keys.
    fn next_keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys>;

    /// A signature by `repo`'s `role` key of `generation` over `message` (the
    /// canonical JSON of a document's `signed`). The next generation becomes the
    /// current one; an earlier one is refused.
    fn sign<'a>(
        &'a self,
        repo: &'a RepoName,
        role: OnlineRole,
        generation: u32,
        message: &'a [u8],
    ) -> SignFuture<'a, Signature>;

    /// A signature of the snapshot whose canonical `signed` is `snapshot` and, when
    /// the signer can make it in the same request, of the timestamp that follows it
    /// (`tuf::repository::timestamp_for` over the snapshot's envelope with that
    /// signature). A remote signer does, saving a push one round trip; by default
    /// only the snapshot is signed and the caller signs the timestamp.
    fn sign_snapshot_then_timestamp<'a>(
        &'a self,
        repo: &'a RepoName,
        generation: u32,
        snapshot: &'a [u8],
        after: &'a TimestampAfter,
    ) -> SignFuture<'a, SnapshotSignatures> {
        let _ = after;
        Box::pin(async move {
            Ok(SnapshotSignatures {
                snapshot: self
                    .sign(repo, OnlineRole::Snapshot, generation, snapshot)
                    .await?,
                timestamp: None,
            })
        })
    }
}

/// The timestamp to sign right after a snapshot: its version and expiry.
#[derive(Clone, Copy, Debug)]
pub struct TimestampAfter {
    /// The timestamp's version.
    pub version: u64,
    /// Its expiry.
    pub expires: tuf::metadata::Expires,
}

/// A snapshot's signature and, when the signer made it in the same request, the
/// signature of the timestamp that follows the snapshot with the `signed` it covers.
pub struct SnapshotSignatures {
    /// The snapshot's signature.
    pub snapshot: Signature,
    /// The timestamp's signature and its canonical `signed`, if the signer made it.
    pub timestamp: Option<(Signature, Vec<u8>)>,
}

/// Repositories whose current generation `LocalSigner` records (those rotated at
/// least once).
pub const MAX_ROTATED_REPOS: usize = 1_000_000;
/// Largest generations record read.
pub const MAX_GENERATIONS_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The in-process signer: keys derived from one seed.
pub struct LocalSigner {
    keys: OnlineKeyring,
    /// Each rotated repository's current generation, and where it is kept (none
    /// for a signer made from a seed in memory).
    generations: std::sync::Mutex<std::collections::BTreeMap<String, u32>>,
    generations_path: Option<std::path::PathBuf>,
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
                LocalSigner::with_seed(seed).keeping_generations(path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed = OnlineSeed::generate(&mut rand_core::OsRng);
                crate::logkey::write_secret_file(path, seed.to_hex().as_bytes())
                    .map_err(|e| err(e.to_string()))?;
                LocalSigner::with_seed(seed).keeping_generations(path)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Reads and keeps the generations record beside the seed at `seed_path`.
    fn keeping_generations(mut self, seed_path: &Path) -> Result<Self, Error> {
        let path = seed_path.with_file_name("online.generations");
        let err = |reason: String| Error::Key {
            path: path.display().to_string(),
            reason,
        };
        if path.exists() {
            let bytes = edge::durable::read_bounded(&path, MAX_GENERATIONS_FILE_BYTES)
                .map_err(|e| err(e.to_string()))?;
            let map = serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?;
            self.generations = std::sync::Mutex::new(map);
        }
        self.generations_path = Some(path);
        Ok(self)
    }

    fn generation(&self, repo: &RepoName) -> u32 {
        self.generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(repo.as_str())
            .copied()
            .unwrap_or(0)
    }

    /// Checks `generation` against `repo`'s current one and, when it is the next,
    /// records it (durably) as current.
    fn use_generation(&self, repo: &RepoName, generation: u32) -> Result<(), Error> {
        let mut map = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        let current = map.get(repo.as_str()).copied().unwrap_or(0);
        match GenerationUse::of(current, generation) {
            GenerationUse::Current => return Ok(()),
            GenerationUse::Next => {}
            GenerationUse::Retired => {
                return Err(Error::SignerRefused(format!(
                    "[retired_key] {repo}: online keys of generation {generation} were \
                     retired; generation {current} signs now"
                )))
            }
            GenerationUse::NotHandedOut => {
                return Err(Error::Signing(format!(
                    "{repo}: online keys of generation {generation} were never handed out"
                )))
            }
        }
        if map.len() >= MAX_ROTATED_REPOS && !map.contains_key(repo.as_str()) {
            return Err(Error::Signing(format!(
                "{MAX_ROTATED_REPOS} repositories rotated already"
            )));
        }
        map.insert(repo.as_str().to_string(), generation);
        if let Some(path) = &self.generations_path {
            let json = serde_json::to_vec(&*map).map_err(|e| Error::Signing(e.to_string()))?;
            edge::durable::write_atomic(path, &json).map_err(|e| Error::Key {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }

    fn public(&self, repo: &RepoName, generation: u32) -> Result<OnlineKeys, Error> {
        let snapshot = self.private_key(repo, OnlineRole::Snapshot, generation)?;
        let timestamp = self.private_key(repo, OnlineRole::Timestamp, generation)?;
        Ok(OnlineKeys {
            snapshot: snapshot.public().clone(),
            snapshot_keyid: snapshot.key_id().to_string(),
            timestamp: timestamp.public().clone(),
            timestamp_keyid: timestamp.key_id().to_string(),
            snapshot_signed: None,
            timestamp_signed: None,
            generation,
        })
    }

    /// A signer from a seed given directly (tests, benchmarks).
    pub fn from_seed(seed: [u8; tuf::online::SEED_BYTES]) -> Self {
        LocalSigner::with_seed(OnlineSeed::from_bytes(seed))
    }

    fn with_seed(seed: OnlineSeed) -> Self {
        LocalSigner {
            keys: OnlineKeyring::new(seed),
            generations: Default::default(),
            generations_path: None,
        }
    }

    fn private_key(
        &self,
        repo: &RepoName,
        role: OnlineRole,
        generation: u32,
    ) -> Result<Arc<PrivateKey>, Error> {
        self.keys
            .key(role.as_str(), repo.as_str(), generation)
            .map_err(|e| Error::Signing(e.to_string()))
    }
}

impl Signer for LocalSigner {
    fn keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys> {
        Box::pin(async move { self.public(repo, self.generation(repo)) })
    }

    fn next_keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys> {
        Box::pin(async move { self.public(repo, self.generation(repo).saturating_add(1)) })
    }

    fn sign<'a>(
        &'a self,
        repo: &'a RepoName,
        role: OnlineRole,
        generation: u32,
        message: &'a [u8],
    ) -> SignFuture<'a, Signature> {
        Box::pin(async move {
            self.use_generation(repo, generation)?;
            let key = self.private_key(repo, role, generation)?;
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
        let sig = block(again.sign(&a, OnlineRole::Timestamp, 0, b"msg")).unwrap();
        assert_eq!(sig.keyid, ka.timestamp_keyid);
        let public = ka.timestamp.parse(&ka.timestamp_keyid).unwrap();
        assert!(public.verify(b"msg", &hex::decode(&sig.sig).unwrap()));

        // A rotation: the next generation's keys sign, become current for good (a
        // restart included), and the retired ones sign nothing.
        let next = block(again.next_keys(&a)).unwrap();
        assert_eq!(next.generation, 1);
        assert_ne!(next.timestamp_keyid, ka.timestamp_keyid);
        assert!(block(again.sign(&a, OnlineRole::Timestamp, 2, b"msg")).is_err());
        let sig = block(again.sign(&a, OnlineRole::Timestamp, 1, b"msg")).unwrap();
        assert_eq!(sig.keyid, next.timestamp_keyid);
        let rotated = LocalSigner::load_or_generate(&path).unwrap();
        assert_eq!(block(rotated.keys(&a)).unwrap(), next);
        assert_eq!(
            block(rotated.keys(&b)).unwrap(),
            kb,
            "other repositories stay"
        );
        assert!(block(rotated.sign(&a, OnlineRole::Timestamp, 0, b"msg")).is_err());
        fs::write(&path, "not hex").unwrap();
        assert!(LocalSigner::load_or_generate(&path).is_err());
    }
}
