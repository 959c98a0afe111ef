//! C2SP tlog-proof@v1: an offline-verifiable proof that an entry is in a log, and
//! that witnesses saw the checkpoint it is proven against. The text is
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional)
//! index <decimal>
//! <base64 hash>             (the inclusion proof, zero or more lines)
//!
//! <the checkpoint, verbatim, with its signature and cosignature lines>
//! ```
//!
//! Parsing is strict: anything the specification does not allow is refused, and a
//! proof has one spelling (canonical decimals and base64), so [`TlogProof::to_text`]
//! gives back the bytes [`TlogProof::parse`] read. Nothing in a parsed proof is
//! trusted until [`TlogProof::verify`] has checked it against a pinned log key and
//! a witness policy; the `extra` data is never authenticated by the proof itself.

use crate::checkpoint::{self, VerifiedCheckpoint};
use crate::decimal::parse_canonical;
use crate::lines::{push_hashes_and_empty_line, LineError, Lines};
use crate::note::VerifierKey;
use crate::witness_policy::WitnessPolicy;
use crate::{Checkpoint, Error, Hash, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// "The first line MUST be the string `c2sp.org/tlog-proof@v1`."
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Most bytes of extra data a proof may carry (decoded): a log entry's worth.
pub const MAX_EXTRA_BYTES: usize = crate::tile::MAX_ENTRY_BYTES;
/// Most inclusion proof lines: the depth of a tree of 2^63 entries.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest proof read: the header, the extra and index lines, the proof lines and
/// the largest note this crate parses.
pub const MAX_PROOF_BYTES: usize = HEADER.len()
    + 1
    + "extra ".len()
    + MAX_EXTRA_BYTES.div_ceil(3) * 4
    + 1
    + "index ".len()
    + 20
    + 1
    + MAX_PROOF_LINES * 45
    + 1
    + crate::note::MAX_NOTE_BYTES;

/// A parsed proof, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// The opaque extra data, if any (not authenticated by the proof).
    pub extra: Option<Vec<u8>>,
    /// The entry's zero-based index in the log.
    pub index: u64,
    /// The RFC 6962 §2.1.1 audit path, from the leaf's sibling up to the root's child.
    pub proof: Vec<Hash>,
    /// The checkpoint note, signature and cosignature lines included, verbatim.
    pub checkpoint: Vec<u8>,
}

fn malformed(why: impl Into<String>) -> Error {
    Error::MalformedProof(why.into())
}

fn from_lines(e: LineError) -> Error {
    Error::MalformedProof(e.0)
}

impl TlogProof {
    /// Parses a proof, refusing anything C2SP tlog-proof@v1 does not allow. The
    /// checkpoint part must be a checkpoint body, an empty line and signature
    /// lines; its signatures are checked by [`TlogProof::verify`].
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(malformed(format!("larger than {MAX_PROOF_BYTES} bytes")));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
        // "The proof is a sequence of lines separated by newlines (U+000A)."
        let mut lines = Lines::new(text);
        if lines.next("the header").map_err(from_lines)? != HEADER {
            return Err(malformed(format!("the first line is not {HEADER}")));
        }
        let mut line = lines.next("the index line").map_err(from_lines)?;
        // "The second line MAY start with the string `extra` followed by a space
        // (U+0020) and base64-encoded opaque extra data."
        let extra = match line.strip_prefix("extra ") {
            Some(encoded) => {
                let data = B64
                    .decode(encoded)
                    .map_err(|_| malformed("the extra line is not standard base64"))?;
                if data.is_empty() || data.len() > MAX_EXTRA_BYTES {
                    return Err(malformed(format!(
                        "extra data of {} bytes: 1 to {MAX_EXTRA_BYTES}",
                        data.len()
                    )));
                }
                line = lines.next("the index line").map_err(from_lines)?;
                Some(data)
            }
            None => None,
        };
        // "The next line MUST start with the string `index` followed by a space
        // (U+0020) and the zero-based index ... with no leading zeroes."
        let digits = line
            .strip_prefix("index ")
            .ok_or_else(|| malformed(format!("{line:?} is not an index line")))?;
        let index = parse_canonical(digits)
            .map_err(|_| malformed(format!("index {digits:?} is not a canonical decimal")))?;
        // "The next zero or more non-empty lines are the base64-encoded Merkle
        // inclusion proof ... After the inclusion proof lines and an empty line,
        // the checkpoint issued by the log is included verbatim."
        let proof = lines
            .hashes_to_empty_line("inclusion proof", MAX_PROOF_LINES)
            .map_err(from_lines)?;
        let rest = lines.rest();
        check_checkpoint_shape(rest)?;
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint: rest.as_bytes().to_vec(),
        })
    }

    /// The proof's text, as [`TlogProof::parse`] reads it.
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&B64.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        push_hashes_and_empty_line(&mut out, &self.proof);
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint);
        bytes
    }

    /// Verifies that `leaf` (the RFC 9162 leaf hash of the entry the verifier
    /// recomputed itself) is at [`TlogProof::index`] in the checkpoint, that the
    /// checkpoint is signed by `log_key` (whose name is the log's origin), and, with
    /// `policy`, that enough distinct witnesses cosigned it (`now`: seconds since
    /// the Unix epoch, for the policy's cosignature age). Returns the checkpoint.
    pub fn verify(
        &self,
        leaf: &Hash,
        log_key: &VerifierKey,
        policy: Option<&WitnessPolicy>,
        now: Option<u64>,
    ) -> Result<VerifiedCheckpoint> {
        let witnesses = policy.map_or(&[][..], |p| &p.witnesses[..]);
        let opened = checkpoint::open(&self.checkpoint, log_key, witnesses)?;
        if let Some(policy) = policy {
            let cosigners = policy.cosigners(&opened, now);
            if cosigners < policy.threshold {
                return Err(Error::WitnessPolicyNotMet {
                    cosigners,
                    threshold: policy.threshold,
                });
            }
        }
        let size = opened.checkpoint().size();
        if self.index >= size {
            return Err(Error::ProofRejected(
                "the index is not below the checkpoint's size",
            ));
        }
        // RFC 9162 §2.1.3.2: the audit path must lead from the leaf to the root.
        crate::verify::verify_inclusion(
            leaf,
            self.index,
            size,
            &self.proof,
            opened.checkpoint().root(),
        )?;
        Ok(opened)
    }
}

/// The checkpoint part's shape: a checkpoint body (C2SP tlog-checkpoint), an empty
/// line, then one or more signature lines, each ending in a newline, and nothing
/// after them.
fn check_checkpoint_shape(note: &str) -> Result<()> {
    let (body, signatures) = note
        .split_once("\n\n")
        .ok_or_else(|| malformed("the checkpoint has no empty line before its signatures"))?;
    Checkpoint::parse(&format!("{body}\n"))?;
    let signatures = signatures
        .strip_suffix('\n')
        .ok_or_else(|| malformed("the checkpoint does not end with a newline"))?;
    if signatures.is_empty() {
        return Err(malformed("the checkpoint has no signature line"));
    }
    let mut signers = std::collections::HashSet::new();
    for line in signatures.split('\n') {
        let Some((name, signature)) = line
            .strip_prefix("\u{2014} ")
            .and_then(|rest| rest.split_once(' '))
        else {
            return Err(malformed(format!(
                "{line:?} after the checkpoint is not a signature line"
            )));
        };
        // One signature per key (name and key ID): a line repeated, or a second
        // signature by one key, is refused rather than counted or skipped.
        let key_id = B64
            .decode(signature)
            .ok()
            .and_then(|bytes| bytes.get(..4).map(<[u8]>::to_vec))
            .unwrap_or_else(|| signature.as_bytes().to_vec());
        if !signers.insert((name, key_id)) {
            return Err(malformed(format!("{name} signs the checkpoint twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{KeyName, SignatureType};
    use crate::{leaf_hash, MemoryHashStore, SignerKey};

    /// The example in the specification, its signatures elided as it elides them.
    const SPEC_EXAMPLE: &str = "c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u{2014} example.com/fancylog hI2DJw[...]1roloI=
\u{2014} witness1.example mJirIklj[...]qY9v2B/5bg==
\u{2014} witness2.example TnKKVHLX[...]xwYwrSjgow==
\u{2014} witness3.example S4X82uH5[...]3oEcROGLFQ==
";

    #[test]
    fn the_specifications_example_parses_and_round_trips() {
        let proof = TlogProof::parse(SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(proof.index, 73894);
        assert_eq!(proof.proof.len(), 5);
        assert!(proof
            .extra
            .as_deref()
            .unwrap()
            .starts_with(b"age-v1.2.1-darwin-arm64.tar.gz"));
        assert!(proof
            .checkpoint
            .starts_with(b"example.com/fancylog\n109482\n"));
        assert_eq!(proof.to_text(), SPEC_EXAMPLE.as_bytes());
    }

    fn key(name: &str, kind: SignatureType, seed: u8) -> SignerKey {
        SignerKey::from_seed(KeyName::new(name).unwrap(), kind, &[seed; 32])
    }

    /// A log of `n` entries, the proof of entry `index` against its checkpoint
    /// cosigned by `witnesses`, and the entry's leaf hash.
    fn proof_of(n: u64, index: u64, witnesses: &[&SignerKey]) -> (TlogProof, Hash, SignerKey) {
        let log = key("example.com/log", SignatureType::Ed25519, 1);
        let mut store = MemoryHashStore::new();
        for i in 0..n {
            store.append_leaf(format!("entry {i}").as_bytes());
        }
        let mut note = Checkpoint::new("example.com/log", n, store.root())
            .unwrap()
            .sign(&log)
            .unwrap();
        for w in witnesses {
            note.push_signature(crate::cosignature::cosign(w, note.text(), 1_800_000_000).unwrap())
                .unwrap();
        }
        let proof = crate::tree::inclusion_proof(index, n, &store).unwrap();
        (
            TlogProof {
                extra: Some(format!("entry {index}").into_bytes()),
                index,
                proof,
                checkpoint: note.to_string().into_bytes(),
            },
            leaf_hash(format!("entry {index}").as_bytes()),
            log,
        )
    }

    fn witnesses() -> [SignerKey; 2] {
        [
            key("w1.example", SignatureType::CosignatureV1, 2),
            key("w2.example", SignatureType::CosignatureV1, 3),
        ]
    }

    #[test]
    fn a_proof_verifies_against_the_log_key_and_a_policy_it_meets() {
        let [w1, w2] = witnesses();
        let (proof, leaf, log) = proof_of(21, 13, &[&w1, &w2]);
        let text = proof.to_text();
        let parsed = TlogProof::parse(&text).unwrap();
        assert_eq!(parsed, proof);
        let policy = WitnessPolicy::new(vec![w1.verifier(), w2.verifier()], 2);
        let opened = parsed
            .verify(&leaf, &log.verifier(), Some(&policy), None)
            .unwrap();
        assert_eq!(opened.checkpoint().size(), 21);
        // Another entry's leaf is not at that index.
        let other = leaf_hash(b"entry 12");
        assert!(parsed.verify(&other, &log.verifier(), None, None).is_err());
    }

    #[test]
    fn a_proof_short_of_the_witness_policy_is_refused() {
        let [w1, w2] = witnesses();
        let (proof, leaf, log) = proof_of(8, 3, &[&w1]);
        let policy = WitnessPolicy::new(vec![w1.verifier(), w2.verifier()], 2);
        assert!(matches!(
            proof.verify(&leaf, &log.verifier(), Some(&policy), None),
            Err(Error::WitnessPolicyNotMet {
                cosigners: 1,
                threshold: 2
            })
        ));
        // One witness's line twice is refused, not counted twice.
        let line = String::from_utf8(proof.checkpoint.clone())
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_string();
        let mut twice = proof.to_text();
        twice.extend_from_slice(format!("{line}\n").as_bytes());
        assert!(TlogProof::parse(&twice).is_err());
    }

    #[test]
    fn a_proof_from_a_fork_is_refused_with_the_pinned_key() {
        let (proof, leaf, _) = proof_of(8, 3, &[]);
        // The same tree, signed by a key with the log's name that is not the
        // pinned one.
        let impostor = key("example.com/log", SignatureType::Ed25519, 9);
        let (_, _, pinned) = proof_of(1, 0, &[]);
        let mut forged = proof.clone();
        let body = Checkpoint::parse(
            std::str::from_utf8(&proof.checkpoint)
                .unwrap()
                .split("\n\n")
                .next()
                .map(|b| format!("{b}\n"))
                .unwrap()
                .as_str(),
        )
        .unwrap();
        forged.checkpoint = body.sign(&impostor).unwrap().to_string().into_bytes();
        assert!(forged
            .verify(&leaf, &pinned.verifier(), None, None)
            .is_err());
        assert!(proof.verify(&leaf, &pinned.verifier(), None, None).is_ok());
    }

    /// Every single-byte corruption of a valid proof's text is refused, by the
    /// parser or by verification.
    #[test]
    fn every_mutation_of_a_valid_proof_is_refused() {
        let [w1, w2] = witnesses();
        let (proof, leaf, log) = proof_of(21, 13, &[&w1, &w2]);
        let policy = WitnessPolicy::new(vec![w1.verifier(), w2.verifier()], 2);
        let text = proof.to_text();
        // The extra data is not authenticated by the proof: as a tuflog verifier
        // does, the leaf is recomputed from it (here the entry itself), so a
        // proof without it, or with other data, proves nothing.
        let accepts = |bytes: &[u8]| {
            TlogProof::parse(bytes)
                .and_then(|p| {
                    let extra = p.extra.as_deref().ok_or(Error::ProofRejected("no entry"))?;
                    p.verify(&leaf_hash(extra), &log.verifier(), Some(&policy), None)
                })
                .is_ok()
        };
        assert!(accepts(&text));
        assert_eq!(leaf, leaf_hash(proof.extra.as_deref().unwrap()));
        for i in 0..text.len() {
            for bit in [0x01u8, 0x20, 0x80] {
                let mut bad = text.clone();
                bad[i] ^= bit;
                assert!(!accepts(&bad), "byte {i} ^ {bit:#x} accepted");
            }
        }
        // Lines removed, duplicated, added, and bytes appended.
        let lines: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
        for i in 0..lines.len() {
            let without: Vec<u8> = lines
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, l)| l.iter().copied())
                .collect();
            assert!(!accepts(&without), "line {i} removed accepted");
            let mut doubled: Vec<u8> = Vec::new();
            for (j, l) in lines.iter().enumerate() {
                doubled.extend_from_slice(l);
                if j == i {
                    doubled.extend_from_slice(l);
                }
            }
            assert!(!accepts(&doubled), "line {i} doubled accepted");
        }
        for trailer in [&b"\n"[..], b"x", b"\n\n", b" "] {
            let mut longer = text.clone();
            longer.extend_from_slice(trailer);
            assert!(!accepts(&longer), "trailing {trailer:?} accepted");
        }
        // The index and size changed to other canonical numbers.
        let as_text = String::from_utf8(text.clone()).unwrap();
        for (from, to) in [
            ("index 13", "index 12"),
            ("index 13", "index 14"),
            ("\n21\n", "\n22\n"),
        ] {
            let changed = as_text.replacen(from, to, 1);
            assert!(!accepts(changed.as_bytes()), "{from} -> {to} accepted");
        }
    }

    #[test]
    fn what_the_specification_does_not_allow_is_refused() {
        let (proof, _, _) = proof_of(5, 2, &[]);
        let text = String::from_utf8(proof.to_text()).unwrap();
        let extra = format!("extra {}", B64.encode(b"entry 2"));
        for bad in [
            text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            text.replacen("index 2", "index 02", 1),
            text.replacen("index 2", "index +2", 1),
            text.replacen("index 2", "index  2", 1),
            text.replacen("extra ", "extra  ", 1),
            text.replacen(&extra, "extra ", 1),
            text.replacen(&extra, &format!("{extra}\n{extra}"), 1),
            text.replacen(&extra, &format!("{extra}="), 1),
            text.replacen("index 2\n", "index 2\r\n", 1),
            text.replacen("\n\nexample.com/log", "\nexample.com/log", 1),
            text.replace('\n', "\r\n"),
            format!("{text}— example.com/log AAAA\nnot a signature\n"),
        ] {
            assert!(TlogProof::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        // No extra line at all is allowed.
        let without = text.replacen(&format!("{extra}\n"), "", 1);
        assert_eq!(TlogProof::parse(without.as_bytes()).unwrap().extra, None);
        // Too many proof lines, and too large a proof.
        let many = text.replacen(
            "index 2\n",
            &format!(
                "index 2\n{}",
                format!("{}\n", Hash([0; 32]).to_base64()).repeat(64)
            ),
            1,
        );
        assert!(TlogProof::parse(many.as_bytes()).is_err());
        assert!(TlogProof::parse(&vec![b'a'; MAX_PROOF_BYTES + 1]).is_err());
    }
}
