//! Public keys as TUF metadata carries them, signature verification for each scheme,
//! key IDs, and private keys for signing.
//!
//! Schemes (TUF §4.2 and the key types securesystemslib and go-tuf write):
//!
//! | keytype | scheme | public key encoding |
//! |---|---|---|
//! | `ed25519` | `ed25519` | 64 hex digits |
//! | `ecdsa`, `ecdsa-sha2-nistp256` | `ecdsa-sha2-nistp256` | PEM SPKI, or hex of SEC1 point / DER SPKI |
//! | `ecdsa`, `ecdsa-sha2-nistp384` | `ecdsa-sha2-nistp384` | the same, on P-384 |
//! | `rsa` | `rsassa-pss-sha256` | PEM SPKI (or PKCS#1), at least [`MIN_RSA_BITS`] |
//!
//! Signatures are hex: raw 64 bytes for Ed25519, DER for ECDSA, PSS for RSA.

use crate::canonical::to_canonical_json;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// RSA keys shorter than this are refused (RSA-PSS SHA-256 keys of at least 2048 bits).
pub const MIN_RSA_BITS: usize = 2048;
/// RSA keys longer than this are refused: verification cost grows with the square of
/// the modulus, and no deployed TUF repository uses more.
pub const MAX_RSA_BITS: usize = 8192;
/// The longest public key string read (a PEM RSA-8192 SPKI is about 1.5 KiB).
pub const MAX_PUBLIC_KEY_CHARS: usize = 4096;
/// The longest signature string read, in hex digits (RSA-8192: 2,048).
pub const MAX_SIGNATURE_HEX_CHARS: usize = 2048;

/// A public key object as it appears in root or delegation `keys` (TUF §4.2), with
/// unknown fields kept so key IDs and re-serialisation are exact.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Key {
    /// The key type, e.g. `ed25519`.
    pub keytype: String,
    /// The signature scheme, e.g. `ed25519`.
    pub scheme: String,
    /// The key value.
    pub keyval: KeyVal,
    /// Fields this implementation does not know, kept verbatim.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
    /// The key as last parsed, with what it was parsed from: a server verifies many
    /// documents with one root's keys, and decoding a point costs as much as half a
    /// verification. Used only while the fields still say the same thing.
    #[serde(skip)]
    parsed: std::sync::OnceLock<(ParsedFrom, PublicKey)>,
}

/// The fields a parsed key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ParsedFrom {
    keytype: String,
    scheme: String,
    public: String,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.keytype == other.keytype
            && self.scheme == other.scheme
            && self.keyval == other.keyval
            && self.unknown == other.unknown
    }
}

impl Eq for Key {}

/// The `keyval` object of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    /// The public key in the encoding of its scheme.
    pub public: String,
    /// Fields this implementation does not know, kept verbatim.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// A parsed public key, ready to verify.
#[derive(Clone, Debug)]
pub enum PublicKey {
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// ECDSA over P-256 with SHA-256.
    EcdsaP256(p256::ecdsa::VerifyingKey),
    /// ECDSA over P-384 with SHA-384.
    EcdsaP384(p384::ecdsa::VerifyingKey),
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256.
    RsaPssSha256(rsa::RsaPublicKey),
}

fn bad_key(keyid: &str, reason: impl Into<String>) -> Error {
    Error::BadKey {
        keyid: keyid.to_string(),
        reason: reason.into(),
    }
}

impl Key {
    /// The key ID: hex SHA-256 of the key object's canonical JSON (TUF §4.2).
    pub fn key_id(&self) -> Result<String> {
        let canonical = to_canonical_json(self)?;
        Ok(hex::encode(Sha256::digest(canonical)))
    }

    /// Parses the key for verification. `keyid` is only used in error messages.
    pub fn parse(&self, keyid: &str) -> Result<PublicKey> {
        if let Some((from, key)) = self.parsed.get() {
            if from.keytype == self.keytype
                && from.scheme == self.scheme
                && from.public == self.keyval.public
            {
                return Ok(key.clone());
            }
        }
        let key = self.parse_uncached(keyid)?;
        let from = ParsedFrom {
            keytype: self.keytype.clone(),
            scheme: self.scheme.clone(),
            public: self.keyval.public.clone(),
        };
        // A racing parse stored the same key; either copy will do.
        let _ = self.parsed.set((from, key.clone()));
        Ok(key)
    }

    /// Takes `other`'s parsed key when both describe the same key material, so a key
    /// kept across a root rotation is not decoded again (a point decompression, about
    /// a sixth of a verification).
    pub(crate) fn reuse_parsed(&self, other: &Key) {
        if let Some((from, key)) = other.parsed.get() {
            if from.keytype == self.keytype
                && from.scheme == self.scheme
                && from.public == self.keyval.public
            {
                let _ = self.parsed.set((from.clone(), key.clone()));
            }
        }
    }

    fn parse_uncached(&self, keyid: &str) -> Result<PublicKey> {
        let public = self.keyval.public.as_str();
        if public.len() > MAX_PUBLIC_KEY_CHARS {
            return Err(bad_key(keyid, "public key string too long"));
        }
        match (self.keytype.as_str(), self.scheme.as_str()) {
            ("ed25519", "ed25519") => {
                let raw: [u8; 32] = hex::decode(public)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| bad_key(keyid, "ed25519 public key is not 32 hex bytes"))?;
                ed25519_dalek::VerifyingKey::from_bytes(&raw)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| bad_key(keyid, "invalid ed25519 point"))
            }
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                use p256::pkcs8::DecodePublicKey;
                let key = if public.trim_start().starts_with("-----BEGIN") {
                    p256::ecdsa::VerifyingKey::from_public_key_pem(public).ok()
                } else {
                    hex::decode(public).ok().and_then(|der| {
                        p256::ecdsa::VerifyingKey::from_sec1_bytes(&der)
                            .ok()
                            .or_else(|| p256::ecdsa::VerifyingKey::from_public_key_der(&der).ok())
                    })
                };
                key.map(PublicKey::EcdsaP256)
                    .ok_or_else(|| bad_key(keyid, "not a P-256 public key"))
            }
            ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => {
                use p384::pkcs8::DecodePublicKey;
                let key = if public.trim_start().starts_with("-----BEGIN") {
                    p384::ecdsa::VerifyingKey::from_public_key_pem(public).ok()
                } else {
                    hex::decode(public).ok().and_then(|der| {
                        p384::ecdsa::VerifyingKey::from_sec1_bytes(&der)
                            .ok()
                            .or_else(|| p384::ecdsa::VerifyingKey::from_public_key_der(&der).ok())
                    })
                };
                key.map(PublicKey::EcdsaP384)
                    .ok_or_else(|| bad_key(keyid, "not a P-384 public key"))
            }
            ("rsa", "rsassa-pss-sha256") => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                use rsa::pkcs8::DecodePublicKey;
                use rsa::traits::PublicKeyParts;
                let key = rsa::RsaPublicKey::from_public_key_pem(public)
                    .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(public))
                    .map_err(|_| bad_key(keyid, "not a PEM RSA public key"))?;
                let bits = key.n().bits();
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(bad_key(
                        keyid,
                        format!("RSA key of {bits} bits, need {MIN_RSA_BITS}..={MAX_RSA_BITS}"),
                    ));
                }
                Ok(PublicKey::RsaPssSha256(key))
            }
            (t, s) => Err(bad_key(
                keyid,
                format!("unsupported keytype/scheme {t}/{s}"),
            )),
        }
    }

    /// The key object for an Ed25519 public key.
    pub fn ed25519(key: &ed25519_dalek::VerifyingKey) -> Key {
        Key::new("ed25519", "ed25519", hex::encode(key.as_bytes()))
    }

    /// The key object for an ECDSA P-256 public key (PEM SPKI, as securesystemslib
    /// writes it).
    pub fn ecdsa_p256(key: &p256::ecdsa::VerifyingKey) -> Result<Key> {
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        let pem = key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::Signing(format!("SPKI encoding: {e}")))?;
        Ok(Key::new("ecdsa", "ecdsa-sha2-nistp256", pem))
    }

    fn new(keytype: &str, scheme: &str, public: String) -> Key {
        Key {
            keytype: keytype.into(),
            scheme: scheme.into(),
            keyval: KeyVal {
                public,
                unknown: BTreeMap::new(),
            },
            unknown: BTreeMap::new(),
            parsed: std::sync::OnceLock::new(),
        }
    }
}

impl PublicKey {
    /// True if `sig` is a valid signature over `msg`. Malformed signatures are invalid.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            // RFC 8032 §5.1.7 with the strict rules: S canonical, neither A nor R
            // of small order, the cofactorless equation. The library's own check.
            PublicKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| k.verify_strict(msg, &s).is_ok()),
            PublicKey::EcdsaP256(k) => {
                use p256::ecdsa::signature::Verifier;
                p256::ecdsa::Signature::from_der(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
            PublicKey::EcdsaP384(k) => {
                use p384::ecdsa::signature::Verifier;
                p384::ecdsa::Signature::from_der(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
            PublicKey::RsaPssSha256(k) => {
                use rsa::signature::Verifier;
                use rsa::traits::PublicKeyParts;
                let Ok(s) = rsa::pss::Signature::try_from(sig) else {
                    return false;
                };
                // Signers differ in PSS salt length: securesystemslib and most tools
                // use the digest length, some the maximum. Both are RFC 8017 PSS.
                let digest_len = 32;
                let max_salt = k.size().saturating_sub(digest_len + 2);
                [digest_len, max_salt].iter().any(|&salt| {
                    rsa::pss::VerifyingKey::<Sha256>::new_with_salt_len(k.clone(), salt)
                        .verify(msg, &s)
                        .is_ok()
                })
            }
        }
    }

    /// True if `other` is the same key material as this key, however each was
    /// encoded, so two key IDs for one key count once toward a threshold.
    pub fn same_material(&self, other: &PublicKey) -> bool {
        match (self, other) {
            (PublicKey::Ed25519(a), PublicKey::Ed25519(b)) => a.as_bytes() == b.as_bytes(),
            (PublicKey::EcdsaP256(a), PublicKey::EcdsaP256(b)) => {
                a.to_encoded_point(true) == b.to_encoded_point(true)
            }
            (PublicKey::EcdsaP384(a), PublicKey::EcdsaP384(b)) => {
                a.to_encoded_point(true) == b.to_encoded_point(true)
            }
            (PublicKey::RsaPssSha256(a), PublicKey::RsaPssSha256(b)) => {
                use rsa::traits::PublicKeyParts;
                a.n() == b.n() && a.e() == b.e()
            }
            _ => false,
        }
    }
}

/// A signature in a metadata envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Signature {
    /// The key ID of the signing key.
    pub keyid: String,
    /// Hex signature. Empty for a key holder that has not signed yet.
    pub sig: String,
    /// Fields this implementation does not know, kept verbatim.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

// Read field by field rather than derived: serde's `flatten` buffers every member
// of the object first, and a signature is read for every document verified.
impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Signature;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a signature object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Signature, A::Error> {
                use serde::de::Error as _;
                let mut keyid = None;
                let mut sig = None;
                let unknown = crate::metadata::read_members(map, |key, map| {
                    Ok(Some(match key {
                        "keyid" => keyid.replace(map.next_value::<String>()?).is_some(),
                        "sig" => sig.replace(map.next_value::<String>()?).is_some(),
                        _ => return Ok(None),
                    }))
                })?;
                Ok(Signature {
                    keyid: keyid.ok_or_else(|| A::Error::missing_field("keyid"))?,
                    sig: sig.ok_or_else(|| A::Error::missing_field("sig"))?,
                    unknown,
                })
            }
        }
        d.deserialize_map(V)
    }
}

enum Secret {
    Ed25519(ed25519_dalek::SigningKey),
    EcdsaP256(p256::ecdsa::SigningKey),
    EcdsaP384(p384::ecdsa::SigningKey),
    RsaPss(Box<rsa::RsaPrivateKey>),
}

/// A private key that signs metadata.
///
/// Deliberately not `Debug`. Each inner key type zeroizes its secret on drop
/// (ed25519-dalek with its `zeroize` feature, the RustCrypto `ecdsa` and `rsa` keys
/// always).
pub struct PrivateKey {
    secret: Secret,
    public: Key,
    keyid: String,
}

/// Which kind of key to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Ed25519.
    Ed25519,
    /// ECDSA P-256 (keytype `ecdsa`, scheme `ecdsa-sha2-nistp256`, PEM public key).
    EcdsaP256,
    /// ECDSA P-384.
    EcdsaP384,
    /// RSASSA-PSS SHA-256 with a 3072-bit modulus.
    RsaPss,
}

/// Modulus size of generated RSA keys.
pub const GENERATED_RSA_BITS: usize = 3072;

impl PrivateKey {
    /// A new random key.
    pub fn generate(kind: KeyKind, rng: &mut impl rand_core::CryptoRngCore) -> Result<Self> {
        let secret = match kind {
            KeyKind::Ed25519 => {
                // A seed from the caller's RNG: ed25519-dalek 3 takes a newer rand_core
                // than the ECDSA and RSA crates.
                let mut seed = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(seed.as_mut());
                Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            KeyKind::EcdsaP256 => Secret::EcdsaP256(p256::ecdsa::SigningKey::random(rng)),
            KeyKind::EcdsaP384 => Secret::EcdsaP384(p384::ecdsa::SigningKey::random(rng)),
            KeyKind::RsaPss => Secret::RsaPss(Box::new(
                rsa::RsaPrivateKey::new(rng, GENERATED_RSA_BITS)
                    .map_err(|e| Error::Signing(format!("RSA key generation: {e}")))?,
            )),
        };
        Self::from_secret(secret)
    }

    /// An Ed25519 key from its 32-byte seed.
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Result<Self> {
        Self::from_secret(Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed)))
    }

    /// Reads a PKCS#8 PEM private key of any supported kind.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        use p256::pkcs8::DecodePrivateKey;
        // ed25519-dalek speaks a newer `pkcs8` than p256, p384 and rsa.
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        let secret = if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            Secret::Ed25519(k)
        } else if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            Secret::EcdsaP256(k)
        } else if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            Secret::EcdsaP384(k)
        } else if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
            Secret::RsaPss(Box::new(k))
        } else {
            return Err(Error::Signing(
                "not a PKCS#8 PEM key of a supported type".into(),
            ));
        };
        Self::from_secret(secret)
    }

    /// The key as PKCS#8 PEM, zeroized when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        let doc = match &self.secret {
            Secret::Ed25519(k) => {
                use ed25519_dalek::pkcs8::EncodePrivateKey as _;
                let doc = k
                    .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                    .map_err(|e| Error::Signing(format!("PKCS#8 encoding: {e}")))?;
                return Ok(Zeroizing::new(doc.to_string()));
            }
            Secret::EcdsaP256(k) => k.to_pkcs8_pem(LineEnding::LF),
            Secret::EcdsaP384(k) => k.to_pkcs8_pem(LineEnding::LF),
            Secret::RsaPss(k) => k.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| Error::Signing(format!("PKCS#8 encoding: {e}")))?;
        Ok(Zeroizing::new(doc.to_string()))
    }

    fn from_secret(secret: Secret) -> Result<Self> {
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        let pem_err = |e: p256::pkcs8::spki::Error| Error::Signing(format!("SPKI encoding: {e}"));
        let public = match &secret {
            Secret::Ed25519(k) => Key::ed25519(&k.verifying_key()),
            Secret::EcdsaP256(k) => Key::ecdsa_p256(k.verifying_key())?,
            Secret::EcdsaP384(k) => Key::new(
                "ecdsa",
                "ecdsa-sha2-nistp384",
                k.verifying_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(pem_err)?,
            ),
            Secret::RsaPss(k) => Key::new(
                "rsa",
                "rsassa-pss-sha256",
                k.to_public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(pem_err)?,
            ),
        };
        let keyid = public.key_id()?;
        Ok(PrivateKey {
            secret,
            public,
            keyid,
        })
    }

    /// The public key object.
    pub fn public(&self) -> &Key {
        &self.public
    }

    /// The key ID of the public key object.
    pub fn key_id(&self) -> &str {
        &self.keyid
    }

    /// Signs `msg`. RSA-PSS draws its salt from `rng`; the others are deterministic.
    pub fn sign(&self, msg: &[u8], rng: &mut impl rand_core::CryptoRngCore) -> Result<Vec<u8>> {
        Ok(match &self.secret {
            Secret::Ed25519(k) => {
                use ed25519_dalek::Signer;
                k.sign(msg).to_bytes().to_vec()
            }
            Secret::EcdsaP256(k) => {
                use p256::ecdsa::signature::Signer;
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            Secret::EcdsaP384(k) => {
                use p384::ecdsa::signature::Signer;
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            Secret::RsaPss(k) => {
                use rsa::signature::{RandomizedSigner, SignatureEncoding};
                let signer = rsa::pss::BlindedSigningKey::<Sha256>::new((**k).clone());
                signer
                    .try_sign_with_rng(rng, msg)
                    .map_err(|e| Error::Signing(format!("RSA-PSS: {e}")))?
                    .to_vec()
            }
        })
    }

    /// A signature object over `msg` for a metadata envelope.
    pub fn sign_envelope(
        &self,
        msg: &[u8],
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<Signature> {
        Ok(Signature {
            keyid: self.keyid.clone(),
            sig: hex::encode(self.sign(msg, rng)?),
            unknown: BTreeMap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn a_key_changed_after_parsing_is_parsed_again() {
        let a = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
        let b = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
        let sig_b = b.sign(b"m", &mut OsRng).unwrap();
        let mut key = a.public().clone();
        assert!(!key.parse("a").unwrap().verify(b"m", &sig_b));
        key.keyval.public = b.public().keyval.public.clone();
        assert!(
            key.parse("b").unwrap().verify(b"m", &sig_b),
            "stale parsed key used"
        );
        key.keyval.public = "zz".into();
        assert!(key.parse("bad").is_err());
    }

    #[test]
    fn a_parsed_key_is_reused_only_for_the_same_key_material() {
        let a = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
        let b = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
        let sig_b = b.sign(b"m", &mut OsRng).unwrap();
        let parsed_a = a.public().clone();
        parsed_a.parse("a").unwrap();
        // Another key listed under the same key ID must not take a's parsed form.
        let claims_to_be_a = b.public().clone();
        claims_to_be_a.reuse_parsed(&parsed_a);
        assert!(claims_to_be_a.parse("a").unwrap().verify(b"m", &sig_b));
        let same_as_a = a.public().clone();
        same_as_a.reuse_parsed(&parsed_a);
        assert!(same_as_a
            .parsed
            .get()
            .is_some_and(|(_, k)| k.same_material(&parsed_a.parse("a").unwrap())));
    }

    #[test]
    fn same_material_is_true_for_a_key_and_itself_only() {
        let kinds = [KeyKind::Ed25519, KeyKind::EcdsaP256, KeyKind::EcdsaP384];
        let keys: Vec<Key> = kinds
            .iter()
            .flat_map(|kind| [0, 1].map(|_| PrivateKey::generate(*kind, &mut OsRng).unwrap()))
            .map(|k| k.public().clone())
            .collect();
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                let (a, b) = (a.parse("a").unwrap(), b.parse("b").unwrap());
                assert_eq!(a.same_material(&b), i == j, "keys {i} and {j}");
            }
        }
    }

    #[test]
    fn every_key_kind_signs_and_verifies_and_rejects_tampering() {
        for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256, KeyKind::EcdsaP384] {
            let k = PrivateKey::generate(kind, &mut OsRng).unwrap();
            let public = k.public().parse(k.key_id()).unwrap();
            let sig = k.sign(b"message", &mut OsRng).unwrap();
            assert!(public.verify(b"message", &sig), "{kind:?}");
            assert!(!public.verify(b"messagf", &sig), "{kind:?}");
            let mut bad = sig.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(!public.verify(b"message", &bad), "{kind:?}");
            let pem = k.to_pkcs8_pem().unwrap();
            let again = PrivateKey::from_pkcs8_pem(&pem).unwrap();
            assert_eq!(again.public(), k.public());
        }
    }

    #[test]
    fn key_ids_are_sha256_of_canonical_json() {
        let k = Key::new("ed25519", "ed25519", "ab".repeat(32));
        let canonical = br#"{"keytype":"ed25519","keyval":{"public":"abababababababababababababababababababababababababababababababab"},"scheme":"ed25519"}"#;
        assert_eq!(k.key_id().unwrap(), hex::encode(Sha256::digest(canonical)));
    }

    #[test]
    fn unsupported_and_malformed_keys_are_typed_errors() {
        for (t, s, p) in [
            ("ed25519", "ed25519", "00"),
            ("ed25519", "ecdsa-sha2-nistp256", "00"),
            (
                "rsa",
                "rsassa-pss-sha256",
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            ),
            ("ecdsa", "ecdsa-sha2-nistp256", "zz"),
            ("dsa", "dsa", "00"),
        ] {
            assert!(matches!(
                Key::new(t, s, p.into()).parse("k"),
                Err(Error::BadKey { .. })
            ));
        }
    }
}
