//! The one threshold check, used for root, every top-level role and every delegated
//! role (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3, §5.6.7: "signed by a threshold of keys").

use crate::keys::{Key, PublicKey, Signature};
use crate::metadata::{Delegations, Metadata, Role, Root};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::num::NonZeroU64;

/// Who may sign a role: its authorised key IDs, the keys they name, and how many must
/// sign. Built from root for top-level roles and from the delegator for delegated
/// ones, and only there: a threshold of zero, which any document would meet with no
/// signature at all, cannot be written into one.
#[derive(Clone, Copy, Debug)]
pub struct Authorization<'a> {
    role: &'a str,
    keyids: &'a [String],
    threshold: NonZeroU64,
    keys: &'a BTreeMap<String, Key>,
}

/// The threshold a role's metadata gives, refused if zero (metadata validation
/// refuses it too; this is the check nothing can go around).
fn nonzero(role: &str, threshold: u64) -> Result<NonZeroU64> {
    NonZeroU64::new(threshold).ok_or_else(|| Error::malformed(role, "threshold must be at least 1"))
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
            threshold: nonzero(role, r.threshold)?,
            keys: &root.keys,
        })
    }

    /// A role delegated by `delegations`, named or a succinct hash bin.
    pub fn delegated(delegations: &'a Delegations, role: &'a str) -> Result<Self> {
        if let Some(r) = delegations.roles.iter().flatten().find(|r| r.name == role) {
            return Ok(Authorization {
                role,
                keyids: &r.keyids,
                threshold: nonzero(role, r.threshold)?,
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
                threshold: nonzero(role, s.threshold)?,
                keys: &delegations.keys,
            });
        }
        Err(Error::Missing(format!("no delegation to {role}")))
    }

    /// How many distinct authorised keys must sign.
    pub fn threshold(&self) -> NonZeroU64 {
        self.threshold
    }
}

/// Checks that at least `auth.threshold` distinct authorised keys produced a valid
/// signature over the canonical `signed` of `doc`.
///
/// A key ID named by two entries of `signatures` is refused. Each key counts once,
/// and two key IDs for the same key material count once. Signatures by
/// unauthorised or unknown keys, empty signatures (from key holders who have not
/// signed yet) and invalid signatures are not counted, and are not errors: only the
/// count against the threshold is.
pub fn verify_threshold<T: Role>(auth: &Authorization<'_>, doc: &Metadata<T>) -> Result<()> {
    count_against(auth, doc, &mut Verdicts::default())
}

/// [`verify_threshold`], with the signature checks of this one document kept in
/// `verdicts` for a second count over it.
fn count_against<T: Role>(
    auth: &Authorization<'_>,
    doc: &Metadata<T>,
    verdicts: &mut Verdicts,
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
    let valid = count_valid(auth, doc.signatures(), doc.canonical_signed(), verdicts);
    if valid < auth.threshold.get() {
        return Err(Error::ThresholdNotMet {
            role: auth.role.to_string(),
            version: doc.version(),
            valid,
            threshold: auth.threshold.get(),
        });
    }
    Ok(())
}

/// The one rule for a new root, wherever a root is judged (a client's update, a
/// push, a monitor's replay): TUF §5.3.4, "Version N+1 of the root metadata file
/// MUST have been signed by: (1) a threshold of keys specified in the trusted root
/// metadata file (version N), and (2) a threshold of keys specified in the new root
/// metadata file being validated (version N+1)"; then TUF §5.3.5, its version is
/// exactly N+1 (a lower or equal one is a rollback, a higher one skips a version).
pub fn verify_next_root(trusted: &Root, new: &Metadata<Root>) -> Result<()> {
    // A key in both roots signed once; its signature is verified once for the two
    // counts, which keep every other rule of their own.
    let mut verdicts = Verdicts::default();
    count_against(
        &Authorization::top_level(trusted, "root")?,
        new,
        &mut verdicts,
    )?;
    count_against(
        &Authorization::top_level(new.signed(), "root")?,
        new,
        &mut verdicts,
    )?;
    if new.version() <= trusted.version {
        return Err(Error::Rollback {
            role: "root".into(),
            trusted: trusted.version,
            new: new.version(),
        });
    }
    if new.version() != trusted.version + 1 {
        return Err(Error::VersionMismatch {
            role: "root".into(),
            expected: trusted.version + 1,
            got: new.version(),
        });
    }
    Ok(())
}

/// Whether the hex `signature` by `key` over `message` verifies; a signature that
/// is not hex does not.
fn verify_hex(key: &PublicKey, message: &[u8], signature: &str) -> bool {
    let mut decoded = [0u8; crate::keys::MAX_SIGNATURE_HEX_CHARS / 2];
    let Some(raw) = decoded.get_mut(..signature.len() / 2) else {
        return false;
    };
    signature.len().is_multiple_of(2)
        && hex::decode_to_slice(signature, &mut *raw).is_ok()
        && key.verify(message, raw)
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

/// Verdicts on the signatures of one document, by place in its `signatures` and the
/// key material checked: made inside one call on one document, never kept beyond it.
#[derive(Default)]
struct Verdicts(Vec<(usize, PublicKey, bool)>);

impl Verdicts {
    fn verify(&mut self, place: usize, key: &PublicKey, message: &[u8], signature: &str) -> bool {
        if let Some((_, _, valid)) = self
            .0
            .iter()
            .find(|(p, k, _)| *p == place && k.same_material(key))
        {
            return *valid;
        }
        let valid = verify_hex(key, message, signature);
        self.0.push((place, key.clone(), valid));
        valid
    }
}

/// The counting rules: how many distinct authorised keys made a valid signature
/// over `message`, stopping at the threshold.
fn count_valid(
    auth: &Authorization<'_>,
    signatures: &[Signature],
    message: &[u8],
    verdicts: &mut Verdicts,
) -> u64 {
    // Key of each signature counted so far. Signatures are few (a threshold is met
    // by a handful), so a list searched end to end is enough.
    let mut counted: Vec<PublicKey> = Vec::new();
    for (place, sig) in signatures.iter().enumerate() {
        if sig.sig.is_empty()
            || sig.sig.len() > crate::keys::MAX_SIGNATURE_HEX_CHARS
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
        if counted.iter().any(|k| k.same_material(&public)) {
            continue;
        }
        if verdicts.verify(place, &public, message, &sig.sig) {
            counted.push(public);
            // Enough: further signatures cannot change the outcome, and each costs a
            // public-key operation.
            if counted.len() as u64 >= auth.threshold.get() {
                break;
            }
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

    /// `doc` with its signatures replaced, read back through its bytes.
    fn with_signatures(doc: &Metadata<Targets>, sigs: Vec<Signature>) -> Metadata<Targets> {
        let mut v: serde_json::Value = serde_json::from_slice(doc.bytes()).unwrap();
        v["signatures"] = serde_json::to_value(sigs).unwrap();
        Metadata::<Targets>::from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap()
    }

    #[test]
    fn each_key_counts_once_and_only_valid_signatures_count() {
        let (root, keys, alias_id) = root_and_keys();
        let auth = Authorization::top_level(&root, "targets").unwrap();
        let signed_by = |ks: &[&PrivateKey]| {
            Metadata::sign_new(new_targets(expires()), ks, &mut OsRng).unwrap()
        };
        let two = signed_by(&[&keys[0], &keys[1]]);
        let one = signed_by(&[&keys[0]]);
        let first = one.signatures()[0].clone();
        let mut alias_sig = first.clone();
        alias_sig.keyid = alias_id;
        let aliased = with_signatures(&one, vec![first, alias_sig]);
        let second_replaced = |edit: &dyn Fn(&mut String)| {
            let mut bad = two.signatures()[1].clone();
            edit(&mut bad.sig);
            with_signatures(&two, vec![two.signatures()[0].clone(), bad])
        };
        let corrupted = second_replaced(&|sig| {
            let flipped = if sig.starts_with("00") { "11" } else { "00" };
            sig.replace_range(0..2, flipped);
        });
        let not_hex = second_replaced(&|sig| sig.replace_range(0..2, "zz"));
        let odd = second_replaced(&|sig| {
            sig.pop();
        });
        let empty = second_replaced(&|sig| sig.clear());
        for (name, doc, expected) in [
            ("two keys", &two, None),
            ("one key", &one, Some(1)),
            ("one key under two key IDs", &aliased, Some(1)),
            ("one of two corrupted", &corrupted, Some(1)),
            ("one of two not hex", &not_hex, Some(1)),
            ("one of two of odd length", &odd, Some(1)),
            ("one of two empty", &empty, Some(1)),
        ] {
            let valid = match verify_threshold(&auth, doc) {
                Ok(()) => None,
                Err(Error::ThresholdNotMet { valid, .. }) => Some(valid),
                Err(e) => panic!("{name}: {e}"),
            };
            assert_eq!(valid, expected, "{name}");
        }
    }

    #[test]
    fn a_key_id_named_twice_is_refused_even_above_the_threshold() {
        let (root, keys, _) = root_and_keys();
        let auth = Authorization::top_level(&root, "targets").unwrap();
        let two =
            Metadata::sign_new(new_targets(expires()), &[&keys[0], &keys[1]], &mut OsRng).unwrap();
        let sigs = two.signatures();
        for repeated in [
            vec![sigs[0].clone(), sigs[0].clone()],
            vec![sigs[0].clone(), sigs[1].clone(), sigs[0].clone()],
        ] {
            let doc = with_signatures(&two, repeated);
            let r = verify_threshold(&auth, &doc);
            assert!(
                matches!(&r, Err(Error::RepeatedSignature { keyid, .. }) if *keyid == sigs[0].keyid),
                "{r:?}"
            );
        }
    }

    #[test]
    fn a_zero_threshold_authorises_nothing() {
        let (mut root, _, _) = root_and_keys();
        root.roles.get_mut("targets").unwrap().threshold = 0;
        let r = Authorization::top_level(&root, "targets");
        assert!(matches!(r, Err(Error::Malformed { .. })), "{r:?}");
        let mut targets = new_targets(expires());
        let key = PrivateKey::ed25519_from_seed(&[9; 32]).unwrap();
        targets
            .add_delegation("team", &[key.public()], 1, vec!["*".into()], false)
            .unwrap();
        let delegations = targets.delegations.as_mut().unwrap();
        delegations.roles.as_mut().unwrap()[0].threshold = 0;
        let r = Authorization::delegated(delegations, "team");
        assert!(matches!(r, Err(Error::Malformed { .. })), "{r:?}");
    }

    #[test]
    fn a_new_root_needs_both_thresholds_and_the_next_version() {
        let keys: Vec<PrivateKey> = (1..=3u8)
            .map(|i| PrivateKey::ed25519_from_seed(&[i; 32]).unwrap())
            .collect();
        let mut v1 = new_root(expires(), false);
        v1.add_key("root", keys[0].public()).unwrap();
        // v2 moves root from key 0 to key 1.
        let mut v2 = v1.clone();
        v2.version = 2;
        v2.remove_key("root", keys[0].key_id()).unwrap();
        v2.add_key("root", keys[1].public()).unwrap();
        let sign =
            |r: &Root, ks: &[&PrivateKey]| Metadata::sign_new(r.clone(), ks, &mut OsRng).unwrap();
        verify_next_root(&v1, &sign(&v2, &[&keys[0], &keys[1]])).unwrap();
        for (signers, what) in [
            (vec![&keys[1]], "without the trusted root's threshold"),
            (vec![&keys[0]], "without its own threshold"),
            (vec![&keys[0], &keys[2]], "with a stranger's key"),
        ] {
            let r = verify_next_root(&v1, &sign(&v2, &signers));
            assert!(
                matches!(r, Err(Error::ThresholdNotMet { .. })),
                "{what}: {r:?}"
            );
        }
        let mut v3 = v2.clone();
        v3.version = 3;
        let r = verify_next_root(&v1, &sign(&v3, &[&keys[0], &keys[1]]));
        assert!(
            matches!(
                r,
                Err(Error::VersionMismatch {
                    expected: 2,
                    got: 3,
                    ..
                })
            ),
            "{r:?}"
        );
        let again = sign(&v1, &[&keys[0]]);
        let r = verify_next_root(&v1, &again);
        assert!(
            matches!(
                r,
                Err(Error::Rollback {
                    trusted: 1,
                    new: 1,
                    ..
                })
            ),
            "{r:?}"
        );
    }
}
