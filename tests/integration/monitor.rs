//! Monitors against real logs: one that follows an honest server through thousands
//! of entries in silence; one that catches each kind of lie a compromised server can
//! log; one that proves a rewritten history with an evidence file; and two shown
//! different forks that find out through gossip.

use crate::util::{InProcess, ADMIN_TOKEN};
use client::publish::Workspace;
use monitor::alerts::AlertRecord;
use monitor::follower::NoProgress;
use monitor::{Config, Monitor, Step, Verdict};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use tuf::editor::{new_root, new_targets, next_snapshot, next_timestamp};
use tuf::keys::{KeyKind, PrivateKey};
use tuf::logentry::LogEntry;
use tuf::metadata::{Expires, Metadata, Role, Root, Snapshot, Timestamp};
use wire::evidence::Evidence;

fn key() -> PrivateKey {
    PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap()
}

fn expires() -> Expires {
    Expires::parse("2040-01-01T00:00:00Z").unwrap()
}

fn signed<T: Role>(doc: T, keys: &[&PrivateKey]) -> Metadata<T> {
    Metadata::sign_new(doc, keys, &mut OsRng).unwrap()
}

/// A repository's keys and latest documents, writing versions as a server would
/// log them, or as a compromised one might.
struct History {
    repo: String,
    root_key: PrivateKey,
    targets_key: PrivateKey,
    snapshot_key: PrivateKey,
    timestamp_key: PrivateKey,
    root: Root,
    snapshot: Option<Metadata<Snapshot>>,
    timestamp: Option<Timestamp>,
}

impl History {
    fn new(repo: &str) -> Self {
        let (root_key, targets_key, snapshot_key, timestamp_key) = (key(), key(), key(), key());
        let mut root = new_root(expires(), true);
        root.add_key("root", root_key.public()).unwrap();
        root.add_key("targets", targets_key.public()).unwrap();
        root.add_key("snapshot", snapshot_key.public()).unwrap();
        root.add_key("timestamp", timestamp_key.public()).unwrap();
        History {
            repo: repo.into(),
            root_key,
            targets_key,
            snapshot_key,
            timestamp_key,
            root,
            snapshot: None,
            timestamp: None,
        }
    }

    /// Root v1, targets v1, snapshot and timestamp: a repository's first push.
    fn first_push(&mut self) -> Vec<(String, Vec<u8>)> {
        let root = signed(self.root.clone(), &[&self.root_key]);
        let targets = signed(new_targets(expires()), &[&self.targets_key]);
        let snapshot = signed(
            next_snapshot(None, &[("targets", &targets)], expires()),
            &[&self.snapshot_key],
        );
        let mut push = vec![
            ("root".to_string(), root.bytes().to_vec()),
            ("targets".to_string(), targets.bytes().to_vec()),
            ("snapshot".to_string(), snapshot.bytes().to_vec()),
        ];
        self.snapshot = Some(snapshot);
        push.push(("timestamp".into(), self.next_timestamp()));
        push
    }

    /// The next timestamp version, signed by the timestamp key.
    fn next_timestamp(&mut self) -> Vec<u8> {
        let snapshot = self.snapshot.as_ref().unwrap();
        let t = signed(
            next_timestamp(self.timestamp.as_ref(), snapshot, expires()),
            &[&self.timestamp_key],
        );
        self.timestamp = Some(t.signed().clone());
        t.bytes().to_vec()
    }

    fn entry(&self, role: &str, bytes: &[u8]) -> Vec<u8> {
        let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        let version = v["signed"]["version"].as_u64().unwrap();
        LogEntry::new(&self.repo, role, version, bytes)
            .to_bytes()
            .unwrap()
    }

    /// Logs `docs` straight into the server's log, metadata served by content,
    /// bypassing push validation: what a server holding the database can do.
    async fn log(&self, server: &InProcess, docs: &[(String, Vec<u8>)]) {
        self.log_serving(server, docs, true).await;
    }

    async fn log_serving(&self, server: &InProcess, docs: &[(String, Vec<u8>)], serve: bool) {
        let mut append = server::sequencer::Append::default();
        for (i, (role, bytes)) in docs.iter().enumerate() {
            append.entries.push(self.entry(role, bytes));
            if serve {
                append.blobs.push(store::Blob {
                    index: i as u64,
                    sha256: Sha256::digest(bytes).into(),
                    bytes: bytes.clone(),
                });
            }
        }
        server.log.append(append).await.unwrap();
    }
}

fn config(server: &InProcess, dir: &Path) -> Config {
    let mut c = Config::new(&server.url(""), server.vkey.clone());
    c.evidence_dir = dir.join("evidence");
    c.batch_entries = 512;
    c
}

/// The monitor whose state is in `dir` (a monitor just dropped in this process may
/// still hold RocksDB's lock for a moment).
pub(crate) fn monitor_at(config: Config, dir: &Path) -> Monitor {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let kv = loop {
        match store::rocks::RocksKv::open(&dir.join("db")) {
            Ok(kv) => break kv,
            Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("lock") => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("opening the monitor state: {e}"),
        }
    };
    Monitor::open(config, Arc::new(kv)).unwrap()
}

pub(crate) fn kinds(alerts: &[AlertRecord]) -> Vec<String> {
    alerts.iter().map(|a| a.kind.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_follows_a_live_server_through_thousands_of_entries_without_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    // Real pushes through the repository service…
    let (root_key, targets_key) = (key(), key());
    let ws = Workspace::open(
        &dir.path().join("publisher"),
        &server.url(""),
        "example.com/app",
    )
    .unwrap();
    ws.init(
        &[("root", &root_key), ("targets", &targets_key)],
        1,
        1,
        ADMIN_TOKEN,
        &server.vkey,
    )
    .await
    .unwrap();
    for i in 0..3 {
        let f = dir.path().join(format!("f{i}"));
        std::fs::write(&f, format!("file {i}")).unwrap();
        ws.add(&f, &format!("f{i}"), None).unwrap();
        ws.publish(&[&targets_key], ADMIN_TOKEN, &server.vkey)
            .await
            .unwrap();
    }
    // …and thousands of timestamp versions of another repository.
    let mut h = History::new("example.org/busy");
    let first = h.first_push();
    h.log(&server, &first).await;
    let state_dir = dir.path().join("monitor");
    let mut followed = 0;
    for round in 0..4 {
        let docs: Vec<(String, Vec<u8>)> = (0..500)
            .map(|_| ("timestamp".to_string(), h.next_timestamp()))
            .collect();
        h.log(&server, &docs).await;
        // Each round a fresh process resumes from the stored state.
        let mut c = config(&server, &state_dir);
        c.watch = vec!["example.com/app".into()];
        let m = monitor_at(c, &state_dir);
        assert_eq!(m.size(), followed, "round {round} resumes where it stopped");
        let step = m.follow_once(&NoProgress).await.unwrap();
        let size = server.log.latest().size();
        assert_eq!(
            step,
            Step::Advanced {
                from: followed,
                to: size
            }
        );
        assert_eq!(m.follow_once(&NoProgress).await.unwrap(), Step::UpToDate);
        assert_eq!(kinds(&m.alerts().recent()), Vec::<String>::new());
        assert_eq!(
            m.latest_note().unwrap().as_bytes(),
            server.log.latest().note.as_slice()
        );
        let metrics = m.metrics().render();
        assert!(
            metrics.contains(&format!("tuflog_monitor_verified_tree_size_entries {size}")),
            "{metrics}"
        );
        if round == 0 {
            // Every version of the watched repository was reported: all but the
            // busy repository's 504 entries.
            let watched = format!(
                "tuflog_monitor_watched_versions_total{{repo=\"example.com/app\"}} {}",
                size - 504
            );
            assert!(metrics.contains(&watched), "{watched} in {metrics}");
        }
        followed = size;
    }
    assert!(followed > 2000, "{followed} entries");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_catches_equivocation_an_unauthorised_root_a_version_going_down_and_hidden_metadata(
) {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let mut h = History::new("example.com/victim");
    let first = h.first_push();
    h.log(&server, &first).await;

    // (a) equivocation: a second timestamp v1 with other bytes.
    let twin = signed(
        next_timestamp(
            None,
            h.snapshot.as_ref().unwrap(),
            Expires::parse("2041-01-01T00:00:00Z").unwrap(),
        ),
        &[&h.timestamp_key],
    )
    .bytes()
    .to_vec();
    assert_ne!(twin, first[3].1);
    h.log(&server, &[("timestamp".into(), twin)]).await;
    // (b) root v2 signed by a key root v1 never named.
    let mut rogue = h.root.clone();
    rogue.version = 2;
    let intruder = key();
    rogue.add_key("root", intruder.public()).unwrap();
    let rogue = signed(rogue, &[&intruder]);
    h.log(&server, &[("root".into(), rogue.bytes().to_vec())])
        .await;
    // (c) a version that goes down: timestamp v3, then v2.
    let t2 = h.next_timestamp();
    let t3 = h.next_timestamp();
    h.log(
        &server,
        &[("timestamp".into(), t3), ("timestamp".into(), t2)],
    )
    .await;
    // A version logged whose metadata the server never serves.
    let hidden = h.next_timestamp();
    h.log_serving(&server, &[("timestamp".into(), hidden)], false)
        .await;

    // Metadata by the bundle and, as from a log that serves none, one at a time.
    for bundles in [true, false] {
        let state_dir = dir.path().join(format!("monitor-{bundles}"));
        let mut c = config(&server, &state_dir);
        c.metadata_bundles = bundles;
        let m = monitor_at(c, &state_dir);
        let step = m.follow_once(&NoProgress).await.unwrap();
        assert!(matches!(step, Step::Advanced { from: 0, .. }), "{step:?}");
        check_caught(&m);
    }
    server.stop().await;
}

fn check_caught(m: &Monitor) {
    let alerts = m.alerts().recent();
    assert_eq!(
        kinds(&alerts),
        vec![
            "equivocation",
            "root_not_authorized",
            "version_not_increasing",
            "metadata_unavailable"
        ],
        "{alerts:#?}"
    );
    assert_eq!(alerts[0].index, Some(4));
    assert_eq!(alerts[2].version, Some(2));
    let metrics = m.metrics().render();
    for kind in [
        "equivocation",
        "root_not_authorized",
        "version_not_increasing",
    ] {
        assert!(
            metrics.contains(&format!("tuflog_monitor_alerts_total{{kind=\"{kind}\"}} 1")),
            "{metrics}"
        );
    }
}

/// A server whose history was rewritten after the monitor saw it: the same key,
/// another tree. The monitor proves it from the log's own tiles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_history_is_proven_by_an_evidence_file_anyone_can_check() {
    let dir = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let honest = InProcess::start_with_keys_here(&a_dir).await;
    let mut h = History::new("example.com/app");
    let first = h.first_push();
    h.log(&honest, &first).await;
    let state_dir = dir.path().join("monitor");
    let m = monitor_at(config(&honest, &state_dir), &state_dir);
    m.follow_once(&NoProgress).await.unwrap();
    let seen = m.latest_note().unwrap();
    drop(m);
    honest.stop().await;

    std::fs::create_dir_all(&b_dir).unwrap();
    std::fs::copy(a_dir.join("log.key"), b_dir.join("log.key")).unwrap();
    let rewritten = InProcess::start_with_keys_here(&b_dir).await;
    let mut other = History::new("example.com/app");
    let first = other.first_push();
    other.log(&rewritten, &first).await;
    let more: Vec<_> = (0..300)
        .map(|_| ("timestamp".to_string(), other.next_timestamp()))
        .collect();
    other.log(&rewritten, &more).await;

    let m = monitor_at(config(&rewritten, &state_dir), &state_dir);
    assert_eq!(m.follow_once(&NoProgress).await.unwrap(), Step::Diverged);
    let alerts = m.alerts().recent();
    assert_eq!(kinds(&alerts), vec!["split_view"], "{alerts:#?}");
    assert_eq!(m.latest_note().unwrap(), seen, "the monitor keeps its view");
    let path = alerts[0].evidence.clone().unwrap();
    let evidence = Evidence::parse(&std::fs::read(&path).unwrap()).unwrap();
    let verdict = evidence.verify(Some(&rewritten.vkey)).unwrap();
    assert_eq!(
        (verdict.smaller_size, verdict.larger_size),
        (4, rewritten.log.latest().size())
    );
    assert_eq!(evidence.smaller, seen);
    // Seen again at the next poll: no second alert.
    assert_eq!(m.follow_once(&NoProgress).await.unwrap(), Step::Diverged);
    assert_eq!(m.alerts().recent().len(), 1);
    rewritten.stop().await;
}

/// A monitor served over HTTP with `peers`.
pub(crate) struct Served {
    pub(crate) url: String,
    pub(crate) monitor: Arc<Monitor>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    pub(crate) async fn start(monitor: Monitor) -> Served {
        let monitor = Arc::new(monitor);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(monitor::http::run(
            monitor.clone(),
            listener,
            Arc::new(NoProgress),
            async move {
                let _ = stopped.await;
            },
        ));
        Served {
            url,
            monitor,
            stop: Some(stop),
            task,
        }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

/// A log that shows one fork to one monitor and another fork to the other: each
/// monitor alone sees a log that only grows. Gossip brings them together; the one
/// holding the larger tree proves the fork from its own hashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_monitors_shown_different_forks_detect_the_split_view_through_gossip() {
    let dir = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let fork_a = InProcess::start_with_keys_here(&a_dir).await;
    std::fs::create_dir_all(&b_dir).unwrap();
    std::fs::copy(a_dir.join("log.key"), b_dir.join("log.key")).unwrap();
    let fork_b = InProcess::start_with_keys_here(&b_dir).await;
    assert_eq!(fork_a.vkey, fork_b.vkey);
    let mut shown_a = History::new("example.com/app");
    let first = shown_a.first_push();
    shown_a.log(&fork_a, &first).await;
    let mut shown_b = History::new("example.com/app");
    let first = shown_b.first_push();
    shown_b.log(&fork_b, &first).await;
    let more: Vec<_> = (0..5)
        .map(|_| ("timestamp".to_string(), shown_b.next_timestamp()))
        .collect();
    shown_b.log(&fork_b, &more).await;

    let (one_dir, two_dir) = (dir.path().join("m1"), dir.path().join("m2"));
    let mut c1 = config(&fork_a, &one_dir);
    let mut c2 = config(&fork_b, &two_dir);
    // Long enough that the test drives every step itself.
    c1.interval = std::time::Duration::from_secs(3600);
    c2.interval = c1.interval;
    let one = Served::start(monitor_at(c1, &one_dir)).await;
    let two = Served::start(monitor_at(c2, &two_dir)).await;
    // Each catches up with its fork (the served loop's first step may race ours).
    for m in [&one.monitor, &two.monitor] {
        let _ = m.follow_once(&NoProgress).await.unwrap();
        assert!(m.alerts().recent().is_empty());
    }
    assert_eq!(one.monitor.size(), 4);
    assert_eq!(two.monitor.size(), 9);

    // One tells two what it saw: two holds the larger tree and proves the fork.
    let reply = client::gossip::submit(
        &client::Http::new(),
        &two.url,
        &one.monitor.latest_note().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(reply.verdict, Verdict::SplitView);
    let alerts = two.monitor.alerts().recent();
    assert_eq!(kinds(&alerts), vec!["split_view"]);
    let evidence =
        Evidence::parse(&std::fs::read(alerts[0].evidence.as_ref().unwrap()).unwrap()).unwrap();
    assert!(evidence.verify(Some(&fork_a.vkey)).is_ok());

    // Two's checkpoint reaches one by polling: its log cannot prove it.
    let mut polling = config(&fork_a, &one_dir);
    polling.peers = vec![two.url.clone()];
    one.stop().await;
    let one = Arc::new(monitor_at(polling, &one_dir));
    one.poll_peers().await;
    assert_eq!(kinds(&one.alerts().recent()), vec!["unproven_checkpoint"]);
    let gossip = one.metrics().render();
    assert!(
        gossip.contains("tuflog_monitor_gossip_checkpoints_total{verdict=\"unproven\"} 1"),
        "{gossip}"
    );

    // A checkpoint not signed by the log key is refused outright.
    let forged = one
        .hear(b"test.tuflog.dev/log\n4\nAAAA\n\n", "a test")
        .await;
    assert!(forged.is_err());
    two.stop().await;
    fork_a.stop().await;
    fork_b.stop().await;
}

/// A log that stops growing (or a view frozen for this monitor alone, heard from
/// no one else) shows as age: `tuflog_monitor_verified_checkpoint_age_seconds`
/// counts from when the monitor first verified a tree of that size, and past the
/// configured maximum `checkpoint_stale` is raised, once per checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_older_than_the_maximum_age_is_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let mut h = History::new("example.com/app");
    let first = h.first_push();
    h.log(&server, &first).await;
    let state = dir.path().join("monitor");
    let mut c = config(&server, &state);
    c.max_checkpoint_age = Some(std::time::Duration::from_secs(1));
    let m = monitor_at(c, &state);
    m.follow_once(&NoProgress).await.unwrap();
    assert!(m.alerts().recent().is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    m.follow_once(&NoProgress).await.unwrap();
    m.follow_once(&NoProgress).await.unwrap();
    assert_eq!(kinds(&m.alerts().recent()), vec!["checkpoint_stale"]);
    let metrics = m.render_metrics();
    let age: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tuflog_monitor_verified_checkpoint_age_seconds "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(age >= 2, "{metrics}");
    // The log grows: a new tree size, a fresh age, no new alert.
    let next = h.next_timestamp();
    h.log(&server, &[("timestamp".to_string(), next)]).await;
    m.follow_once(&NoProgress).await.unwrap();
    assert_eq!(kinds(&m.alerts().recent()), vec!["checkpoint_stale"]);
    assert!(m
        .render_metrics()
        .contains("tuflog_monitor_verified_checkpoint_age_seconds 0"));
    server.stop().await;
}

/// The gossip route cannot be used to make the monitor hammer the log: past
/// `MAX_GOSSIP_PER_SECOND` (with a burst of as many) senders get 429, and a
/// body larger than a checkpoint note is refused before it is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gossip_route_is_bounded_in_rate_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(&dir.path().join("server")).await;
    let mut h = History::new("example.com/app");
    let first = h.first_push();
    h.log(&server, &first).await;
    let state = dir.path().join("monitor");
    let mut c = config(&server, &state);
    c.interval = std::time::Duration::from_secs(3600);
    let served = Served::start(monitor_at(c, &state)).await;
    let _ = served.monitor.follow_once(&NoProgress).await;
    let note = served.monitor.latest_note().unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/gossip/checkpoint", served.url);
    let mut statuses = std::collections::BTreeMap::new();
    let limit = monitor::http::MAX_GOSSIP_PER_SECOND as usize;
    // All at once, so that they arrive well within a second whatever the machine.
    let sent: Vec<_> = (0..limit * 4)
        .map(|_| {
            let (http, url, note) = (http.clone(), url.clone(), note.clone());
            tokio::spawn(async move { http.post(&url).body(note).send().await })
        })
        .collect();
    for s in sent {
        let status = s.await.unwrap().unwrap().status().as_u16();
        *statuses.entry(status).or_insert(0usize) += 1;
    }
    assert!(
        statuses.get(&200).copied().unwrap_or(0) >= limit,
        "{statuses:?}"
    );
    assert!(statuses.get(&429).copied().unwrap_or(0) > 0, "{statuses:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let oversized = vec![b'a'; monitor::http::MAX_GOSSIP_NOTE_BYTES + 1];
    let status = http
        .post(&url)
        .body(oversized)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 413);
    served.stop().await;
    server.stop().await;
}
