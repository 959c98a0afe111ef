//! The one threshold check, used for root, every top-level role and every delegated
//! role (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3, §5.6.7: "signed by a threshold of keys").

use crate::keys::Key;
use crate::metadata::{Delegations, Metadata, Role, Root};
use crate::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};

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
    verify_threshold_with(auth, doc, &|key, msg, sig| key.verify(msg, sig))
}

/// Whether `signature` by `key` over `message` verifies: `check(key, message,
/// signature)`.
pub type SignatureCheck<'a> = dyn Fn(&crate::keys::PublicKey, &[u8], &[u8]) -> bool + 'a;

/// [`verify_threshold`] with the signature check handed in: `check(key, message,
/// signature)` must say whether the signature verifies (a monitor answers from
/// signatures it already verified in bulk). The counting rules are the same.
pub fn verify_threshold_with<T: Role>(
    auth: &Authorization<'_>,
    doc: &Metadata<T>,
    check: &SignatureCheck<'_>,
) -> Result<()> {
    let mut counted_ids: BTreeSet<&str> = BTreeSet::new();
    let mut counted_keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    for sig in doc.signatures() {
        if sig.sig.is_empty()
            || sig.sig.len() > crate::keys::MAX_SIGNATURE_HEX_CHARS
            || counted_ids.contains(sig.keyid.as_str())
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
        let identity = public.identity();
        if counted_keys.contains(&identity) {
            continue;
        }
        let Ok(raw) = hex::decode(&sig.sig) else {
            continue;
        };
        if check(&public, doc.canonical_signed(), &raw) {
            counted_ids.insert(&sig.keyid);
            counted_keys.insert(identity);
            // Enough: further signatures cannot change the outcome, and each costs a
            // public-key operation.
            if counted_ids.len() as u64 >= auth.threshold {
                return Ok(());
            }
        }
    }
    let valid = counted_ids.len() as u64;
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
