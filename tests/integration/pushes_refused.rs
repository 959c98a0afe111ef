//! Bad pushes, table-driven: each gets its own status and error code, and leaves the
//! repository's metadata and the log exactly as they were.

use crate::publisher::{gen, multipart, push_raw, sign, Publisher, Reply};
use crate::util::{checkpoint, get_ok, http, InProcess, ADMIN_TOKEN, EXAMPLE_TOKEN};
use tuf::keys::KeyKind;
use tuf::metadata::Expires;

struct Case {
    name: &'static str,
    repo: &'static str,
    token: Option<&'static str>,
    /// (content type, body)
    request: (String, Vec<u8>),
    status: u16,
    code: &'static str,
}

fn parts(files: &[(&str, Vec<u8>)]) -> (String, Vec<u8>) {
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    multipart(&borrowed)
}

/// Re-serialises a signed document with `edit` applied to its JSON (which breaks or
/// keeps its signatures, as the case needs).
fn edited(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_push_is_refused_with_its_own_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    let base = srv.url("");
    let repo = "example.com/app";
    let p = Publisher::new(&base, repo, KeyKind::Ed25519).await;
    assert_eq!(p.create(&base, ADMIN_TOKEN).await.status, 200);
    let t = |doc: tuf::Targets| sign(doc, &[&p.targets_key]);
    let good_targets = t(p.targets(2));
    let old_key = &p.root_key;
    let new_root_key = gen();
    let rotated = || {
        let mut r = p.root(2);
        r.remove_key("root", p.root_key.key_id()).unwrap();
        r.add_key("root", new_root_key.public()).unwrap();
        r
    };
    let expired = Expires(chrono::DateTime::from_timestamp(1_000_000_000, 0).unwrap());
    let other = Publisher::new(&base, "other.org/app", KeyKind::Ed25519).await;

    let targets_with = |edit: &dyn Fn(&mut tuf::Targets)| {
        let mut doc = p.targets(2);
        edit(&mut doc);
        t(doc)
    };
    let root2_with = |edit: &dyn Fn(&mut tuf::Root)| {
        let mut r = p.root(2);
        edit(&mut r);
        sign(r, &[&p.root_key])
    };
    let flip_first_hex_digit = |v: &mut serde_json::Value| {
        let s = v["signatures"][0]["sig"].as_str().unwrap().to_string();
        let (first, rest) = s.split_at(1);
        v["signatures"][0]["sig"] =
            format!("{}{rest}", if first == "0" { "1" } else { "0" }).into();
    };
    let ts_keyid = p.timestamp_key.key_id().unwrap();
    let snap_keyid = p.snapshot_key.key_id().unwrap();
    let served_timestamp = get_ok(
        &http(),
        &srv.url(&format!("/repos/{repo}/metadata/timestamp.json")),
    )
    .await;
    let too_many: Vec<(&str, Vec<u8>)> = (0..257)
        .map(|i| {
            (
                &*Box::leak(format!("r{i}.json").into_boxed_str()),
                b"{}".to_vec(),
            )
        })
        .collect();
    let admin = Some(ADMIN_TOKEN);
    let case = |name, repo, token, request, status, code| Case {
        name,
        repo,
        token,
        request,
        status,
        code,
    };
    let targets_part = |bytes: Vec<u8>| parts(&[("targets.json", bytes)]);
    let root_part = |bytes: Vec<u8>| parts(&[("root.json", bytes)]);
    // One line per case: what is wrong, where it goes, and the answer it must get.
    #[rustfmt::skip]
    let mut cases = vec![
        case("no token", repo, None, targets_part(good_targets.clone()), 401, "unauthenticated"),
        case("wrong token", repo, Some("nope"), targets_part(good_targets.clone()), 401, "unauthenticated"),
        case("another repository's token", "other.org/app", Some(EXAMPLE_TOKEN), targets_part(t(other.targets(2))), 403, "permission_denied"),
        case("token prefix is not a segment prefix", "example.community/app", Some(EXAMPLE_TOKEN), targets_part(good_targets.clone()), 403, "permission_denied"),
        case("bad repository name", "Example.com/App", admin, targets_part(good_targets.clone()), 400, "invalid_request"),
        case("not multipart", repo, admin, ("application/json".into(), good_targets.clone()), 400, "invalid_request"),
        case("no files", repo, admin, parts(&[]), 422, "push_refused"),
        case("part not named role.json", repo, admin, parts(&[("targets", good_targets.clone())]), 400, "invalid_request"),
        case("versioned part name", repo, admin, parts(&[("2.targets.json", good_targets.clone())]), 400, "invalid_request"),
        case("the same file twice", repo, admin, parts(&[("targets.json", good_targets.clone()), ("targets.json", good_targets.clone())]), 400, "invalid_request"),
        case("malformed JSON", repo, admin, targets_part(b"{\"signed\": ".to_vec()), 400, "malformed"),
        case("JSON array", repo, admin, targets_part(b"[]".to_vec()), 400, "malformed"),
        case("no signatures member", repo, admin, targets_part(edited(&good_targets, |v| { v.as_object_mut().unwrap().remove("signatures"); })), 400, "malformed"),
        case("duplicate keys in signed", repo, admin, targets_part(String::from_utf8(good_targets.clone()).unwrap().replacen("\"version\":2", "\"version\":2,\"version\":2", 1).into_bytes()), 400, "malformed"),
        case("version zero", repo, admin, targets_part(targets_with(&|d| d.version = 0)), 400, "malformed"),
        case("wrong _type", repo, admin, targets_part(sign(p.root(2), &[&p.root_key])), 422, "wrong_type"),
        case("targets bytes as root.json", repo, admin, root_part(good_targets.clone()), 422, "wrong_type"),
        case("unsupported spec_version", repo, admin, targets_part(targets_with(&|d| d.spec_version = "2.0.0".into())), 422, "unsupported_spec_version"),
        case("signed by the wrong key", repo, admin, targets_part(sign(p.targets(2), &[&p.team_key])), 422, "threshold_not_met"),
        case("no signatures", repo, admin, targets_part(sign(p.targets(2), &[])), 422, "threshold_not_met"),
        case("content changed after signing", repo, admin, targets_part(edited(&good_targets, |v| { v["signed"]["targets"]["evil.tgz"] = v["signed"]["targets"]["app-v2.tgz"].clone(); })), 422, "threshold_not_met"),
        case("signature bytes flipped", repo, admin, targets_part(edited(&good_targets, flip_first_hex_digit)), 422, "threshold_not_met"),
        case("signature by an unknown keyid", repo, admin, targets_part(edited(&good_targets, |v| { v["signatures"][0]["keyid"] = "00".repeat(32).into(); })), 422, "threshold_not_met"),
        case("one signature repeated", repo, admin, targets_part(edited(&good_targets, |v| { let first = v["signatures"][0].clone(); v["signatures"].as_array_mut().unwrap().push(first); })), 422, "repeated_signature"),
        case("version replay", repo, admin, targets_part(t(p.targets(1))), 409, "rollback"),
        case("version skip", repo, admin, targets_part(t(p.targets(3))), 409, "version_mismatch"),
        case("expired targets", repo, admin, targets_part(targets_with(&|d| d.expires = expired)), 422, "expired"),
        case("delegated role outside its paths", repo, admin, parts(&[("team.json", sign(p.team(1, "other/lib.tgz"), &[&p.team_key]))]), 422, "outside_delegation"),
        case("delegated role signed by the delegator's own key", repo, admin, parts(&[("team.json", sign(p.team(1, "team/lib.tgz"), &[&p.targets_key]))]), 422, "threshold_not_met"),
        case("delegated role starting at version 2", repo, admin, parts(&[("team.json", sign(p.team(2, "team/lib.tgz"), &[&p.team_key]))]), 409, "version_mismatch"),
        case("unknown role", repo, admin, parts(&[("nobody.json", sign(p.team(1, "x"), &[&p.team_key]))]), 422, "unknown_role"),
        case("a pushed timestamp", repo, admin, parts(&[("timestamp.json", served_timestamp.clone())]), 422, "push_refused"),
        case("a client snapshot not signed by root's snapshot keys", repo, admin, parts(&[("targets.json", good_targets.clone()), ("snapshot.json", sign(tuf::editor::next_snapshot(None, &[], p.expires()), &[&p.targets_key]))]), 422, "threshold_not_met"),
        case("root rotation signed by the new key only", repo, admin, root_part(sign(rotated(), &[&new_root_key])), 422, "threshold_not_met"),
        case("root rotation signed by the old key only", repo, admin, root_part(sign(rotated(), &[old_key])), 422, "threshold_not_met"),
        case("root version skip", repo, admin, root_part(sign(p.root(3), &[&p.root_key])), 409, "version_mismatch"),
        case("root version replay", repo, admin, root_part(sign(p.root(1), &[&p.root_key])), 409, "rollback"),
        case("expired root", repo, admin, root_part(root2_with(&|r| r.expires = expired)), 422, "expired"),
        case("root without the online timestamp key", repo, admin, root_part(root2_with(&|r| { r.remove_key("timestamp", &ts_keyid).unwrap(); r.add_key("timestamp", p.root_key.public()).unwrap(); })), 422, "online_key_not_authorised"),
        case("root with a timestamp threshold the server cannot meet", repo, admin, root_part(root2_with(&|r| { r.add_key("timestamp", p.root_key.public()).unwrap(); r.set_threshold("timestamp", 2).unwrap(); })), 422, "online_key_not_authorised"),
        case("root without the online snapshot key and no snapshot", repo, admin, root_part(root2_with(&|r| { r.remove_key("snapshot", &snap_keyid).unwrap(); r.add_key("snapshot", p.root_key.public()).unwrap(); })), 422, "online_key_not_authorised"),
        case("oversized targets", repo, admin, targets_part(vec![b' '; 5_000_001]), 413, "too_large"),
        case("too many files", repo, admin, parts(&too_many), 413, "too_large"),
        case("a new repository without its root", "example.com/new", admin, targets_part(good_targets.clone()), 422, "push_refused"),
        case("a new repository starting at root version 2", "example.com/new", admin, parts(&[("root.json", sign(p.root(2), &[&p.root_key])), ("targets.json", t(p.targets(1)))]), 409, "version_mismatch"),
    ];
    // A good push mixed with a bad one lands neither.
    cases.push(Case {
        name: "good targets with a bad delegated role",
        repo,
        token: Some(ADMIN_TOKEN),
        request: parts(&[
            ("targets.json", good_targets.clone()),
            ("team.json", sign(p.team(1, "team/x"), &[&p.root_key])),
        ]),
        status: 422,
        code: "threshold_not_met",
    });
    assert!(cases.len() >= 40, "{} cases", cases.len());

    let client = http();
    let snapshot_of = || async {
        let ts = get_ok(
            &client,
            &srv.url(&format!("/repos/{repo}/metadata/timestamp.json")),
        )
        .await;
        let targets = get_ok(
            &client,
            &srv.url(&format!("/repos/{repo}/metadata/targets.json")),
        )
        .await;
        let root = get_ok(
            &client,
            &srv.url(&format!("/repos/{repo}/metadata/root.json")),
        )
        .await;
        (ts, targets, root)
    };
    let before = snapshot_of().await;
    let (cp_before, _) = checkpoint(&client, &base, &srv.vkey).await;
    for case in &cases {
        let reply: Reply = push_raw(
            &base,
            case.repo,
            case.token,
            &case.request.0,
            case.request.1.clone(),
        )
        .await;
        assert_eq!(
            (reply.status, reply.code()),
            (case.status, case.code),
            "{}: {}",
            case.name,
            reply.body
        );
        assert!(
            !reply.body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .is_empty(),
            "{}: no message",
            case.name
        );
    }
    assert_eq!(snapshot_of().await, before, "the repository changed");
    let (cp_after, _) = checkpoint(&client, &base, &srv.vkey).await;
    assert_eq!(cp_after.size(), cp_before.size(), "the log grew");
    let new_repo = client
        .get(srv.url("/repos/example.com/new/metadata/root.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(new_repo.status(), 404);

    // And a good push still works afterwards.
    let ok =
        crate::publisher::push(&base, repo, ADMIN_TOKEN, &[("targets.json", &good_targets)]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    srv.stop().await;
}
