//! A repository's trusted state as a server holds it, and the validation of a push
//! against it.
//!
//! A server that takes pushes must accept exactly what a TUF client would accept
//! next, so that nothing it signs and logs is metadata clients must reject. Each
//! pushed document is checked as the client workflow (TUF §5) would check it against
//! the state the repository is in now: root N+1 by the old and the new root
//! (§5.3.4–§5.3.5), targets by root's targets keys (§5.6.3), a delegated role by its
//! delegator's keys (§5.6.7), versions and expiries (§5.3.10, §5.6.4, §5.6.5).
//! On top of the client's rules a server adds its own: versions move by exactly one,
//! delegated roles carry only targets their delegation chain allows, and the root
//! keeps authorising the online keys the server signs with.
//!
//! Nothing here signs. The caller signs the snapshot and timestamp this module
//! describes ([`next_online`]) with its online keys and hands them back
//! ([`RepoState::apply`]).

use crate::editor::{next_snapshot, next_timestamp};
use crate::metadata::{
    check_length_and_hashes, check_not_expired, Expires, Metadata, Root, Snapshot, Targets,
    Timestamp,
};
use crate::threshold::{verify_next_root, verify_threshold, Authorization};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Size and count limits of one push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushLimits {
    /// Largest root document.
    pub root_max_bytes: usize,
    /// Largest targets or delegated targets document.
    pub targets_max_bytes: usize,
    /// Largest client-signed snapshot.
    pub snapshot_max_bytes: usize,
    /// Most documents in one push.
    pub max_documents: usize,
    /// Deepest delegation chain from `targets` to a pushed role.
    pub max_delegation_depth: usize,
}

impl Default for PushLimits {
    /// The client's read limits ([`crate::updater::Limits`]), so a server never accepts a
    /// file a default client would refuse to read.
    fn default() -> Self {
        PushLimits {
            root_max_bytes: 512_000,
            targets_max_bytes: 5_000_000,
            snapshot_max_bytes: 2_000_000,
            max_documents: 256,
            max_delegation_depth: 32,
        }
    }
}

/// The key IDs of the online keys a server signs with for one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineKeyIds {
    /// Signs snapshots (when root authorises it at threshold 1).
    pub snapshot: String,
    /// Signs timestamps (root must authorise it at threshold 1).
    pub timestamp: String,
}

/// What a push carries: exact bytes of each document, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Push {
    /// A new root.
    pub root: Option<Vec<u8>>,
    /// New versions of `targets` and delegated roles, by role name.
    pub targets: BTreeMap<String, Vec<u8>>,
    /// A client-signed snapshot.
    pub snapshot: Option<Vec<u8>>,
    /// A timestamp: never accepted (the server signs timestamps); carried so the
    /// refusal is explicit rather than a silently ignored file.
    pub timestamp: Option<Vec<u8>>,
}

/// A push that passed validation: parsed documents, in the order to log them.
#[derive(Clone, Debug)]
pub struct ValidatedPush {
    /// The new root, if any.
    pub root: Option<Metadata<Root>>,
    /// New targets versions, `targets` first, each delegator before its delegatees.
    pub targets: Vec<(String, Metadata<Targets>)>,
    /// The client-signed snapshot, if any.
    pub snapshot: Option<Metadata<Snapshot>>,
}

/// A repository's current trusted metadata.
#[derive(Clone, Debug)]
pub struct RepoState {
    /// Current root.
    pub root: Metadata<Root>,
    /// Current `targets` and delegated roles, by name.
    pub targets: BTreeMap<String, Metadata<Targets>>,
    /// Current snapshot.
    pub snapshot: Metadata<Snapshot>,
    /// Current timestamp.
    pub timestamp: Metadata<Timestamp>,
}

/// The unsigned snapshot and timestamp a server signs after a push.
#[derive(Clone, Debug)]
pub struct NextOnline {
    /// A snapshot to sign, or `None` when the push carried a client-signed one.
    pub snapshot: Option<Snapshot>,
    /// Builds the timestamp once the snapshot's signed bytes are known.
    pub timestamp_version: u64,
}

/// Whether `root` authorises `keyid` for `role` with threshold 1, so that the server
/// alone can sign the role.
pub fn server_can_sign(root: &Root, role: &str, keyid: &str) -> bool {
    root.roles
        .get(role)
        .is_some_and(|r| r.threshold == 1 && r.keyids.iter().any(|k| k == keyid))
}

fn check_size(what: &str, bytes: &[u8], limit: usize) -> Result<()> {
    if bytes.len() > limit {
        return Err(Error::TooLarge {
            what: what.to_string(),
            len: bytes.len() as u64,
            limit: limit as u64,
        });
    }
    Ok(())
}

/// A new version must follow the current one by exactly one, and a new role starts
/// at 1. TUF requires only "greater than" of targets (§5.6.5) but exactly N+1 of root
/// (§5.3.5); a server that also refuses skips keeps every role's history gap-free in
/// the log, so a monitor can tell a missing version from one never made.
fn check_next_version(role: &str, current: Option<u64>, new: u64) -> Result<()> {
    let expected = current.map_or(1, |c| c + 1);
    match current {
        Some(c) if new <= c => Err(Error::Rollback {
            role: role.to_string(),
            trusted: c,
            new,
        }),
        _ if new != expected => Err(Error::VersionMismatch {
            role: role.to_string(),
            expected,
            got: new,
        }),
        _ => Ok(()),
    }
}

/// The roles whose delegations name `role`, in `targets`.
fn delegators_of<'a>(
    targets: &'a BTreeMap<String, &Metadata<Targets>>,
    role: &str,
) -> Vec<&'a str> {
    targets
        .iter()
        .filter(|(_, doc)| {
            doc.signed()
                .delegations
                .as_ref()
                .is_some_and(|d| Authorization::delegated(d, role).is_ok())
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// Validates `push` against `current` (`None` for a repository not yet created) at
/// time `now`.
pub fn validate_push(
    current: Option<&RepoState>,
    push: &Push,
    online: &OnlineKeyIds,
    now: DateTime<Utc>,
    limits: &PushLimits,
) -> Result<ValidatedPush> {
    if push.timestamp.is_some() {
        return Err(Error::Push(
            "timestamp is signed by the server and cannot be pushed".into(),
        ));
    }
    let documents = usize::from(push.root.is_some())
        + push.targets.len()
        + usize::from(push.snapshot.is_some());
    if documents == 0 {
        return Err(Error::Push("the push carries no metadata".into()));
    }
    if documents > limits.max_documents {
        return Err(Error::TooLarge {
            what: "push".into(),
            len: documents as u64,
            limit: limits.max_documents as u64,
        });
    }
    for name in push.targets.keys() {
        if matches!(name.as_str(), "root" | "snapshot" | "timestamp") {
            return Err(Error::Push(format!("{name} is not a targets role")));
        }
    }
    if current.is_none() && (push.root.is_none() || !push.targets.contains_key("targets")) {
        return Err(Error::Push(
            "a new repository is created by a push of its root and targets".into(),
        ));
    }

    // Root (TUF §5.3).
    let new_root = match &push.root {
        None => None,
        Some(bytes) => {
            check_size("root", bytes, limits.root_max_bytes)?;
            let root: Metadata<Root> = Metadata::from_bytes(bytes)?;
            match current {
                // TUF §5.3.4, §5.3.5: the rule every judge of a new root applies.
                Some(cur) => verify_next_root(cur.root.signed(), &root)?,
                None => {
                    verify_threshold(&Authorization::top_level(root.signed(), "root")?, &root)?;
                    check_next_version("root", None, root.version())?;
                }
            }
            // TUF §5.3.10: an expired root is a freeze attack; a server never starts
            // serving one.
            check_not_expired(&root, "root", now)?;
            Some(root)
        }
    };
    let root: &Metadata<Root> = match (&new_root, current) {
        (Some(r), _) => r,
        (None, Some(cur)) => &cur.root,
        (None, None) => unreachable_push()?,
    };
    // The server signs every timestamp, so root must let it.
    if !server_can_sign(root.signed(), "timestamp", &online.timestamp) {
        return Err(Error::OnlineKeyNotAuthorised {
            role: "timestamp".into(),
            keyid: online.timestamp.clone(),
        });
    }
    let server_signs_snapshot = server_can_sign(root.signed(), "snapshot", &online.snapshot);
    if !server_signs_snapshot && push.snapshot.is_none() {
        return Err(Error::OnlineKeyNotAuthorised {
            role: "snapshot".into(),
            keyid: online.snapshot.clone(),
        });
    }

    // Targets and delegated targets (TUF §5.6). Every pushed document is parsed
    // first, so the delegation structure after the push is known; each is then
    // verified in delegation order, so its delegator is already trusted.
    let mut parsed: BTreeMap<String, Metadata<Targets>> = BTreeMap::new();
    for (role, bytes) in &push.targets {
        check_size(role, bytes, limits.targets_max_bytes)?;
        parsed.insert(role.clone(), Metadata::from_bytes(bytes)?);
    }
    let mut after: BTreeMap<String, &Metadata<Targets>> = current
        .map(|c| c.targets.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default();
    for (role, doc) in &parsed {
        after.insert(role.clone(), doc);
    }
    // The chain from `targets` to each pushed role: its delegator, the delegator's
    // delegator, and so on.
    let mut chains: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for role in parsed.keys() {
        let mut chain = vec![role.as_str()];
        let mut at = role.as_str();
        while at != "targets" {
            let delegators = delegators_of(&after, at);
            let delegator = match delegators.as_slice() {
                [] => return Err(Error::UnknownRole(at.to_string())),
                [one] => *one,
                many => {
                    return Err(Error::Push(format!(
                        "{at} is delegated by more than one role ({}); a role name must \
                         have one delegator",
                        many.join(", ")
                    )))
                }
            };
            if chain.contains(&delegator) || chain.len() > limits.max_delegation_depth {
                return Err(Error::Push(format!(
                    "the delegation chain to {role} loops or is deeper than {}",
                    limits.max_delegation_depth
                )));
            }
            chain.push(delegator);
            at = delegator;
        }
        chain.reverse();
        chains.insert(role.as_str(), chain);
    }
    let mut order: Vec<&str> = parsed.keys().map(String::as_str).collect();
    order.sort_by_key(|r| chains.get(r).map_or(0, Vec::len));
    let mut validated = Vec::with_capacity(order.len());
    for role in order {
        let doc = &parsed[role];
        let chain = &chains[role];
        if role == "targets" {
            // TUF §5.6.3: "Check for an arbitrary software attack. The new targets
            // metadata file MUST have been signed by a threshold of keys specified in
            // the trusted root metadata file."
            verify_threshold(&Authorization::top_level(root.signed(), "targets")?, doc)?;
        } else {
            // TUF §5.6.7.2: a delegated role MUST be signed by a threshold of the keys
            // its delegator lists for it.
            let delegator = chain[chain.len() - 2];
            let delegations = after[delegator]
                .signed()
                .delegations
                .as_ref()
                .ok_or_else(|| Error::UnknownRole(role.to_string()))?;
            verify_threshold(&Authorization::delegated(delegations, role)?, doc)?;
            // TUF §4.5 "paths": a role is trusted only for the targets its delegation
            // allows, at every step of the chain; a target outside them would be
            // metadata no client ever consults, so it is refused.
            for target in doc.signed().targets.keys() {
                for pair in chain.windows(2) {
                    let allowed = after[pair[0]]
                        .signed()
                        .delegations
                        .as_ref()
                        .is_some_and(|d| {
                            d.roles_for_target(target).iter().any(|(r, _)| r == pair[1])
                        });
                    if !allowed {
                        return Err(Error::OutsideDelegation {
                            role: role.to_string(),
                            target: target.to_string(),
                            delegator: pair[0].to_string(),
                        });
                    }
                }
            }
        }
        // TUF §5.6.5: "the version number of the trusted targets metadata file, if
        // any, MUST be less than or equal to the version number of the new targets
        // metadata file" — and here, exactly one more.
        let current_version = current
            .and_then(|c| c.targets.get(role))
            .map(Metadata::version);
        check_next_version(role, current_version, doc.version())?;
        // TUF §5.6.4 (freeze attack): the new targets file must not be expired.
        check_not_expired(doc, role, now)?;
        validated.push((role.to_string(), doc.clone()));
    }

    // A client-signed snapshot (TUF §5.5).
    let snapshot = match &push.snapshot {
        None => None,
        Some(bytes) => {
            check_size("snapshot", bytes, limits.snapshot_max_bytes)?;
            let snap: Metadata<Snapshot> = Metadata::from_bytes(bytes)?;
            // TUF §5.5.3: signed by a threshold of root's snapshot keys.
            verify_threshold(&Authorization::top_level(root.signed(), "snapshot")?, &snap)?;
            // TUF §5.5.5: no rollback of snapshot; here exactly one more.
            check_next_version(
                "snapshot",
                current.map(|c| c.snapshot.version()),
                snap.version(),
            )?;
            check_not_expired(&snap, "snapshot", now)?;
            // TUF §5.6.2: every targets role the client will fetch must be listed with
            // the version (and length and hashes, when given) of the file it gets.
            for (role, doc) in &after {
                let name = format!("{role}.json");
                let meta = snap.signed().meta.get(&name).ok_or_else(|| {
                    Error::Push(format!("snapshot v{} does not list {name}", snap.version()))
                })?;
                if meta.version != doc.version() {
                    return Err(Error::VersionMismatch {
                        role: format!("snapshot meta {name}"),
                        expected: doc.version(),
                        got: meta.version,
                    });
                }
                check_length_and_hashes(&name, doc.bytes(), meta.length, meta.hashes.as_ref())?;
            }
            Some(snap)
        }
    };
    if new_root.is_none() && validated.is_empty() && snapshot.is_none() {
        return Err(Error::Push("the push carries no metadata".into()));
    }
    Ok(ValidatedPush {
        root: new_root,
        targets: validated,
        snapshot,
    })
}

/// Not reachable: a push without a root to a repository that does not exist is
/// refused first. An error rather than a panic all the same.
fn unreachable_push<T>() -> Result<T> {
    Err(Error::Push(
        "a new repository is created by a push of its root and targets".into(),
    ))
}

/// The snapshot (unless the push brought its own) and timestamp version the server
/// signs next for a validated push.
pub fn next_online(
    current: Option<&RepoState>,
    push: &ValidatedPush,
    snapshot_expires: Expires,
) -> NextOnline {
    let snapshot = if push.snapshot.is_some() {
        None
    } else {
        let targets: Vec<(&str, &Metadata<Targets>)> =
            push.targets.iter().map(|(r, d)| (r.as_str(), d)).collect();
        Some(next_snapshot(
            current.map(|c| c.snapshot.signed()),
            &targets,
            snapshot_expires,
        ))
    };
    NextOnline {
        snapshot,
        timestamp_version: current.map_or(1, |c| c.timestamp.version() + 1),
    }
}

/// The timestamp for `snapshot`, at `version`.
pub fn timestamp_for(version: u64, snapshot: &Metadata<Snapshot>, expires: Expires) -> Timestamp {
    let mut t = next_timestamp(None, snapshot, expires);
    t.version = version;
    t
}

impl RepoState {
    /// The state after a validated push and the snapshot and timestamp signed for it.
    pub fn apply(
        current: Option<RepoState>,
        push: ValidatedPush,
        snapshot: Metadata<Snapshot>,
        timestamp: Metadata<Timestamp>,
    ) -> Result<RepoState> {
        let (root, mut targets) = match (push.root, current) {
            (Some(root), Some(cur)) => (root, cur.targets),
            (Some(root), None) => (root, BTreeMap::new()),
            (None, Some(cur)) => (cur.root, cur.targets),
            (None, None) => return unreachable_push(),
        };
        targets.extend(push.targets);
        Ok(RepoState {
            root,
            targets,
            snapshot,
            timestamp,
        })
    }

    /// Role names this state holds, for listing.
    pub fn roles(&self) -> BTreeSet<&str> {
        let mut roles: BTreeSet<&str> = ["root", "snapshot", "timestamp"].into();
        roles.extend(self.targets.keys().map(String::as_str));
        roles
    }
}

#[cfg(test)]
mod tests;
