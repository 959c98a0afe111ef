//! Repository editing: build, change and sign each role, the way a repository operator
//! or the server (for snapshot and timestamp) does.
//!
//! Edits work on the typed `signed` structs; signing produces a [`Metadata`] whose
//! bytes are what gets published. Every edit that would produce metadata a client must
//! reject (a threshold above the number of keys, a delegation to a top-level name) is
//! refused here, before anything is signed.

use crate::keys::Key;
use crate::metadata::{
    DelegatedRole, Delegations, Expires, MetaFile, Metadata, Role, RoleKeys, Root, Snapshot,
    SuccinctRoles, TargetFile, Targets, TargetsMap, Timestamp, SPEC_VERSION, TOP_LEVEL_ROLES,
};
use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A root with the four roles, no keys yet, thresholds of 1, version 1.
pub fn new_root(expires: Expires, consistent_snapshot: bool) -> Root {
    Root {
        type_: "root".into(),
        spec_version: SPEC_VERSION.into(),
        consistent_snapshot: Some(consistent_snapshot),
        version: 1,
        expires,
        keys: BTreeMap::new(),
        roles: TOP_LEVEL_ROLES
            .iter()
            .map(|r| {
                (
                    r.to_string(),
                    RoleKeys {
                        keyids: Vec::new(),
                        threshold: 1,
                        unknown: BTreeMap::new(),
                    },
                )
            })
            .collect(),
        unknown: BTreeMap::new(),
    }
}

/// Empty targets metadata, version 1.
pub fn new_targets(expires: Expires) -> Targets {
    Targets {
        type_: "targets".into(),
        spec_version: SPEC_VERSION.into(),
        version: 1,
        expires,
        targets: TargetsMap::new(),
        delegations: None,
        unknown: BTreeMap::new(),
    }
}

fn role_keys_mut<'a>(root: &'a mut Root, role: &str) -> Result<&'a mut RoleKeys> {
    root.roles
        .get_mut(role)
        .ok_or_else(|| Error::Edit(format!("{role} is not a top-level role")))
}

impl Root {
    /// Authorises `key` for top-level `role`.
    pub fn add_key(&mut self, role: &str, key: &Key) -> Result<String> {
        let keyid = key.key_id()?;
        let r = role_keys_mut(self, role)?;
        if !r.keyids.contains(&keyid) {
            r.keyids.push(keyid.clone());
        }
        self.keys.insert(keyid.clone(), key.clone());
        Ok(keyid)
    }

    /// Revokes `keyid` for `role`; the key object goes when no role uses it.
    pub fn remove_key(&mut self, role: &str, keyid: &str) -> Result<()> {
        let r = role_keys_mut(self, role)?;
        let before = r.keyids.len();
        r.keyids.retain(|k| k != keyid);
        if r.keyids.len() == before {
            return Err(Error::Edit(format!("{keyid} is not a key of {role}")));
        }
        if !self
            .roles
            .values()
            .any(|r| r.keyids.iter().any(|k| k == keyid))
        {
            self.keys.remove(keyid);
        }
        Ok(())
    }

    /// Sets the threshold of `role`, which must not exceed its number of keys.
    pub fn set_threshold(&mut self, role: &str, threshold: u64) -> Result<()> {
        let r = role_keys_mut(self, role)?;
        if threshold == 0 || threshold > r.keyids.len() as u64 {
            return Err(Error::Edit(format!(
                "threshold {threshold} for {role} with {} key(s)",
                r.keyids.len()
            )));
        }
        r.threshold = threshold;
        Ok(())
    }
}

/// The length and hashes a metadata or target description lists for `bytes`:
/// SHA-256, as python-tuf writes by default. A second algorithm would double the
/// hashing every client does and add no strength against anything SHA-256 resists.
pub fn describe(bytes: &[u8]) -> (u64, crate::metadata::Hashes) {
    let hashes = [("sha256".to_string(), hex::encode(Sha256::digest(bytes)))].into();
    (bytes.len() as u64, hashes)
}

impl Targets {
    /// Adds or replaces the target at `path`, describing `contents`.
    pub fn add_target(
        &mut self,
        path: &str,
        contents: &[u8],
        custom: Option<serde_json::Value>,
    ) -> Result<()> {
        if path.is_empty() || path.starts_with('/') {
            return Err(Error::Edit(format!(
                "target path {path:?} must be relative and non-empty"
            )));
        }
        let (length, hashes) = describe(contents);
        self.targets.insert(
            path.to_string(),
            TargetFile {
                length,
                hashes,
                custom,
                unknown: BTreeMap::new(),
            },
        );
        Ok(())
    }

    /// Removes the target at `path`.
    pub fn remove_target(&mut self, path: &str) -> Result<()> {
        self.targets
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| Error::Edit(format!("no target {path:?}")))
    }

    fn delegations_mut(&mut self) -> &mut Delegations {
        self.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Some(Vec::new()),
            succinct_roles: None,
            unknown: BTreeMap::new(),
        })
    }

    /// Delegates `paths` to `name`, signed by `keys` at `threshold`.
    pub fn add_delegation(
        &mut self,
        name: &str,
        keys: &[&Key],
        threshold: u64,
        paths: Vec<String>,
        terminating: bool,
    ) -> Result<()> {
        if TOP_LEVEL_ROLES.contains(&name) || name.is_empty() {
            return Err(Error::Edit(format!("cannot delegate to {name:?}")));
        }
        if threshold == 0 || threshold > keys.len() as u64 {
            return Err(Error::Edit(format!(
                "threshold {threshold} with {} key(s)",
                keys.len()
            )));
        }
        let d = self.delegations_mut();
        if d.succinct_roles.is_some() {
            return Err(Error::Edit("this role delegates with hash bins".into()));
        }
        let mut keyids = Vec::with_capacity(keys.len());
        for k in keys {
            let id = k.key_id()?;
            d.keys.insert(id.clone(), (*k).clone());
            if !keyids.contains(&id) {
                keyids.push(id);
            }
        }
        let roles = d.roles.get_or_insert_with(Vec::new);
        roles.retain(|r| r.name != name);
        roles.push(DelegatedRole {
            name: name.to_string(),
            keyids,
            threshold,
            terminating,
            paths: Some(paths),
            path_hash_prefixes: None,
            unknown: BTreeMap::new(),
        });
        Ok(())
    }

    /// Removes the delegation to `name` and any keys no other delegation uses.
    pub fn remove_delegation(&mut self, name: &str) -> Result<()> {
        let d = self
            .delegations
            .as_mut()
            .ok_or_else(|| Error::Edit("no delegations".into()))?;
        let roles = d.roles.get_or_insert_with(Vec::new);
        let before = roles.len();
        roles.retain(|r| r.name != name);
        if roles.len() == before {
            return Err(Error::Edit(format!("no delegation to {name:?}")));
        }
        let used: Vec<String> = roles.iter().flat_map(|r| r.keyids.clone()).collect();
        d.keys.retain(|id, _| used.contains(id));
        if roles.is_empty() {
            self.delegations = None;
        }
        Ok(())
    }

    /// Delegates every target to `2^bit_length` hash bins (TAP 15), all signed by
    /// `keys` at `threshold`. Returns the bin role names.
    pub fn delegate_hash_bins(
        &mut self,
        name_prefix: &str,
        bit_length: u8,
        keys: &[&Key],
        threshold: u64,
    ) -> Result<Vec<String>> {
        if self
            .delegations
            .as_ref()
            .is_some_and(|d| d.roles.as_ref().is_some_and(|r| !r.is_empty()))
        {
            return Err(Error::Edit(
                "this role already has named delegations".into(),
            ));
        }
        if bit_length == 0 || bit_length > 16 {
            return Err(Error::Edit(format!("bit_length {bit_length}: use 1..=16")));
        }
        if threshold == 0 || threshold > keys.len() as u64 {
            return Err(Error::Edit(format!(
                "threshold {threshold} with {} key(s)",
                keys.len()
            )));
        }
        let mut key_map = BTreeMap::new();
        let mut keyids = Vec::new();
        for k in keys {
            let id = k.key_id()?;
            key_map.insert(id.clone(), (*k).clone());
            if !keyids.contains(&id) {
                keyids.push(id);
            }
        }
        let succinct = SuccinctRoles {
            keyids,
            threshold,
            bit_length,
            name_prefix: name_prefix.to_string(),
            unknown: BTreeMap::new(),
        };
        let names = (0..succinct.bin_count())
            .map(|b| succinct.bin_name(b))
            .collect();
        self.delegations = Some(Delegations {
            keys: key_map,
            roles: None,
            succinct_roles: Some(succinct),
            unknown: BTreeMap::new(),
        });
        Ok(names)
    }

    /// True if this role may list `target` for the delegation `role` (used by a
    /// repository to refuse targets outside a delegated role's paths).
    pub fn delegation_allows(&self, role: &str, target: &str) -> bool {
        let Some(d) = &self.delegations else {
            return false;
        };
        if let Some(s) = &d.succinct_roles {
            return s.role_for(target) == role;
        }
        d.roles
            .iter()
            .flatten()
            .any(|r| r.name == role && r.is_delegated_path(target))
    }
}

/// Increments the version of any role.
pub fn bump<T: RoleMut>(signed: &mut T, expires: Expires) {
    signed.set_version(signed.version() + 1);
    signed.set_expires(expires);
}

/// Mutable access to the fields every role has.
pub trait RoleMut: Role {
    /// Sets the version.
    fn set_version(&mut self, v: u64);
    /// Sets the expiry.
    fn set_expires(&mut self, e: Expires);
}

macro_rules! role_mut {
    ($t:ty) => {
        impl RoleMut for $t {
            fn set_version(&mut self, v: u64) {
                self.version = v;
            }
            fn set_expires(&mut self, e: Expires) {
                self.expires = e;
            }
        }
    };
}
role_mut!(Root);
role_mut!(Targets);
role_mut!(Snapshot);
role_mut!(Timestamp);

/// The snapshot that follows `previous` (or version 1), listing every targets role
/// given with its version, length and hashes. Roles the previous snapshot listed and
/// not given keep their entry: a snapshot never drops a role (TUF §5.5.5).
pub fn next_snapshot(
    previous: Option<&Snapshot>,
    targets: &[(&str, &Metadata<Targets>)],
    expires: Expires,
) -> Snapshot {
    let mut meta = previous.map(|p| p.meta.clone()).unwrap_or_default();
    for (role, doc) in targets {
        let (length, hashes) = describe(doc.bytes());
        meta.insert(
            format!("{role}.json"),
            MetaFile {
                version: doc.version(),
                length: Some(length),
                hashes: Some(hashes),
                unknown: BTreeMap::new(),
            },
        );
    }
    Snapshot {
        type_: "snapshot".into(),
        spec_version: SPEC_VERSION.into(),
        version: previous.map_or(1, |p| p.version + 1),
        expires,
        meta,
        unknown: BTreeMap::new(),
    }
}

/// The timestamp that follows `previous` (or version 1), pointing at `snapshot`.
pub fn next_timestamp(
    previous: Option<&Timestamp>,
    snapshot: &Metadata<Snapshot>,
    expires: Expires,
) -> Timestamp {
    let (length, hashes) = describe(snapshot.bytes());
    Timestamp {
        type_: "timestamp".into(),
        spec_version: SPEC_VERSION.into(),
        version: previous.map_or(1, |p| p.version + 1),
        expires,
        meta: [(
            "snapshot.json".to_string(),
            MetaFile {
                version: snapshot.version(),
                length: Some(length),
                hashes: Some(hashes),
                unknown: BTreeMap::new(),
            },
        )]
        .into(),
        unknown: BTreeMap::new(),
    }
}
