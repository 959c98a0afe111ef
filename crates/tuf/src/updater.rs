//! The TUF client workflow (TUF §5) as a sans-io state machine.
//!
//! The updater never reads a file or a socket. It is asked what it needs next
//! ([`Updater::next_request`]), handed the bytes ([`Updater::handle`]), and says which
//! metadata it accepted so the caller can persist it. Time is fixed by the caller at
//! the start of the update (TUF §5.1), so a test can put the updater anywhere in time.
//!
//! Every check of §5.3 to §5.7 sits beside the spec text that requires it. Any failure
//! ends the update: the updater goes to a failed state and keeps nothing it had not
//! already accepted, so the next update starts again from trusted state (TUF §5: "the
//! client should still be able to update again in the future").

use crate::metadata::{
    check_length_and_hashes, check_not_expired, MetaFile, Metadata, Role, Root, Snapshot,
    TargetFile, Targets, Timestamp,
};
use crate::threshold::{verify_next_root, verify_threshold, Authorization};
use crate::{Error, Result};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

mod limits;
mod names;
mod rules;
pub use limits::Limits;
pub use names::{encode_role_name, local_file_name, role_file_name, MAX_LOCAL_NAME_BYTES};
pub use rules::{check_snapshot_listing, check_targets_listing, verify_target};

/// What the updater needs next: one metadata file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The role the file belongs to.
    pub role: String,
    /// The version asked for, when the path names one.
    pub version: Option<u64>,
    /// The path relative to the repository's metadata URL, e.g. `3.root.json`.
    pub path: String,
    /// Read at most this many bytes; more is an endless-data attack.
    pub max_bytes: u64,
    /// The hashes the parent metadata lists for the file, if any. The workflow
    /// checks them when the bytes arrive (TUF §5.5.2, §5.6.2); a driver holding
    /// more than one copy of the file may use them to choose.
    pub hashes: Option<crate::metadata::Hashes>,
}

/// The answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// The file's bytes, shared (a `Vec<u8>` converts without a copy): what the
    /// updater keeps of a file it accepts is these very bytes.
    Bytes(Bytes),
    /// The server has no such file (only meaningful for the next root version).
    NotFound,
}

/// Metadata the updater accepted as trusted: persist `bytes` under `file_name`
/// (TUF §5.3.8, §5.4.5, §5.5.7, §5.6.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The role.
    pub role: String,
    /// Its version.
    pub version: u64,
    /// The exact bytes received.
    pub bytes: Bytes,
    /// Where to keep it in a metadata directory: [`role_file_name`].
    pub file_name: String,
}

/// Which local file a caller offers at start-up ([`Updater::load_local`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalRole {
    /// timestamp.json
    Timestamp,
    /// snapshot.json
    Snapshot,
    /// targets.json (top-level)
    Targets,
}

/// The metadata trusted so far.
#[derive(Clone, Debug)]
pub struct TrustedMetadata {
    /// Trusted root.
    pub root: Metadata<Root>,
    /// Trusted timestamp, if any.
    pub timestamp: Option<Metadata<Timestamp>>,
    /// Trusted snapshot, if any.
    pub snapshot: Option<Metadata<Snapshot>>,
    /// Trusted targets metadata by role name (`targets` and delegated roles).
    pub targets: BTreeMap<String, Metadata<Targets>>,
}

#[derive(Clone, Debug)]
struct Lookup {
    target: String,
    /// Roles still to visit, as (role, delegator); the last is visited next.
    stack: Vec<(String, String)>,
    visited: BTreeSet<(String, String)>,
    visits_left: u32,
}

#[derive(Clone, Debug)]
enum Phase {
    Root,
    Timestamp,
    Snapshot,
    Targets,
    Ready,
    Lookup(Lookup),
    Found(String, TargetFile),
    /// The last lookup ended without the target; why.
    NotFound(Error),
    Failed,
}

/// The client update workflow for one repository.
#[derive(Clone, Debug)]
pub struct Updater {
    limits: Limits,
    now: DateTime<Utc>,
    trusted: TrustedMetadata,
    /// Root at the start of the update, to see whether timestamp or snapshot keys
    /// rotated (TUF §5.3.11).
    start_root: Root,
    roots_read: u32,
    phase: Phase,
    /// Top-level targets kept from an earlier update, used instead of a download
    /// when it is the very file the trusted snapshot lists and passes every check a
    /// downloaded one would (TUF §5.6).
    local_targets: Option<Bytes>,
    /// (role, delegator) pairs whose trusted targets metadata was verified against
    /// that delegator's keys and threshold: a role reached through a second
    /// delegator is verified again against that one's (TUF §5.6.7.1), not trusted
    /// on the strength of the first check.
    verified_by: BTreeSet<(String, String)>,
}

fn parse_checked<T: Role>(bytes: &[u8], max: u64, what: &str) -> Result<Metadata<T>> {
    if bytes.len() as u64 > max {
        return Err(Error::TooLarge {
            what: what.to_string(),
            len: bytes.len() as u64,
            limit: max,
        });
    }
    Metadata::from_bytes(bytes)
}

fn accepted<T: Role>(role: &str, doc: &Metadata<T>) -> Result<Accepted> {
    Ok(Accepted {
        role: role.to_string(),
        version: doc.version(),
        bytes: doc.shared_bytes(),
        file_name: role_file_name(role)?,
    })
}

impl Updater {
    /// Starts an update at the fixed time `now` (TUF §5.1) from the trusted root
    /// (TUF §5.2), which must be signed by its own root threshold.
    pub fn new(trusted_root: &[u8], now: DateTime<Utc>, limits: Limits) -> Result<Self> {
        let root: Metadata<Root> = parse_checked(trusted_root, limits.root_max_bytes, "root")?;
        verify_threshold(&Authorization::top_level(root.signed(), "root")?, &root)?;
        Ok(Updater {
            limits,
            now,
            start_root: root.signed().clone(),
            trusted: TrustedMetadata {
                root,
                timestamp: None,
                snapshot: None,
                targets: BTreeMap::new(),
            },
            roots_read: 0,
            phase: Phase::Root,
            local_targets: None,
            verified_by: BTreeSet::new(),
        })
    }

    /// Offers a locally persisted file from an earlier update. A timestamp or
    /// snapshot must verify under the trusted root, and rollback checks compare
    /// against it; it may have expired (an expired file still proves which versions
    /// were seen). A snapshot, and top-level targets, are used in place of a download
    /// when they are the very files the newly trusted parent lists (version, and
    /// length and hashes where listed) and pass every check a downloaded file
    /// would; targets is judged only then, under the root trusted by that time.
    pub fn load_local(&mut self, role: LocalRole, bytes: &[u8]) -> Result<()> {
        let root = self.trusted.root.signed();
        match role {
            LocalRole::Timestamp => {
                let ts: Metadata<Timestamp> =
                    parse_checked(bytes, self.limits.timestamp_max_bytes, "timestamp")?;
                verify_threshold(&Authorization::top_level(root, "timestamp")?, &ts)?;
                self.trusted.timestamp = Some(ts);
            }
            LocalRole::Snapshot => {
                let snap: Metadata<Snapshot> =
                    parse_checked(bytes, self.limits.snapshot_max_bytes, "snapshot")?;
                verify_threshold(&Authorization::top_level(root, "snapshot")?, &snap)?;
                self.trusted.snapshot = Some(snap);
            }
            // Judged later, as a download would be (its length among the rest).
            LocalRole::Targets => self.local_targets = Some(Bytes::copy_from_slice(bytes)),
        }
        Ok(())
    }

    /// The metadata trusted so far.
    pub fn trusted(&self) -> &TrustedMetadata {
        &self.trusted
    }

    /// The fixed update start time.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// True once root, timestamp, snapshot and top-level targets are trusted.
    pub fn is_ready(&self) -> bool {
        matches!(
            self.phase,
            Phase::Ready | Phase::Found(..) | Phase::NotFound(_)
        )
    }

    fn consistent(&self) -> bool {
        self.trusted.root.signed().consistent_snapshot == Some(true)
    }

    fn versioned_path(&self, version: u64, role: &str) -> String {
        let name = encode_role_name(role);
        if self.consistent() {
            format!("{version}.{name}.json")
        } else {
            format!("{name}.json")
        }
    }

    fn snapshot_meta(&self, role: &str) -> Result<&MetaFile> {
        let snap = self
            .trusted
            .snapshot
            .as_ref()
            .ok_or_else(|| Error::Usage("no trusted snapshot".into()))?;
        snap.signed()
            .meta
            .get(&format!("{role}.json"))
            .ok_or_else(|| {
                Error::Missing(format!(
                    "snapshot v{} does not list {role}.json",
                    snap.version()
                ))
            })
    }

    /// The file the updater needs next, or `None` when it needs nothing (ready, found,
    /// or failed).
    pub fn next_request(&self) -> Result<Option<Request>> {
        Ok(match &self.phase {
            Phase::Root => {
                // TUF §5.3.3: "Try downloading version N+1 of the root metadata file,
                // up to some W number of bytes".
                let next = self.trusted.root.version() + 1;
                Some(Request {
                    role: "root".into(),
                    version: Some(next),
                    path: format!("{next}.root.json"),
                    max_bytes: self.limits.root_max_bytes,
                    hashes: None,
                })
            }
            // TUF §5.4.1: "the fixed form FILENAME.EXT (e.g., timestamp.json)".
            Phase::Timestamp => Some(Request {
                role: "timestamp".into(),
                version: None,
                path: "timestamp.json".into(),
                max_bytes: self.limits.timestamp_max_bytes,
                hashes: None,
            }),
            Phase::Snapshot => {
                let meta = self.timestamp_snapshot_meta()?;
                // TUF §5.5.1: "up to either the number of bytes specified in the
                // timestamp metadata file, or some Y number of bytes".
                Some(Request {
                    role: "snapshot".into(),
                    version: Some(meta.version),
                    path: self.versioned_path(meta.version, "snapshot"),
                    max_bytes: meta.length.unwrap_or(self.limits.snapshot_max_bytes),
                    hashes: meta.hashes.clone(),
                })
            }
            Phase::Targets => Some(self.role_request("targets")?),
            Phase::Lookup(l) => match l.stack.last() {
                Some((role, _)) => Some(self.role_request(role)?),
                None => None,
            },
            Phase::Ready | Phase::Found(..) | Phase::NotFound(_) | Phase::Failed => None,
        })
    }

    fn role_request(&self, role: &str) -> Result<Request> {
        let meta = self.snapshot_meta(role)?;
        // TUF §5.6.1: "up to either the number of bytes specified in the snapshot
        // metadata file, or some Z number of bytes".
        Ok(Request {
            role: role.into(),
            version: Some(meta.version),
            path: self.versioned_path(meta.version, role),
            max_bytes: meta.length.unwrap_or(self.limits.targets_max_bytes),
            hashes: meta.hashes.clone(),
        })
    }

    fn timestamp_snapshot_meta(&self) -> Result<&MetaFile> {
        self.trusted
            .timestamp
            .as_ref()
            .and_then(|t| t.signed().snapshot_meta())
            .ok_or_else(|| Error::Usage("no trusted timestamp".into()))
    }

    /// Hands the updater the answer to its last request. Returns the metadata it
    /// accepted, if any. Any error ends the update.
    pub fn handle(&mut self, response: Response) -> Result<Option<Accepted>> {
        let in_lookup = matches!(self.phase, Phase::Lookup(_));
        let result = self.handle_inner(response);
        if result.is_err() {
            // A failed search leaves the refreshed metadata trusted: other targets can
            // still be looked up. A failed refresh trusts nothing new.
            self.phase = if in_lookup {
                Phase::Ready
            } else {
                Phase::Failed
            };
        }
        result
    }

    fn handle_inner(&mut self, response: Response) -> Result<Option<Accepted>> {
        match std::mem::replace(&mut self.phase, Phase::Failed) {
            Phase::Root => self.handle_root(response),
            Phase::Timestamp => self.handle_timestamp(response),
            Phase::Snapshot => self.handle_snapshot(response),
            Phase::Targets => self.handle_targets(response),
            Phase::Lookup(l) => self.handle_lookup(l, response),
            Phase::Ready | Phase::Found(..) | Phase::NotFound(_) => {
                Err(Error::Usage("no request outstanding".into()))
            }
            Phase::Failed => Err(Error::Usage(
                "the update has failed; start a new one".into(),
            )),
        }
    }

    fn handle_root(&mut self, response: Response) -> Result<Option<Accepted>> {
        let Response::Bytes(bytes) = response else {
            // TUF §5.3.3: "If this file is not available ... go to step 5.3.10".
            self.finish_root()?;
            return Ok(None);
        };
        let new: Metadata<Root> = parse_checked(&bytes, self.limits.root_max_bytes, "root")?;
        let trusted = self.trusted.root.signed();
        for (keyid, key) in &new.signed().keys {
            if let Some(kept) = trusted.keys.get(keyid) {
                key.reuse_parsed(kept);
            }
        }
        // TUF §5.3.4 and §5.3.5: signed by the trusted and the new thresholds, and
        // exactly version N+1.
        verify_next_root(trusted, &new)?;
        // TUF §5.3.6: expiry of an intermediate root "does not matter yet".
        // TUF §5.3.7: "Set the trusted root metadata file to the new root".
        let acc = accepted("root", &new)?;
        self.trusted.root = new;
        self.roots_read += 1;
        // TUF §5.3.3: "or we have downloaded more than Y number of root metadata
        // files ... go to step 5.3.10".
        if self.roots_read >= self.limits.max_root_rotations {
            self.finish_root()?;
        } else {
            self.phase = Phase::Root;
        }
        Ok(Some(acc))
    }

    fn finish_root(&mut self) -> Result<()> {
        let root = &self.trusted.root;
        // TUF §5.3.10: "The expiration timestamp in the trusted root metadata file MUST
        // be higher than the fixed update start time."
        check_not_expired(root, "root", self.now)?;
        // TUF §5.3.11: "If the timestamp and / or snapshot keys have been rotated, then
        // delete the trusted timestamp and snapshot metadata files."
        let rotated = |role: &str| {
            self.start_root.roles.get(role) != root.signed().roles.get(role)
                || root
                    .signed()
                    .roles
                    .get(role)
                    .into_iter()
                    .flat_map(|r| r.keyids.iter())
                    .any(|id| self.start_root.keys.get(id) != root.signed().keys.get(id))
        };
        if rotated("timestamp") || rotated("snapshot") {
            self.trusted.timestamp = None;
            self.trusted.snapshot = None;
        }
        // TUF §5.3.12: consistent snapshots are read from the trusted root wherever a
        // path is built (`versioned_path`).
        self.phase = Phase::Timestamp;
        Ok(())
    }

    fn handle_timestamp(&mut self, response: Response) -> Result<Option<Accepted>> {
        let Response::Bytes(bytes) = response else {
            return Err(Error::Missing(
                "the repository has no timestamp.json".into(),
            ));
        };
        let new: Metadata<Timestamp> =
            parse_checked(&bytes, self.limits.timestamp_max_bytes, "timestamp")?;
        // TUF §5.4.2: "The new timestamp metadata file MUST have been signed by a
        // threshold of keys specified in the trusted root metadata file."
        verify_threshold(
            &Authorization::top_level(self.trusted.root.signed(), "timestamp")?,
            &new,
        )?;
        if let Some(trusted) = &self.trusted.timestamp {
            // TUF §5.4.3.1: "The version number of the trusted timestamp metadata file,
            // if any, MUST be less than or equal to the version number of the new
            // timestamp metadata file."
            if new.version() < trusted.version() {
                return Err(Error::Rollback {
                    role: "timestamp".into(),
                    trusted: trusted.version(),
                    new: new.version(),
                });
            }
            check_snapshot_listing(trusted.signed(), new.signed())?;
            // An equal version is not an update: the trusted timestamp is kept,
            // whatever the new one lists, and nothing is persisted. The same version
            // with other bytes is equivocation, which the log's monitors catch.
            if new.version() == trusted.version() {
                check_not_expired(trusted, "timestamp", self.now)?;
                self.after_timestamp();
                return Ok(None);
            }
        }
        // TUF §5.4.4: "The expiration timestamp in the new timestamp metadata file MUST
        // be higher than the fixed update start time."
        check_not_expired(&new, "timestamp", self.now)?;
        let acc = accepted("timestamp", &new)?;
        self.trusted.timestamp = Some(new);
        self.after_timestamp();
        Ok(Some(acc))
    }

    fn handle_snapshot(&mut self, response: Response) -> Result<Option<Accepted>> {
        let Response::Bytes(bytes) = response else {
            return Err(Error::Missing(
                "the repository has no snapshot listed by timestamp".into(),
            ));
        };
        let meta = self.timestamp_snapshot_meta()?.clone();
        let max = meta.length.unwrap_or(self.limits.snapshot_max_bytes);
        if bytes.len() as u64 > max {
            return Err(Error::TooLarge {
                what: "snapshot".into(),
                len: bytes.len() as u64,
                limit: max,
            });
        }
        // TUF §5.5.2: "The hashes of the new snapshot metadata file MUST match the
        // hashes, if any, listed in the trusted timestamp metadata."
        check_length_and_hashes("snapshot", &bytes, meta.length, meta.hashes.as_ref())?;
        let new: Metadata<Snapshot> = Metadata::from_bytes(&bytes)?;
        // TUF §5.5.3: "The new snapshot metadata file MUST have been signed by a
        // threshold of keys specified in the trusted root metadata file."
        verify_threshold(
            &Authorization::top_level(self.trusted.root.signed(), "snapshot")?,
            &new,
        )?;
        // TUF §5.5.4: "The version number of the new snapshot metadata file MUST match
        // the version number listed in the trusted timestamp metadata."
        if new.version() != meta.version {
            return Err(Error::VersionMismatch {
                role: "snapshot".into(),
                expected: meta.version,
                got: new.version(),
            });
        }
        if let Some(trusted) = &self.trusted.snapshot {
            check_targets_listing(trusted.signed(), new.signed())?;
        }
        // TUF §5.5.6: "The expiration timestamp in the new snapshot metadata file MUST
        // be higher than the fixed update start time."
        check_not_expired(&new, "snapshot", self.now)?;
        let acc = accepted("snapshot", &new)?;
        self.trusted.snapshot = Some(new);
        // Targets metadata trusted under an older snapshot is re-checked against this
        // one when next needed.
        self.trusted.targets.clear();
        self.verified_by.clear();
        self.after_snapshot();
        Ok(Some(acc))
    }

    /// Checks and trusts the targets metadata of `role`, delegated by `delegator`
    /// (`root` for top-level targets).
    fn accept_targets(&mut self, role: &str, delegator: &str, bytes: Bytes) -> Result<Accepted> {
        let meta = self.snapshot_meta(role)?.clone();
        let max = meta.length.unwrap_or(self.limits.targets_max_bytes);
        if bytes.len() as u64 > max {
            return Err(Error::TooLarge {
                what: role.into(),
                len: bytes.len() as u64,
                limit: max,
            });
        }
        // TUF §5.6.2: "The hashes of the new targets metadata file MUST match the
        // hashes, if any, listed in the trusted snapshot metadata."
        check_length_and_hashes(role, &bytes, meta.length, meta.hashes.as_ref())?;
        let new = Metadata::<Targets>::from_shared(bytes)?;
        // TUF §5.6.3: "The new targets metadata file MUST have been signed by a
        // threshold of keys specified in the trusted root metadata file." (For a
        // delegated role, of the delegating role's keys: TUF §5.6.7.1.)
        verify_threshold(&self.authorization(role, delegator)?, &new)?;
        // TUF §5.6.4: "The version number of the new targets metadata file MUST match
        // the version number listed in the trusted snapshot metadata."
        if new.version() != meta.version {
            return Err(Error::VersionMismatch {
                role: role.into(),
                expected: meta.version,
                got: new.version(),
            });
        }
        // TUF §5.6.5: "The expiration timestamp in the new targets metadata file MUST
        // be higher than the fixed update start time."
        check_not_expired(&new, role, self.now)?;
        let acc = accepted(role, &new)?;
        self.trusted.targets.insert(role.to_string(), new);
        self.verified_by
            .insert((role.to_string(), delegator.to_string()));
        Ok(acc)
    }

    /// Who may sign `role`: for top-level targets (`delegator` is `root`) the keys
    /// and threshold root lists; for a delegated role (TUF §5.6.7.1), those of the
    /// delegating role.
    fn authorization<'a>(&'a self, role: &'a str, delegator: &str) -> Result<Authorization<'a>> {
        if delegator == "root" {
            return Authorization::top_level(self.trusted.root.signed(), "targets");
        }
        let parent = self
            .trusted
            .targets
            .get(delegator)
            .ok_or_else(|| Error::Usage(format!("delegator {delegator} is not trusted")))?;
        let delegations =
            parent.signed().delegations.as_ref().ok_or_else(|| {
                Error::Missing(format!("{delegator} delegates nothing, not {role}"))
            })?;
        Authorization::delegated(delegations, role)
    }

    /// Verifies `role`, trusted earlier through another delegator, against the
    /// keys and threshold `delegator` gives it (TUF §5.6.7.1: the role's metadata
    /// is checked "using the keys and threshold of the delegating role"). Version
    /// and expiry do not depend on the delegator and were checked when it was
    /// trusted.
    fn verify_cached(&mut self, role: &str, delegator: &str) -> Result<()> {
        let doc = self
            .trusted
            .targets
            .get(role)
            .ok_or_else(|| Error::Usage(format!("{role} is not trusted")))?;
        verify_threshold(&self.authorization(role, delegator)?, doc)?;
        self.verified_by
            .insert((role.to_string(), delegator.to_string()));
        Ok(())
    }

    /// The timestamp is trusted: the snapshot comes next, unless the snapshot
    /// already trusted is the very one it lists.
    fn after_timestamp(&mut self) {
        self.phase = Phase::Snapshot;
        let (Ok(meta), Some(local)) = (self.timestamp_snapshot_meta(), &self.trusted.snapshot)
        else {
            return;
        };
        // The checks a downloaded snapshot gets (TUF §5.5.2, §5.5.4, §5.5.6); its
        // signatures were verified under the trusted root when it was loaded, and
        // it was dropped if the snapshot keys rotated since (TUF §5.3.11).
        let same = local.version() == meta.version
            && check_length_and_hashes(
                "snapshot",
                local.bytes(),
                meta.length,
                meta.hashes.as_ref(),
            )
            .is_ok()
            && check_not_expired(local, "snapshot", self.now).is_ok();
        if same {
            self.after_snapshot();
        }
    }

    /// The snapshot is trusted: top-level targets come next, unless the local copy
    /// is the very file the snapshot lists and passes every check a download would.
    fn after_snapshot(&mut self) {
        self.phase = Phase::Targets;
        let Some(local) = self.local_targets.take() else {
            return;
        };
        // A local file that is not the one listed, or no longer valid (keys
        // rotated, expired), is not used: the listed one is downloaded and judged.
        if self.accept_targets("targets", "root", local).is_ok() {
            self.phase = Phase::Ready;
        }
    }

    fn handle_targets(&mut self, response: Response) -> Result<Option<Accepted>> {
        let Response::Bytes(bytes) = response else {
            return Err(Error::Missing(
                "the repository has no targets listed by snapshot".into(),
            ));
        };
        let acc = self.accept_targets("targets", "root", bytes)?;
        self.phase = Phase::Ready;
        Ok(Some(acc))
    }

    /// Starts the search for `target` (TUF §5.6.7). Call [`Updater::next_request`]
    /// and [`Updater::handle`] until it needs nothing more, then
    /// [`Updater::found_target`].
    pub fn start_lookup(&mut self, target: &str) -> Result<()> {
        if !self.is_ready() {
            return Err(Error::Usage("refresh before looking up targets".into()));
        }
        let mut lookup = Lookup {
            target: target.to_string(),
            stack: vec![("targets".into(), "root".into())],
            visited: BTreeSet::new(),
            visits_left: self.limits.max_delegations,
        };
        self.phase = Phase::Ready;
        match self.advance_lookup(&mut lookup)? {
            Some(found) => self.phase = Phase::Found(target.to_string(), found),
            None if lookup.stack.is_empty() => {
                return Err(Error::TargetNotFound(target.to_string()));
            }
            None => self.phase = Phase::Lookup(lookup),
        }
        Ok(())
    }

    /// The target found by the last lookup.
    pub fn found_target(&self) -> Option<(&str, &TargetFile)> {
        match &self.phase {
            Phase::Found(path, t) => Some((path, t)),
            _ => None,
        }
    }

    /// Why the last lookup ended without its target, once it has: the target is in
    /// no role searched ([`Error::TargetNotFound`]), or a role on the way did not
    /// verify. The roles it trusted on the way were handed back by
    /// [`Updater::handle`] all the same.
    pub fn lookup_failure(&self) -> Option<&Error> {
        match &self.phase {
            Phase::NotFound(e) => Some(e),
            _ => None,
        }
    }

    /// Walks trusted roles until one needs fetching (stack top untrusted), the target
    /// is found, or the search ends.
    fn advance_lookup(&mut self, l: &mut Lookup) -> Result<Option<TargetFile>> {
        // TUF §5.6.7: "Perform a pre-order depth-first search for metadata about the
        // desired target, beginning with the top-level targets role."
        while let Some((role, delegator)) = l.stack.last().cloned() {
            // TUF §5.6.7.1: "If this role has been visited before, then skip this role
            // (so that cycles in the delegation graph are avoided)."
            if l.visited.contains(&(role.clone(), delegator.clone())) {
                l.stack.pop();
                continue;
            }
            // "Otherwise, if an application-specific maximum number of roles have been
            // visited, then go to step 5.7" (with nothing found).
            if l.visits_left == 0 {
                l.stack.clear();
                return Ok(None);
            }
            if !self.trusted.targets.contains_key(&role) {
                return Ok(None); // needs fetching
            }
            if !self
                .verified_by
                .contains(&(role.clone(), delegator.clone()))
            {
                self.verify_cached(&role, &delegator)?;
            }
            let Some(doc) = self.trusted.targets.get(&role) else {
                return Ok(None);
            };
            l.stack.pop();
            l.visited.insert((role.clone(), delegator));
            l.visits_left -= 1;
            // "Otherwise, if this role contains metadata about the desired target, then
            // go to step 5.7."
            if let Some(t) = doc.signed().targets.get(&l.target) {
                return Ok(Some(t.into_owned()));
            }
            // TUF §5.6.7.2: "Otherwise, recursively search the list of delegations in
            // order of appearance." A terminating delegation ends the search after
            // its own subtree (5.6.7.2.1).
            if let Some(d) = &doc.signed().delegations {
                let mut children = Vec::new();
                for (child, terminating) in d.roles_for_target(&l.target) {
                    children.push((child, role.clone()));
                    if terminating {
                        l.stack.clear();
                        break;
                    }
                }
                l.stack.extend(children.into_iter().rev());
            }
        }
        Ok(None)
    }

    fn handle_lookup(&mut self, mut l: Lookup, response: Response) -> Result<Option<Accepted>> {
        let Some((role, delegator)) = l.stack.last().cloned() else {
            return Err(Error::Usage("no request outstanding".into()));
        };
        let Response::Bytes(bytes) = response else {
            // TUF §5.6.7: "If any metadata requested in steps 5.6.7.1 - 5.6.7.2 cannot
            // be downloaded nor validated, end the search and report that the target
            // cannot be found."
            return Err(Error::TargetNotFound(l.target));
        };
        let acc = self.accept_targets(&role, &delegator, bytes)?;
        // The role is trusted whatever the search finds next: it is handed back to
        // be kept even when the search then ends without the target, or fails.
        self.phase = match self.advance_lookup(&mut l) {
            Ok(Some(found)) => Phase::Found(l.target.clone(), found),
            Ok(None) if !l.stack.is_empty() => Phase::Lookup(l),
            Ok(None) => Phase::NotFound(Error::TargetNotFound(l.target)),
            Err(e) => Phase::NotFound(e),
        };
        Ok(Some(acc))
    }

    /// TUF §5.7.3: the path to download a target from, relative to the targets URL:
    /// with consistent snapshots, `<dir>/<hash>.<name>`.
    pub fn target_download_path(&self, path: &str, info: &TargetFile) -> String {
        if !self.consistent() {
            return path.to_string();
        }
        let hash = info
            .hashes
            .get("sha256")
            .or_else(|| info.hashes.values().next())
            .cloned()
            .unwrap_or_default();
        match path.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/{hash}.{name}"),
            None => format!("{hash}.{path}"),
        }
    }
}
