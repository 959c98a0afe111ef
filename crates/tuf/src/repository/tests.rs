use super::*;
use crate::editor::{new_root, new_targets};
use crate::keys::{KeyKind, PrivateKey};
use crate::metadata::Role;
use crate::updater::{Response, Updater};
use chrono::TimeZone;
use rand_core::OsRng;

struct Fixture {
    root_key: PrivateKey,
    targets_key: PrivateKey,
    delegated_key: PrivateKey,
    snapshot_key: PrivateKey,
    timestamp_key: PrivateKey,
    now: DateTime<Utc>,
}

fn gen() -> PrivateKey {
    PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap()
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            root_key: gen(),
            targets_key: gen(),
            delegated_key: gen(),
            snapshot_key: gen(),
            timestamp_key: gen(),
            now: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    fn expires(&self) -> Expires {
        Expires(self.now + chrono::Duration::days(30))
    }

    fn online(&self) -> OnlineKeyIds {
        OnlineKeyIds {
            snapshot: self.snapshot_key.key_id().into(),
            timestamp: self.timestamp_key.key_id().into(),
        }
    }

    fn root(&self, version: u64) -> Root {
        let mut root = new_root(self.expires(), true);
        root.version = version;
        root.add_key("root", self.root_key.public()).unwrap();
        root.add_key("targets", self.targets_key.public()).unwrap();
        root.add_key("snapshot", self.snapshot_key.public())
            .unwrap();
        root.add_key("timestamp", self.timestamp_key.public())
            .unwrap();
        root
    }

    fn targets(&self, version: u64, delegate: bool) -> Targets {
        let mut t = new_targets(self.expires());
        t.version = version;
        t.add_target("app.tgz", b"app", None).unwrap();
        if delegate {
            t.add_delegation(
                "team",
                &[self.delegated_key.public()],
                1,
                vec!["team/*".into()],
                false,
            )
            .unwrap();
        }
        t
    }

    fn sign<T: Role>(&self, signed: T, key: &PrivateKey) -> Vec<u8> {
        Metadata::sign_new(signed, &[key], &mut OsRng)
            .unwrap()
            .bytes()
            .to_vec()
    }

    /// Validates and applies `push` the way the server does.
    fn push(&self, current: Option<RepoState>, push: &Push) -> Result<RepoState> {
        let v = validate_push(
            current.as_ref(),
            push,
            &self.online(),
            self.now,
            &PushLimits::default(),
        )?;
        let next = next_online(current.as_ref(), &v, self.expires());
        let snapshot = match (next.snapshot, &v.snapshot) {
            (Some(s), _) => Metadata::sign_new(s, &[&self.snapshot_key], &mut OsRng)?,
            (None, Some(s)) => s.clone(),
            (None, None) => unreachable!(),
        };
        let ts = timestamp_for(next.timestamp_version, &snapshot, self.expires());
        let timestamp = Metadata::sign_new(ts, &[&self.timestamp_key], &mut OsRng)?;
        RepoState::apply(current, v, snapshot, timestamp)
    }

    fn created(&self) -> RepoState {
        self.push(
            None,
            &Push {
                root: Some(self.sign(self.root(1), &self.root_key)),
                targets: [(
                    "targets".into(),
                    self.sign(self.targets(1, true), &self.targets_key),
                )]
                .into(),
                ..Push::default()
            },
        )
        .unwrap()
    }
}

/// What the server produces must be what a client accepts: run the client
/// workflow over the state.
fn client_accepts(state: &RepoState, first_root: &[u8], now: DateTime<Utc>) {
    let mut u = Updater::new(first_root, now, crate::updater::Limits::default()).unwrap();
    while let Some(req) = u.next_request().unwrap() {
        let bytes = match (req.role.as_str(), req.version) {
            ("root", Some(v)) if v == state.root.version() => state.root.bytes().to_vec(),
            ("root", Some(_)) => {
                u.handle(Response::NotFound).unwrap();
                continue;
            }
            ("timestamp", _) => state.timestamp.bytes().to_vec(),
            ("snapshot", _) => state.snapshot.bytes().to_vec(),
            (role, _) => state.targets[role].bytes().to_vec(),
        };
        u.handle(Response::Bytes(bytes.into())).unwrap();
    }
    assert!(u.is_ready());
}

#[test]
fn a_created_repository_is_what_a_client_accepts() {
    let f = Fixture::new();
    let state = f.created();
    assert_eq!(state.snapshot.version(), 1);
    assert_eq!(state.timestamp.version(), 1);
    client_accepts(&state, state.root.bytes(), f.now);
}

#[test]
fn targets_and_delegated_roles_advance_by_one_with_new_snapshots() {
    let f = Fixture::new();
    let first_root = f.sign(f.root(1), &f.root_key);
    let state = f.created();
    let mut team = new_targets(f.expires());
    team.add_target("team/lib.tgz", b"lib", None).unwrap();
    let state = f
        .push(
            Some(state),
            &Push {
                targets: [
                    ("targets".into(), f.sign(f.targets(2, true), &f.targets_key)),
                    ("team".into(), f.sign(team, &f.delegated_key)),
                ]
                .into(),
                ..Push::default()
            },
        )
        .unwrap();
    assert_eq!(state.targets["targets"].version(), 2);
    assert_eq!(state.targets["team"].version(), 1);
    assert_eq!(state.snapshot.version(), 2);
    assert_eq!(state.snapshot.signed().meta["team.json"].version, 1);
    assert_eq!(state.timestamp.version(), 2);
    client_accepts(&state, &first_root, f.now);
}

#[test]
fn root_rotation_needs_the_old_and_the_new_threshold() {
    let f = Fixture::new();
    let state = f.created();
    let new_root_key = gen();
    let mut root = f.root(2);
    root.remove_key("root", f.root_key.key_id()).unwrap();
    root.add_key("root", new_root_key.public()).unwrap();
    let only_new = f.sign(root.clone(), &new_root_key);
    let err = f
        .push(
            Some(state.clone()),
            &Push {
                root: Some(only_new),
                ..Push::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::ThresholdNotMet { ref role, .. } if role == "root"),
        "{err}"
    );
    let both = Metadata::sign_new(root, &[&f.root_key, &new_root_key], &mut OsRng).unwrap();
    let state = f
        .push(
            Some(state),
            &Push {
                root: Some(both.bytes().to_vec()),
                ..Push::default()
            },
        )
        .unwrap();
    assert_eq!(state.root.version(), 2);
    client_accepts(&state, &f.sign(f.root(1), &f.root_key), f.now);
}

#[test]
fn each_bad_push_gets_its_own_error() {
    let f = Fixture::new();
    let state = f.created();
    let push_targets = |doc: Targets, key: &PrivateKey| Push {
        targets: [("targets".into(), f.sign(doc, key))].into(),
        ..Push::default()
    };
    let check = |push: Push, expect: fn(&Error) -> bool| {
        let err = f.push(Some(state.clone()), &push).unwrap_err();
        assert!(expect(&err), "unexpected error: {err}");
    };
    check(push_targets(f.targets(1, true), &f.targets_key), |e| {
        matches!(e, Error::Rollback { .. })
    });
    check(push_targets(f.targets(3, true), &f.targets_key), |e| {
        matches!(
            e,
            Error::VersionMismatch {
                expected: 2,
                got: 3,
                ..
            }
        )
    });
    check(push_targets(f.targets(2, true), &f.delegated_key), |e| {
        matches!(e, Error::ThresholdNotMet { .. })
    });
    let mut expired = f.targets(2, true);
    expired.expires = Expires(f.now - chrono::Duration::seconds(1));
    check(push_targets(expired, &f.targets_key), |e| {
        matches!(e, Error::Expired { .. })
    });
    let mut outside = new_targets(f.expires());
    outside.add_target("other/x.tgz", b"x", None).unwrap();
    check(
        Push {
            targets: [("team".into(), f.sign(outside, &f.delegated_key))].into(),
            ..Push::default()
        },
        |e| matches!(e, Error::OutsideDelegation { .. }),
    );
    check(
        Push {
            targets: [(
                "nobody".into(),
                f.sign(new_targets(f.expires()), &f.delegated_key),
            )]
            .into(),
            ..Push::default()
        },
        |e| matches!(e, Error::UnknownRole(r) if r == "nobody"),
    );
    check(
        Push {
            timestamp: Some(state.timestamp.bytes().to_vec()),
            ..Push::default()
        },
        |e| matches!(e, Error::Push(_)),
    );
    check(Push::default(), |e| matches!(e, Error::Push(_)));
    let mut no_online = f.root(2);
    no_online
        .remove_key("timestamp", f.timestamp_key.key_id())
        .unwrap();
    no_online.add_key("timestamp", f.root_key.public()).unwrap();
    check(
        Push {
            root: Some(f.sign(no_online, &f.root_key)),
            ..Push::default()
        },
        |e| matches!(e, Error::OnlineKeyNotAuthorised { role, .. } if role == "timestamp"),
    );
}

#[test]
fn a_repository_starts_with_root_and_targets_at_version_one() {
    let f = Fixture::new();
    let only_root = Push {
        root: Some(f.sign(f.root(1), &f.root_key)),
        ..Push::default()
    };
    assert!(matches!(f.push(None, &only_root), Err(Error::Push(_))));
    let root_two = Push {
        root: Some(f.sign(f.root(2), &f.root_key)),
        targets: [(
            "targets".into(),
            f.sign(f.targets(1, false), &f.targets_key),
        )]
        .into(),
        ..Push::default()
    };
    assert!(matches!(
        f.push(None, &root_two),
        Err(Error::VersionMismatch {
            expected: 1,
            got: 2,
            ..
        })
    ));
}

#[test]
fn a_client_signed_snapshot_must_describe_the_push() {
    let f = Fixture::new();
    let state = f.created();
    let targets = f.sign(f.targets(2, true), &f.targets_key);
    let doc: Metadata<Targets> = Metadata::from_bytes(&targets).unwrap();
    let stale = next_snapshot(Some(state.snapshot.signed()), &[], f.expires());
    let push = Push {
        targets: [("targets".into(), targets.clone())].into(),
        snapshot: Some(f.sign(stale, &f.snapshot_key)),
        ..Push::default()
    };
    assert!(matches!(
        f.push(Some(state.clone()), &push),
        Err(Error::VersionMismatch { .. })
    ));
    let good = next_snapshot(
        Some(state.snapshot.signed()),
        &[("targets", &doc)],
        f.expires(),
    );
    let push = Push {
        targets: [("targets".into(), targets)].into(),
        snapshot: Some(f.sign(good, &f.snapshot_key)),
        ..Push::default()
    };
    let after = f.push(Some(state), &push).unwrap();
    assert_eq!(after.snapshot.version(), 2);
}
