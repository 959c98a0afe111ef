//! Private keys at rest, each in its own file, encrypted under a passphrase.
//!
//! The passphrase is stretched with Argon2id (memory-hard, RFC 9106) into a 256-bit
//! key for XChaCha20-Poly1305; the plaintext is the key's PKCS#8 PEM. The key ID and
//! format name are authenticated data, so a ciphertext moved into another key's
//! record fails to open. The public key is stored in the clear, so listing keys and
//! writing metadata that names them needs no passphrase.

use crate::{Error, Result};
use edge::durable::write_atomic_private;
use edge::sealed;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tuf::keys::{Key, KeyKind, PrivateKey};
use zeroize::Zeroizing;

/// The format name of a key file.
pub const KEY_FORMAT: &str = "tuflog-key/v1";
/// Largest key file read (an RSA-4096 PKCS#8 PEM is ~3.3 KiB).
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
/// Shortest key ID prefix accepted in place of a full key ID.
pub const MIN_KEYID_PREFIX: usize = 8;

pub use edge::sealed::KdfParams;

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    keyid: String,
    public: Key,
    #[serde(flatten)]
    sealed: sealed::SealedFields,
}

/// A key as listed.
#[derive(Clone, Debug, Serialize)]
pub struct StoredKey {
    /// Key ID.
    pub keyid: String,
    /// The public key object, as it goes into metadata.
    pub public: Key,
}

/// A directory of encrypted keys.
#[derive(Clone, Debug)]
pub struct Keystore {
    dir: PathBuf,
    params: KdfParams,
}

fn aad(keyid: &str) -> Vec<u8> {
    format!("{KEY_FORMAT}\n{keyid}").into_bytes()
}

impl Keystore {
    /// The keystore in `dir` (created on first write), with default KDF costs.
    pub fn open(dir: impl Into<PathBuf>) -> Self {
        Keystore {
            dir: dir.into(),
            params: KdfParams::default(),
        }
    }

    /// The same keystore writing new keys with `params` (existing files keep theirs).
    pub fn with_params(mut self, params: KdfParams) -> Self {
        self.params = params;
        self
    }

    fn path(&self, keyid: &str) -> PathBuf {
        self.dir.join(format!("{keyid}.json"))
    }

    /// Generates a key of `kind`, stores it encrypted, returns it.
    pub fn generate(&self, kind: KeyKind, passphrase: &str) -> Result<StoredKey> {
        let key = PrivateKey::generate(kind, &mut OsRng)
            .map_err(|e| Error::Keystore(format!("generating: {e}")))?;
        self.store(&key, passphrase)
    }

    /// Stores a PKCS#8 PEM private key (ed25519, ECDSA P-256/P-384, RSA).
    pub fn import_pem(&self, pem: &str, passphrase: &str) -> Result<StoredKey> {
        let key = PrivateKey::from_pkcs8_pem(pem)
            .map_err(|e| Error::Keystore(format!("importing: {e}")))?;
        self.store(&key, passphrase)
    }

    fn store(&self, key: &PrivateKey, passphrase: &str) -> Result<StoredKey> {
        let keyid = key.key_id().to_string();
        let pem = key
            .to_pkcs8_pem()
            .map_err(|e| Error::Keystore(format!("encoding: {e}")))?;
        let sealed = sealed::seal(
            pem.as_bytes(),
            passphrase.as_bytes(),
            &aad(&keyid),
            self.params,
        )
        .map_err(|e| Error::Keystore(e.to_string()))?;
        let file = KeyFile {
            format: KEY_FORMAT.into(),
            keyid: keyid.clone(),
            public: key.public().clone(),
            sealed: (&sealed).into(),
        };
        let json = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::Keystore(format!("encoding: {e}")))?;
        let path = self.path(&keyid);
        write_atomic_private(&path, &json)?;
        Ok(StoredKey {
            keyid,
            public: key.public().clone(),
        })
    }

    fn read(&self, keyid: &str) -> Result<KeyFile> {
        let keyid = self.resolve(keyid)?;
        let path = self.path(&keyid);
        let bytes = edge::durable::read_optional(&path)?
            .ok_or_else(|| Error::Keystore(format!("no key {keyid}")))?;
        if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(Error::Keystore(format!("{}: too large", path.display())));
        }
        let file: KeyFile = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Keystore(format!("{}: {e}", path.display())))?;
        if file.format != KEY_FORMAT {
            return Err(Error::Keystore(format!(
                "{}: unsupported format {}",
                path.display(),
                file.format,
            )));
        }
        if file.keyid != keyid {
            return Err(Error::Keystore(format!(
                "{}: holds key {}, not {keyid}",
                path.display(),
                file.keyid
            )));
        }
        Ok(file)
    }

    /// A full key ID from a full ID or a unique prefix of at least
    /// [`MIN_KEYID_PREFIX`] characters.
    pub fn resolve(&self, keyid: &str) -> Result<String> {
        if !keyid.bytes().all(|b| b.is_ascii_hexdigit()) || keyid.is_empty() {
            return Err(Error::Keystore(format!("{keyid:?} is not a key ID")));
        }
        if self.path(keyid).exists() {
            return Ok(keyid.to_string());
        }
        if keyid.len() < MIN_KEYID_PREFIX {
            return Err(Error::Keystore(format!(
                "no key {keyid} (prefixes need at least {MIN_KEYID_PREFIX} characters)"
            )));
        }
        let matches: Vec<String> = self
            .list()?
            .into_iter()
            .map(|k| k.keyid)
            .filter(|id| id.starts_with(keyid))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::Keystore(format!("no key {keyid}"))),
            _ => Err(Error::Keystore(format!(
                "{keyid} matches {} keys",
                matches.len()
            ))),
        }
    }

    /// Decrypts a key. A wrong passphrase and a tampered file look the same.
    pub fn load(&self, keyid: &str, passphrase: &str) -> Result<PrivateKey> {
        let file = self.read(keyid)?;
        let sealed = file
            .sealed
            .to_sealed()
            .map_err(|e| Error::Keystore(format!("key {}: {e}", file.keyid)))?;
        let pem = sealed::open(&sealed, passphrase.as_bytes(), &aad(&file.keyid))
            .map_err(|e| Error::Keystore(format!("key {}: {e}", file.keyid)))?;
        let pem = std::str::from_utf8(&pem)
            .map_err(|_| Error::Keystore(format!("key {}: not PEM", file.keyid)))?;
        let key = PrivateKey::from_pkcs8_pem(pem)
            .map_err(|e| Error::Keystore(format!("key {}: {e}", file.keyid)))?;
        if key.key_id() != file.keyid {
            return Err(Error::Keystore(format!(
                "key {}: decrypts to key {}",
                file.keyid,
                key.key_id()
            )));
        }
        Ok(key)
    }

    /// The private key as PKCS#8 PEM, for backup or another tool.
    pub fn export_pem(&self, keyid: &str, passphrase: &str) -> Result<Zeroizing<String>> {
        self.load(keyid, passphrase)?
            .to_pkcs8_pem()
            .map_err(|e| Error::Keystore(format!("encoding: {e}")))
    }

    /// The public half of a stored key; no passphrase needed.
    pub fn public(&self, keyid: &str) -> Result<StoredKey> {
        let file = self.read(keyid)?;
        Ok(StoredKey {
            keyid: file.keyid,
            public: file.public,
        })
    }

    /// Every stored key, by key ID.
    pub fn list(&self) -> Result<Vec<StoredKey>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.dir, e)),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(keyid) = name.strip_suffix(".json") else {
                continue;
            };
            if keyid.is_empty() || !keyid.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            keys.push(self.public(keyid)?);
        }
        keys.sort_by(|a, b| a.keyid.cmp(&b.keyid));
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;

    fn store(dir: &std::path::Path) -> Keystore {
        Keystore::open(dir).with_params(KdfParams::dangerous_low_cost())
    }

    #[test]
    fn every_key_kind_round_trips_and_signs_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let ks = store(dir.path());
        for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256, KeyKind::RsaPss] {
            let stored = ks.generate(kind, "correct horse").unwrap();
            let key = ks.load(&stored.keyid, "correct horse").unwrap();
            assert_eq!(key.public(), &stored.public);
            let pem = ks.export_pem(&stored.keyid[..12], "correct horse").unwrap();
            let other = tempfile::tempdir().unwrap();
            let again = store(other.path()).import_pem(&pem, "another").unwrap();
            assert_eq!(again.keyid, stored.keyid);
        }
        assert_eq!(ks.list().unwrap().len(), 3);
    }

    #[test]
    fn a_wrong_passphrase_or_an_altered_file_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let ks = store(dir.path());
        let stored = ks.generate(KeyKind::Ed25519, "right").unwrap();
        let err = ks.load(&stored.keyid, "wrong").err().unwrap();
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
        let path = dir.path().join(format!("{}.json", stored.keyid));
        let original = std::fs::read_to_string(&path).unwrap();
        let mut file: serde_json::Value = serde_json::from_str(&original).unwrap();
        let ct = B64.decode(file["ciphertext"].as_str().unwrap()).unwrap();
        for i in [0, ct.len() / 2, ct.len() - 1] {
            let mut bad = ct.clone();
            bad[i] ^= 1;
            file["ciphertext"] = B64.encode(&bad).into();
            std::fs::write(&path, file.to_string()).unwrap();
            assert!(ks.load(&stored.keyid, "right").is_err(), "byte {i}");
        }
        file["ciphertext"] = B64.encode(&ct).into();
        file["params"]["t_cost"] = 2.into();
        std::fs::write(&path, file.to_string()).unwrap();
        assert!(ks.load(&stored.keyid, "right").is_err(), "changed KDF cost");
        std::fs::write(&path, original).unwrap();
        assert!(ks.load(&stored.keyid, "right").is_ok());
    }

    #[test]
    fn a_ciphertext_moved_under_another_key_id_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let ks = store(dir.path());
        let a = ks.generate(KeyKind::Ed25519, "pw").unwrap();
        let b = ks.generate(KeyKind::Ed25519, "pw").unwrap();
        let read = |k: &StoredKey| -> serde_json::Value {
            serde_json::from_slice(
                &std::fs::read(dir.path().join(format!("{}.json", k.keyid))).unwrap(),
            )
            .unwrap()
        };
        let (fa, mut fb) = (read(&a), read(&b));
        for field in ["salt", "nonce", "ciphertext"] {
            fb[field] = fa[field].clone();
        }
        std::fs::write(dir.path().join(format!("{}.json", b.keyid)), fb.to_string()).unwrap();
        assert!(ks.load(&b.keyid, "pw").is_err());
    }

    #[test]
    fn key_files_are_private_and_ids_must_be_hex() {
        let dir = tempfile::tempdir().unwrap();
        let ks = store(dir.path());
        let k = ks.generate(KeyKind::Ed25519, "pw").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(format!("{}.json", k.keyid)))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        for bad in ["../etc/passwd", "", "abc", "zz"] {
            assert!(ks.load(bad, "pw").is_err(), "{bad}");
        }
        assert!(ks.generate(KeyKind::Ed25519, "").is_err());
    }
}
