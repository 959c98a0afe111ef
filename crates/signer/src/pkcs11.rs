//! The signer's keys on a PKCS#11 token (a hardware security module, a cloud HSM,
//! SoftHSM2): private keys are generated on the token as sensitive and
//! non-extractable, and every signature is made by the token.
//!
//! - The log key is Ed25519 (`CKM_EDDSA`): a checkpoint is a C2SP signed note, and
//!   witnesses verify the note type 0x01. A token without EdDSA cannot hold it.
//! - Each repository's snapshot and timestamp keys are created on the token the
//!   first time the server asks for them, labelled by role, generation and
//!   repository: Ed25519
//!   where the token has EdDSA, ECDSA P-256 (`CKM_ECDSA` over a SHA-256 digest)
//!   otherwise. Both are TUF key types.
//!
//! What the token cannot be trusted with is checked here: every signature it returns
//! is verified under the public key before it leaves the signer, so a faulty token
//! cannot hand the server a signature that clients would refuse.
//!
//! The data directory keeps a descriptor (`token.json`): the module path, the token
//! label, the online key type and the log's verifier key, which must match the
//! key found on the token.

use crate::guard::OnlineRole;
use crate::keys::KeyHolder;
use crate::Error;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tlog::note::{KeyName, SignatureType};
use tlog::{Checkpoint, Hash, Note, VerifierKey};
use tuf::keys::{Key, PublicKey, Signature};
use zeroize::Zeroizing;

/// The format name of the token descriptor.
pub const FORMAT: &str = "tuflog-signer-token/v1";
/// Largest descriptor read.
pub const MAX_DESCRIPTOR_BYTES: u64 = 16 * 1024;
/// Sessions opened on the token, so that requests for different repositories sign
/// side by side (a PKCS#11 session runs one operation at a time).
pub const SESSIONS: usize = 4;
/// Online keys whose handles are kept; past this many the cache is emptied and
/// refilled from the token.
pub const MAX_CACHED_KEYS: usize = 4096;

/// `CKA_EC_PARAMS` naming Ed25519, as PKCS#11 3.0 allows: the printable string
/// "edwards25519" (SoftHSM2 and most tokens accept it; the OID form is newer).
const ED25519_PARAMS: &[u8] = &[
    0x13, 0x0c, b'e', b'd', b'w', b'a', b'r', b'd', b's', b'2', b'5', b'5', b'1', b'9',
];
/// `CKA_EC_PARAMS` naming P-256: the DER OID 1.2.840.10045.3.1.7.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The key type of the repositories' online keys on a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnlineKeyType {
    /// Ed25519 (`CKM_EDDSA`).
    Ed25519,
    /// ECDSA P-256 (`CKM_ECDSA`).
    EcdsaP256,
}

/// Which token, and how to reach it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenConfig {
    /// The vendor's PKCS#11 module (a shared library).
    pub module: PathBuf,
    /// The label of the token (as `softhsm2-util --init-token --label` set it).
    pub token: String,
}

#[derive(Serialize, Deserialize)]
struct Descriptor {
    format: String,
    #[serde(flatten)]
    token: TokenConfig,
    online_keys: OnlineKeyType,
    verifier: String,
}

/// The PIN of the token's user. No `Debug`; zeroized on drop.
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// A PIN given directly (read from a file or the environment by the binary).
    pub fn new(pin: Zeroizing<String>) -> Self {
        Pin(pin)
    }

    fn auth(&self) -> AuthPin {
        AuthPin::from(self.0.as_str())
    }
}

struct OnlineKey {
    private: ObjectHandle,
    public: Key,
    parsed: PublicKey,
    keyid: String,
}

/// Keys on a PKCS#11 token. No `Debug`.
pub struct TokenKeys {
    // Sessions borrow nothing from the context, but the module must stay loaded
    // while they are open.
    sessions: Vec<Mutex<Session>>,
    next_session: AtomicUsize,
    log_key: ObjectHandle,
    verifier: VerifierKey,
    online_type: OnlineKeyType,
    online: Mutex<HashMap<String, Arc<OnlineKey>>>,
    _context: Pkcs11,
}

fn token_err(what: &str) -> impl Fn(cryptoki::error::Error) -> Error + '_ {
    move |e| Error::Keys(format!("token: {what}: {e}"))
}

fn log_label(origin: &str) -> String {
    format!("tuflog/log/{origin}")
}

fn online_label(repo: &str, role: OnlineRole, generation: u32) -> String {
    format!("tuflog/online/{}/{generation}/{repo}", role.as_str())
}

impl TokenKeys {
    /// Creates the log key named `origin` on the token and writes the descriptor
    /// to `descriptor` (which must not exist). The online key type is Ed25519 when
    /// the token has EdDSA, else ECDSA P-256, unless `online_type` says which.
    pub fn create(
        descriptor: &Path,
        config: TokenConfig,
        pin: &Pin,
        origin: &str,
        online_type: Option<OnlineKeyType>,
    ) -> Result<Self, Error> {
        if descriptor.exists() {
            return Err(Error::Keys(format!(
                "{} exists; refusing to replace keys",
                descriptor.display()
            )));
        }
        let name = KeyName::new(origin).map_err(|e| Error::Keys(format!("origin: {e}")))?;
        let (context, slot) = open_token(&config)?;
        let mechanisms = context
            .get_mechanism_list(slot)
            .map_err(token_err("listing mechanisms"))?;
        let has = |m: MechanismType| mechanisms.contains(&m);
        let eddsa = has(MechanismType::EDDSA) && has(MechanismType::ECC_EDWARDS_KEY_PAIR_GEN);
        let ecdsa = has(MechanismType::ECDSA) && has(MechanismType::ECC_KEY_PAIR_GEN);
        if !eddsa {
            return Err(Error::Keys(format!(
                "token {}: the log key is Ed25519 (a C2SP signed note), and this token \
                 has no EdDSA (CKM_EDDSA); keep the keys sealed in a file instead",
                config.token
            )));
        }
        let online_type = match online_type {
            Some(OnlineKeyType::EcdsaP256) if !ecdsa => {
                return Err(Error::Keys(format!(
                    "token {}: no ECDSA (CKM_ECDSA) for P-256 online keys",
                    config.token
                )))
            }
            Some(t) => t,
            None => OnlineKeyType::Ed25519,
        };
        let session = login(&context, slot, pin)?;
        let label = log_label(origin);
        if !find(&session, &label, ObjectClass::PRIVATE_KEY)?.is_empty() {
            return Err(Error::Keys(format!(
                "token {} already holds a log key for {origin}",
                config.token
            )));
        }
        generate(&session, &label, OnlineKeyType::Ed25519)?;
        let verifier = read_log_verifier(&session, &label, name)?;
        let json = serde_json::to_vec_pretty(&Descriptor {
            format: FORMAT.into(),
            token: config,
            online_keys: online_type,
            verifier: verifier.to_string(),
        })
        .map_err(|e| Error::Keys(e.to_string()))?;
        edge::durable::write_atomic_private(descriptor, &json)
            .map_err(|e| Error::Keys(e.to_string()))?;
        Self::with_session_pool(context, slot, session, verifier, online_type)
    }

    /// Opens the token the descriptor at `path` names, and checks that its log key
    /// is the one the descriptor records.
    pub fn open(path: &Path, pin: &Pin) -> Result<Self, Error> {
        let err = |reason: String| Error::Keys(format!("{}: {reason}", path.display()));
        let d: Descriptor = crate::keys::read_key_file(path, MAX_DESCRIPTOR_BYTES)?;
        if d.format != FORMAT {
            return Err(err(format!("unsupported format {}", d.format)));
        }
        let recorded = VerifierKey::parse(&d.verifier).map_err(|e| err(e.to_string()))?;
        let (context, slot) = open_token(&d.token)?;
        let session = login(&context, slot, pin)?;
        let found = read_log_verifier(
            &session,
            &log_label(recorded.name().as_str()),
            recorded.name().clone(),
        )?;
        if found.to_string() != recorded.to_string() {
            return Err(err(format!(
                "the token's log key is {found}, not the {recorded} recorded here"
            )));
        }
        Self::with_session_pool(context, slot, session, recorded, d.online_keys)
    }

    /// The keys over `logged_in` and the sessions opened beside it: one login
    /// serves every session of the application on the token.
    fn with_session_pool(
        context: Pkcs11,
        slot: Slot,
        logged_in: Session,
        verifier: VerifierKey,
        online_type: OnlineKeyType,
    ) -> Result<Self, Error> {
        let mut sessions = Vec::with_capacity(SESSIONS);
        sessions.push(logged_in);
        while sessions.len() < SESSIONS {
            sessions.push(
                context
                    .open_rw_session(slot)
                    .map_err(token_err("opening a session"))?,
            );
        }
        let label = log_label(verifier.name().as_str());
        let log_key = single(&sessions[0], &label, ObjectClass::PRIVATE_KEY)?;
        Ok(TokenKeys {
            sessions: sessions.into_iter().map(Mutex::new).collect(),
            next_session: AtomicUsize::new(0),
            log_key,
            verifier,
            online_type,
            online: Mutex::new(HashMap::new()),
            _context: context,
        })
    }

    /// The online key type this token's repositories get.
    pub fn online_key_type(&self) -> OnlineKeyType {
        self.online_type
    }

    fn with_session<T>(&self, f: impl FnOnce(&Session) -> Result<T, Error>) -> Result<T, Error> {
        let i = self.next_session.fetch_add(1, Ordering::Relaxed) % self.sessions.len();
        let session = self.sessions[i]
            .lock()
            .map_err(|_| Error::Keys("a token session failed earlier".into()))?;
        f(&session)
    }

    fn online(
        &self,
        repo: &str,
        role: OnlineRole,
        generation: u32,
    ) -> Result<Arc<OnlineKey>, Error> {
        let label = online_label(repo, role, generation);
        // Held across the token calls: two first requests for one repository must
        // not create two keys under one label.
        let mut cache = self
            .online
            .lock()
            .map_err(|_| Error::Keys("the key cache failed earlier".into()))?;
        if let Some(k) = cache.get(&label) {
            return Ok(k.clone());
        }
        let key = self.with_session(|session| {
            let private = match find(session, &label, ObjectClass::PRIVATE_KEY)?.as_slice() {
                [] => generate(session, &label, self.online_type)?,
                [one] => *one,
                _ => return Err(Error::Keys(format!("token: two keys labelled {label}"))),
            };
            let (public, parsed) = read_online_public(session, &label, self.online_type)?;
            let keyid = public
                .key_id()
                .map_err(|e| Error::Keys(format!("key id: {e}")))?;
            Ok(OnlineKey {
                private,
                public,
                parsed,
                keyid,
            })
        })?;
        if cache.len() >= MAX_CACHED_KEYS {
            cache.clear();
        }
        let key = Arc::new(key);
        cache.insert(label, key.clone());
        Ok(key)
    }
}

impl KeyHolder for TokenKeys {
    fn log_verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    fn sign_checkpoint(&self, size: u64, root: &Hash) -> Result<Vec<u8>, Error> {
        let checkpoint = Checkpoint::new(self.verifier.name().as_str(), size, *root)
            .map_err(|e| Error::Malformed(e.to_string()))?;
        let mut note =
            Note::new(checkpoint.to_text()).map_err(|e| Error::Malformed(e.to_string()))?;
        let signature = self.with_session(|s| {
            s.sign(&eddsa(), self.log_key, note.text().as_bytes())
                .map_err(token_err("signing a checkpoint"))
        })?;
        // Verified (strictly) before it is added: a token that returns the wrong
        // bytes is caught here.
        note.add_external_signature(&self.verifier, &signature)
            .map_err(|e| Error::Keys(format!("token: the log key's signature: {e}")))?;
        Ok(note.to_string().into_bytes())
    }

    fn online_key(
        &self,
        repo: &str,
        role: OnlineRole,
        generation: u32,
    ) -> Result<(Key, String), Error> {
        let key = self.online(repo, role, generation)?;
        Ok((key.public.clone(), key.keyid.clone()))
    }

    fn sign_online(
        &self,
        repo: &str,
        role: OnlineRole,
        generation: u32,
        message: &[u8],
    ) -> Result<Signature, Error> {
        let key = self.online(repo, role, generation)?;
        let sig = self.with_session(|s| match self.online_type {
            OnlineKeyType::Ed25519 => s
                .sign(&eddsa(), key.private, message)
                .map_err(token_err("signing")),
            OnlineKeyType::EcdsaP256 => {
                // CKM_ECDSA signs a digest and returns r || s; TUF carries DER.
                let digest = sha2::Sha256::digest(message);
                let raw = s
                    .sign(&Mechanism::Ecdsa, key.private, &digest)
                    .map_err(token_err("signing"))?;
                let sig = p256::ecdsa::Signature::from_slice(&raw)
                    .map_err(|e| Error::Keys(format!("token: an ECDSA signature: {e}")))?;
                // TUF verifiers (securesystemslib) take either form of s; the
                // normalised one is the form every verifier takes.
                let sig = sig.normalize_s().unwrap_or(sig);
                Ok(sig.to_der().as_bytes().to_vec())
            }
        })?;
        if !key.parsed.verify(message, &sig) {
            return Err(Error::Keys(format!(
                "token: a signature by {repo}'s {} key does not verify",
                role.as_str()
            )));
        }
        Ok(Signature {
            keyid: key.keyid.clone(),
            sig: hex::encode(sig),
            unknown: Default::default(),
        })
    }
}

fn eddsa() -> Mechanism<'static> {
    Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure))
}

fn open_token(config: &TokenConfig) -> Result<(Pkcs11, Slot), Error> {
    let context = Pkcs11::new(&config.module).map_err(|e| {
        Error::Keys(format!(
            "loading the PKCS#11 module {}: {e}",
            config.module.display()
        ))
    })?;
    context
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(token_err("initialising the module"))?;
    let slots = context
        .get_slots_with_initialized_token()
        .map_err(token_err("listing slots"))?;
    for slot in slots {
        let info = context
            .get_token_info(slot)
            .map_err(token_err("reading token info"))?;
        if info.label().trim_end() == config.token {
            return Ok((context, slot));
        }
    }
    Err(Error::Keys(format!(
        "no initialised token labelled {:?} in {}",
        config.token,
        config.module.display()
    )))
}

fn login(context: &Pkcs11, slot: Slot, pin: &Pin) -> Result<Session, Error> {
    let session = context
        .open_rw_session(slot)
        .map_err(token_err("opening a session"))?;
    match session.login(UserType::User, Some(&pin.auth())) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
            Ok(session)
        }
        Err(e) => Err(token_err("logging in (is the PIN right?)")(e)),
    }
}

fn find(session: &Session, label: &str, class: ObjectClass) -> Result<Vec<ObjectHandle>, Error> {
    session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(token_err("finding a key"))
}

fn single(session: &Session, label: &str, class: ObjectClass) -> Result<ObjectHandle, Error> {
    match find(session, label, class)?.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Keys(format!("token: no key labelled {label}"))),
        _ => Err(Error::Keys(format!("token: two keys labelled {label}"))),
    }
}

/// Generates a key pair on the token; the private half never leaves it.
fn generate(session: &Session, label: &str, kind: OnlineKeyType) -> Result<ObjectHandle, Error> {
    let (mechanism, params) = match kind {
        OnlineKeyType::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, ED25519_PARAMS),
        OnlineKeyType::EcdsaP256 => (Mechanism::EccKeyPairGen, P256_PARAMS),
    };
    let label = label.as_bytes().to_vec();
    let public = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::EcParams(params.to_vec()),
        Attribute::Label(label.clone()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Label(label),
    ];
    let (_, private) = session
        .generate_key_pair(&mechanism, &public, &private)
        .map_err(token_err("generating a key"))?;
    Ok(private)
}

/// The public point of the key labelled `label`: `CKA_EC_POINT`, a DER OCTET
/// STRING around the point (some tokens return the bare point).
fn read_point(session: &Session, label: &str, expect: KeyType) -> Result<Vec<u8>, Error> {
    let handle = single(session, label, ObjectClass::PUBLIC_KEY)?;
    let attrs = session
        .get_attributes(handle, &[AttributeType::KeyType, AttributeType::EcPoint])
        .map_err(token_err("reading a public key"))?;
    let mut point = None;
    for a in attrs {
        match a {
            Attribute::KeyType(t) if t != expect => {
                return Err(Error::Keys(format!(
                    "token: {label} is a {t} key, not {expect}"
                )))
            }
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let point = point.ok_or_else(|| Error::Keys(format!("token: {label} has no public point")))?;
    Ok(match point.as_slice() {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() && rest.len() < 128 => {
            rest.to_vec()
        }
        _ => point,
    })
}

fn read_log_verifier(session: &Session, label: &str, name: KeyName) -> Result<VerifierKey, Error> {
    let point = read_point(session, label, KeyType::EC_EDWARDS)?;
    let bytes: [u8; 32] = point
        .try_into()
        .map_err(|_| Error::Keys(format!("token: {label} is not an Ed25519 key")))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|e| Error::Keys(format!("token: {label}: {e}")))?;
    Ok(VerifierKey::new(name, SignatureType::Ed25519, key))
}

fn read_online_public(
    session: &Session,
    label: &str,
    kind: OnlineKeyType,
) -> Result<(Key, PublicKey), Error> {
    let bad = |e: String| Error::Keys(format!("token: {label}: {e}"));
    let key = match kind {
        OnlineKeyType::Ed25519 => {
            let point = read_point(session, label, KeyType::EC_EDWARDS)?;
            let bytes: [u8; 32] = point
                .try_into()
                .map_err(|_| bad("not an Ed25519 key".into()))?;
            Key::ed25519(
                &ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|e| bad(e.to_string()))?,
            )
        }
        OnlineKeyType::EcdsaP256 => {
            let point = read_point(session, label, KeyType::EC)?;
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|e| bad(e.to_string()))?;
            Key::ecdsa_p256(&key).map_err(|e| bad(e.to_string()))?
        }
    };
    let keyid = key.key_id().map_err(|e| bad(e.to_string()))?;
    let parsed = key.parse(&keyid).map_err(|e| bad(e.to_string()))?;
    Ok((key, parsed))
}
