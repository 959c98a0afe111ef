//! A repository in memory, served from a map of paths, and a driver that runs the
//! updater against it as an HTTP client would.

use chrono::{DateTime, TimeZone, Utc};
use rand_core::OsRng;
use std::collections::BTreeMap;
use tuf::editor::{bump, new_root, new_targets, next_snapshot, next_timestamp};
use tuf::keys::Signature;
use tuf::metadata::{Expires, TargetFile};
use tuf::updater::{Limits, Request, Response, Updater};
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
        let name = tuf::updater::encode_role_name(role);
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
    u.found_target().map(|(_, t)| t.clone()).ok_or_else(|| {
        u.lookup_failure()
            .cloned()
            .unwrap_or_else(|| tuf::Error::TargetNotFound(target.into()))
    })
}

/// The document with its signatures replaced, as bytes.
pub fn with_signatures<T: tuf::metadata::Role>(doc: &Metadata<T>, sigs: Vec<Signature>) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(doc.bytes()).unwrap();
    v["signatures"] = serde_json::to_value(sigs).unwrap();
    serde_json::to_vec(&v).unwrap()
}

/// Targets delegates `a/*` to `A` and `*/*` to `B`; each delegates `*/*` to
/// `shared`, with a key of its own. `shared` lists `a/file` and `b/file` (both also
/// in `target_files`) and is signed by A's key for it, and by B's too when
/// `signed_for_both`.
pub fn shared_by_two_delegators(signed_for_both: bool) -> Repo {
    let mut repo = Repo::new(true);
    let (ka, kb, sa, sb) = (key(), key(), key(), key());
    let (pa, pb) = (ka.public().clone(), kb.public().clone());
    let (psa, psb) = (sa.public().clone(), sb.public().clone());
    repo.publish_targets(|t| {
        t.add_delegation("A", &[&pa], 1, vec!["a/*".into()], false)
            .unwrap();
        t.add_delegation("B", &[&pb], 1, vec!["*/*".into()], false)
            .unwrap();
    });
    repo.publish_delegated("A", &[&ka], |t| {
        t.add_delegation("shared", &[&psa], 1, vec!["*/*".into()], false)
            .unwrap()
    });
    repo.publish_delegated("B", &[&kb], |t| {
        t.add_delegation("shared", &[&psb], 1, vec!["*/*".into()], false)
            .unwrap()
    });
    let signers = if signed_for_both {
        vec![&sa, &sb]
    } else {
        vec![&sa]
    };
    repo.publish_delegated("shared", &signers, |t| {
        t.add_target("a/file", b"a", None).unwrap();
        t.add_target("b/file", b"b", None).unwrap();
    });
    repo.target_files.insert("a/file".into(), b"a".to_vec());
    repo.target_files.insert("b/file".into(), b"b".to_vec());
    repo
}

/// A repository whose targets delegates `*` to `role`, published empty.
pub fn delegating_everything_to(role: &str) -> Repo {
    let mut repo = Repo::new(true);
    let k = key();
    let public = k.public().clone();
    repo.publish_targets(|t| {
        t.add_delegation(role, &[&public], 1, vec!["*".into()], false)
            .unwrap()
    });
    repo.publish_delegated(role, &[&k], |_| {});
    repo
}

impl Repo {
    /// Serves, as `timestamp.json`, the current timestamp version again with other
    /// content: it now names snapshot `snapshot_version`. Validly signed.
    pub fn serve_timestamp_changed_in_place(&mut self, snapshot_version: u64) {
        let mut same_version = self.timestamp.signed().clone();
        same_version.meta.get_mut("snapshot.json").unwrap().version = snapshot_version;
        let same_version =
            Metadata::sign_new(same_version, &[&self.timestamp_key], &mut OsRng).unwrap();
        assert_eq!(same_version.version(), self.timestamp.version());
        self.files
            .insert("timestamp.json".into(), same_version.bytes().to_vec());
    }
}

/// A repository whose snapshot v1 lists its one signature twice, under a timestamp
/// that lists the snapshot's version only (as many repositories write it), so that
/// nothing but the signatures can refuse the file. Also returns the key ID.
pub fn snapshot_signed_twice_by_one_key() -> (Repo, String) {
    let mut repo = Repo::new(true);
    let one = repo.snapshot.signatures()[0].clone();
    let keyid = one.keyid.clone();
    let doubled = with_signatures(&repo.snapshot, vec![one.clone(), one]);
    repo.files.insert("1.snapshot.json".into(), doubled);
    let mut ts = repo.timestamp.signed().clone();
    let listed = ts.meta.get_mut("snapshot.json").unwrap();
    (listed.length, listed.hashes) = (None, None);
    let ts = Metadata::sign_new(ts, &[&repo.timestamp_key], &mut OsRng).unwrap();
    repo.files
        .insert("timestamp.json".into(), ts.bytes().to_vec());
    (repo, keyid)
}

/// Targets delegates `pkg/*` to `team`, which the snapshot does not list; the
/// repository would serve a validly signed `1.team.json` listing `pkg/x` if asked.
pub fn delegating_to_a_role_snapshot_omits() -> Repo {
    let mut repo = Repo::new(true);
    let k = key();
    let public = k.public().clone();
    repo.publish_targets(|t| {
        t.add_delegation("team", &[&public], 1, vec!["pkg/*".into()], false)
            .unwrap()
    });
    assert!(!repo.snapshot.signed().meta.contains_key("team.json"));
    let mut team = new_targets(far());
    team.add_target("pkg/x", b"x", None).unwrap();
    let team = Metadata::sign_new(team, &[&k], &mut OsRng).unwrap();
    repo.files
        .insert("1.team.json".into(), team.bytes().to_vec());
    repo
}

/// Role names a client must quote, each with its URL form, python-tuf's
/// `quote(name, safe="")`.
pub const NAMES_THAT_NEED_QUOTING: [(&str, &str); 4] = [
    ("?", "%3F"),
    ("#", "%23"),
    ("/delegatedrole", "%2Fdelegatedrole"),
    ("../delegatedrole", "..%2Fdelegatedrole"),
];
