//! C2SP signed-note: notes signed by Ed25519 keys, verifier-key and signer-key strings.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one or more lines
//! `— <key name> base64(key ID || signature)`. Verification follows the spec's rules:
//! signatures by unknown keys are ignored, a bad signature by a known key rejects the
//! whole note, and a note with no good signature by a known key is rejected.
//!
//! Two signature types are understood: `0x01` (Ed25519 over the note text) and `0x04`
//! (cosignature/v1, see [`crate::cosignature`]).

use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// The largest note [`Note::parse`] reads. A checkpoint with a hundred cosignatures is
/// about 12 KiB; four times that leaves room for extension lines and long names.
pub const MAX_NOTE_BYTES: usize = 48 * 1024;
/// The most signature lines a note may carry. The spec asks verifiers to accept at
/// least 16.
pub const MAX_NOTE_SIGNATURES: usize = 100;
/// The longest key name accepted.
pub const MAX_KEY_NAME_BYTES: usize = 256;

/// The signature line prefix: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
const SKEY_PREFIX: &str = "PRIVATE+KEY+";
const ED25519_PUBLIC_KEY_LEN: usize = 32;
const ED25519_SIGNATURE_LEN: usize = 64;

/// A key name: non-empty, no Unicode spaces, no `+`, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Checks and wraps a key name.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::MalformedKey("empty key name".into()));
        }
        if name.len() > MAX_KEY_NAME_BYTES {
            return Err(Error::MalformedKey(format!(
                "key name longer than {MAX_KEY_NAME_BYTES} bytes"
            )));
        }
        if name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
        {
            return Err(Error::MalformedKey(format!(
                "key name {name:?} contains a space, a plus or a control character"
            )));
        }
        Ok(KeyName(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The signature types this crate signs and verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text.
    Ed25519,
    /// `0x04`: timestamped Ed25519 witness cosignature (cosignature/v1).
    CosignatureV1,
}

impl SignatureType {
    /// The identifier byte of the type.
    pub fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(b: u8) -> Result<Self> {
        match b {
            0x01 => Ok(SignatureType::Ed25519),
            0x04 => Ok(SignatureType::CosignatureV1),
            other => Err(Error::MalformedKey(format!(
                "unsupported signature type 0x{other:02x}"
            ))),
        }
    }
}

/// `key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]`, big-endian.
pub fn key_id(name: &KeyName, sig_type: SignatureType, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_str().as_bytes());
    h.update(b"\n");
    h.update([sig_type.byte()]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A public key that verifies note signatures, with its name and key ID.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: KeyName,
    id: u32,
    sig_type: SignatureType,
    key: VerifyingKey,
}

impl VerifierKey {
    /// A verifier for `key` under `name`; the key ID is computed.
    pub fn new(name: KeyName, sig_type: SignatureType, key: VerifyingKey) -> Self {
        let id = key_id(&name, sig_type, key.as_bytes());
        VerifierKey {
            name,
            id,
            sig_type,
            key,
        }
    }

    /// Parses `<name>+<hex key ID>+<base64(type || public key)>`, checking the key ID.
    pub fn parse(vkey: &str) -> Result<Self> {
        // The base64 key may itself contain '+', so split off only name and key ID.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::MalformedKey(
                "verifier key is not name+keyid+key".into(),
            ));
        };
        let name = KeyName::new(name)?;
        let id = parse_key_id(id_hex)?;
        let raw = B64
            .decode(key_b64)
            .map_err(|_| Error::MalformedKey("verifier key is not standard base64".into()))?;
        let (&type_byte, public) = raw
            .split_first()
            .ok_or_else(|| Error::MalformedKey("verifier key is empty".into()))?;
        let sig_type = SignatureType::from_byte(type_byte)?;
        let public: [u8; ED25519_PUBLIC_KEY_LEN] = public
            .try_into()
            .map_err(|_| Error::MalformedKey("Ed25519 public key is not 32 bytes".into()))?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| Error::MalformedKey("not a valid Ed25519 public key".into()))?;
        let vk = VerifierKey::new(name, sig_type, key);
        if vk.id != id {
            return Err(Error::MalformedKey(format!(
                "key ID {id:08x} does not match the key (want {:08x})",
                vk.id
            )));
        }
        Ok(vk)
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn sig_type(&self) -> SignatureType {
        self.sig_type
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Checks one signature over `text`, returning the cosignature timestamp for a
    /// cosignature/v1 key. `Err` means the signature is bad.
    fn verify_signature(&self, text: &str, sig: &[u8]) -> Result<Option<u64>> {
        let bad = || Error::InvalidSignature {
            name: self.name.to_string(),
            key_id: self.id,
        };
        match self.sig_type {
            SignatureType::Ed25519 => {
                let sig = Signature::from_slice(sig).map_err(|_| bad())?;
                self.key
                    .verify_strict(text.as_bytes(), &sig)
                    .map_err(|_| bad())?;
                Ok(None)
            }
            SignatureType::CosignatureV1 => {
                let (timestamp, sig) =
                    crate::cosignature::split_timestamped_signature(sig).ok_or_else(bad)?;
                let message = crate::cosignature::signed_message(timestamp, text);
                self.key.verify_strict(&message, &sig).map_err(|_| bad())?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(1 + ED25519_PUBLIC_KEY_LEN);
        raw.push(self.sig_type.byte());
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

fn parse_key_id(hex_id: &str) -> Result<u32> {
    if hex_id.len() != 8 || !hex_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::MalformedKey(format!(
            "key ID {hex_id:?} is not 8 hex digits"
        )));
    }
    u32::from_str_radix(hex_id, 16)
        .map_err(|_| Error::MalformedKey(format!("bad key ID {hex_id:?}")))
}

/// A private key that signs notes (or cosigns checkpoints), with its name.
///
/// Deliberately not `Debug` or `Display`; the key material is zeroized on drop.
pub struct SignerKey {
    /// The public half: name, key ID, signature type and key.
    public: VerifierKey,
    key: SigningKey,
}

impl SignerKey {
    /// A new random key.
    pub fn generate(
        name: KeyName,
        sig_type: SignatureType,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Self {
        // A seed from the caller's RNG: ed25519-dalek 3 takes a newer rand_core than
        // the rest of the workspace's RustCrypto keys.
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(name, sig_type, &seed)
    }

    /// A signer from an Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: KeyName, sig_type: SignatureType, seed: &[u8; 32]) -> Self {
        Self::from_signing_key(name, sig_type, SigningKey::from_bytes(seed))
    }

    fn from_signing_key(name: KeyName, sig_type: SignatureType, key: SigningKey) -> Self {
        SignerKey {
            public: VerifierKey::new(name, sig_type, key.verifying_key()),
            key,
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>`, checking the key
    /// ID against the derived public key.
    pub fn parse(skey: &str) -> Result<Self> {
        let rest = skey
            .strip_prefix(SKEY_PREFIX)
            .ok_or_else(|| Error::MalformedKey("signer key lacks PRIVATE+KEY+".into()))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::MalformedKey(
                "signer key is not PRIVATE+KEY+name+keyid+key".into(),
            ));
        };
        let name = KeyName::new(name)?;
        let id = parse_key_id(id_hex)?;
        let raw = Zeroizing::new(
            B64.decode(key_b64)
                .map_err(|_| Error::MalformedKey("signer key is not standard base64".into()))?,
        );
        let (&type_byte, seed) = raw
            .split_first()
            .ok_or_else(|| Error::MalformedKey("signer key is empty".into()))?;
        let sig_type = SignatureType::from_byte(type_byte)?;
        let mut seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| Error::MalformedKey("Ed25519 seed is not 32 bytes".into()))?;
        let signer = Self::from_seed(name, sig_type, &seed);
        seed.zeroize();
        if signer.public.key_id() != id {
            return Err(Error::MalformedKey(format!(
                "key ID {id:08x} does not match the key"
            )));
        }
        Ok(signer)
    }

    /// The signer-key string, for storing the key. Zeroized when dropped.
    pub fn to_skey_string(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(Vec::with_capacity(33));
        raw.push(self.public.sig_type().byte());
        raw.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "{SKEY_PREFIX}{}+{:08x}+{}",
            self.public.name(),
            self.public.key_id(),
            B64.encode(raw.as_slice())
        ))
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        self.public.clone()
    }

    /// The public half: its name, key ID and signature type are the signer's.
    pub fn public(&self) -> &VerifierKey {
        &self.public
    }

    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; ED25519_SIGNATURE_LEN] {
        self.key.sign(message).to_bytes()
    }
}

/// One signature line of a note, not yet checked.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteSignature {
    /// The key name on the line.
    pub name: KeyName,
    /// The key ID on the line.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line as it appears in the note, newline included.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }

    fn parse_line(line: &str) -> Result<Self> {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
            Error::MalformedNote("signature line does not start with '— '".into())
        })?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| Error::MalformedNote("signature line has no signature".into()))?;
        let name = KeyName::new(name).map_err(|e| Error::MalformedNote(e.to_string()))?;
        let raw = B64
            .decode(b64)
            .map_err(|_| Error::MalformedNote("signature is not standard base64".into()))?;
        if raw.len() < 5 {
            return Err(Error::MalformedNote("signature too short".into()));
        }
        let (id, sig) = raw.split_at(4);
        Ok(NoteSignature {
            name,
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            signature: sig.to_vec(),
        })
    }
}

/// A signature that verified, and by which key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The verifier key that accepted it.
    pub key: VerifierKey,
    /// The cosignature timestamp, for cosignature/v1 keys.
    pub timestamp: Option<u64>,
}

/// A note: its text and its signature lines (checked only by [`Note::verify`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

fn check_text(text: &str) -> Result<()> {
    if !text.ends_with('\n') {
        return Err(Error::MalformedNote(
            "text does not end in a newline".into(),
        ));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(Error::MalformedNote(
            "text contains a control character".into(),
        ));
    }
    Ok(())
}

impl Note {
    /// An unsigned note with `text`, which must end in a newline and hold no control
    /// characters but newlines.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        check_text(&text)?;
        if text.len() > MAX_NOTE_BYTES {
            return Err(Error::MalformedNote("text too long".into()));
        }
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. Checks structure only; see [`Note::verify`].
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(Error::MalformedNote(format!(
                "note longer than {MAX_NOTE_BYTES} bytes"
            )));
        }
        let msg = std::str::from_utf8(bytes)
            .map_err(|_| Error::MalformedNote("note is not UTF-8".into()))?;
        if msg.chars().any(|c| c < ' ' && c != '\n') {
            return Err(Error::MalformedNote(
                "note contains a control character".into(),
            ));
        }
        // "the text is separated from the signatures by the last empty line"
        let split = msg
            .rfind("\n\n")
            .ok_or_else(|| Error::MalformedNote("no blank line before signatures".into()))?;
        let text = &msg[..split + 1];
        let sigs = &msg[split + 2..];
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(Error::MalformedNote(
                "signature block is empty or does not end in a newline".into(),
            ));
        }
        let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
        if lines.len() > MAX_NOTE_SIGNATURES {
            return Err(Error::MalformedNote(format!(
                "more than {MAX_NOTE_SIGNATURES} signatures"
            )));
        }
        let signatures = lines
            .into_iter()
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>>>()?;
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// The note text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line, refusing past [`MAX_NOTE_SIGNATURES`].
    pub fn push_signature(&mut self, sig: NoteSignature) -> Result<()> {
        if self.signatures.len() >= MAX_NOTE_SIGNATURES {
            return Err(Error::MalformedNote(format!(
                "more than {MAX_NOTE_SIGNATURES} signatures"
            )));
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Signs the text with an Ed25519 (type 0x01) key and appends the line.
    pub fn sign(&mut self, signer: &SignerKey) -> Result<()> {
        if signer.public.sig_type() != SignatureType::Ed25519 {
            return Err(Error::MalformedKey(
                "note signing needs an Ed25519 (0x01) key; cosigners use cosignature::cosign"
                    .into(),
            ));
        }
        let sig = signer.sign_bytes(self.text.as_bytes());
        self.push_signature(NoteSignature {
            name: signer.public.name().clone(),
            key_id: signer.public.key_id(),
            signature: sig.to_vec(),
        })
    }

    /// Adds a signature made elsewhere (a hardware token, a remote signer) by `key`
    /// over this note's text, once it verifies under `key` (Ed25519, strictly): a
    /// signer that returns the wrong bytes is caught here, not by every reader.
    pub fn add_external_signature(&mut self, key: &VerifierKey, signature: &[u8]) -> Result<()> {
        if key.sig_type() != SignatureType::Ed25519 {
            return Err(Error::MalformedKey(
                "note signing needs an Ed25519 (0x01) key; cosigners use cosignature::cosign"
                    .into(),
            ));
        }
        key.verify_signature(&self.text, signature)?;
        self.push_signature(NoteSignature {
            name: key.name().clone(),
            key_id: key.key_id(),
            signature: signature.to_vec(),
        })
    }

    /// Checks the signatures against `known` keys.
    ///
    /// Signatures whose (name, key ID) match no known key are ignored. A signature that
    /// matches a known key but does not verify rejects the whole note. A note with no
    /// verified signature is rejected. Each known key appears at most once in the
    /// result, however many lines it signed.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Vec<VerifiedSignature>> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for sig in &self.signatures {
            let Some(key) = known
                .iter()
                .find(|k| k.name == sig.name && k.id == sig.key_id)
            else {
                continue;
            };
            let timestamp = key.verify_signature(&self.text, &sig.signature)?;
            if !verified.iter().any(|v| &v.key == key) {
                verified.push(VerifiedSignature {
                    key: key.clone(),
                    timestamp,
                });
            }
        }
        if verified.is_empty() {
            return Err(Error::UnverifiedNote);
        }
        Ok(verified)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for sig in &self.signatures {
            f.write_str(&sig.to_line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str) -> SignerKey {
        SignerKey::from_seed(
            KeyName::new(name).unwrap(),
            SignatureType::Ed25519,
            &[7; 32],
        )
    }

    #[test]
    fn key_names_reject_spaces_plus_and_empty() {
        for bad in ["", "a b", "a+b", "a\u{00a0}b", "a\tb", "a\nb"] {
            assert!(KeyName::new(bad).is_err(), "{bad:?}");
        }
        assert!(KeyName::new("x".repeat(MAX_KEY_NAME_BYTES + 1)).is_err());
        assert!(KeyName::new("example.com/log").is_ok());
    }

    #[test]
    fn an_external_signature_is_added_only_when_it_verifies() {
        let key = signer("example.com/log");
        let text = "example.com/log\n1\nAAAA\n";
        let mut signed_here = Note::new(text).unwrap();
        signed_here.sign(&key).unwrap();
        let made_elsewhere = key.sign_bytes(text.as_bytes());
        let mut added = Note::new(text).unwrap();
        added
            .add_external_signature(&key.verifier(), &made_elsewhere)
            .unwrap();
        assert_eq!(added.to_string(), signed_here.to_string());
        // Every bit of the signature, a truncated one, and one over other text.
        for i in 0..made_elsewhere.len() * 8 {
            let mut bad = made_elsewhere;
            bad[i / 8] ^= 1 << (i % 8);
            let mut note = Note::new(text).unwrap();
            assert!(note.add_external_signature(&key.verifier(), &bad).is_err());
        }
        let mut note = Note::new(text).unwrap();
        assert!(note
            .add_external_signature(&key.verifier(), &made_elsewhere[..63])
            .is_err());
        let other = key.sign_bytes(b"example.com/log\n2\nAAAA\n");
        assert!(note
            .add_external_signature(&key.verifier(), &other)
            .is_err());
        assert_eq!(
            note.to_string(),
            text.to_string() + "\n",
            "nothing was added"
        );
    }

    #[test]
    fn signer_and_verifier_strings_round_trip() {
        let s = signer("example.com/log");
        let s2 = SignerKey::parse(&s.to_skey_string()).unwrap();
        assert_eq!(s.verifier(), s2.verifier());
        let v = VerifierKey::parse(&s.verifier().to_string()).unwrap();
        assert_eq!(v, s.verifier());
    }

    #[test]
    fn wrong_key_id_in_a_verifier_string_is_rejected() {
        let v = signer("n").verifier().to_string();
        let mut parts: Vec<String> = v.split('+').map(String::from).collect();
        parts[1] = format!("{:08x}", u32::from_str_radix(&parts[1], 16).unwrap() ^ 1);
        assert!(VerifierKey::parse(&parts.join("+")).is_err());
    }

    #[test]
    fn unknown_signers_are_ignored_and_known_bad_signatures_reject() {
        let a = signer("a");
        let b = SignerKey::from_seed(KeyName::new("b").unwrap(), SignatureType::Ed25519, &[8; 32]);
        let mut note = Note::new("hello\n").unwrap();
        note.sign(&b).unwrap();
        note.sign(&a).unwrap();
        let parsed = Note::parse(note.to_string().as_bytes()).unwrap();
        assert_eq!(parsed, note);
        // Only a is known: b's line is ignored.
        assert_eq!(parsed.verify(&[a.verifier()]).unwrap().len(), 1);
        // Nobody known: rejected.
        let c = signer("c").verifier();
        assert!(matches!(parsed.verify(&[c]), Err(Error::UnverifiedNote)));
        // A known key whose signature is corrupted rejects the note even though another
        // known key signed correctly.
        let mut tampered = parsed.clone();
        tampered.signatures[0].signature[0] ^= 1;
        assert!(matches!(
            tampered.verify(&[a.verifier(), b.verifier()]),
            Err(Error::InvalidSignature { .. })
        ));
    }

    #[test]
    fn structural_errors_are_typed() {
        let a = signer("a");
        let mut note = Note::new("hello\n").unwrap();
        note.sign(&a).unwrap();
        let good = note.to_string();
        for bad in [
            good.replace("hello\n\n", "hello\n"),
            good.replace('\u{2014}', "-"),
            good.trim_end().to_string(),
            good.replace("hello", "he\rllo"),
            format!("{good}garbage\n"),
            good.replacen("a ", "a  ", 1),
        ] {
            assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(Note::parse(&[0xff, b'\n', b'\n']).is_err());
        assert!(Note::new("no newline").is_err());
        let many = format!(
            "t\n\n{}",
            note.signatures()[0]
                .to_line()
                .repeat(MAX_NOTE_SIGNATURES + 1)
        );
        assert!(Note::parse(many.as_bytes()).is_err());
    }
}
