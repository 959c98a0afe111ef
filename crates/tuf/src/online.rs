//! Online keys derived from one secret seed: every repository's snapshot and
//! timestamp keys, without storing one key per repository.
//!
//! HKDF-SHA256 (RFC 5869) of the seed, with the role and repository name as `info`,
//! gives an Ed25519 seed. A repository's keys come in generations: rotating its
//! online keys moves it to the next generation, whose keys add the generation
//! number to `info` (generation 0 has none, as keys made before rotation existed). So keys exist for every valid name, asking for a
//! repository's public keys writes nothing, and backing up 32 bytes backs up every
//! online key. The seed is as sensitive as all the online keys together. The
//! embedded server and the separate signer derive keys with this one function.

use crate::keys::PrivateKey;
use crate::Error;
use hkdf::Hkdf;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// Derived keys an [`OnlineKeyring`] keeps for reuse; past this many it empties its
/// cache and refills it.
pub const MAX_CACHED_KEYS: usize = 4096;

/// Size of the seed.
pub const SEED_BYTES: usize = 32;
/// HKDF `info` prefix; a new derivation gets a new prefix.
const DERIVATION: &[u8] = b"tuflog online key v1";

/// The secret every online key is derived from. No `Debug`; zeroized on drop.
pub struct OnlineSeed(Zeroizing<[u8; SEED_BYTES]>);

impl OnlineSeed {
    /// A seed from its bytes.
    pub fn from_bytes(seed: [u8; SEED_BYTES]) -> Self {
        OnlineSeed(Zeroizing::new(seed))
    }

    /// A new random seed.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut seed = Zeroizing::new([0u8; SEED_BYTES]);
        rng.fill_bytes(seed.as_mut());
        OnlineSeed(seed)
    }

    /// A seed from its hex form (surrounding whitespace allowed).
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let mut seed = Zeroizing::new([0u8; SEED_BYTES]);
        hex::decode_to_slice(text.trim(), seed.as_mut()).map_err(|_| Error::BadKey {
            keyid: "online seed".into(),
            reason: format!("not {SEED_BYTES} hex-encoded bytes"),
        })?;
        Ok(OnlineSeed(seed))
    }

    /// The hex form, for a file only the service can read.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    /// The key of `role` ("snapshot" or "timestamp") for repository `repo`, of
    /// `generation`.
    pub fn derive(&self, role: &str, repo: &str, generation: u32) -> Result<PrivateKey, Error> {
        if generation >= MAX_GENERATIONS {
            return Err(Error::Signing(format!(
                "online-key generation {generation}; at most {MAX_GENERATIONS}"
            )));
        }
        let hk = Hkdf::<Sha256>::new(None, self.0.as_ref());
        let mut info = Vec::with_capacity(DERIVATION.len() + 7 + role.len() + repo.len());
        info.extend_from_slice(DERIVATION);
        info.push(0);
        info.extend_from_slice(role.as_bytes());
        info.push(0);
        info.extend_from_slice(repo.as_bytes());
        if generation > 0 {
            info.push(0);
            info.extend_from_slice(&generation.to_be_bytes());
        }
        let mut key_seed = Zeroizing::new([0u8; 32]);
        hk.expand(&info, key_seed.as_mut())
            .map_err(|_| Error::Signing("HKDF output length".into()))?;
        PrivateKey::ed25519_from_seed(&key_seed)
    }
}

/// Online-key generations a repository may pass through: each rotation of its
/// online keys is one.
pub const MAX_GENERATIONS: u32 = 1 << 20;

/// What a signature by a repository's keys of one generation means, while another
/// generation signs: the rule every holder of online keys applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerationUse {
    /// The generation that signs now.
    Current,
    /// The next one: its owner published a root naming it, so it becomes current
    /// for good.
    Next,
    /// One rotated away from: it signs nothing more.
    Retired,
    /// Past the next one: never handed out.
    NotHandedOut,
}

impl GenerationUse {
    /// How a signature by generation `asked` stands while `current` signs.
    pub fn of(current: u32, asked: u32) -> Self {
        if asked < current {
            GenerationUse::Retired
        } else if asked == current {
            GenerationUse::Current
        } else if asked == current.saturating_add(1) {
            GenerationUse::Next
        } else {
            GenerationUse::NotHandedOut
        }
    }
}

type KeyCache = Mutex<HashMap<(&'static str, String, u32), Arc<PrivateKey>>>;

/// An [`OnlineSeed`] with the keys it derived kept for reuse: a derivation costs an
/// HKDF and a scalar multiplication, and a push uses its repository's keys several
/// times. What the embedded server and the separate signer both sign with.
pub struct OnlineKeyring {
    seed: OnlineSeed,
    cache: KeyCache,
}

impl OnlineKeyring {
    /// The keyring of `seed`.
    pub fn new(seed: OnlineSeed) -> Self {
        OnlineKeyring {
            seed,
            cache: KeyCache::default(),
        }
    }

    /// The seed, to store it.
    pub fn seed(&self) -> &OnlineSeed {
        &self.seed
    }

    /// The key of `role` ("snapshot" or "timestamp") for repository `repo`, of
    /// `generation`.
    pub fn key(
        &self,
        role: &'static str,
        repo: &str,
        generation: u32,
    ) -> Result<Arc<PrivateKey>, Error> {
        let id = (role, repo.to_string(), generation);
        if let Some(k) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(k.clone());
        }
        let key = Arc::new(self.seed.derive(role, repo, generation)?);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_KEYS {
            cache.clear();
        }
        cache.insert(id, key.clone());
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_role_repository_and_seed_and_are_stable() {
        let seed = OnlineSeed::from_bytes([7; 32]);
        let a = seed.derive("timestamp", "example.com/a", 0).unwrap();
        assert_eq!(
            a.key_id(),
            seed.derive("timestamp", "example.com/a", 0)
                .unwrap()
                .key_id()
        );
        assert_ne!(
            a.key_id(),
            seed.derive("snapshot", "example.com/a", 0)
                .unwrap()
                .key_id()
        );
        assert_ne!(
            a.key_id(),
            seed.derive("timestamp", "example.com/b", 0)
                .unwrap()
                .key_id()
        );
        let other = OnlineSeed::from_bytes([8; 32]);
        assert_ne!(
            a.key_id(),
            other
                .derive("timestamp", "example.com/a", 0)
                .unwrap()
                .key_id()
        );
        let again = OnlineSeed::from_hex(&seed.to_hex()).unwrap();
        assert_eq!(
            again
                .derive("timestamp", "example.com/a", 0)
                .unwrap()
                .key_id(),
            a.key_id()
        );
        assert!(OnlineSeed::from_hex("abcd").is_err());
        // Each generation has keys of its own; generation 0 is the derivation of
        // keys made before generations existed.
        let next = seed.derive("timestamp", "example.com/a", 1).unwrap();
        assert_ne!(next.key_id(), a.key_id());
        assert_ne!(
            next.key_id(),
            seed.derive("timestamp", "example.com/a", 2)
                .unwrap()
                .key_id()
        );
        assert!(seed
            .derive("timestamp", "example.com/a", MAX_GENERATIONS)
            .is_err());
        assert_eq!(GenerationUse::of(2, 1), GenerationUse::Retired);
        assert_eq!(GenerationUse::of(2, 2), GenerationUse::Current);
        assert_eq!(GenerationUse::of(2, 3), GenerationUse::Next);
        assert_eq!(GenerationUse::of(2, 4), GenerationUse::NotHandedOut);
        assert_eq!(
            GenerationUse::of(u32::MAX, u32::MAX),
            GenerationUse::Current
        );
        let ring = OnlineKeyring::new(OnlineSeed::from_bytes([7; 32]));
        assert_eq!(
            ring.key("timestamp", "example.com/a", 0).unwrap().key_id(),
            a.key_id()
        );
        assert!(Arc::ptr_eq(
            &ring.key("timestamp", "example.com/a", 0).unwrap(),
            &ring.key("timestamp", "example.com/a", 0).unwrap()
        ));
    }
}
