//! Secrets sealed under a passphrase: Argon2id (memory-hard, RFC 9106) stretches the
//! passphrase into a 256-bit key for XChaCha20-Poly1305 (random 192-bit nonces are
//! safe). The caller's associated data binds a ciphertext to what it is (a key ID, a
//! file's purpose), so a ciphertext moved elsewhere fails to open, as does any
//! altered byte. The client keystore and the signer's key file both seal this way.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: RFC 9106's second recommended option.
    fn default() -> Self {
        KdfParams {
            m_cost: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}

impl KdfParams {
    /// Costs low enough for tests that seal many secrets. Never for real keys.
    pub fn dangerous_low_cost() -> Self {
        KdfParams {
            m_cost: 256,
            t_cost: 1,
            p_cost: 1,
        }
    }
}

/// Bytes of salt.
pub const SALT_BYTES: usize = 16;
/// Bytes of nonce.
pub const NONCE_BYTES: usize = 24;

/// A sealed secret and what opening it needs besides the passphrase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The KDF costs it was sealed with.
    pub params: KdfParams,
    /// Argon2id salt.
    pub salt: [u8; SALT_BYTES],
    /// XChaCha20-Poly1305 nonce.
    pub nonce: [u8; NONCE_BYTES],
    /// Ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// An empty passphrase protects nothing.
    #[error("an empty passphrase protects nothing")]
    EmptyPassphrase,
    /// The KDF parameters are out of Argon2's range.
    #[error("KDF parameters: {0}")]
    Params(String),
    /// A wrong passphrase and an altered ciphertext look the same, by design.
    #[error("wrong passphrase, or the sealed data was altered")]
    Open,
    /// A stored form that is not one this module writes.
    #[error("sealed data: {0}")]
    Malformed(String),
}

/// Names of the algorithms, as files record them.
const KDF: &str = "argon2id";
const CIPHER: &str = "xchacha20poly1305";

/// A [`Sealed`] as files store it: the algorithms named, the bytes in base64. A
/// file flattens it into its own JSON object (`#[serde(flatten)]`) beside what it
/// keeps in the clear, so every sealed file reads and checks its secret one way.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SealedFields {
    kdf: String,
    params: KdfParams,
    salt: String,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

impl From<&Sealed> for SealedFields {
    fn from(s: &Sealed) -> Self {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        SealedFields {
            kdf: KDF.into(),
            params: s.params,
            salt: b64.encode(s.salt),
            cipher: CIPHER.into(),
            nonce: b64.encode(s.nonce),
            ciphertext: b64.encode(&s.ciphertext),
        }
    }
}

impl SealedFields {
    /// The sealed bytes, once the algorithms are the ones this module uses and
    /// every field decodes to its size.
    pub fn to_sealed(&self) -> Result<Sealed, SealError> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        if self.kdf != KDF || self.cipher != CIPHER {
            return Err(SealError::Malformed(format!(
                "unsupported {} / {}",
                self.kdf, self.cipher
            )));
        }
        let decode = |what: &str, v: &str| {
            b64.decode(v)
                .map_err(|e| SealError::Malformed(format!("{what}: {e}")))
        };
        let sized = |what: &str| SealError::Malformed(format!("{what}: wrong length"));
        Ok(Sealed {
            params: self.params,
            salt: decode("salt", &self.salt)?
                .try_into()
                .map_err(|_| sized("salt"))?,
            nonce: decode("nonce", &self.nonce)?
                .try_into()
                .map_err(|_| sized("nonce"))?,
            ciphertext: decode("ciphertext", &self.ciphertext)?,
        })
    }
}

fn derive(
    passphrase: &[u8],
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let p = Params::new(params.m_cost, params.t_cost, params.p_cost, Some(32))
        .map_err(|e| SealError::Params(e.to_string()))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|e| SealError::Params(e.to_string()))?;
    Ok(out)
}

/// Seals `plaintext` under `passphrase`, bound to `aad`.
pub fn seal(
    plaintext: &[u8],
    passphrase: &[u8],
    aad: &[u8],
    params: KdfParams,
) -> Result<Sealed, SealError> {
    if passphrase.is_empty() {
        return Err(SealError::EmptyPassphrase);
    }
    let mut salt = [0u8; SALT_BYTES];
    OsRng.fill_bytes(&mut salt);
    let mut nonce = [0u8; NONCE_BYTES];
    OsRng.fill_bytes(&mut nonce);
    let secret = derive(passphrase, &salt, params)?;
    let ciphertext = XChaCha20Poly1305::new(secret.as_ref().into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| SealError::Open)?;
    Ok(Sealed {
        params,
        salt,
        nonce,
        ciphertext,
    })
}

/// Opens what [`seal`] sealed with the same passphrase and `aad`.
pub fn open(
    sealed: &Sealed,
    passphrase: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let secret = derive(passphrase, &sealed.salt, sealed.params)?;
    XChaCha20Poly1305::new(secret.as_ref().into())
        .decrypt(
            XNonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_fields_round_trip_and_refuse_other_algorithms_and_bad_sizes() {
        let sealed = seal(b"secret", b"pw", b"aad", KdfParams::dangerous_low_cost()).unwrap();
        let fields = SealedFields::from(&sealed);
        let json = serde_json::to_value(&fields).unwrap();
        let back: SealedFields = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back.to_sealed().unwrap(), sealed);
        for (field, value) in [
            ("kdf", "scrypt"),
            ("cipher", "aes-256-gcm"),
            ("salt", "not base64!"),
            ("nonce", "AAAA"),
        ] {
            let mut bad = json.clone();
            bad[field] = value.into();
            let bad: SealedFields = serde_json::from_value(bad).unwrap();
            assert!(
                matches!(bad.to_sealed(), Err(SealError::Malformed(_))),
                "{field}"
            );
        }
    }

    #[test]
    fn a_wrong_passphrase_other_data_or_any_altered_byte_does_not_open() {
        let params = KdfParams::dangerous_low_cost();
        let sealed = seal(b"secret", b"pass", b"what", params).unwrap();
        assert_eq!(&open(&sealed, b"pass", b"what").unwrap()[..], b"secret");
        assert!(matches!(
            open(&sealed, b"Pass", b"what"),
            Err(SealError::Open)
        ));
        assert!(matches!(
            open(&sealed, b"pass", b"whom"),
            Err(SealError::Open)
        ));
        for i in 0..sealed.ciphertext.len() {
            let mut altered = sealed.clone();
            altered.ciphertext[i] ^= 1;
            assert!(open(&altered, b"pass", b"what").is_err(), "byte {i}");
        }
        let mut altered = sealed.clone();
        altered.nonce[0] ^= 1;
        assert!(open(&altered, b"pass", b"what").is_err());
        let mut altered = sealed.clone();
        altered.salt[0] ^= 1;
        assert!(open(&altered, b"pass", b"what").is_err());
        assert!(matches!(
            seal(b"x", b"", b"", params),
            Err(SealError::EmptyPassphrase)
        ));
    }
}
