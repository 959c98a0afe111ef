//! The signed envelope: the exact bytes received, the canonical form of `signed`
//! the signatures cover, the signatures, and the typed `signed`.

use super::*;

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    signatures: &'a [Signature],
    signed: &'a T,
    #[serde(flatten)]
    unknown: &'a BTreeMap<String, Value>,
}

/// A signed metadata document: exact bytes, the canonical form of `signed`, and typed
/// fields. Signatures are not checked here; see [`crate::threshold`].
#[derive(Clone, Debug)]
pub struct Metadata<T> {
    signed: T,
    signatures: Vec<Signature>,
    unknown: BTreeMap<String, Value>,
    canonical: CanonicalSigned,
    bytes: Bytes,
}

/// Where the canonical form of `signed` is: usually the document's own bytes (every
/// producer that writes what it signed), otherwise a copy made by transcoding.
#[derive(Clone, Debug)]
enum CanonicalSigned {
    InBytes(std::ops::Range<usize>),
    Transcoded(Vec<u8>),
}

/// The range `inner` occupies within `outer`, if it is a part of it.
pub(super) fn range_within(outer: &[u8], inner: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = inner.as_ptr().addr().checked_sub(outer.as_ptr().addr())?;
    let range = start..start.checked_add(inner.len())?;
    (range.end <= outer.len()).then_some(range)
}

/// The envelope of a document, `signed` left as text.
struct Envelope<'b> {
    signed: &'b str,
    signatures: Vec<Signature>,
    unknown: BTreeMap<String, Value>,
}

fn read_envelope<'b>(role: &str, bytes: &'b [u8]) -> Result<Envelope<'b>> {
    serde_json::from_slice(bytes).map_err(|e| Error::malformed(role, e.to_string()))
}

// Read member by member: `signed` is kept raw (it is read twice, for its canonical
// form and for its types, and never built into a tree), and the signatures are read
// where they lie. A member given twice is refused, as in `signed`.
impl<'de: 'b, 'b> Deserialize<'de> for Envelope<'b> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Envelope<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a metadata document")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Envelope<'de>, A::Error> {
                use serde::de::Error as _;
                let mut signed: Option<&'de serde_json::value::RawValue> = None;
                let mut signatures = None;
                let unknown = read_members(map, |key, map| {
                    Ok(Some(match key {
                        "signed" => signed.replace(map.next_value()?).is_some(),
                        "signatures" => signatures
                            .replace(map.next_value::<Vec<Signature>>()?)
                            .is_some(),
                        _ => return Ok(None),
                    }))
                })?;
                Ok(Envelope {
                    signed: signed.ok_or_else(|| A::Error::custom("no signed"))?.get(),
                    signatures: signatures.ok_or_else(|| A::Error::custom("no signatures"))?,
                    unknown,
                })
            }
        }
        d.deserialize_map(V)
    }
}

impl<T: Role> Metadata<T> {
    /// Parses a document read as role `T`. Repeated keys in `signed` are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_shared(Bytes::copy_from_slice(bytes))
    }

    /// [`Metadata::from_bytes`] keeping `bytes` themselves, not a copy.
    pub fn from_shared(document: Bytes) -> Result<Self> {
        let envelope = read_envelope(T::TYPE, &document)?;
        let canonical = canonical_text_borrowed(envelope.signed);
        let typed = T::read_signed(envelope.signed, &document);
        Self::assemble(&document, envelope, canonical, typed)
    }

    /// The document from its parts, once the role-independent checks pass.
    fn assemble(
        bytes: &Bytes,
        envelope: Envelope<'_>,
        canonical: Result<std::borrow::Cow<'_, [u8]>>,
        typed: serde_json::Result<T>,
    ) -> Result<Self> {
        let role = T::TYPE;
        // The signatures cover the canonical form of `signed` as received, unknown
        // fields included; typed parsing never feeds back into it.
        let canonical = match canonical? {
            std::borrow::Cow::Borrowed(text) => range_within(bytes, text).map_or_else(
                || CanonicalSigned::Transcoded(text.to_vec()),
                CanonicalSigned::InBytes,
            ),
            std::borrow::Cow::Owned(text) => CanonicalSigned::Transcoded(text),
        };
        let signed: T = match typed {
            Ok(t) => t,
            Err(e) => {
                #[derive(Deserialize)]
                struct TypeOnly {
                    #[serde(rename = "_type")]
                    type_: Option<String>,
                }
                let found = serde_json::from_str::<TypeOnly>(envelope.signed)
                    .ok()
                    .and_then(|t| t.type_);
                return Err(match found {
                    Some(found) if found != role => Error::WrongType {
                        role: role.into(),
                        found,
                    },
                    _ => Error::malformed(role, e.to_string()),
                });
            }
        };
        if signed.type_field() != role {
            return Err(Error::WrongType {
                role: role.into(),
                found: signed.type_field().into(),
            });
        }
        if !supported_spec_version(signed.spec_version()) {
            return Err(Error::UnsupportedSpecVersion {
                role: role.into(),
                found: signed.spec_version().into(),
            });
        }
        if signed.version() == 0 {
            return Err(Error::malformed(role, "version must be at least 1"));
        }
        signed.validate()?;
        Ok(Metadata {
            signed,
            signatures: envelope.signatures,
            unknown: envelope.unknown,
            canonical,
            bytes: bytes.clone(),
        })
    }

    /// Builds and signs a new document with `keys` (each adds one signature).
    pub fn sign_new(
        signed: T,
        keys: &[&PrivateKey],
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<Self> {
        let mut m = Metadata::unsigned(signed)?;
        for k in keys {
            m.sign_one(k, rng)?;
        }
        m.encode()?;
        Ok(m)
    }

    /// A document with no signatures yet, for a signer outside this crate (the
    /// server's online keys): sign [`Metadata::canonical_signed`], then add the
    /// result with [`Metadata::add_signature`].
    pub fn unsigned(signed: T) -> Result<Self> {
        signed.validate()?;
        let canonical_signed = crate::canonical::to_canonical_json(&signed)?;
        let mut m = Metadata {
            signed,
            signatures: Vec::new(),
            unknown: BTreeMap::new(),
            canonical: CanonicalSigned::Transcoded(canonical_signed),
            bytes: Bytes::new(),
        };
        m.encode()?;
        Ok(m)
    }

    /// Adds (or replaces, by key ID) a signature made elsewhere and re-encodes the
    /// envelope. The signature is not checked here; [`crate::threshold`] does that.
    pub fn add_signature(&mut self, signature: Signature) -> Result<()> {
        self.signatures.retain(|s| s.keyid != signature.keyid);
        self.signatures.push(signature);
        self.encode()
    }

    /// Adds (or replaces) the signature of `key` and re-encodes the envelope.
    pub fn sign_with(
        &mut self,
        key: &PrivateKey,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<()> {
        self.sign_one(key, rng)?;
        self.encode()
    }

    fn sign_one(
        &mut self,
        key: &PrivateKey,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<()> {
        let sig = key.sign_envelope(self.canonical_signed(), rng)?;
        self.signatures.retain(|s| s.keyid != sig.keyid);
        self.signatures.push(sig);
        Ok(())
    }

    /// The envelope is written as compact standard JSON. `signed` is written as its
    /// OLPC canonical form whenever that is also JSON text, so a reader finds the
    /// signed bytes canonical already and verifies them as they are; it is not JSON
    /// when a string holds a control character (the newlines of a PEM key), which
    /// canonical JSON leaves unescaped, and then `signed` is written as compact JSON
    /// with sorted maps. Signatures cover the canonical form either way.
    fn encode(&mut self) -> Result<()> {
        let malformed = |e: serde_json::Error| Error::malformed(T::TYPE, e.to_string());
        let canonical = self.canonical_signed();
        if !canonical.iter().any(|b| *b < 0x20) {
            let mut out = Vec::with_capacity(canonical.len() + 256);
            out.extend_from_slice(b"{\"signatures\":");
            serde_json::to_writer(&mut out, &self.signatures).map_err(malformed)?;
            out.extend_from_slice(b",\"signed\":");
            let start = out.len();
            out.extend_from_slice(canonical);
            let in_bytes = start..out.len();
            for (key, value) in &self.unknown {
                out.push(b',');
                serde_json::to_writer(&mut out, key).map_err(malformed)?;
                out.push(b':');
                serde_json::to_writer(&mut out, value).map_err(malformed)?;
            }
            out.push(b'}');
            self.bytes = out.into();
            self.canonical = CanonicalSigned::InBytes(in_bytes);
            return Ok(());
        }
        if let CanonicalSigned::InBytes(_) = self.canonical {
            self.canonical = CanonicalSigned::Transcoded(canonical.to_vec());
        }
        self.bytes = serde_json::to_vec(&EnvelopeOut {
            signatures: &self.signatures,
            signed: &self.signed,
            unknown: &self.unknown,
        })
        .map_err(malformed)?
        .into();
        Ok(())
    }

    /// The typed `signed` fields.
    pub fn signed(&self) -> &T {
        &self.signed
    }

    /// Members of the envelope beside `signed` and `signatures`, kept as received.
    pub fn unknown(&self) -> &BTreeMap<String, Value> {
        &self.unknown
    }

    /// The signatures.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// The canonical JSON of `signed`: the bytes every signature covers.
    pub fn canonical_signed(&self) -> &[u8] {
        match &self.canonical {
            // The range was taken from these bytes, which do not change without it.
            CanonicalSigned::InBytes(range) => self.bytes.get(range.clone()).unwrap_or_default(),
            CanonicalSigned::Transcoded(text) => text,
        }
    }

    /// The exact bytes parsed or produced. Store and serve these.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// [`Metadata::bytes`], shared rather than copied.
    pub fn shared_bytes(&self) -> Bytes {
        self.bytes.clone()
    }

    /// The role's version.
    pub fn version(&self) -> u64 {
        self.signed.version()
    }
}
