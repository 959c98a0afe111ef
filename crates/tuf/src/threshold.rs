//! The one threshold check, used for root, every top-level role and every delegated
//! role (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3, §5.6.7: "signed by a threshold of keys").

use crate::keys::{Key, PublicKey, Signature};
use crate::metadata::{Delegations, Metadata, Role, Root};
use crate::{Error, Result};
use std::collections::BTreeMap;

/// Who may sign a role: its authorised key IDs, the keys they name, and how many must
/// sign. Built from root for top-level roles and from the delegator for delegated ones.
#[derive(Clone, Copy, Debug)]
pub struct Authorization<'a> {
    /// The role being checked, for error messages.
    pub role: &'a str,
    /// Key IDs authorised for the role.
    pub keyids: &'a [String],
    /// Distinct authorised keys that must sign.
    pub threshold: u64,
    /// Key objects by key ID.
    pub keys: &'a BTreeMap<String, Key>,
}

impl<'a> Authorization<'a> {
    /// A top-level role as `root` describes it.
    pub fn top_level(root: &'a Root, role: &'a str) -> Result<Self> {
        let r = root
            .roles
            .get(role)
            .ok_or_else(|| Error::Missing(format!("root v{} has no role {role}", root.version)))?;
        Ok(Authorization {
            role,
            keyids: &r.keyids,
            threshold: r.threshold,
            keys: &root.keys,
        })
    }

    /// A role delegated by `delegations`, named or a succinct hash bin.
    pub fn delegated(delegations: &'a Delegations, role: &'a str) -> Result<Self> {
        if let Some(r) = delegations.roles.iter().flatten().find(|r| r.name == role) {
            return Ok(Authorization {
                role,
                keyids: &r.keyids,
                threshold: r.threshold,
                keys: &delegations.keys,
            });
        }
        if let Some(s) = delegations
            .succinct_roles
            .as_ref()
            .filter(|s| s.is_bin_name(role))
        {
            return Ok(Authorization {
                role,
                keyids: &s.keyids,
                threshold: s.threshold,
                keys: &delegations.keys,
            });
        }
        Err(Error::Missing(format!("no delegation to {role}")))
    }
}

/// Checks that at least `auth.threshold` distinct authorised keys produced a valid
/// signature over the canonical `signed` of `doc`.
///
/// Each key counts once however many signature entries name it, and two key IDs for
/// the same key material count once. Signatures by unauthorised or unknown keys,
/// empty signatures (from key holders who have not signed yet) and invalid signatures
/// are not counted, and are not errors: only the count against the threshold is.
pub fn verify_threshold<T: Role>(auth: &Authorization<'_>, doc: &Metadata<T>) -> Result<()> {
    verify_threshold_with(auth, doc, &|_, key, msg, sig| verify_hex(key, msg, sig))
}

/// Signature checks over one document's canonical `signed`, remembered by the
/// signature's place in the document and the key material, so that no signature is
/// verified twice: when two counts cover the same document (the old and the new
/// root's, TUF §5.3.4), or when the checks ran ahead of the count ([`precheck`],
/// [`precheck_many`]). Good only for the document it was used with: neither the
/// message nor the signature bytes are part of what it remembers.
/// An empty one (`default()`) verifies every signature as it is asked.
#[derive(Debug, Default)]
pub struct CheckedSignatures(std::cell::RefCell<Vec<CheckedSignature>>);

/// The signature's place in the document, the key it was checked with, and whether
/// it verified.
type CheckedSignature = (usize, PublicKey, bool);

impl CheckedSignatures {
    fn check(&self, place: usize, key: &PublicKey, message: &[u8], signature: &str) -> bool {
        if let Some((_, _, valid)) = self
            .0
            .borrow()
            .iter()
            .find(|(p, k, _)| *p == place && k.same_material(key))
        {
            return *valid;
        }
        let valid = verify_hex(key, message, signature);
        self.0.borrow_mut().push((place, key.clone(), valid));
        valid
    }

    /// [`verify_threshold`], verifying only the signatures not checked before.
    pub fn verify_threshold<T: Role>(
        &self,
        auth: &Authorization<'_>,
        doc: &Metadata<T>,
    ) -> Result<()> {
        verify_threshold_with(auth, doc, &|place, key, message, signature| {
            self.check(place, key, message, signature)
        })
    }
}

/// Makes, ahead of the count, the signature checks the count of `auth` over
/// `signatures` and `message` will ask for: the same walk as
/// [`verify_threshold_with`], before the document is parsed into types. It decides
/// nothing; the count is made later with [`CheckedSignatures::verify_threshold`] on
/// the document `message` came from. This lets the public-key work run elsewhere
/// (on the thread that made `message`, while the typed parse runs).
pub(crate) fn precheck(
    auth: &Authorization<'_>,
    message: &[u8],
    signatures: &[Signature],
) -> CheckedSignatures {
    let checked = CheckedSignatures::default();
    count_valid(
        auth,
        signatures,
        message,
        &|place, key, message, signature| checked.check(place, key, message, signature),
    );
    checked
}

/// Makes ahead, all together, the signature checks that the counts of many documents
/// will ask for: for each `(auth, message, signatures)`, the checks [`precheck`] would
/// make, verified by [`crate::keys::verify_many`] so that they share work. Each result
/// belongs to its document and decides nothing; the count is made later with
/// [`CheckedSignatures::verify_threshold`], which verifies anything not checked here.
///
/// Each document's walk assumes its signatures valid, so it asks for at most
/// `threshold` checks: all a count needs unless one of them fails.
pub fn precheck_many(
    documents: &[(Authorization<'_>, &[u8], &[Signature])],
) -> Vec<CheckedSignatures> {
    struct Wanted {
        document: usize,
        place: usize,
        key: PublicKey,
        /// Where the decoded signature lies in `raw`; `None` if it is not hex.
        at: Option<std::ops::Range<usize>>,
    }
    // The checks a count will ask for, their signatures decoded side by side in one
    // buffer: a monitor asks for one per log entry.
    let wanted: std::cell::RefCell<(Vec<Wanted>, Vec<u8>)> = std::cell::RefCell::default();
    for (document, (auth, message, signatures)) in documents.iter().enumerate() {
        count_valid(auth, signatures, message, &|place, key, _, signature| {
            let (wanted, raw) = &mut *wanted.borrow_mut();
            let start = raw.len();
            raw.resize(start + signature.len() / 2, 0);
            let decoded = raw
                .get_mut(start..)
                .is_some_and(|to| decode_signature(signature, to).is_some());
            if !decoded {
                raw.truncate(start);
            }
            wanted.push(Wanted {
                document,
                place,
                key: key.clone(),
                at: decoded.then_some(start..raw.len()),
            });
            true
        });
    }
    let (wanted, raw) = wanted.into_inner();
    let checks: Vec<(&PublicKey, &[u8], &[u8])> = wanted
        .iter()
        .filter_map(|w| {
            let at = w.at.clone()?;
            Some((
                &w.key,
                documents[w.document].1,
                raw.get(at).unwrap_or_default(),
            ))
        })
        .collect();
    let mut verified = crate::keys::verify_many(&checks).into_iter();
    let mut checked: Vec<CheckedSignatures> = documents
        .iter()
        .map(|_| CheckedSignatures::default())
        .collect();
    for w in wanted {
        // Signatures that are not hex were not verified: they are not valid.
        let valid = w.at.is_some() && verified.next().unwrap_or(false);
        checked[w.document]
            .0
            .get_mut()
            .push((w.place, w.key, valid));
    }
    checked
}

/// Whether the signature at `place` in its document, by `key` over `message`,
/// verifies: `check(place, key, message, signature)`, with `signature` in hex as
/// the document has it (a check answered from one made before needs no decoding).
pub type SignatureCheck<'a> = dyn Fn(usize, &PublicKey, &[u8], &str) -> bool + 'a;

/// Whether the hex `signature` by `key` over `message` verifies; a signature that
/// is not hex does not.
fn verify_hex(key: &PublicKey, message: &[u8], signature: &str) -> bool {
    let mut decoded = [0u8; crate::keys::MAX_SIGNATURE_HEX_CHARS / 2];
    decode_signature(signature, &mut decoded).is_some_and(|raw| key.verify(message, raw))
}

/// The hex `signature` decoded into the start of `out`; `None` if it is not hex, is
/// of odd length, or does not fit.
fn decode_signature<'o>(signature: &str, out: &'o mut [u8]) -> Option<&'o [u8]> {
    let raw = out.get_mut(..signature.len() / 2)?;
    (signature.len().is_multiple_of(2) && hex::decode_to_slice(signature, &mut *raw).is_ok())
        .then_some(&*raw)
}

/// [`verify_threshold`] with the signature check handed in: `check(place, key,
/// message, signature)` must say whether the signature verifies (a monitor answers
/// from signatures it already verified in bulk). The counting rules are the same.
pub fn verify_threshold_with<T: Role>(
    auth: &Authorization<'_>,
    doc: &Metadata<T>,
    check: &SignatureCheck<'_>,
) -> Result<()> {
    // TUF §4.2: "The keyid MUST be unique in the "signatures" array: multiple
    // signatures with the same keyid are not allowed." Refused outright, before
    // anything is counted: a document that breaks the format is not trusted even
    // when its distinct keys would meet the threshold.
    if let Some(keyid) = repeated_keyid(doc.signatures()) {
        return Err(Error::RepeatedSignature {
            role: auth.role.to_string(),
            version: doc.version(),
            keyid: keyid.to_string(),
        });
    }
    let valid = count_valid(auth, doc.signatures(), doc.canonical_signed(), check);
    if valid < auth.threshold {
        return Err(Error::ThresholdNotMet {
            role: auth.role.to_string(),
            version: doc.version(),
            valid,
            threshold: auth.threshold,
        });
    }
    Ok(())
}

/// A key ID that names more than one entry of `signatures`, if any.
fn repeated_keyid(signatures: &[Signature]) -> Option<&str> {
    if signatures.len() < 2 {
        return None;
    }
    let mut keyids: Vec<&str> = signatures.iter().map(|s| s.keyid.as_str()).collect();
    keyids.sort_unstable();
    keyids.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// The counting rules: how many distinct authorised keys made a valid signature
/// over `message`, stopping at the threshold.
///
/// It allocates nothing until a key counts short of the threshold: every log entry
/// a monitor replays is counted, twice (ahead and then for real).
fn count_valid(
    auth: &Authorization<'_>,
    signatures: &[Signature],
    message: &[u8],
    check: &SignatureCheck<'_>,
) -> u64 {
    // Key ID and key of each signature counted so far. Signatures are few (a
    // threshold is met by a handful), so a list searched end to end is enough.
    let mut counted: Vec<(&str, PublicKey)> = Vec::new();
    for (place, sig) in signatures.iter().enumerate() {
        if sig.sig.is_empty()
            || sig.sig.len() > crate::keys::MAX_SIGNATURE_HEX_CHARS
            || counted.iter().any(|(id, _)| *id == sig.keyid)
            || !auth.keyids.contains(&sig.keyid)
        {
            continue;
        }
        let Some(key) = auth.keys.get(&sig.keyid) else {
            continue;
        };
        let Ok(public) = key.parse(&sig.keyid) else {
            continue;
        };
        if counted.iter().any(|(_, k)| k.same_material(&public)) {
            continue;
        }
        if check(place, &public, message, &sig.sig) {
            let valid = counted.len() as u64 + 1;
            // Enough: further signatures cannot change the outcome, and each costs a
            // public-key operation.
            if valid >= auth.threshold {
                return valid;
            }
            counted.push((&sig.keyid, public));
        }
    }
    counted.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::editor::{new_root, new_targets};
    use crate::keys::PrivateKey;
    use crate::metadata::{Expires, Targets};
    use rand_core::OsRng;

    fn expires() -> Expires {
        Expires::parse("2040-01-01T00:00:00Z").unwrap()
    }

    /// A root whose targets role is 2-of-3, its three keys, and one of them listed a
    /// second time under another key ID.
    fn root_and_keys() -> (Root, Vec<PrivateKey>, String) {
        let keys: Vec<PrivateKey> = (1..=3u8)
            .map(|i| PrivateKey::ed25519_from_seed(&[i; 32]).unwrap())
            .collect();
        let mut root = new_root(expires(), false);
        for k in &keys {
            root.add_key("targets", k.public()).unwrap();
        }
        let mut alias = keys[0].public().clone();
        alias.unknown.insert("x-alias".into(), serde_json::json!(1));
        let alias_id = root.add_key("targets", &alias).unwrap();
        root.set_threshold("targets", 2).unwrap();
        (root, keys, alias_id)
    }

    fn outcome(root: &Root, doc: &Metadata<Targets>) -> (Result<()>, Result<()>) {
        let auth = Authorization::top_level(root, "targets").unwrap();
        let prechecked = precheck(&auth, doc.canonical_signed(), doc.signatures());
        (
            verify_threshold(&auth, doc),
            prechecked.verify_threshold(&auth, doc),
        )
    }

    fn valid_count(r: &Result<()>) -> Option<u64> {
        match r {
            Ok(()) => None,
            Err(Error::ThresholdNotMet { valid, .. }) => Some(*valid),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn prechecked_signatures_count_exactly_as_checked_ones() {
        let (root, keys, alias_id) = root_and_keys();
        let signed_by = |ks: &[&PrivateKey]| {
            Metadata::sign_new(new_targets(expires()), ks, &mut OsRng).unwrap()
        };
        // Large enough for the canonical form and the precheck to run on their own
        // thread (`metadata::PARALLEL_PARSE_BYTES`).
        let mut big = new_targets(expires());
        big.unknown.insert(
            "x-padding".into(),
            serde_json::json!("p".repeat(crate::metadata::PARALLEL_PARSE_BYTES)),
        );
        let big = Metadata::sign_new(big, &[&keys[1], &keys[2]], &mut OsRng).unwrap();
        let parsed = Metadata::<Targets>::from_bytes_beside(
            big.shared_bytes(),
            || (),
            |canonical, sigs| {
                let auth = Authorization::top_level(&root, "targets").unwrap();
                precheck(&auth, canonical, sigs)
            },
        );
        let prechecked = parsed.beside;
        let parsed = parsed.document;
        let valid_checks = |c: CheckedSignatures| c.0.borrow().iter().filter(|e| e.2).count();
        assert_eq!(prechecked.map(valid_checks), Some(2));
        let big_parsed = parsed.unwrap();
        // The same document with other signature entries, through its bytes.
        let with_signatures = |doc: &Metadata<Targets>, sigs: Vec<Signature>| {
            let mut v: serde_json::Value = serde_json::from_slice(doc.bytes()).unwrap();
            v["signatures"] = serde_json::to_value(sigs).unwrap();
            Metadata::<Targets>::from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap()
        };
        let two = signed_by(&[&keys[0], &keys[1]]);
        let one = signed_by(&[&keys[0]]);
        let first = one.signatures()[0].clone();
        let repeated = with_signatures(&one, vec![first.clone(), first.clone()]);
        let mut alias_sig = first.clone();
        alias_sig.keyid = alias_id;
        let aliased = with_signatures(&one, vec![first, alias_sig]);
        let mut bad = two.signatures()[1].clone();
        bad.sig.replace_range(
            0..2,
            if bad.sig.starts_with("00") {
                "11"
            } else {
                "00"
            },
        );
        let corrupted = with_signatures(&two, vec![two.signatures()[0].clone(), bad]);
        // A second signature that is not hex, or hex of odd length: never counted.
        let mut not_hex = two.signatures()[1].clone();
        not_hex.sig.replace_range(0..2, "zz");
        let not_hex = with_signatures(&two, vec![two.signatures()[0].clone(), not_hex]);
        let mut odd = two.signatures()[1].clone();
        odd.sig.pop();
        let odd = with_signatures(&two, vec![two.signatures()[0].clone(), odd]);
        for (name, doc, expected) in [
            ("two keys", &two, None),
            ("two keys, large", &big_parsed, None),
            ("one key", &one, Some(1)),
            ("one key under two key IDs", &aliased, Some(1)),
            ("one of two corrupted", &corrupted, Some(1)),
            ("one of two not hex", &not_hex, Some(1)),
            ("one of two of odd length", &odd, Some(1)),
        ] {
            let (checked, prechecked) = outcome(&root, doc);
            assert_eq!(valid_count(&checked), expected, "{name}");
            assert_eq!(valid_count(&prechecked), expected, "{name}");
        }

        // One key ID named twice (the same valid signature repeated) is refused,
        // not counted once, however the signatures were checked; with a second key
        // it would meet the threshold, and is refused all the same.
        let two_and_repeated = with_signatures(
            &two,
            vec![
                two.signatures()[0].clone(),
                two.signatures()[1].clone(),
                two.signatures()[0].clone(),
            ],
        );
        for doc in [&repeated, &two_and_repeated] {
            let (checked, prechecked) = outcome(&root, doc);
            let ahead = precheck_many(&[(
                Authorization::top_level(&root, "targets").unwrap(),
                doc.canonical_signed(),
                doc.signatures(),
            )]);
            let auth = Authorization::top_level(&root, "targets").unwrap();
            for r in [checked, prechecked, ahead[0].verify_threshold(&auth, doc)] {
                assert!(
                    matches!(&r, Err(Error::RepeatedSignature { keyid, .. })
                        if *keyid == doc.signatures()[0].keyid),
                    "{r:?}"
                );
            }
        }

        // All of them checked ahead together, and one whose checks made ahead are not
        // enough (its second signature fails; the count then verifies the third).
        let three = signed_by(&[&keys[0], &keys[1], &keys[2]]);
        let mut sigs = three.signatures().to_vec();
        sigs[1] = corrupted.signatures()[1].clone();
        let bad_then_good = with_signatures(&three, sigs);
        let docs = [
            (&two, None, 2),
            (&big_parsed, None, 2),
            (&one, Some(1), 1),
            (&aliased, Some(1), 1),
            (&corrupted, Some(1), 2),
            (&bad_then_good, None, 3),
            (&not_hex, Some(1), 2),
            (&odd, Some(1), 2),
        ];
        let auth = Authorization::top_level(&root, "targets").unwrap();
        let ahead = precheck_many(
            &docs.map(|(doc, _, _)| (auth, doc.canonical_signed(), doc.signatures())),
        );
        for ((doc, expected, checks_made), checked) in docs.iter().zip(&ahead) {
            assert_eq!(
                valid_count(&checked.verify_threshold(&auth, doc)),
                *expected
            );
            assert_eq!(checked.0.borrow().len(), *checks_made);
        }
    }
}
