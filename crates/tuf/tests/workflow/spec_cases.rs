//! Behaviours the specification requires where clients are often wrong: each test
//! names the behaviour and asserts the specific error, or which requests were made
//! and which were not.

use crate::harness::*;
use rand_core::OsRng;
use std::cell::RefCell;
use tuf::updater::{role_file_name, Accepted, LocalRole, Updater};
use tuf::{Error, Metadata};

/// A client that trusts what the repository serves now, as a client that persisted
/// each file would hold it: timestamp, snapshot and top-level targets.
fn files_after_first_update(repo: &Repo) -> [(LocalRole, Vec<u8>); 3] {
    let (u, _) = refresh(repo).unwrap();
    let t = u.trusted();
    [
        (
            LocalRole::Timestamp,
            t.timestamp.as_ref().unwrap().bytes().to_vec(),
        ),
        (
            LocalRole::Snapshot,
            t.snapshot.as_ref().unwrap().bytes().to_vec(),
        ),
        (LocalRole::Targets, t.targets["targets"].bytes().to_vec()),
    ]
}

/// Runs a refresh with `local` files offered; returns its outcome, every path
/// requested, and what was accepted.
fn refresh_recording(
    repo: &Repo,
    local: &[(LocalRole, Vec<u8>)],
) -> (Result<Updater, Error>, Vec<String>, Vec<Accepted>) {
    let requested = RefCell::new(Vec::new());
    let mut u = Updater::new(&repo.initial_root, now(), tuf::updater::Limits::default()).unwrap();
    for (role, bytes) in local {
        u.load_local(*role, bytes).unwrap();
    }
    let mut accepted = Vec::new();
    let result = (|| {
        while let Some(req) = u.next_request()? {
            requested.borrow_mut().push(req.path.clone());
            if let Some(a) = u.handle(repo.serve(&req))? {
                accepted.push(a);
            }
        }
        Ok(())
    })();
    (result.map(|()| u), requested.into_inner(), accepted)
}

/// Runs a lookup, recording the paths it requests and what it accepted.
fn lookup_recording(
    u: &mut Updater,
    repo: &Repo,
    target: &str,
) -> (Result<(), Error>, Vec<String>, Vec<Accepted>) {
    let mut requested = Vec::new();
    let mut accepted = Vec::new();
    let result = (|| {
        u.start_lookup(target)?;
        while let Some(req) = u.next_request()? {
            requested.push(req.path.clone());
            if let Some(a) = u.handle(repo.serve(&req))? {
                accepted.push(a);
            }
        }
        match (u.found_target(), u.lookup_failure()) {
            (Some(_), _) => Ok(()),
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Err(Error::TargetNotFound(target.into())),
        }
    })();
    (result, requested, accepted)
}

#[test]
fn a_timestamp_changed_without_a_version_bump_is_not_an_update() {
    for consistent in [false, true] {
        let mut repo = Repo::new(consistent);
        repo.add_target_file("a", b"a");
        let local = files_after_first_update(&repo);
        // Timestamp v2 again, now naming snapshot v100, validly signed.
        repo.serve_timestamp_changed_in_place(100);

        let (u, requested, accepted) = refresh_recording(&repo, &local);
        let u = u.unwrap();
        // TUF §5.4: the trusted timestamp is kept and nothing is persisted; the
        // snapshot and targets it names are the ones already held, so the last (and
        // only metadata) request is the timestamp: snapshot v100 is never asked for.
        assert!(accepted.is_empty(), "{accepted:?}");
        assert_eq!(requested, ["2.root.json", "timestamp.json"]);
        assert_eq!(
            u.trusted().timestamp.as_ref().unwrap().bytes(),
            &local[0].1[..]
        );
        assert!(u.is_ready());
    }
}

#[test]
fn a_client_holding_the_current_files_asks_only_for_the_timestamp() {
    let mut repo = Repo::new(true);
    repo.add_target_file("a", b"a");
    let local = files_after_first_update(&repo);
    let (u, requested, accepted) = refresh_recording(&repo, &local);
    assert!(u.unwrap().is_ready());
    assert_eq!(requested, ["2.root.json", "timestamp.json"]);
    assert!(accepted.is_empty());

    // A newer snapshot and targets are fetched as usual.
    repo.add_target_file("b", b"b");
    let (u, requested, accepted) = refresh_recording(&repo, &local);
    assert!(u.unwrap().is_ready());
    assert_eq!(
        requested,
        [
            "2.root.json",
            "timestamp.json",
            "3.snapshot.json",
            "3.targets.json"
        ]
    );
    assert_eq!(accepted.len(), 3);
}

#[test]
fn local_files_that_are_not_the_listed_ones_are_downloaded_instead() {
    let mut repo = Repo::new(true);
    repo.add_target_file("a", b"a");
    let mut local = files_after_first_update(&repo);
    // A local targets file of the listed version with other bytes (its hash is not
    // the one snapshot lists), and a local snapshot signed by no snapshot key.
    let mut other = repo.targets.signed().clone();
    other.add_target("evil", b"evil", None).unwrap();
    let other = Metadata::sign_new(other, &[&repo.targets_key], &mut OsRng).unwrap();
    local[2].1 = other.bytes().to_vec();
    let (u, requested, _) = refresh_recording(&repo, &local);
    let u = u.unwrap();
    assert_eq!(requested.last().unwrap(), "2.targets.json");
    assert_eq!(
        u.trusted().targets["targets"].bytes(),
        repo.targets.bytes(),
        "the listed file, not the local one"
    );

    // Targets keys rotated in root: the local targets, signed by the old key, is
    // no longer valid and is downloaded again (signed by the new one).
    let local = files_after_first_update(&repo);
    let new_targets_key = key();
    let (old_id, new_public) = (
        repo.targets_key.key_id().to_string(),
        new_targets_key.public().clone(),
    );
    let root_keys: Vec<_> = std::mem::take(&mut repo.root_keys);
    repo.publish_root(&root_keys.iter().collect::<Vec<_>>(), |r| {
        r.remove_key("targets", &old_id).unwrap();
        r.add_key("targets", &new_public).unwrap();
    });
    repo.root_keys = root_keys;
    let same_version = Metadata::sign_new(
        repo.targets.signed().clone(),
        &[&new_targets_key],
        &mut OsRng,
    )
    .unwrap();
    repo.targets_key = new_targets_key;
    repo.targets = same_version;
    repo.publish_snapshot(&["targets"]);
    let (u, requested, _) = refresh_recording(&repo, &local);
    let u = u.unwrap();
    assert_eq!(requested.last().unwrap(), "2.targets.json");
    assert_eq!(u.trusted().targets["targets"].bytes(), repo.targets.bytes());
}

#[test]
fn a_snapshot_naming_one_keyid_twice_is_refused_though_the_threshold_is_met() {
    let (repo, keyid) = snapshot_signed_twice_by_one_key();
    let (u, requested, accepted) = refresh_recording(&repo, &[]);
    let err = u.map(|_| ()).unwrap_err();
    assert!(
        matches!(&err, Error::RepeatedSignature { role, version: 1, keyid: k }
            if role == "snapshot" && *k == keyid),
        "{err}"
    );
    // Refused, not de-duplicated: the snapshot is not trusted and targets is not
    // asked for.
    assert_eq!(requested.last().unwrap(), "1.snapshot.json");
    assert_eq!(
        accepted.iter().map(|a| a.role.as_str()).collect::<Vec<_>>(),
        ["timestamp"]
    );
}

#[test]
fn role_names_that_need_quoting_are_requested_quoted_and_kept_in_their_own_file() {
    for (role, quoted) in NAMES_THAT_NEED_QUOTING {
        let repo = delegating_everything_to(role);
        let (u, _) = refresh(&repo).unwrap();
        let mut u = u;
        let (result, requested, accepted) = lookup_recording(&mut u, &repo, "nonexistent target");
        assert!(
            matches!(result, Err(Error::TargetNotFound(ref t)) if t == "nonexistent target"),
            "{role}: {result:?}"
        );
        // Quoted as python-tuf's quote(name, safe=""): "/" too.
        assert_eq!(requested, [format!("1.{quoted}.json")], "{role}");
        // Trusted, and handed back to be kept, although the search found nothing:
        // root, timestamp, snapshot, targets and this role are trusted.
        assert_eq!(accepted.len(), 1, "{role}");
        assert_eq!(accepted[0].role, role);
        assert_eq!(u.trusted().targets.len(), 2, "{role}");
        let file = &accepted[0].file_name;
        assert!(
            !file.contains('/') && !file.contains('\\') && !file.starts_with('.'),
            "{role}: {file}"
        );
        assert!(
            ![
                "root.json",
                "timestamp.json",
                "snapshot.json",
                "targets.json"
            ]
            .contains(&file.to_lowercase().as_str()),
            "{role}: {file}"
        );
    }
}

#[test]
fn role_names_that_differ_only_in_case_are_kept_in_different_files() {
    let names = [
        "Team", "team", "TEAM", "Targets", "ROOT", "..", ".", "%41", "A",
    ];
    let files: Vec<String> = names.iter().map(|n| role_file_name(n).unwrap()).collect();
    for (i, a) in files.iter().enumerate() {
        for b in &files[..i] {
            assert_ne!(a.to_lowercase(), b.to_lowercase(), "{files:?}");
        }
    }
    assert_eq!(role_file_name("targets").unwrap(), "targets.json");
}

#[test]
fn a_delegated_role_missing_from_snapshot_fails_the_lookup_without_a_request() {
    let repo = delegating_to_a_role_snapshot_omits();
    let (u, _) = refresh(&repo).unwrap();
    let mut u = u;
    let (result, requested, accepted) = lookup_recording(&mut u, &repo, "pkg/x");
    assert!(
        matches!(&result, Err(Error::Missing(m)) if m.contains("team.json")),
        "{result:?}"
    );
    assert!(requested.is_empty(), "{requested:?}");
    assert!(accepted.is_empty());
}

#[test]
fn a_role_trusted_through_one_delegator_is_verified_again_through_another() {
    // `shared` is signed only by A's key for it. Found through A, then, in the
    // same session, reached through B, whose key for it did not sign: refused,
    // not reused on the strength of A's check.
    let repo = shared_by_two_delegators(false);
    let (u, _) = refresh(&repo).unwrap();
    let mut u = u;
    let (found, requested, _) = lookup_recording(&mut u, &repo, "a/file");
    found.unwrap();
    assert_eq!(requested, ["1.A.json", "1.shared.json"]);

    let (result, requested, _) = lookup_recording(&mut u, &repo, "b/file");
    assert!(
        matches!(&result, Err(Error::ThresholdNotMet { role, valid: 0, threshold: 1, .. })
            if role == "shared"),
        "{result:?}"
    );
    assert_eq!(requested, ["1.B.json"], "shared is not fetched again");

    // Signed by both delegators' keys, it is found through B from what is
    // already trusted, with no request for it.
    let repo = shared_by_two_delegators(true);
    let (u, _) = refresh(&repo).unwrap();
    let mut u = u;
    lookup_recording(&mut u, &repo, "a/file").0.unwrap();
    let (found, requested, _) = lookup_recording(&mut u, &repo, "b/file");
    found.unwrap();
    assert_eq!(requested, ["1.B.json"]);
}
