//! C2SP tlog-checkpoint: the signed tree head as note text.
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeroes>
//! <root hash, standard base64>
//! [extension lines…]
//! ```
//!
//! [`open`] checks a signed checkpoint against the log's key and collects the
//! cosignatures of known witnesses; deciding how many witnesses are enough is the
//! caller's policy.

use crate::decimal::DecimalFlaw;
use crate::hash::Hash;
use crate::note::{Note, SignerKey, VerifiedSignature, VerifierKey, MAX_NOTE_BYTES};
use crate::{Error, Result};

/// A checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

fn check_line(line: &str, what: &str) -> Result<()> {
    if line.is_empty() {
        return Err(Error::MalformedCheckpoint(format!("{what} line is empty")));
    }
    if line.chars().any(char::is_control) {
        return Err(Error::MalformedCheckpoint(format!(
            "{what} line contains a control character"
        )));
    }
    Ok(())
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self> {
        let origin = origin.into();
        check_line(&origin, "origin")?;
        Ok(Checkpoint {
            origin,
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds an extension line ("opaque and OPTIONAL", "MUST be non-empty").
    pub fn with_extension(mut self, line: impl Into<String>) -> Result<Self> {
        let line = line.into();
        check_line(&line, "extension")?;
        self.extensions.push(line);
        Ok(self)
    }

    /// Parses a checkpoint body (a note's text).
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(Error::MalformedCheckpoint("checkpoint too long".into()));
        }
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| Error::MalformedCheckpoint("does not end in a newline".into()))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(Error::MalformedCheckpoint("fewer than three lines".into()));
        };
        check_line(origin, "origin")?;
        // "the ASCII decimal representation of the number of leaves in the tree, with
        // no leading zeroes (unless the tree is empty, in which case the tree size is 0)"
        let size = crate::decimal::parse_canonical(size).map_err(|flaw| match flaw {
            DecimalFlaw::TooLarge => Error::MalformedCheckpoint("tree size overflows u64".into()),
            DecimalFlaw::NotCanonical => {
                Error::MalformedCheckpoint(format!("tree size {size:?} is not a canonical decimal"))
            }
        })?;
        let root = Hash::from_base64(root).map_err(|_| {
            Error::MalformedCheckpoint("root hash is not base64 of 32 bytes".into())
        })?;
        let extensions = lines
            .map(|l| check_line(l, "extension").map(|()| l.to_string()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// The body text, final newline included.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Signs the checkpoint with the log key, whose name must be the origin.
    pub fn sign(&self, log_key: &SignerKey) -> Result<Note> {
        if log_key.public().name().as_str() != self.origin {
            return Err(Error::WrongOrigin {
                expected: log_key.public().name().to_string(),
                found: self.origin.clone(),
            });
        }
        let mut note = Note::new(self.to_text())?;
        note.sign(log_key)?;
        Ok(note)
    }
}

/// A checkpoint whose log signature verified. Only [`open`] makes one: its parts
/// can be read, not set, so holding one means the check was made.
///
/// ```compile_fail,E0451
/// use tlog::checkpoint::{Checkpoint, VerifiedCheckpoint};
/// use tlog::note::Note;
/// fn forge(checkpoint: Checkpoint, note: Note) -> VerifiedCheckpoint {
///     VerifiedCheckpoint { checkpoint, note, cosignatures: Vec::new() }
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
    cosignatures: Vec<VerifiedSignature>,
}

impl VerifiedCheckpoint {
    /// The checkpoint body.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The note as received, all signature lines included.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// Verified signatures of the witnesses the caller named, one per witness.
    pub fn cosignatures(&self) -> &[VerifiedSignature] {
        &self.cosignatures
    }

    /// The checkpoint body, the rest dropped.
    pub fn into_checkpoint(self) -> Checkpoint {
        self.checkpoint
    }
}

/// Parses and verifies a signed checkpoint.
///
/// The log key must have signed it and its name must equal the origin (tuflog names the
/// log key after the origin). Cosignatures by `witnesses` are verified and returned;
/// a bad one rejects the checkpoint, as the signed-note spec advises for any known key.
pub fn open(
    note_bytes: &[u8],
    log_key: &VerifierKey,
    witnesses: &[VerifierKey],
) -> Result<VerifiedCheckpoint> {
    let note = Note::parse(note_bytes)?;
    let checkpoint = Checkpoint::parse(note.text())?;
    if checkpoint.origin != log_key.name().as_str() {
        return Err(Error::WrongOrigin {
            expected: log_key.name().to_string(),
            found: checkpoint.origin,
        });
    }
    let mut known = Vec::with_capacity(witnesses.len() + 1);
    known.push(log_key.clone());
    known.extend(witnesses.iter().filter(|w| *w != log_key).cloned());
    let verified = note.verify(&known)?;
    if !verified.iter().any(|v| &v.key == log_key) {
        return Err(Error::UnverifiedNote);
    }
    let cosignatures = verified.into_iter().filter(|v| &v.key != log_key).collect();
    Ok(VerifiedCheckpoint {
        checkpoint,
        note,
        cosignatures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosignature::cosign;
    use crate::note::{KeyName, SignatureType};

    const ROOT: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

    fn log_key() -> SignerKey {
        SignerKey::from_seed(
            KeyName::new("example.com/log").unwrap(),
            SignatureType::Ed25519,
            &[1; 32],
        )
    }

    #[test]
    fn parses_the_spec_example_and_round_trips() {
        let text = format!("example.com/behind-the-sofa\n20852163\n{ROOT}\n");
        let c = Checkpoint::parse(&text).unwrap();
        assert_eq!(c.origin(), "example.com/behind-the-sofa");
        assert_eq!(c.size(), 20852163);
        assert_eq!(c.to_text(), text);
        let ext = format!("o\n0\n{ROOT}\nextra one\nextra two\n");
        let c = Checkpoint::parse(&ext).unwrap();
        assert_eq!(c.extensions(), ["extra one", "extra two"]);
        assert_eq!(c.to_text(), ext);
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        for bad in [
            String::new(),
            format!("o\n1\n{ROOT}"),
            "o\n1\n".to_string(),
            format!("\n1\n{ROOT}\n"),
            format!("o\n01\n{ROOT}\n"),
            format!("o\n+1\n{ROOT}\n"),
            format!("o\n-1\n{ROOT}\n"),
            format!("o\n18446744073709551616\n{ROOT}\n"),
            "o\n1\nAAAA\n".to_string(),
            format!("o\n1\n{ROOT}\n\n"),
            format!("o\n1\n{ROOT}\next\n\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn open_requires_the_log_signature_and_collects_cosignatures() {
        let log = log_key();
        let cp = Checkpoint::new("example.com/log", 5, Hash([9; 32])).unwrap();
        let mut note = cp.sign(&log).unwrap();
        let w = SignerKey::from_seed(
            KeyName::new("w.example").unwrap(),
            SignatureType::CosignatureV1,
            &[2; 32],
        );
        note.push_signature(cosign(&w, note.text(), 1234).unwrap())
            .unwrap();
        let bytes = note.to_string();

        let v = open(bytes.as_bytes(), &log.verifier(), &[w.verifier()]).unwrap();
        assert_eq!(v.checkpoint, cp);
        assert_eq!(v.cosignatures.len(), 1);
        assert_eq!(v.cosignatures[0].timestamp, Some(1234));

        // Only a witness signature, no log signature: rejected.
        let mut witness_only = Note::new(cp.to_text()).unwrap();
        witness_only
            .push_signature(cosign(&w, &cp.to_text(), 1).unwrap())
            .unwrap();
        assert!(open(
            witness_only.to_string().as_bytes(),
            &log.verifier(),
            &[w.verifier()]
        )
        .is_err());

        // A checkpoint for another origin, even if signed by the key: rejected.
        let other = SignerKey::from_seed(
            KeyName::new("other.example/log").unwrap(),
            SignatureType::Ed25519,
            &[1; 32],
        );
        let foreign = Checkpoint::new("other.example/log", 5, Hash([9; 32]))
            .unwrap()
            .sign(&other)
            .unwrap();
        assert!(matches!(
            open(foreign.to_string().as_bytes(), &log.verifier(), &[]),
            Err(Error::WrongOrigin { .. })
        ));
        assert!(cp.sign(&other).is_err());
    }
}
