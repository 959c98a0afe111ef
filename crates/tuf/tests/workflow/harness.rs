//! A repository in memory, served from a map of paths, and a driver that runs the
//! updater against it as an HTTP client would.

use chrono::{DateTime, TimeZone, Utc};
use rand_core::OsRng;
use std::collections::BTreeMap;
use tuf::client::{Limits, Request, Response, Updater};
use tuf::editor::{bump, new_root, new_targets, next_snapshot, next_timestamp};
use tuf::metadata::{Expires, TargetFile};
use tuf::{KeyKind, Metadata, PrivateKey, Root, Snapshot, Targets, Timestamp};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

pub fn far() -> Expires {
    Expires(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap())
}

pub fn past() -> Expires {
    Expires(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
}

pub fn key() -> PrivateKey {
    PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap()
}

pub struct Repo {
    pub root_keys: Vec<PrivateKey>,
    pub targets_key: PrivateKey,
    pub snapshot_key: PrivateKey,
    pub timestamp_key: PrivateKey,
    pub root: Metadata<Root>,
    pub targets: Metadata<Targets>,
    pub delegated: BTreeMap<String, Metadata<Targets>>,
    pub snapshot: Metadata<Snapshot>,
    pub timestamp: Metadata<Timestamp>,
    pub files: BTreeMap<String, Vec<u8>>,
    pub target_files: BTreeMap<String, Vec<u8>>,
    /// The first root, which clients ship with.
    pub initial_root: Vec<u8>,
}

impl Repo {
    pub fn new(consistent: bool) -> Repo {
        Self::with_root_keys(consistent, vec![key()], 1)
    }

    pub fn with_root_keys(consistent: bool, root_keys: Vec<PrivateKey>, threshold: u64) -> Repo {
        let (targets_key, snapshot_key, timestamp_key) = (key(), key(), key());
        let mut root = new_root(far(), consistent);
        for k in &root_keys {
            root.add_key("root", k.public()).unwrap();
        }
        root.set_threshold("root", threshold).unwrap();
        root.add_key("targets", targets_key.public()).unwrap();
        root.add_key("snapshot", snapshot_key.public()).unwrap();
        root.add_key("timestamp", timestamp_key.public()).unwrap();
        let signers: Vec<&PrivateKey> = root_keys.iter().collect();
        let root = Metadata::sign_new(root, &signers, &mut OsRng).unwrap();
        let targets = Metadata::sign_new(new_targets(far()), &[&targets_key], &mut OsRng).unwrap();
        let snapshot = Metadata::sign_new(
            next_snapshot(None, &[("targets", &targets)], far()),
            &[&snapshot_key],
            &mut OsRng,
        )
        .unwrap();
        let timestamp = Metadata::sign_new(
            next_timestamp(None, &snapshot, far()),
            &[&timestamp_key],
            &mut OsRng,
        )
        .unwrap();
        let initial_root = root.bytes().to_vec();
        let mut repo = Repo {
            root_keys,
            targets_key,
            snapshot_key,
            timestamp_key,
            root,
            targets,
            delegated: BTreeMap::new(),
            snapshot,
            timestamp,
            files: BTreeMap::new(),
            target_files: BTreeMap::new(),
            initial_root,
        };
        repo.write_all();
        repo
    }

    fn consistent(&self) -> bool {
        self.root.signed().consistent_snapshot == Some(true)
    }

    fn role_path(&self, role: &str, version: u64) -> String {
        let name = tuf::client::encode_role_name(role);
        if self.consistent() {
            format!("{version}.{name}.json")
        } else {
            format!("{name}.json")
        }
    }

    /// Writes every current document where a client looks for it.
    pub fn write_all(&mut self) {
        let root = self.root.bytes().to_vec();
        self.files
            .insert(format!("{}.root.json", self.root.version()), root.clone());
        self.files.insert("root.json".into(), root);
        let p = self.role_path("targets", self.targets.version());
        self.files.insert(p, self.targets.bytes().to_vec());
        let delegated: Vec<(String, u64, Vec<u8>)> = self
            .delegated
            .iter()
            .map(|(n, d)| (n.clone(), d.version(), d.bytes().to_vec()))
            .collect();
        for (name, v, bytes) in delegated {
            let p = self.role_path(&name, v);
            self.files.insert(p, bytes);
        }
        let p = self.role_path("snapshot", self.snapshot.version());
        self.files.insert(p, self.snapshot.bytes().to_vec());
        self.files
            .insert("timestamp.json".into(), self.timestamp.bytes().to_vec());
    }

    /// Signs the current targets (version bumped, then edited) and republishes snapshot and
    /// timestamp.
    pub fn publish_targets(&mut self, edit: impl FnOnce(&mut Targets)) {
        let mut t = self.targets.signed().clone();
        bump(&mut t, far());
        edit(&mut t);
        self.targets = Metadata::sign_new(t, &[&self.targets_key], &mut OsRng).unwrap();
        self.publish_snapshot(&["targets"]);
    }

    /// Signs delegated role `name` (a new version) with `keys`.
    pub fn publish_delegated(
        &mut self,
        name: &str,
        keys: &[&PrivateKey],
        edit: impl FnOnce(&mut Targets),
    ) {
        let mut t = self
            .delegated
            .get(name)
            .map(|d| d.signed().clone())
            .unwrap_or_else(|| {
                let mut t = new_targets(far());
                t.version = 0;
                t
            });
        bump(&mut t, far());
        edit(&mut t);
        let doc = Metadata::sign_new(t, keys, &mut OsRng).unwrap();
        self.delegated.insert(name.to_string(), doc);
        self.publish_snapshot(&[name]);
    }

    pub fn publish_snapshot(&mut self, changed: &[&str]) {
        let docs: Vec<(&str, &Metadata<Targets>)> = changed
            .iter()
            .map(|r| {
                let doc = if *r == "targets" {
                    &self.targets
                } else {
                    &self.delegated[*r]
                };
                (*r, doc)
            })
            .collect();
        let snap = next_snapshot(Some(self.snapshot.signed()), &docs, far());
        self.snapshot = Metadata::sign_new(snap, &[&self.snapshot_key], &mut OsRng).unwrap();
        self.publish_timestamp(far());
    }

    pub fn publish_timestamp(&mut self, expires: Expires) {
        let ts = next_timestamp(Some(self.timestamp.signed()), &self.snapshot, expires);
        self.timestamp = Metadata::sign_new(ts, &[&self.timestamp_key], &mut OsRng).unwrap();
        self.write_all();
    }

    /// Publishes root version N+1 from `edit`, signed by `signers`.
    pub fn publish_root(&mut self, signers: &[&PrivateKey], edit: impl FnOnce(&mut Root)) {
        let mut r = self.root.signed().clone();
        bump(&mut r, far());
        edit(&mut r);
        self.root = Metadata::sign_new(r, signers, &mut OsRng).unwrap();
        self.write_all();
    }

    pub fn add_target_file(&mut self, path: &str, contents: &[u8]) {
        self.target_files.insert(path.into(), contents.to_vec());
        self.publish_targets(|t| t.add_target(path, contents, None).unwrap());
    }

    pub fn serve(&self, req: &Request) -> Response {
        match self.files.get(&req.path) {
            Some(b) => Response::Bytes(b.clone().into()),
            None => Response::NotFound,
        }
    }
}

/// Runs a refresh to completion; returns the updater and the roles accepted, in order.
pub fn refresh_with(
    trusted_root: &[u8],
    serve: impl Fn(&Request) -> Response,
    prepare: impl FnOnce(&mut Updater),
) -> Result<(Updater, Vec<String>), tuf::Error> {
    let mut u = Updater::new(trusted_root, now(), Limits::default())?;
    prepare(&mut u);
    let mut accepted = Vec::new();
    while let Some(req) = u.next_request()? {
        if let Some(a) = u.handle(serve(&req))? {
            accepted.push(format!("{}@{}", a.role, a.version));
        }
    }
    Ok((u, accepted))
}

pub fn refresh(repo: &Repo) -> Result<(Updater, Vec<String>), tuf::Error> {
    refresh_with(&repo.initial_root, |r| repo.serve(r), |_| {})
}

/// Finds `target` after a refresh, fetching delegated roles as needed.
pub fn lookup(
    u: &mut Updater,
    serve: impl Fn(&Request) -> Response,
    target: &str,
) -> Result<TargetFile, tuf::Error> {
    u.start_lookup(target)?;
    while let Some(req) = u.next_request()? {
        u.handle(serve(&req))?;
    }
    u.found_target()
        .map(|(_, t)| t.clone())
        .ok_or_else(|| tuf::Error::TargetNotFound(target.into()))
}
