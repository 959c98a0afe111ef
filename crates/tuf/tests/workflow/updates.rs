//! Updates that must succeed.

use crate::harness::*;
use rand_core::OsRng;
use tuf::updater::{verify_target, LocalRole};
use tuf::{KeyKind, PrivateKey};

#[test]
fn a_fresh_client_trusts_every_top_level_role() {
    for consistent in [false, true] {
        let mut repo = Repo::new(consistent);
        repo.add_target_file("app/v1.tgz", b"release one");
        let (mut u, accepted) = refresh(&repo).unwrap();
        assert_eq!(accepted, ["timestamp@2", "snapshot@2", "targets@2"]);
        let t = lookup(&mut u, |r| repo.serve(r), "app/v1.tgz").unwrap();
        verify_target("app/v1.tgz", &t, b"release one").unwrap();
        let path = u.target_download_path("app/v1.tgz", &t);
        if consistent {
            assert!(path.starts_with("app/") && path.ends_with(".v1.tgz") && path.len() > 70);
        } else {
            assert_eq!(path, "app/v1.tgz");
        }
    }
}

#[test]
fn the_root_chain_is_followed_through_rotations_of_every_key_type() {
    let mut repo = Repo::new(true);
    let mut previous = vec![repo.root_keys.remove(0)];
    for kind in [
        KeyKind::EcdsaP256,
        KeyKind::EcdsaP384,
        KeyKind::Ed25519,
        KeyKind::EcdsaP256,
    ] {
        let next = PrivateKey::generate(kind, &mut OsRng).unwrap();
        let old_id = previous[0].key_id().to_string();
        let signers: Vec<&PrivateKey> = vec![&previous[0], &next];
        let new_public = next.public().clone();
        repo.publish_root(&signers, |r| {
            r.add_key("root", &new_public).unwrap();
            r.remove_key("root", &old_id).unwrap();
        });
        previous = vec![next];
    }
    let (u, accepted) = refresh(&repo).unwrap();
    assert_eq!(u.trusted().root.version(), 5);
    assert_eq!(&accepted[..4], ["root@2", "root@3", "root@4", "root@5"]);
}

#[test]
fn rsa_pss_keys_sign_roots_a_client_accepts() {
    let rsa = PrivateKey::generate(KeyKind::RsaPss, &mut OsRng).unwrap();
    let repo = Repo::with_root_keys(false, vec![rsa, key(), key()], 2);
    let (u, _) = refresh(&repo).unwrap();
    assert_eq!(u.trusted().root.version(), 1);
}

#[test]
fn delegations_are_searched_in_order_and_terminating_stops_the_search() {
    let mut repo = Repo::new(false);
    let (a, b, c) = (key(), key(), key());
    let (pa, pb, pc) = (a.public().clone(), b.public().clone(), c.public().clone());
    repo.publish_targets(|t| {
        t.add_delegation("a", &[&pa], 1, vec!["pkg/*".into()], true)
            .unwrap();
        t.add_delegation("b", &[&pb], 1, vec!["pkg/*".into()], false)
            .unwrap();
        t.add_delegation("c", &[&pc], 1, vec!["other/*".into()], false)
            .unwrap();
    });
    repo.publish_delegated("a", &[&a], |t| {
        t.add_target("pkg/x", b"from a", None).unwrap()
    });
    repo.publish_delegated("b", &[&b], |t| {
        t.add_target("pkg/x", b"from b", None).unwrap();
        t.add_target("pkg/y", b"only b", None).unwrap();
    });
    repo.publish_delegated("c", &[&c], |t| t.add_target("other/z", b"c", None).unwrap());
    let (mut u, _) = refresh(&repo).unwrap();
    let x = lookup(&mut u, |r| repo.serve(r), "pkg/x").unwrap();
    verify_target("pkg/x", &x, b"from a").unwrap();
    // "a" is terminating: "b" is never consulted for pkg/*.
    assert!(matches!(
        lookup(&mut u, |r| repo.serve(r), "pkg/y"),
        Err(tuf::Error::TargetNotFound(_))
    ));
    let z = lookup(&mut u, |r| repo.serve(r), "other/z").unwrap();
    verify_target("other/z", &z, b"c").unwrap();
}

#[test]
fn succinct_hash_bins_route_each_target_to_its_bin() {
    let mut repo = Repo::new(true);
    let bins_key = key();
    let public = bins_key.public().clone();
    let mut names = Vec::new();
    repo.publish_targets(|t| {
        names = t.delegate_hash_bins("bin", 4, &[&public], 1).unwrap();
    });
    assert_eq!(names.len(), 16);
    let targets: Vec<String> = (0..20).map(|i| format!("files/{i}.bin")).collect();
    let succinct = repo
        .targets
        .signed()
        .delegations
        .clone()
        .unwrap()
        .succinct_roles
        .unwrap();
    for name in &names {
        let mine: Vec<&String> = targets
            .iter()
            .filter(|t| succinct.role_for(t) == *name)
            .collect();
        repo.publish_delegated(name, &[&bins_key], |t| {
            for p in mine {
                t.add_target(p, p.as_bytes(), None).unwrap();
            }
        });
    }
    let (mut u, _) = refresh(&repo).unwrap();
    for t in &targets {
        let info = lookup(&mut u, |r| repo.serve(r), t).unwrap();
        verify_target(t, &info, t.as_bytes()).unwrap();
    }
}

#[test]
fn local_metadata_from_an_earlier_update_is_used_for_rollback_checks() {
    let mut repo = Repo::new(false);
    let (first, _) = refresh(&repo).unwrap();
    let old_ts = first.trusted().timestamp.as_ref().unwrap().bytes().to_vec();
    let old_snap = first.trusted().snapshot.as_ref().unwrap().bytes().to_vec();
    repo.add_target_file("a", b"a");
    let (u, accepted) = refresh_with(
        &repo.initial_root,
        |r| repo.serve(r),
        |u| {
            u.load_local(LocalRole::Timestamp, &old_ts).unwrap();
            u.load_local(LocalRole::Snapshot, &old_snap).unwrap();
        },
    )
    .unwrap();
    assert_eq!(accepted, ["timestamp@2", "snapshot@2", "targets@2"]);
    assert_eq!(u.trusted().timestamp.as_ref().unwrap().version(), 2);
}

#[test]
fn unknown_fields_are_kept_and_signatures_still_verify() {
    let mut repo = Repo::new(false);
    repo.publish_targets(|t| {
        t.unknown
            .insert("x-vendor".into(), serde_json::json!({"note": "kept"}));
    });
    let (u, _) = refresh(&repo).unwrap();
    let t = &u.trusted().targets["targets"];
    assert_eq!(t.signed().unknown["x-vendor"]["note"], "kept");
    assert!(std::str::from_utf8(t.bytes()).unwrap().contains("x-vendor"));
}
