//! The client (`crates/client`) against real servers: publishing, updating with
//! proofs, and the refusals a verifying client owes its user. Servers that lie are
//! played by a proxy in front of an honest one, or by a second server holding the
//! first one's keys (a fork).

use crate::util::{files_under, rewriting_notes, Answer, Front, InProcess, Packs, ADMIN_TOKEN};
use client::publish::Workspace;
use client::{Client, ClientConfig, Error, WitnessPolicy};
use rand_core::OsRng;
use std::path::Path;
use std::sync::Arc;
use tlog::note::{KeyName, Note, SignatureType};
use tlog::{SignerKey, VerifierKey};
use tuf::keys::{KeyKind, PrivateKey};

const REPO: &str = "example.com/app";

struct Publisher {
    root_key: PrivateKey,
    targets_key: PrivateKey,
}

impl Publisher {
    fn new() -> Self {
        Publisher {
            root_key: PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap(),
            targets_key: PrivateKey::generate(KeyKind::EcdsaP256, &mut OsRng).unwrap(),
        }
    }

    async fn init(&self, home: &Path, server: &InProcess) -> Workspace {
        let ws = Workspace::open(home, &server.url(""), REPO).unwrap();
        ws.init(
            &[("root", &self.root_key), ("targets", &self.targets_key)],
            1,
            1,
            ADMIN_TOKEN,
            &server.vkey,
        )
        .await
        .unwrap();
        ws
    }

    async fn publish_file(
        &self,
        ws: &Workspace,
        dir: &Path,
        name: &str,
        content: &[u8],
        log: &VerifierKey,
    ) {
        let file = dir.join(name);
        std::fs::write(&file, content).unwrap();
        ws.add(&file, name, None).unwrap();
        ws.publish(&[&self.targets_key], ADMIN_TOKEN, log)
            .await
            .unwrap();
    }
}

/// `err` is the server's refusal (HTTP 4xx) of what was pushed.
fn assert_refused(err: &Error, what: &str) {
    assert!(
        matches!(
            err,
            Error::Edge(edge::Error::Http {
                status: 400..=499,
                ..
            })
        ),
        "{what}: {err}"
    );
}

fn client(
    home: &Path,
    server: &str,
    log_key: &VerifierKey,
    witnesses: Option<WitnessPolicy>,
) -> Client {
    Client::new(ClientConfig {
        server: server.into(),
        log_key: log_key.clone(),
        witnesses,
        home: home.to_path_buf(),
        limits: tuf::updater::Limits::default(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_add_publish_update_download_with_every_file_proven() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let home = dir.path().join("home");
    let publisher = Publisher::new();
    let ws = publisher.init(&home, &server).await;
    publisher
        .publish_file(&ws, dir.path(), "app-1.0.tgz", b"release one", &server.vkey)
        .await;

    let c = client(
        &dir.path().join("user"),
        &server.url(""),
        &server.vkey,
        None,
    );
    let report = c.update(REPO, None).await.unwrap();
    assert_eq!(report.versions["targets"], 2);
    assert_eq!(report.versions["root"], 1);
    let roles: Vec<&str> = report.accepted.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["root", "timestamp", "snapshot", "targets"]);
    let size = report.checkpoint.as_ref().unwrap().size;
    assert_eq!(size, server.log.latest().size());

    let targets_url = format!("file://{}", ws.targets_dir().display());
    let out = dir.path().join("downloaded");
    let got = c
        .download(REPO, "app-1.0.tgz", &targets_url, &out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"release one");
    assert_eq!(got.length, 11);

    // A second release: the client moves forward with a consistency proof from the
    // checkpoint it trusts (persisted), and keeps only the newest trusted files.
    publisher
        .publish_file(&ws, dir.path(), "app-2.0.tgz", b"release two", &server.vkey)
        .await;
    let report = c.update(REPO, None).await.unwrap();
    assert_eq!(report.versions["targets"], 3);
    assert!(report.checkpoint.unwrap().size > size);
    let trusted = std::fs::read(c.metadata_dir(REPO).unwrap().join("targets.json")).unwrap();
    assert_eq!(
        trusted,
        server
            .repos
            .metadata(
                &server::repos::name::RepoName::new(REPO).unwrap(),
                "targets",
                Some(3)
            )
            .await
            .unwrap(),
        "the exact bytes served are the bytes kept"
    );
    c.download(REPO, "app-2.0.tgz", &targets_url, &out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"release two");

    // A target whose bytes changed on the target server is refused (TUF §5.7).
    let stored = std::fs::read_dir(ws.targets_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".app-2.0.tgz"))
        .unwrap();
    std::fs::write(&stored, b"release tw0").unwrap();
    let err = c
        .download(
            REPO,
            "app-2.0.tgz",
            &targets_url,
            &dir.path().join("bad"),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tuf { .. }), "{err}");
    assert!(!dir.path().join("bad").exists());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pinned_to_another_log_key_accepts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    publisher.init(&dir.path().join("home"), &server).await;
    let other = SignerKey::from_seed(
        KeyName::new("test.tuflog.dev/log").unwrap(),
        SignatureType::Ed25519,
        &[7; 32],
    )
    .verifier();
    let user = dir.path().join("user");
    let c = client(&user, &server.url(""), &other, None);
    let err = c.update(REPO, None).await.unwrap_err();
    assert!(matches!(err, Error::Log { .. }), "{err}");
    assert!(
        err.to_string().contains("not signed by the pinned log key"),
        "{err}"
    );
    assert_eq!(
        files_under(&user),
        Vec::<String>::new(),
        "nothing persisted"
    );
    server.stop().await;
}

/// A second server holding the first one's log key and online-key seed: the same
/// origin and keys, a different history. A client that trusted a checkpoint of the
/// first must refuse everything the second serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_log_with_the_same_key_is_refused_by_the_consistency_check() {
    let dir = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let honest = InProcess::start_with_keys_here(&a_dir).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&dir.path().join("home-a"), &honest).await;
    publisher
        .publish_file(&ws, dir.path(), "app-1.0.tgz", b"honest", &honest.vkey)
        .await;
    let user = dir.path().join("user");
    let c = client(&user, &honest.url(""), &honest.vkey, None);
    let trusted = c.update(REPO, None).await.unwrap().checkpoint.unwrap();
    let trusted_metadata =
        std::fs::read(c.metadata_dir(REPO).unwrap().join("targets.json")).unwrap();
    let trusted_note = std::fs::read(c.checkpoint_path()).unwrap();
    let trusted_files = files_under(&user);
    honest.stop().await;

    std::fs::create_dir_all(&b_dir).unwrap();
    for f in ["log.key", "online.seed"] {
        std::fs::copy(a_dir.join(f), b_dir.join(f)).unwrap();
    }
    let fork = InProcess::start_with_keys_here(&b_dir).await;
    assert_eq!(
        fork.vkey,
        c.config().log_key,
        "the fork signs with the pinned key"
    );
    // A different history from the first entry on, then the same repository with a
    // targets version the honest log never saw, ahead of the trusted size.
    let decoy = Workspace::open(
        &dir.path().join("home-decoy"),
        &fork.url(""),
        "example.com/decoy",
    )
    .unwrap();
    decoy
        .init(
            &[
                ("root", &publisher.root_key),
                ("targets", &publisher.targets_key),
            ],
            1,
            1,
            ADMIN_TOKEN,
            &fork.vkey,
        )
        .await
        .unwrap();
    let ws_b = publisher.init(&dir.path().join("home-b"), &fork).await;
    for i in 0..3 {
        publisher
            .publish_file(&ws_b, dir.path(), &format!("evil-{i}"), b"evil", &fork.vkey)
            .await;
    }
    assert!(fork.log.latest().size() > trusted.size);

    let forked_client = client(&user, &fork.url(""), &fork.vkey, None);
    let err = forked_client.update(REPO, None).await.unwrap_err();
    assert!(matches!(err, Error::Log { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("not consistent with the trusted checkpoint"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(c.metadata_dir(REPO).unwrap().join("targets.json")).unwrap(),
        trusted_metadata,
        "the trusted metadata is unchanged"
    );
    assert_eq!(
        std::fs::read(c.checkpoint_path()).unwrap(),
        trusted_note,
        "the trusted checkpoint is unchanged"
    );
    assert_eq!(
        files_under(&user),
        trusted_files,
        "no file staged for the refused update is left behind"
    );
    let err = forked_client.checkpoint().await.unwrap_err();
    assert!(err.to_string().contains("not consistent"), "{err}");
    fork.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_bundle_for_other_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&dir.path().join("home"), &server).await;
    publisher
        .publish_file(&ws, dir.path(), "a", b"a", &server.vkey)
        .await;
    // The front answers "the proof for targets v2" with the proof for v1: a real,
    // valid proof, of other bytes; in the update pack and file by file.
    for packs in [Packs::Rebuilt, Packs::Refused] {
        let upstream = server.url("");
        let front = Front::with_packs(packs, move |path| {
            let path = path.replace("/proof/2.targets.json", "/proof/1.targets.json");
            Answer::Proxy(format!("{upstream}{path}"))
        })
        .await;
        let user = dir.path().join(format!("user-{packs:?}"));
        let c = client(&user, &front.url, &server.vkey, None);
        let err = c.update(REPO, None).await.unwrap_err();
        assert!(
            err.to_string().contains("2.targets.json"),
            "names the file: {err}"
        );
        assert!(
            err.to_string().contains("does not describe these bytes"),
            "{err}"
        );
        assert!(
            err.to_string().contains("test.tuflog.dev/log size"),
            "names the checkpoint: {err}"
        );
        assert_eq!(
            files_under(&user),
            Vec::<String>::new(),
            "nothing persisted, no temporary left"
        );
    }
    server.stop().await;
}

/// A front that passes everything to `upstream` as it is and notes each path asked.
async fn noting_front(
    upstream: String,
    answer_pack: Option<Vec<u8>>,
) -> (Front, Arc<std::sync::Mutex<Vec<String>>>) {
    let asked: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let log = asked.clone();
    let front = Front::with_packs(Packs::Passed, move |path| {
        log.lock().unwrap().push(path.to_string());
        match &answer_pack {
            Some(pack) if path.contains("/update?") => Answer::Serve(pack.clone()),
            _ => Answer::Proxy(format!("{upstream}{path}")),
        }
    })
    .await;
    (front, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_takes_its_files_and_proofs_from_one_pack() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&dir.path().join("home"), &server).await;
    publisher
        .publish_file(&ws, dir.path(), "a", b"a", &server.vkey)
        .await;
    let (front, asked) = noting_front(server.url(""), None).await;
    let c = client(&dir.path().join("user"), &front.url, &server.vkey, None);
    let report = c.update(REPO, None).await.unwrap();
    assert_eq!(report.versions["targets"], 2);
    let repo = REPO.replace('/', "%2F");
    let first_use = [
        format!("/repos/{REPO}/metadata/1.root.json"),
        format!("/repos/{REPO}/update?root=1"),
    ];
    let seen = std::mem::take(&mut *asked.lock().unwrap());
    assert!(
        seen == first_use || seen == first_use.map(|p| p.replace(REPO, &repo)),
        "{seen:#?}"
    );

    // The next update proves the log grew from the checkpoint it trusts, in the
    // same one request.
    let size = report.checkpoint.unwrap().size;
    publisher
        .publish_file(&ws, dir.path(), "b", b"b", &server.vkey)
        .await;
    let report = c.update(REPO, None).await.unwrap();
    assert_eq!(report.versions["targets"], 3);
    assert!(report.checkpoint.unwrap().size > size);
    let seen = std::mem::take(&mut *asked.lock().unwrap());
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(
        seen[0].ends_with(&format!("/update?root=1&from={size}")),
        "{seen:#?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_pack_that_reads_an_update_fetches_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&dir.path().join("home"), &server).await;
    publisher
        .publish_file(&ws, dir.path(), "a", b"a", &server.vkey)
        .await;
    let good = crate::util::get_ok(
        &crate::util::http(),
        &server.url(&format!("/repos/{REPO}/update?root=1")),
    )
    .await;
    let truncated = good[..good.len() - 1].to_vec();
    for (case, pack) in [("no pack", None), ("a truncated pack", Some(truncated))] {
        let (front, asked) = match pack {
            None => {
                let asked: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
                let (log, upstream) = (asked.clone(), server.url(""));
                let front = Front::with_packs(Packs::Refused, move |path| {
                    log.lock().unwrap().push(path.to_string());
                    Answer::Proxy(format!("{upstream}{path}"))
                })
                .await;
                (front, asked)
            }
            Some(pack) => noting_front(server.url(""), Some(pack)).await,
        };
        let user = dir.path().join(case.replace(' ', "-"));
        let c = client(&user, &front.url, &server.vkey, None);
        let report = c.update(REPO, None).await.unwrap();
        assert_eq!(report.versions["targets"], 2, "{case}");
        let seen = asked.lock().unwrap().clone();
        for role in ["root", "timestamp", "snapshot", "targets"] {
            assert!(
                seen.iter()
                    .any(|p| p.contains("/proof/") && p.contains(&format!(".{role}.json"))),
                "{case}: the {role} bundle fetched alone: {seen:#?}"
            );
        }
    }
    server.stop().await;
}

fn witness(i: u8) -> SignerKey {
    SignerKey::from_seed(
        KeyName::new(format!("witness-{i}.test")).unwrap(),
        SignatureType::CosignatureV1,
        &[40 + i; 32],
    )
}

/// A front for `upstream` that adds cosignatures by `witnesses` to every checkpoint
/// it serves.
async fn cosigning(upstream: String, witnesses: Vec<SignerKey>) -> Front {
    rewriting_notes(
        upstream,
        Arc::new(move |note: &str| {
            let mut note = Note::parse(note.as_bytes()).unwrap();
            let text = note.text().to_string();
            for w in &witnesses {
                note.push_signature(tlog::cosignature::cosign(w, &text, 1_790_000_000).unwrap())
                    .unwrap();
            }
            note.to_string()
        }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_of_three_witness_policy_accepts_only_checkpoints_cosigned_by_two() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    publisher.init(&dir.path().join("home"), &server).await;
    let policy = WitnessPolicy::new((0..3).map(|i| witness(i).verifier()).collect(), 2);
    let stranger = || {
        SignerKey::from_seed(
            KeyName::new("stranger.test").unwrap(),
            SignatureType::CosignatureV1,
            &[99; 32],
        )
    };
    for (cosigners, accepted) in [
        (vec![], false),
        (vec![witness(1)], false),
        (vec![witness(1), stranger()], false),
        (vec![witness(0), witness(2)], true),
    ] {
        let n = cosigners.len();
        let front = cosigning(server.url(""), cosigners).await;
        let user = tempfile::tempdir().unwrap();
        let c = client(user.path(), &front.url, &server.vkey, Some(policy.clone()));
        let result = c.update(REPO, None).await;
        match (accepted, result) {
            (true, Ok(_)) => {}
            (false, Err(e)) => assert!(e.to_string().contains("witness policy not met"), "{e}"),
            (want, got) => panic!("{n} cosigners: wanted accepted={want}, got {got:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_and_root_key_rotations_are_followed_by_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&dir.path().join("home"), &server).await;
    publisher
        .publish_file(&ws, dir.path(), "a", b"a", &server.vkey)
        .await;
    let c = client(
        &dir.path().join("user"),
        &server.url(""),
        &server.vkey,
        None,
    );
    assert_eq!(c.update(REPO, None).await.unwrap().versions["root"], 1);

    // Targets: root v2 names the new key, targets v3 is signed by it, in one push.
    let new_targets = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    ws.rotate(
        "targets",
        &[&new_targets],
        1,
        &[&publisher.root_key],
        ADMIN_TOKEN,
        &server.vkey,
    )
    .await
    .unwrap();
    let report = c.update(REPO, None).await.unwrap();
    assert_eq!(
        (report.versions["root"], report.versions["targets"]),
        (2, 3)
    );
    std::fs::write(dir.path().join("b"), b"b").unwrap();
    ws.add(&dir.path().join("b"), "b", None).unwrap();
    let err = ws
        .publish(&[&publisher.targets_key], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap_err();
    assert_refused(&err, "the retired key is refused");
    ws.publish(&[&new_targets], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap();

    // Root: v3 is signed by the old and the new root key.
    let new_root = PrivateKey::generate(KeyKind::EcdsaP256, &mut OsRng).unwrap();
    ws.rotate(
        "root",
        &[&new_root],
        1,
        &[&publisher.root_key],
        ADMIN_TOKEN,
        &server.vkey,
    )
    .await
    .unwrap();
    let report = c.update(REPO, None).await.unwrap();
    assert_eq!(
        (report.versions["root"], report.versions["targets"]),
        (3, 4)
    );
    let roles: Vec<&str> = report.accepted.iter().map(|(r, _)| r.as_str()).collect();
    assert!(roles.starts_with(&["root"]), "{roles:?}");

    // A next root signed only by its own new key (not by v3's root key) is refused.
    let third = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    let err = ws
        .rotate("root", &[&third], 1, &[], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap_err();
    assert_refused(&err, "");
    let targets_url = format!("file://{}", ws.targets_dir().display());
    c.download(REPO, "b", &targets_url, &dir.path().join("out"), None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), b"b");
    let err = ws
        .rotate(
            "timestamp",
            &[&third],
            1,
            &[&new_root],
            ADMIN_TOKEN,
            &server.vkey,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the server holds"), "{err}");
    server.stop().await;
}

/// The key IDs that signed the latest timestamp `server` serves for the repository.
async fn timestamp_signers(url: &str) -> Vec<String> {
    let bytes = crate::util::get_ok(
        &crate::util::http(),
        &format!("{url}/repos/{REPO}/metadata/timestamp.json"),
    )
    .await;
    let doc: tuf::metadata::Metadata<tuf::metadata::Timestamp> =
        tuf::metadata::Metadata::from_bytes(&bytes).unwrap();
    doc.signatures().iter().map(|s| s.keyid.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_key_rotation_moves_the_server_to_new_keys_that_clients_follow() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let home = dir.path().join("home");
    let server = InProcess::start(&server_dir).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&home, &server).await;
    publisher
        .publish_file(&ws, dir.path(), "a", b"a", &server.vkey)
        .await;
    let user = dir.path().join("user");
    let c = client(&user, &server.url(""), &server.vkey, None);
    assert_eq!(c.update(REPO, None).await.unwrap().versions["root"], 1);
    let before = ws.fetch_online_keys(false).await.unwrap();
    assert_eq!(before.generation, 0);
    assert_eq!(
        timestamp_signers(&server.url("")).await,
        std::slice::from_ref(&before.timestamp.keyid)
    );

    // The owner's new root names the next generation; once it is logged, that
    // generation signs.
    let offered = ws.fetch_online_keys(true).await.unwrap();
    let rotation = ws
        .rotate_online(&[&publisher.root_key], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap();
    assert_eq!(rotation.generation, 1);
    let after = ws.fetch_online_keys(false).await.unwrap();
    assert_eq!(after.generation, 1);
    assert_eq!(after.timestamp.keyid, offered.timestamp.keyid);
    assert_ne!(after.timestamp.keyid, before.timestamp.keyid);
    assert_ne!(after.snapshot.keyid, before.snapshot.keyid);
    assert_eq!(
        timestamp_signers(&server.url("")).await,
        std::slice::from_ref(&after.timestamp.keyid)
    );
    // The client follows the root chain to the new keys.
    let report = c.update(REPO, None).await.unwrap();
    assert_eq!(report.versions["root"], 2);
    publisher
        .publish_file(&ws, dir.path(), "b", b"b", &server.vkey)
        .await;
    assert_eq!(c.update(REPO, None).await.unwrap().versions["targets"], 3);

    // A restart keeps the new generation: pushes and updates go on with it.
    server.stop().await;
    let server = InProcess::start(&server_dir).await;
    let ws = Workspace::open(&home, &server.url(""), REPO).unwrap();
    let restarted = ws.fetch_online_keys(false).await.unwrap();
    assert_eq!(
        (restarted.generation, restarted.timestamp.keyid),
        (1, after.timestamp.keyid.clone())
    );
    publisher
        .publish_file(&ws, dir.path(), "c", b"c", &server.vkey)
        .await;
    let c = client(&user, &server.url(""), &server.vkey, None);
    assert_eq!(c.update(REPO, None).await.unwrap().versions["targets"], 4);

    // And the next rotation moves on to generation 2.
    let rotation = ws
        .rotate_online(&[&publisher.root_key], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap();
    assert_eq!(rotation.generation, 2);
    assert_eq!(c.update(REPO, None).await.unwrap().versions["root"], 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_rotation_whose_push_failed_pushes_the_same_root_again() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let home = dir.path().join("home");
    let server = InProcess::start(&server_dir).await;
    let publisher = Publisher::new();
    publisher.init(&home, &server).await;
    let url = server.url("");
    let vkey = server.vkey.clone();
    server.stop().await;

    // The server is gone when the root is pushed: the signed root is kept.
    let ws = Workspace::open(&home, &url, REPO).unwrap();
    let err = ws
        .rotate_online(&[&publisher.root_key], ADMIN_TOKEN, &vkey)
        .await
        .unwrap_err();
    // The server's keys could not be fetched: nothing was signed or kept.
    assert!(!pending_rotation(&ws).exists(), "{err}");

    let server = InProcess::start(&server_dir).await;
    let ws = Workspace::open(&home, &server.url(""), REPO).unwrap();
    let rotation = ws
        .rotate_online(&[&publisher.root_key], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap();
    assert_eq!(rotation.generation, 1);
    let logged = ws_root(&server).await;

    // The answer to a logged rotation was lost: the next run finds its root logged
    // and does not rotate past it.
    let pending = pending_rotation(&ws);
    std::fs::write(&pending, &logged).unwrap();
    let again = ws
        .rotate_online(&[&publisher.root_key], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap();
    assert!(again.receipt.is_none());
    assert_eq!(again.generation, 1);
    assert!(!pending.exists());
    assert_eq!(ws_root(&server).await, logged);

    // A root the server refuses is not kept for another try.
    let mut refused: serde_json::Value = serde_json::from_slice(&logged).unwrap();
    refused["signed"]["version"] = 9.into();
    std::fs::write(&pending, serde_json::to_vec(&refused).unwrap()).unwrap();
    let err = ws
        .rotate_online(&[&publisher.root_key], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap_err();
    assert_refused(&err, "");
    assert!(!pending.exists());
    server.stop().await;
}

/// Where a workspace keeps a rotation root it has not seen accepted.
fn pending_rotation(ws: &Workspace) -> std::path::PathBuf {
    ws.targets_dir()
        .parent()
        .unwrap()
        .join("rotation.root.json")
}

async fn ws_root(server: &InProcess) -> Vec<u8> {
    crate::util::get_ok(
        &crate::util::http(),
        &server.url(&format!("/repos/{REPO}/metadata/root.json")),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegation_is_staged_published_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&dir.path().join("home"), &server).await;
    let docs_key = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    ws.delegate(
        "docs",
        vec![docs_key.public().clone()],
        1,
        vec!["docs/*".into()],
        false,
    )
    .unwrap();
    // A bad delegation is refused when staged, not at publish.
    assert!(ws
        .delegate(
            "docs2",
            vec![docs_key.public().clone()],
            2,
            vec!["x/*".into()],
            false
        )
        .is_err());
    assert!(ws
        .delegate(
            "snapshot",
            vec![docs_key.public().clone()],
            1,
            vec!["x/*".into()],
            false
        )
        .is_err());
    ws.publish(&[&publisher.targets_key], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap();
    let c = client(
        &dir.path().join("user"),
        &server.url(""),
        &server.vkey,
        None,
    );
    c.update(REPO, None).await.unwrap();
    let trusted: serde_json::Value = serde_json::from_slice(
        &std::fs::read(c.metadata_dir(REPO).unwrap().join("targets.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(trusted["signed"]["delegations"]["roles"][0]["name"], "docs");
    assert_eq!(
        trusted["signed"]["delegations"]["roles"][0]["paths"][0],
        "docs/*"
    );

    ws.undelegate("docs").unwrap();
    assert!(ws.undelegate("docs").is_err(), "already staged for removal");
    ws.publish(&[&publisher.targets_key], ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap();
    c.update(REPO, None).await.unwrap();
    let trusted: serde_json::Value = serde_json::from_slice(
        &std::fs::read(c.metadata_dir(REPO).unwrap().join("targets.json")).unwrap(),
    )
    .unwrap();
    assert!(trusted["signed"].get("delegations").is_none());
    server.stop().await;
}

/// The latest timestamp, snapshot and targets are fetched as the update starts,
/// under their unversioned names, and snapshot and targets are used only when they
/// are the version the workflow then asks for: a proxy that serves an older
/// targets there (a push landing mid-update looks the same) costs one more
/// request, not the update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_fetched_ahead_are_used_only_when_they_are_the_version_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&dir.path().join("home"), &server).await;
    let url = server.url(&format!("/repos/{REPO}/metadata/targets.json"));
    let first = crate::util::get_ok(&crate::util::http(), &url).await;
    publisher
        .publish_file(&ws, dir.path(), "a", b"a", &server.vkey)
        .await;
    let unversioned = format!("/repos/{REPO}/metadata/targets.json");
    let versioned = format!("/repos/{REPO}/metadata/2.targets.json");

    for (stale, home) in [(false, "fresh"), (true, "stale")] {
        let asked: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let log = asked.clone();
        let first = first.clone();
        let (target, upstream) = (unversioned.clone(), server.url(""));
        let front = Front::start(move |path| {
            log.lock().unwrap().push(path.to_string());
            if stale && path == target {
                Answer::Serve(first.clone())
            } else {
                Answer::Proxy(format!("{upstream}{path}"))
            }
        })
        .await;
        let c = client(&dir.path().join(home), &front.url, &server.vkey, None);
        let report = c.update(REPO, None).await.unwrap();
        assert_eq!(report.versions["targets"], 2);
        let asked = asked.lock().unwrap().clone();
        assert!(asked.contains(&unversioned), "{asked:#?}");
        assert_eq!(asked.contains(&versioned), stale, "{asked:#?}");
    }
    server.stop().await;
}

/// Regression: a locally trusted timestamp or snapshot that failed to verify was
/// dropped without a word, and with it the client's rollback baseline. A client
/// that proves its files commits root, timestamp and snapshot together, so such a
/// file was damaged or replaced: the update stops, naming it, and keeps the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_timestamp_that_no_longer_verifies_stops_the_update() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&dir.path().join("home"), &server).await;
    publisher
        .publish_file(&ws, dir.path(), "app-1.0.tgz", b"release one", &server.vkey)
        .await;
    let user = dir.path().join("user");
    let c = client(&user, &server.url(""), &server.vkey, None);
    c.update(REPO, None).await.unwrap();
    for name in ["timestamp.json", "snapshot.json"] {
        let path = c.metadata_dir(REPO).unwrap().join(name);
        let trusted = std::fs::read(&path).unwrap();
        // The same document with its signature's last hex digit changed.
        let text = String::from_utf8(trusted.clone()).unwrap();
        let at = text.find("\"sig\":\"").unwrap() + "\"sig\":\"".len();
        let end = at + text[at..].find('"').unwrap();
        let mut damaged = text.into_bytes();
        damaged[end - 1] = if damaged[end - 1] == b'0' { b'1' } else { b'0' };
        std::fs::write(&path, &damaged).unwrap();
        let err = c.update(REPO, None).await.unwrap_err();
        assert!(
            matches!(&err, Error::Tuf { file, .. } if file.contains(name) && file.contains("trusted locally")),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "nothing replaced");
        std::fs::write(&path, &trusted).unwrap();
        c.update(REPO, None).await.unwrap();
    }
    server.stop().await;
}

/// `tuflog log prove` shows the checkpoint it is about to trust to the client's
/// monitors first, as an update does: one that cannot be reached leaves nothing
/// trusted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prove_gossips_before_it_trusts_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let publisher = Publisher::new();
    let ws = publisher.init(&dir.path().join("home"), &server).await;
    publisher
        .publish_file(&ws, dir.path(), "app-1.0.tgz", b"release one", &server.vkey)
        .await;
    let user = dir.path().join("user");
    let unreachable = "http://127.0.0.1:9".to_string();
    let c = client(&user, &server.url(""), &server.vkey, None).with_monitors(vec![unreachable]);
    let err = c.prove(REPO, "targets", 2).await.unwrap_err();
    assert!(
        matches!(err, Error::Edge(edge::Error::Transport { .. })),
        "{err}"
    );
    assert_eq!(c.log_trust().unwrap().trusted_size(), 0, "nothing trusted");
    client(&user, &server.url(""), &server.vkey, None)
        .prove(REPO, "targets", 2)
        .await
        .unwrap();
    server.stop().await;
}
