//! One repository per attack, named after it. Each must be refused with its own error.

use crate::harness::*;
use rand_core::OsRng;
use std::collections::BTreeMap;
use tuf::editor::{bump, next_snapshot};
use tuf::keys::Signature;
use tuf::updater::{verify_target, LocalRole, Response};
use tuf::{Error, Metadata, Snapshot, Timestamp};

/// A client that already trusts the repository's current timestamp and snapshot.
fn client_after_first_update(repo: &Repo) -> (Vec<u8>, Vec<u8>) {
    let (u, _) = refresh(repo).unwrap();
    (
        u.trusted().timestamp.as_ref().unwrap().bytes().to_vec(),
        u.trusted().snapshot.as_ref().unwrap().bytes().to_vec(),
    )
}

fn refresh_with_local(repo: &Repo, ts: &[u8], snap: &[u8]) -> Result<(), Error> {
    refresh_with(
        &repo.initial_root,
        |r| repo.serve(r),
        |u| {
            u.load_local(LocalRole::Timestamp, ts).unwrap();
            u.load_local(LocalRole::Snapshot, snap).unwrap();
        },
    )
    .map(|_| ())
}

#[test]
fn rollback_timestamp() {
    let mut repo = Repo::new(false);
    let old = repo.timestamp.bytes().to_vec();
    repo.add_target_file("a", b"a");
    let (ts, snap) = client_after_first_update(&repo);
    repo.files.insert("timestamp.json".into(), old);
    let err = refresh_with_local(&repo, &ts, &snap).unwrap_err();
    assert!(
        matches!(err, Error::Rollback { ref role, trusted: 2, new: 1 } if role == "timestamp"),
        "{err}"
    );
}

#[test]
fn rollback_snapshot_through_a_new_timestamp() {
    let mut repo = Repo::new(false);
    let old_snapshot = repo.snapshot.clone();
    repo.add_target_file("a", b"a");
    let (ts, snap) = client_after_first_update(&repo);
    // A validly signed new timestamp pointing at the older snapshot.
    let t = tuf::editor::next_timestamp(Some(repo.timestamp.signed()), &old_snapshot, far());
    let t = Metadata::sign_new(t, &[&repo.timestamp_key], &mut OsRng).unwrap();
    repo.files
        .insert("timestamp.json".into(), t.bytes().to_vec());
    let err = refresh_with_local(&repo, &ts, &snap).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rollback {
                trusted: 2,
                new: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn rollback_targets_in_a_new_snapshot() {
    let mut repo = Repo::new(false);
    let old_targets = repo.targets.clone();
    repo.add_target_file("a", b"a");
    let (ts, snap) = client_after_first_update(&repo);
    // Snapshot and timestamp keys are online: a compromised server signs a snapshot
    // that lists the older targets.
    let mut s = next_snapshot(
        Some(repo.snapshot.signed()),
        &[("targets", &old_targets)],
        far(),
    );
    s.version = repo.snapshot.version() + 1;
    repo.snapshot = Metadata::sign_new(s, &[&repo.snapshot_key], &mut OsRng).unwrap();
    repo.publish_timestamp(far());
    let err = refresh_with_local(&repo, &ts, &snap).unwrap_err();
    assert!(
        matches!(err, Error::Rollback { ref role, trusted: 2, new: 1 } if role == "targets"),
        "{err}"
    );
}

#[test]
fn rollback_delegated_role_in_a_new_snapshot() {
    let mut repo = Repo::new(false);
    let d = key();
    let public = d.public().clone();
    repo.publish_targets(|t| {
        t.add_delegation("d", &[&public], 1, vec!["*".into()], false)
            .unwrap()
    });
    repo.publish_delegated("d", &[&d], |_| {});
    let old = repo.delegated["d"].clone();
    repo.publish_delegated("d", &[&d], |_| {});
    let (ts, snap) = client_after_first_update(&repo);
    let mut s = next_snapshot(Some(repo.snapshot.signed()), &[("d", &old)], far());
    s.version = repo.snapshot.version() + 1;
    repo.snapshot = Metadata::sign_new(s, &[&repo.snapshot_key], &mut OsRng).unwrap();
    repo.publish_timestamp(far());
    let err = refresh_with_local(&repo, &ts, &snap).unwrap_err();
    assert!(
        matches!(err, Error::Rollback { ref role, trusted: 2, new: 1 } if role == "d"),
        "{err}"
    );
}

#[test]
fn rollback_root_served_as_the_next_version() {
    let mut repo = Repo::new(false);
    let k = repo.root_keys.remove(0);
    repo.publish_root(&[&k], |_| {});
    repo.publish_root(&[&k], |_| {});
    // The client trusts root v2; the server answers 3.root.json with root v1.
    let v2 = repo.files["2.root.json"].clone();
    let v1 = repo.files["1.root.json"].clone();
    repo.files.insert("3.root.json".into(), v1);
    let err = refresh_with(&v2, |r| repo.serve(r), |_| {})
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(err, Error::Rollback { ref role, trusted: 2, new: 1 } if role == "root"),
        "{err}"
    );
}

#[test]
fn freeze_expired_timestamp() {
    let mut repo = Repo::new(false);
    repo.publish_timestamp(past());
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::Expired { ref role, .. } if role == "timestamp"),
        "{err}"
    );
}

#[test]
fn freeze_expired_snapshot_and_targets() {
    let mut repo = Repo::new(false);
    let mut s = repo.snapshot.signed().clone();
    bump(&mut s, past());
    repo.snapshot = Metadata::sign_new(s, &[&repo.snapshot_key], &mut OsRng).unwrap();
    repo.publish_timestamp(far());
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::Expired { ref role, .. } if role == "snapshot"),
        "{err}"
    );

    let mut repo = Repo::new(false);
    let mut t = repo.targets.signed().clone();
    bump(&mut t, past());
    repo.targets = Metadata::sign_new(t, &[&repo.targets_key], &mut OsRng).unwrap();
    repo.publish_snapshot(&["targets"]);
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::Expired { ref role, .. } if role == "targets"),
        "{err}"
    );
}

#[test]
fn freeze_expired_root() {
    let mut repo = Repo::new(false);
    let k = repo.root_keys.remove(0);
    repo.publish_root(&[&k], |r| r.expires = past());
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::Expired { ref role, version: 2, .. } if role == "root"),
        "{err}"
    );
}

#[test]
fn mix_and_match_targets_from_another_snapshot() {
    let mut repo = Repo::new(false);
    repo.add_target_file("a", b"good");
    // Another validly signed targets document with the same version, from a
    // different state of the repository, served in place of the listed one.
    let mut t = repo.targets.signed().clone();
    t.add_target("a", b"evil", None).unwrap();
    let other = Metadata::sign_new(t, &[&repo.targets_key], &mut OsRng).unwrap();
    repo.files
        .insert("targets.json".into(), other.bytes().to_vec());
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::HashMismatch { ref what, .. } if what == "targets"),
        "{err}"
    );
}

#[test]
fn fast_forward_recovery_after_timestamp_key_rotation() {
    let mut repo = Repo::new(false);
    // An attacker with the timestamp key fast-forwards clients to version 1000.
    let mut t: Timestamp = repo.timestamp.signed().clone();
    t.version = 1000;
    let ff = Metadata::sign_new(t, &[&repo.timestamp_key], &mut OsRng).unwrap();
    repo.files
        .insert("timestamp.json".into(), ff.bytes().to_vec());
    let (u, _) = refresh(&repo).unwrap();
    let fast_forwarded = u.trusted().timestamp.as_ref().unwrap().bytes().to_vec();
    let snap = u.trusted().snapshot.as_ref().unwrap().bytes().to_vec();

    // Without a key rotation the client is stuck: the honest timestamp is a rollback.
    repo.publish_timestamp(far());
    let err = refresh_with_local(&repo, &fast_forwarded, &snap).unwrap_err();
    assert!(
        matches!(err, Error::Rollback { ref role, .. } if role == "timestamp"),
        "{err}"
    );

    // TUF §5.3.11: the operator rotates the timestamp key; the client drops its
    // trusted timestamp and recovers.
    let new_key = key();
    let old_id = repo.timestamp_key.key_id().to_string();
    let public = new_key.public().clone();
    let k = repo.root_keys.remove(0);
    repo.publish_root(&[&k], |r| {
        r.add_key("timestamp", &public).unwrap();
        r.remove_key("timestamp", &old_id).unwrap();
    });
    repo.timestamp_key = new_key;
    repo.publish_timestamp(far());
    refresh_with_local(&repo, &fast_forwarded, &snap).unwrap();
}

#[test]
fn duplicate_keyid_threshold() {
    // One key listed under two key IDs, threshold 2, signed once per "key": the same
    // key material must count once.
    let mut repo = Repo::new(false);
    let k = repo.root_keys.remove(0);
    let mut second = k.public().clone();
    second
        .unknown
        .insert("x-alias".into(), serde_json::json!(true));
    let alias_id = second.key_id().unwrap();
    let mut root = repo.root.signed().clone();
    root.add_key("root", &second).unwrap();
    root.roles.get_mut("root").unwrap().threshold = 2;
    bump(&mut root, far());
    let doc = Metadata::sign_new(root, &[&k], &mut OsRng).unwrap();
    let sig = doc.signatures()[0].sig.clone();
    let forged = with_signatures(
        &doc,
        vec![
            doc.signatures()[0].clone(),
            Signature {
                keyid: alias_id,
                sig,
                unknown: BTreeMap::new(),
            },
        ],
    );
    repo.files.insert("2.root.json".into(), forged);
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::ThresholdNotMet { ref role, valid: 1, threshold: 2, .. } if role == "root"),
        "{err}"
    );
}

#[test]
fn a_root_with_one_signature_repeated_is_refused() {
    let mut repo = Repo::new(false);
    let k = repo.root_keys.remove(0);
    let extra = key();
    let extra_public = extra.public().clone();
    let mut root = repo.root.signed().clone();
    root.add_key("root", &extra_public).unwrap();
    root.set_threshold("root", 2).unwrap();
    bump(&mut root, far());
    let doc = Metadata::sign_new(root, &[&k], &mut OsRng).unwrap();
    let one = doc.signatures()[0].clone();
    let one_keyid = one.keyid.clone();
    repo.files.insert(
        "2.root.json".into(),
        with_signatures(&doc, vec![one.clone(), one]),
    );
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::RepeatedSignature { ref role, version: 2, ref keyid }
            if role == "root" && *keyid == one_keyid),
        "{err}"
    );
}

#[test]
fn threshold_not_met_new_root_without_old_keys() {
    let mut repo = Repo::new(false);
    let old = repo.root_keys.remove(0);
    let new = key();
    let old_id = old.key_id().to_string();
    let public = new.public().clone();
    // Signed only by the new key: the trusted root's threshold is not met.
    repo.publish_root(&[&new], |r| {
        r.add_key("root", &public).unwrap();
        r.remove_key("root", &old_id).unwrap();
    });
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::ThresholdNotMet { ref role, valid: 0, .. } if role == "root"),
        "{err}"
    );
}

#[test]
fn targets_signed_with_online_keys_only() {
    // The server holds the snapshot and timestamp keys, not the targets key.
    let mut repo = Repo::new(false);
    let mut t = repo.targets.signed().clone();
    t.add_target("evil", b"evil", None).unwrap();
    bump(&mut t, far());
    repo.targets =
        Metadata::sign_new(t, &[&repo.snapshot_key, &repo.timestamp_key], &mut OsRng).unwrap();
    repo.publish_snapshot(&["targets"]);
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::ThresholdNotMet { ref role, valid: 0, .. } if role == "targets"),
        "{err}"
    );
}

#[test]
fn wrong_type_snapshot_served_as_timestamp() {
    let mut repo = Repo::new(false);
    let snapshot = repo.files["snapshot.json"].clone();
    repo.files.insert("timestamp.json".into(), snapshot);
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::WrongType { ref role, ref found } if role == "timestamp" && found == "snapshot"),
        "{err}"
    );
}

#[test]
fn arbitrary_target_with_wrong_hash() {
    let mut repo = Repo::new(false);
    repo.add_target_file("app", b"genuine");
    let (mut u, _) = refresh(&repo).unwrap();
    let info = lookup(&mut u, |r| repo.serve(r), "app").unwrap();
    let err = verify_target("app", &info, b"genuinf").unwrap_err();
    assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
}

#[test]
fn endless_data_timestamp_and_target() {
    let mut repo = Repo::new(false);
    let mut huge = repo.files["timestamp.json"].clone();
    huge.extend(std::iter::repeat_n(b' ', 20_000));
    repo.files.insert("timestamp.json".into(), huge);
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { ref what, limit: 16_384, .. } if what == "timestamp"),
        "{err}"
    );

    let mut repo = Repo::new(false);
    repo.add_target_file("app", b"genuine");
    let (mut u, _) = refresh(&repo).unwrap();
    let info = lookup(&mut u, |r| repo.serve(r), "app").unwrap();
    let err = verify_target("app", &info, b"genuine and then some").unwrap_err();
    assert!(
        matches!(err, Error::HashMismatch { ref reason, .. } if reason.contains("length")),
        "{err}"
    );
}

#[test]
fn endless_data_snapshot_beyond_listed_length() {
    let mut repo = Repo::new(false);
    let mut long = repo.files["snapshot.json"].clone();
    long.push(b'\n');
    repo.files.insert("snapshot.json".into(), long);
    let err = refresh(&repo).map(|_| ()).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { ref what, .. } if what == "snapshot"),
        "{err}"
    );
}

#[test]
fn malicious_delegation_paths() {
    // "evil" is delegated only pkg/evil/*, but lists pkg/app: a client must not take
    // pkg/app from it.
    let mut repo = Repo::new(false);
    let evil = key();
    let public = evil.public().clone();
    repo.publish_targets(|t| {
        t.add_delegation("evil", &[&public], 1, vec!["pkg/evil/*".into()], false)
            .unwrap();
    });
    repo.publish_delegated("evil", &[&evil], |t| {
        t.add_target("pkg/app", b"evil", None).unwrap()
    });
    let (mut u, _) = refresh(&repo).unwrap();
    let err = lookup(&mut u, |r| repo.serve(r), "pkg/app").unwrap_err();
    assert!(matches!(err, Error::TargetNotFound(_)), "{err}");
}

#[test]
fn delegated_role_signed_by_a_key_its_delegator_did_not_name() {
    let mut repo = Repo::new(false);
    let (named, other) = (key(), key());
    let public = named.public().clone();
    repo.publish_targets(|t| {
        t.add_delegation("d", &[&public], 1, vec!["*".into()], false)
            .unwrap();
    });
    repo.publish_delegated("d", &[&other], |t| t.add_target("x", b"x", None).unwrap());
    let (mut u, _) = refresh(&repo).unwrap();
    let err = lookup(&mut u, |r| repo.serve(r), "x").unwrap_err();
    assert!(
        matches!(err, Error::ThresholdNotMet { ref role, .. } if role == "d"),
        "{err}"
    );
}

#[test]
fn delegation_cycles() {
    let mut repo = Repo::new(false);
    let (a, b) = (key(), key());
    let (pa, pb) = (a.public().clone(), b.public().clone());
    repo.publish_targets(|t| {
        t.add_delegation("a", &[&pa], 1, vec!["*".into()], false)
            .unwrap()
    });
    repo.publish_delegated("a", &[&a], |t| {
        t.add_delegation("b", &[&pb], 1, vec!["*".into()], false)
            .unwrap()
    });
    repo.publish_delegated("b", &[&b], |t| {
        t.add_delegation("a", &[&pa], 1, vec!["*".into()], false)
            .unwrap()
    });
    let (mut u, _) = refresh(&repo).unwrap();
    let err = lookup(&mut u, |r| repo.serve(r), "missing").unwrap_err();
    assert!(matches!(err, Error::TargetNotFound(_)), "{err}");
}

#[test]
fn snapshot_dropping_a_role_it_listed_before() {
    let mut repo = Repo::new(false);
    let d = key();
    let public = d.public().clone();
    repo.publish_targets(|t| {
        t.add_delegation("d", &[&public], 1, vec!["*".into()], false)
            .unwrap()
    });
    repo.publish_delegated("d", &[&d], |_| {});
    let (ts, snap) = client_after_first_update(&repo);
    let mut s: Snapshot = repo.snapshot.signed().clone();
    s.meta.remove("d.json");
    bump(&mut s, far());
    repo.snapshot = Metadata::sign_new(s, &[&repo.snapshot_key], &mut OsRng).unwrap();
    repo.publish_timestamp(far());
    let err = refresh_with_local(&repo, &ts, &snap).unwrap_err();
    assert!(
        matches!(err, Error::RoleRemoved { ref role, .. } if role == "d"),
        "{err}"
    );
}

#[test]
fn duplicate_json_keys_in_signed() {
    // Parsers disagree on repeated keys (first or last wins); a document whose meaning
    // depends on the parser is refused outright.
    let repo = Repo::new(false);
    let text = String::from_utf8(repo.files["timestamp.json"].clone()).unwrap();
    // `signed` is written in canonical order, so its own `version` is its last member.
    let at = text.rfind("\"version\":1").unwrap() + "\"version\":1".len();
    let doubled = format!("{},\"version\":9{}", &text[..at], &text[at..]);
    assert_ne!(text, doubled);
    let err = Metadata::<Timestamp>::from_bytes(doubled.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
}

#[test]
fn a_failed_update_accepts_nothing_more() {
    let mut repo = Repo::new(false);
    repo.publish_timestamp(past());
    let mut u = tuf::updater::Updater::new(&repo.initial_root, now(), Default::default()).unwrap();
    let req = u.next_request().unwrap().unwrap();
    assert!(u.handle(repo.serve(&req)).unwrap().is_none()); // no 2.root.json
    let req = u.next_request().unwrap().unwrap();
    assert!(u.handle(repo.serve(&req)).is_err());
    assert_eq!(u.next_request().unwrap(), None);
    assert!(matches!(u.handle(Response::NotFound), Err(Error::Usage(_))));
}
