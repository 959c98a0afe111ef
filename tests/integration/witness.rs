//! The witness (C2SP tlog-witness) against a real log: it cosigns checkpoints that
//! extend the last one it cosigned and refuses everything else with the status
//! code the specification gives it.

use crate::util::{checkpoint, get_json, hashes_b64, http, InProcess};
use std::sync::Arc;
use store::rocks::RocksKv;
use tlog::checkpoint::Checkpoint;
use tlog::note::{KeyName, Note, SignatureType};
use tlog::{Hash, SignerKey, VerifierKey};
use witness::{AddCheckpoint, Witness};

/// A witness served on a loopback port, state in `dir`.
pub(crate) struct Served {
    pub(crate) url: String,
    pub(crate) verifier: VerifierKey,
    /// Gone once every connection task let go of the witness (and its database).
    witness: std::sync::Weak<Witness>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The witness whose key and state are in `dir` (created on first use).
fn witness_at(dir: &std::path::Path, logs: Vec<VerifierKey>) -> Witness {
    let key = store::keyfile::load_or_generate(
        &dir.join("witness.key"),
        "witness.test/w1",
        SignatureType::CosignatureV1,
    )
    .unwrap();
    // A witness just stopped in this process may still be closing its database
    // (its last Arc is gone before the drop releases RocksDB's lock): retry.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let state = loop {
        match RocksKv::open(&dir.join("db")) {
            Ok(state) => break state,
            Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("lock") => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("opening the witness state: {e}"),
        }
    };
    Witness::new(key, logs, Arc::new(state))
}

impl Served {
    pub(crate) async fn start(dir: &std::path::Path, logs: Vec<VerifierKey>) -> Served {
        let witness = Arc::new(witness_at(dir, logs));
        let verifier = witness.verifier();
        let weak = Arc::downgrade(&witness);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(witness::http::run(witness, listener, async move {
            let _ = stopped.await;
        }));
        Served {
            url,
            verifier,
            witness: weak,
            stop: Some(stop),
            task,
        }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
        // Connection tasks may hold the router a moment longer; the database lock
        // goes with the last of them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.witness.strong_count() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the witness was never released"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// POSTs an add-checkpoint request: (status, content type, body).
    pub(crate) async fn add(&self, old: u64, proof: &[Hash], note: &[u8]) -> (u16, String, String) {
        let body = AddCheckpoint {
            old_size: old,
            proof: proof.to_vec(),
            note: note.to_vec(),
        }
        .to_body();
        self.post(body).await
    }

    async fn post(&self, body: Vec<u8>) -> (u16, String, String) {
        let r = http()
            .post(format!("{}/add-checkpoint", self.url))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ctype = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ctype, r.text().await.unwrap())
    }
}

/// The server's policy: `threshold` of `witnesses`.
pub(crate) fn policy_of(witnesses: &[Served], threshold: usize) -> server::cosign::Policy {
    server::cosign::Policy {
        witnesses: witnesses
            .iter()
            .map(|w| server::cosign::Witness {
                url: w.url.clone(),
                key: w.verifier.clone(),
            })
            .collect(),
        threshold,
    }
}

/// The log's own signing key, read from its data directory: what a compromised
/// log operator holds.
fn stolen_log_key(server_dir: &std::path::Path) -> SignerKey {
    SignerKey::parse(
        std::fs::read_to_string(server_dir.join("log.key"))
            .unwrap()
            .trim(),
    )
    .unwrap()
}

async fn consistency(server: &InProcess, from: u64, size: u64) -> Vec<Hash> {
    let v = get_json(
        &http(),
        &server.url(&format!("/log/proof/consistency?from={from}&size={size}")),
    )
    .await;
    hashes_b64(&v["proof"])
}

/// The witness's reply lines must be valid cosignatures of `note` by `witness`.
fn assert_cosigned(note: &[u8], reply: &str, witness: &VerifierKey) {
    let mut with = note.to_vec();
    with.extend_from_slice(reply.as_bytes());
    let verified = Note::parse(&with)
        .unwrap()
        .verify(std::slice::from_ref(witness))
        .unwrap();
    assert_eq!(verified.len(), 1);
    assert!(
        verified[0].timestamp.is_some(),
        "a cosignature/v1 carries its time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_witness_cosigns_each_extension_and_refuses_a_stale_old_size_with_409() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let w = Served::start(&dir.path().join("witness"), vec![server.vkey.clone()]).await;
    server.append(b"one").await;
    let (c1, note1) = checkpoint(&http(), &server.url(""), &server.vkey).await;
    let (status, _, reply) = w.add(0, &[], &note1).await;
    assert_eq!(status, 200, "{reply}");
    assert_cosigned(&note1, &reply, &w.verifier);
    // Submitting the same checkpoint again from its own size is fine (equal roots).
    let (status, _, reply) = w.add(c1.size(), &[], &note1).await;
    assert_eq!(status, 200, "{reply}");

    for i in 0..5 {
        server.append(format!("entry {i}").as_bytes()).await;
    }
    let (c2, note2) = checkpoint(&http(), &server.url(""), &server.vkey).await;
    // A log that forgot what it last got cosigned starts from zero: told the size.
    let (status, ctype, body) = w.add(0, &[], &note2).await;
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "1\n")
    );
    let proof = consistency(&server, c1.size(), c2.size()).await;
    let (status, _, reply) = w.add(c1.size(), &proof, &note2).await;
    assert_eq!(status, 200, "{reply}");
    assert_cosigned(&note2, &reply, &w.verifier);
    // The older size is now stale, whatever its proof.
    let (status, _, body) = w.add(c1.size(), &proof, &note2).await;
    assert_eq!((status, body.as_str()), (409, "6\n"));

    // The state is durable: after a restart the witness remembers size 6.
    w.stop().await;
    let w = Served::start(&dir.path().join("witness"), vec![server.vkey.clone()]).await;
    let (status, _, body) = w.add(0, &[], &note2).await;
    assert_eq!((status, body.as_str()), (409, "6\n"));
    w.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_inconsistent_with_the_cosigned_one_is_refused_with_422_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let server = InProcess::start_with_keys_here(&server_dir).await;
    let wdir = dir.path().join("witness");
    let w = Served::start(&wdir, vec![server.vkey.clone()]).await;
    for i in 0..3 {
        server.append(format!("entry {i}").as_bytes()).await;
    }
    let (c3, note3) = checkpoint(&http(), &server.url(""), &server.vkey).await;
    assert_eq!(w.add(0, &[], &note3).await.0, 200);
    for i in 3..8 {
        server.append(format!("entry {i}").as_bytes()).await;
    }
    let (c8, _) = checkpoint(&http(), &server.url(""), &server.vkey).await;
    let real_proof = consistency(&server, c3.size(), c8.size()).await;

    // The compromised log signs a fork of size 8 with its real key, and sends the
    // honest tree's proof: it cannot make a proof for the fork's root.
    let key = stolen_log_key(&server_dir);
    let fork = Checkpoint::new(c8.origin(), c8.size(), Hash([0x66; 32])).unwrap();
    let fork_note = fork.sign(&key).unwrap().to_string();
    let (status, _, body) = w.add(c3.size(), &real_proof, fork_note.as_bytes()).await;
    assert_eq!(status, 422, "{body}");
    // Same size as the cosigned checkpoint, another root: 409, not cosigned.
    let same_size = Checkpoint::new(c3.origin(), c3.size(), Hash([0x67; 32])).unwrap();
    let same_note = same_size.sign(&key).unwrap().to_string();
    let (status, _, body) = w.add(c3.size(), &[], same_note.as_bytes()).await;
    assert_eq!(status, 409, "{body}");

    // Neither moved the witness: the honest checkpoint of size 8 still extends 3.
    let (_, note8) = checkpoint(&http(), &server.url(""), &server.vkey).await;
    let (status, _, reply) = w.add(c3.size(), &real_proof, &note8).await;
    assert_eq!(status, 200, "{reply}");
    w.stop().await;

    // Both signed refusals were kept: the log's signature on a fork is evidence.
    let witness = witness_at(&wdir, vec![server.vkey.clone()]);
    let evidence = witness.evidence(c3.origin()).unwrap();
    assert_eq!(evidence.len(), 2);
    assert!(evidence
        .iter()
        .any(|e| String::from_utf8_lossy(e).contains(&fork_note)));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_origins_unsigned_checkpoints_and_malformed_requests_get_404_403_400() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let w = Served::start(&dir.path().join("witness"), vec![server.vkey.clone()]).await;
    server.append(b"one").await;
    server.append(b"two").await;
    let (c, note) = checkpoint(&http(), &server.url(""), &server.vkey).await;

    let other = SignerKey::from_seed(
        KeyName::new("other.example/log").unwrap(),
        SignatureType::Ed25519,
        &[9; 32],
    );
    let elsewhere = Checkpoint::new("other.example/log", 2, *c.root()).unwrap();
    let (status, _, _) = w
        .add(
            0,
            &[],
            elsewhere.sign(&other).unwrap().to_string().as_bytes(),
        )
        .await;
    assert_eq!(status, 404, "unknown origin");

    // The right origin under another key (the key name matches; the key does not).
    let impostor = SignerKey::from_seed(
        KeyName::new(c.origin()).unwrap(),
        SignatureType::Ed25519,
        &[10; 32],
    );
    let (status, _, _) = w
        .add(0, &[], c.sign(&impostor).unwrap().to_string().as_bytes())
        .await;
    assert_eq!(status, 403, "not signed by the log's key");
    // A bit flipped in the log's own signature.
    let mut tampered = String::from_utf8(note.clone()).unwrap();
    let at = tampered.len() - 6;
    let flipped = if tampered.as_bytes()[at] == b'A' {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(at..at + 1, flipped);
    let (status, _, _) = w.add(0, &[], tampered.as_bytes()).await;
    assert_eq!(status, 403, "a corrupted log signature");

    let (status, _, _) = w.add(3, &[], &note).await;
    assert_eq!(status, 400, "old size above the checkpoint size");
    for body in [
        b"old 01\n\n".to_vec(),
        b"not a request".to_vec(),
        [b"old 0\n\n".as_slice(), b"garbage note\n"].concat(),
    ] {
        let (status, _, _) = w.post(body).await;
        assert_eq!(status, 400);
    }
    // A proof from size zero must be empty.
    let (status, _, _) = w.add(0, &[Hash([1; 32])], &note).await;
    assert_eq!(status, 422);
    // After all that, a proper first submission still works.
    assert_eq!(w.add(0, &[], &note).await.0, 200);
    let metrics = http()
        .get(format!("{}/metrics", w.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"tuflog_witness_add_checkpoint_total{code="403"} 2"#),
        "{metrics}"
    );
    w.stop().await;
    server.stop().await;
}

/// The specification's race: two requests from the same old size must not both
/// be cosigned, or a later one could roll the recorded size back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_from_the_same_old_size_get_exactly_one_cosignature() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let w = Arc::new(Served::start(&dir.path().join("witness"), vec![server.vkey.clone()]).await);
    let mut notes = Vec::new();
    for i in 0..8 {
        server.append(format!("entry {i}").as_bytes()).await;
        notes.push(checkpoint(&http(), &server.url(""), &server.vkey).await.1);
    }
    let mut tasks = Vec::new();
    for note in notes {
        let w = w.clone();
        tasks.push(tokio::spawn(async move { w.add(0, &[], &note).await }));
    }
    let mut cosigned = 0;
    for t in tasks {
        let (status, ctype, body) = t.await.unwrap();
        match status {
            200 => cosigned += 1,
            409 => assert_eq!(ctype, "text/x.tlog.size", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(cosigned, 1);
    Arc::into_inner(w).unwrap().stop().await;
    server.stop().await;
}

/// The server's side of the protocol: with three witnesses and a 2-of-3 policy it
/// submits every checkpoint, serves it with the cosignatures gathered, and a client
/// holding the same policy accepts its updates. With two witnesses gone a push is
/// logged but never shown to readers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_two_of_three_policy_serves_cosigned_checkpoints_only() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    // The log key exists before the server starts: its witnesses are told it.
    let log_key = store::keyfile::load_or_generate(
        &server_dir.join("log.key"),
        "test.tuflog.dev/log",
        SignatureType::Ed25519,
    )
    .unwrap();
    let mut witnesses = Vec::new();
    for i in 0..3 {
        witnesses.push(
            Served::start(
                &dir.path().join(format!("witness-{i}")),
                vec![log_key.verifier()],
            )
            .await,
        );
    }
    let policy = policy_of(&witnesses, 2);
    let server = InProcess::start_config(server::Config {
        data_dir: server_dir.clone(),
        origin: "test.tuflog.dev/log".into(),
        tokens: vec![server::repos::auth::TokenRule::for_token(
            "all",
            crate::util::ADMIN_TOKEN,
            vec![String::new()],
        )],
        witnesses: Some(policy.clone()),
        ..server::Config::default()
    })
    .await;
    let keys: Vec<VerifierKey> = witnesses.iter().map(|w| w.verifier.clone()).collect();

    // A push is acknowledged once a cosigned checkpoint covers it.
    let publisher =
        tuf::keys::PrivateKey::generate(tuf::keys::KeyKind::Ed25519, &mut rand_core::OsRng)
            .unwrap();
    let ws = client::publish::Workspace::open(
        &dir.path().join("publisher"),
        &server.url(""),
        "example.com/app",
    )
    .unwrap();
    ws.init(
        &[("root", &publisher), ("targets", &publisher)],
        1,
        1,
        crate::util::ADMIN_TOKEN,
        &server.vkey,
    )
    .await
    .unwrap();
    let served = crate::util::get_ok(&http(), &server.url("/log/checkpoint")).await;
    let opened = tlog::checkpoint::open(&served, &server.vkey, &keys).unwrap();
    assert_eq!(opened.checkpoint().size(), 4);
    assert!(
        opened.cosignatures().len() >= 2,
        "{}",
        String::from_utf8_lossy(&served)
    );

    // A client with the same policy accepts the repository.
    let user = client::Client::new(client::ClientConfig {
        server: server.url(""),
        log_key: server.vkey.clone(),
        witnesses: Some(client::WitnessPolicy::new(keys.clone(), 2)),
        home: dir.path().join("user"),
        limits: tuf::updater::Limits::default(),
    });
    let report = user.update("example.com/app", None).await.unwrap();
    assert_eq!(report.checkpoint.unwrap().size, 4);

    // One witness down: two still meet the policy.
    let mut witnesses = witnesses.into_iter();
    witnesses.next().unwrap().stop().await;
    let file = dir.path().join("f");
    std::fs::write(&file, "content").unwrap();
    ws.add(&file, "f", None).unwrap();
    ws.publish(&[&publisher], crate::util::ADMIN_TOKEN, &server.vkey)
        .await
        .unwrap();
    let served = crate::util::get_ok(&http(), &server.url("/log/checkpoint")).await;
    let opened = tlog::checkpoint::open(&served, &server.vkey, &keys).unwrap();
    assert_eq!(opened.checkpoint().size(), 7);
    assert_eq!(opened.cosignatures().len(), 2);
    user.update("example.com/app", None).await.unwrap();

    // Two down: the next push is logged, never shown; readers keep size 7.
    witnesses.next().unwrap().stop().await;
    std::fs::write(&file, "other content").unwrap();
    ws.add(&file, "f", None).unwrap();
    let refused = ws
        .publish(&[&publisher], crate::util::ADMIN_TOKEN, &server.vkey)
        .await;
    assert!(refused.is_err());
    assert!(server.log.integrated().borrow().size() > 7);
    let served = crate::util::get_ok(&http(), &server.url("/log/checkpoint")).await;
    assert_eq!(
        tlog::checkpoint::open(&served, &server.vkey, &keys)
            .unwrap()
            .checkpoint()
            .size(),
        7
    );
    for w in witnesses {
        w.stop().await;
    }
    server.stop().await;
}

/// `GET /checkpoint?origin=…` serves monitors the latest checkpoint the witness
/// cosigned for a log, with the log's signature and the witness's cosignature,
/// each verifying with its key; 404 before any and for an unknown origin, 400
/// without an origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_witness_serves_its_latest_cosigned_checkpoint_to_monitors() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let w = Served::start(&dir.path().join("witness"), vec![server.vkey.clone()]).await;
    let origin = server.vkey.name().as_str().to_string();
    let read = |origin: Option<&str>| {
        let url = match origin {
            Some(o) => format!(
                "{}/checkpoint?origin={}",
                w.url,
                tuf::updater::encode_role_name(o)
            ),
            None => format!("{}/checkpoint", w.url),
        };
        async move {
            let resp = http().get(url).send().await.unwrap();
            (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
        }
    };
    assert_eq!(read(Some(&origin)).await.0, 404);
    server.append(b"one").await;
    let (_, note) = checkpoint(&http(), &server.url(""), &server.vkey).await;
    let (status, _, reply) = w.add(0, &[], &note).await;
    assert_eq!(status, 200, "{reply}");
    let (status, served) = read(Some(&origin)).await;
    assert_eq!(status, 200);
    let opened =
        tlog::checkpoint::open(&served, &server.vkey, std::slice::from_ref(&w.verifier)).unwrap();
    assert_eq!(opened.cosignatures().len(), 1, "cosigned by the witness");
    assert_eq!(opened.note().text(), Note::parse(&note).unwrap().text());
    assert_eq!(read(Some("example.com/another-log")).await.0, 404);
    assert_eq!(read(None).await.0, 400);
    w.stop().await;
    server.stop().await;
}
