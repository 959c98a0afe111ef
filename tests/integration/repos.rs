//! The repository service end to end: create, push targets and delegations, rotate
//! the root; every version is in the log with a proof bundle that verifies, and a
//! TUF client accepts what is served.

use crate::publisher::{push, sign, verify_bundle, verify_receipt, Publisher};
use crate::util::{checkpoint, get_ok, http, InProcess, ADMIN_TOKEN};
use tuf::keys::KeyKind;
use tuf::metadata::Metadata;
use tuf::updater::{Response, Updater};

/// Runs the TUF client workflow against the server's metadata URL, from `root`.
async fn client_update(base: &str, repo: &str, root: &[u8]) -> Updater {
    let client = http();
    let mut u = Updater::new(root, chrono::Utc::now(), tuf::updater::Limits::default()).unwrap();
    while let Some(req) = u.next_request().unwrap() {
        let url = format!("{base}/repos/{repo}/metadata/{}", req.path);
        let r = client.get(&url).send().await.unwrap();
        let response = if r.status() == 404 {
            Response::NotFound
        } else {
            assert_eq!(r.status(), 200, "{url}");
            Response::Bytes(r.bytes().await.unwrap())
        };
        u.handle(response).unwrap();
    }
    assert!(u.is_ready());
    u
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_push_delegate_rotate_and_every_version_is_proven() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    let base = srv.url("");
    let repo = "example.com/app";
    let p = Publisher::new(&base, repo, KeyKind::Ed25519).await;

    let created = p.create(&base, ADMIN_TOKEN).await;
    let cp1 = verify_receipt(&srv, repo, &created).await;
    let roles: Vec<(&str, u64)> = created.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["role"].as_str().unwrap(), e["version"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("root", 1),
            ("targets", 1),
            ("snapshot", 1),
            ("timestamp", 1)
        ]
    );
    let root_v1 = get_ok(
        &http(),
        &srv.url(&format!("/repos/{repo}/metadata/1.root.json")),
    )
    .await;

    // Targets v2 and the delegated role in one push.
    let reply = push(
        &base,
        repo,
        ADMIN_TOKEN,
        &[
            ("targets.json", &sign(p.targets(2), &[&p.targets_key])),
            (
                "team.json",
                &sign(p.team(1, "team/lib.tgz"), &[&p.team_key]),
            ),
        ],
    )
    .await;
    let cp2 = verify_receipt(&srv, repo, &reply).await;
    assert!(cp2.size() > cp1.size());

    // Root rotation: v2 with a new root key, signed by the old and the new.
    let new_root_key = crate::publisher::gen();
    let mut root2 = p.root(2);
    root2.remove_key("root", p.root_key.key_id()).unwrap();
    root2.add_key("root", new_root_key.public()).unwrap();
    let reply = push(
        &base,
        repo,
        ADMIN_TOKEN,
        &[("root.json", &sign(root2, &[&p.root_key, &new_root_key]))],
    )
    .await;
    verify_receipt(&srv, repo, &reply).await;

    // A TUF client starting from root v1 walks to root v2 and accepts everything.
    let u = client_update(&base, repo, &root_v1).await;
    assert_eq!(u.trusted().root.version(), 2);
    assert_eq!(u.trusted().targets["targets"].version(), 2);
    let mut u = u;
    u.start_lookup("team/lib.tgz").unwrap();
    while let Some(req) = u.next_request().unwrap() {
        let bytes = get_ok(
            &http(),
            &srv.url(&format!("/repos/{repo}/metadata/{}", req.path)),
        )
        .await;
        u.handle(Response::Bytes(bytes.into())).unwrap();
    }
    assert!(
        u.found_target().is_some(),
        "team/lib.tgz found through the delegation"
    );

    // Every version of every role has a proof bundle that verifies, consistent with
    // the checkpoint the first push returned.
    let versions = [
        ("root", 2),
        ("targets", 2),
        ("team", 1),
        ("snapshot", 3),
        ("timestamp", 3),
    ];
    let mut proven = 0;
    for (role, latest) in versions {
        for v in 1..=latest {
            let bytes = get_ok(
                &http(),
                &srv.url(&format!(
                    "/repos/{repo}/metadata/{v}.{}.json",
                    tuf::updater::encode_role_name(role)
                )),
            )
            .await;
            verify_bundle(&base, &srv.vkey, repo, role, v, &bytes, &cp1).await;
            proven += 1;
        }
    }
    assert_eq!(proven, 11);
    // The latest timestamp is what /timestamp.json serves.
    let ts = get_ok(
        &http(),
        &srv.url(&format!("/repos/{repo}/metadata/timestamp.json")),
    )
    .await;
    let ts: Metadata<tuf::Timestamp> = Metadata::from_bytes(&ts).unwrap();
    assert_eq!(ts.version(), 3);

    // The update pack carries, in one reply, what those routes serve one by one.
    let from = cp1.size();
    let packed = get_ok(
        &http(),
        &srv.url(&format!("/repos/{repo}/update?root=1&from={from}")),
    )
    .await;
    let pack = wire::pack::decode(&packed).unwrap();
    assert_eq!(pack.latest_root, 2);
    let parts: Vec<(&str, u64)> = pack
        .parts
        .iter()
        .map(|p| (p.role.as_str(), p.version))
        .collect();
    assert_eq!(
        parts,
        [
            ("root", 1),
            ("root", 2),
            ("timestamp", 3),
            ("snapshot", 3),
            ("targets", 2)
        ]
    );
    for part in &pack.parts {
        let file = format!("{}.{}.json", part.version, part.role);
        let metadata = get_ok(&http(), &srv.url(&format!("/repos/{repo}/metadata/{file}"))).await;
        assert_eq!(packed[part.metadata.clone()], metadata[..], "{file}");
        let bundle = get_ok(
            &http(),
            &srv.url(&format!("/repos/{repo}/proof/{file}?from={from}")),
        )
        .await;
        assert_eq!(packed[part.bundle.clone()], bundle[..], "bundle of {file}");
    }
    // A client that trusts the latest root gets only that one; past it, none.
    for (root, roots) in [(2, vec![2]), (3, vec![])] {
        let packed = get_ok(
            &http(),
            &srv.url(&format!("/repos/{repo}/update?root={root}")),
        )
        .await;
        let pack = wire::pack::decode(&packed).unwrap();
        let got: Vec<u64> = pack
            .parts
            .iter()
            .filter(|p| p.role == "root")
            .map(|p| p.version)
            .collect();
        assert_eq!(got, roots);
        assert_eq!(pack.parts.len(), roots.len() + 3);
    }
    for (query, status) in [
        (format!("{repo}/update"), 400),
        (format!("{repo}/update?root=1&from=0"), 400),
        (format!("{repo}/update?root=1&from={}", u64::MAX), 400),
        (format!("{repo}/update?root=01"), 400),
        ("no.such/repo/update?root=1".to_string(), 404),
    ] {
        let r = http()
            .get(srv.url(&format!("/repos/{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{query}");
    }
    srv.stop().await;
}

/// The count of update packs served with `cache` (`hit` or `miss`), from /metrics.
async fn packs_served(srv: &InProcess, cache: &str) -> u64 {
    let text = String::from_utf8(get_ok(&http(), &srv.url("/metrics")).await).unwrap();
    let name = format!("tuflog_update_packs_total{{cache=\"{cache}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(name.as_str()))
        .map_or(0, |n| n.trim().parse().unwrap())
}

fn targets_version_in_pack(packed: &[u8]) -> u64 {
    let pack = wire::pack::decode(packed).unwrap();
    pack.parts
        .iter()
        .find(|p| p.role == "targets")
        .map(|p| p.version)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_update_pack_gives_way_to_the_next_push() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    let base = srv.url("");
    let repo = "example.com/app";
    let p = Publisher::new(&base, repo, KeyKind::Ed25519).await;
    p.create(&base, ADMIN_TOKEN).await;
    let pack_url = srv.url(&format!("/repos/{repo}/update?root=1"));

    // The same question at the same log size: built once, then served as built.
    let first = http().get(&pack_url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let first = first.bytes().await.unwrap();
    let again = get_ok(&http(), &pack_url).await;
    assert_eq!(first[..], again[..]);
    assert_eq!(targets_version_in_pack(&again), 1);
    assert_eq!(
        (
            packs_served(&srv, "miss").await,
            packs_served(&srv, "hit").await
        ),
        (1, 1)
    );
    // A client that has it is told so from the cache too.
    let unchanged = http()
        .get(&pack_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);
    // Another question is built for itself.
    let from_v2 = get_ok(&http(), &srv.url(&format!("/repos/{repo}/update?root=2"))).await;
    assert_ne!(from_v2, again);
    assert_eq!(packs_served(&srv, "miss").await, 2);

    // A push grows the log: the next pack holds the pushed version.
    let reply = push(
        &base,
        repo,
        ADMIN_TOKEN,
        &[("targets.json", &sign(p.targets(2), &[&p.targets_key]))],
    )
    .await;
    verify_receipt(&srv, repo, &reply).await;
    let after = get_ok(&http(), &pack_url).await;
    assert_eq!(targets_version_in_pack(&after), 2);
    assert_eq!(packs_served(&srv, "miss").await, 3);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart_and_pushes_continue() {
    let dir = tempfile::tempdir().unwrap();
    let repo = "example.com/restart";
    let p = {
        let srv = InProcess::start(dir.path()).await;
        let p = Publisher::new(&srv.url(""), repo, KeyKind::EcdsaP256).await;
        verify_receipt(&srv, repo, &p.create(&srv.url(""), ADMIN_TOKEN).await).await;
        srv.stop().await;
        p
    };
    let srv = InProcess::start(dir.path()).await;
    let base = srv.url("");
    // The same online keys after the restart, and the state the push validates
    // against was read back from the store.
    let again = Publisher::new(&base, repo, KeyKind::Ed25519).await;
    assert_eq!(again.timestamp_key, p.timestamp_key);
    let reply = p.push_targets(&base, ADMIN_TOKEN, 2).await;
    verify_receipt(&srv, repo, &reply).await;
    let replay = p.push_targets(&base, ADMIN_TOKEN, 2).await;
    assert_eq!(
        (replay.status, replay.code()),
        (409, "rollback"),
        "{}",
        replay.body
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_timestamp_is_resigned_as_a_new_logged_version() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    let base = srv.url("");
    let repo = "example.com/resign";
    let p = Publisher::new(&base, repo, KeyKind::Ed25519).await;
    verify_receipt(&srv, repo, &p.create(&base, ADMIN_TOKEN).await).await;
    let name = server::repos::name::RepoName::new(repo).unwrap();
    let repos = srv.repos.clone();
    let now = chrono::Utc::now();
    assert!(
        !repos.resign_if_due(&name, now).await.unwrap(),
        "fresh: not due"
    );
    // Within the margin of expiry (a day by default, margin six hours).
    let later = now + chrono::Duration::hours(20);
    assert!(repos.resign_if_due(&name, later).await.unwrap());
    let ts = get_ok(
        &http(),
        &srv.url(&format!("/repos/{repo}/metadata/timestamp.json")),
    )
    .await;
    let ts: Metadata<tuf::Timestamp> = Metadata::from_bytes(&ts).unwrap();
    assert_eq!(ts.version(), 2);
    let (first, _) = checkpoint(&http(), &base, &srv.vkey).await;
    verify_bundle(&base, &srv.vkey, repo, "timestamp", 2, ts.bytes(), &first).await;
    srv.stop().await;
}

/// Regression: the server decoded the whole request path before splitting it, so a
/// role whose name holds a `/` (`../x`, `team/one`) was pushed but never served:
/// `1...%2Fx.json` became `1.../x.json` and split into the wrong route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_named_like_a_path_is_served_from_its_quoted_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    let base = srv.url("");
    let repo = "example.com/quoted";
    let p = Publisher::new(&base, repo, KeyKind::Ed25519).await;
    verify_receipt(&srv, repo, &p.create(&base, ADMIN_TOKEN).await).await;
    let (cp, _) = checkpoint(&http(), &base, &srv.vkey).await;
    let mut targets = p.targets(2);
    for (role, paths) in [("../x", "up/*"), ("team/one", "one/*")] {
        targets
            .add_delegation(role, &[p.team_key.public()], 1, vec![paths.into()], false)
            .unwrap();
    }
    let up = sign(p.team(1, "up/a.tgz"), &[&p.team_key]);
    let one = sign(p.team(1, "one/a.tgz"), &[&p.team_key]);
    let reply = push(
        &base,
        repo,
        ADMIN_TOKEN,
        &[
            ("targets.json", &sign(targets, &[&p.targets_key])),
            ("..%2Fx.json", &up),
            ("team%2Fone.json", &one),
        ],
    )
    .await;
    verify_receipt(&srv, repo, &reply).await;
    for (role, bytes) in [("../x", &up), ("team/one", &one)] {
        let file = tuf::updater::encode_role_name(role);
        for path in [format!("1.{file}.json"), format!("{file}.json")] {
            let served = get_ok(&http(), &srv.url(&format!("/repos/{repo}/metadata/{path}"))).await;
            assert_eq!(&served, bytes, "{path}");
        }
        verify_bundle(&base, &srv.vkey, repo, role, 1, bytes, &cp).await;
    }
    // The decoded path is another route (a repository ".../metadata/1..."), which
    // is refused: nothing is served but under the role's own quoted name.
    let decoded = http()
        .get(srv.url(&format!("/repos/{repo}/metadata/1.../x.json")))
        .send()
        .await
        .unwrap();
    assert!(decoded.status().is_client_error(), "{}", decoded.status());
    srv.stop().await;
}
