//! Server instances sharing one PostgreSQL database, as an operator runs them: one
//! sequencer, followers that take over when it is killed, with no acknowledged push
//! lost and no fork, round after round.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use client::publish::Workspace;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};
use store::{LogStore, SequencerLease};
use tlog::VerifierKey;
use tuf::keys::{KeyKind, PrivateKey};

const TOKEN: &str = "failover-test-token";
/// What the lease timings promise (`LEASE_TTL + STANDBY_POLL`), plus the time to
/// recover the log and start serving, on a loaded two-core machine.
const TAKEOVER_WITHIN: Duration = Duration::from_secs(15);
/// Publishers pushing at once while the sequencer is killed.
const PUBLISHERS: usize = 4;

fn instance_config(dir: &Path, name: &str, db: &str, signer: std::net::SocketAddr) -> String {
    let pki = dir.join("pki");
    // Top-level keys go before the first table.
    server_config(&dir.join(name), signer, &pki, &pki).replacen(
        "[signer]",
        &format!("database_url = \"{db}\"\n[signer]"),
        1,
    ) + &format!("\n[[tokens]]\nname = \"ci\"\ntoken = \"{TOKEN}\"\nprefixes = [\"\"]\n")
}

/// An instance on the shared database: the sequencer if it gets the lease, else a
/// follower; either serves once started.
fn instance(config: &Path) -> Daemon {
    Daemon::spawn(
        env!("CARGO_BIN_EXE_tuflog-server"),
        &["--config", config.to_str().unwrap()],
        &[],
        "gRPC",
    )
    .ready(Duration::from_secs(60))
}

/// Waits until the instance at `daemon` integrates (its readiness no longer says
/// it follows); returns how long that took.
async fn integrates(daemon: &Daemon, within: Duration) -> Duration {
    let url = format!("http://{}/readyz", daemon.addr("checkpoint"));
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(&url).await {
            if r.status().is_success() && r.text().await.unwrap_or_default().trim() == "ready" {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < within,
            "{url} is not the sequencer after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn publisher(dir: &Path, url: &str, repo: &str) -> Publisher {
    Publisher {
        root: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        targets: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        ws: Workspace::open(&dir.join(repo.replace('/', "_")), url, repo).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_takes_over_from_a_killed_sequencer_with_no_push_lost_and_no_fork() {
    let s = shared(3);
    let (dir, configs, vkey) = (&s.dir, &s.configs, &s.vkey);
    let lease = store::postgres::PgStore::open(&s.db).unwrap();

    // The first instance becomes the sequencer; the second follows it.
    let mut sequencer = instance(&configs[0]);
    let mut waiting = instance(&configs[1]);
    assert_eq!(lease.lease_holder().unwrap().unwrap().token, 1);
    let url = format!("http://{}", sequencer.addr("checkpoint"));
    let user = user(dir.path(), &url, vkey);
    let first = publisher(dir.path(), &url, "example.com/app-0");
    first.init(dir.path(), TOKEN, vkey).await;
    let before = user.update("example.com/app-0", None).await.unwrap();

    for round in 0..3usize {
        let url = format!("http://{}", sequencer.addr("checkpoint"));
        // Publishers push side by side, each one push after another; the sequencer
        // is killed under them.
        let (acked_tx, acked_rx) = tokio::sync::watch::channel(vec![0u64; PUBLISHERS]);
        let mut pushing = Vec::new();
        let mut repos = Vec::new();
        for i in 0..PUBLISHERS {
            let repo = format!("example.com/round-{round}-{i}");
            let files = dir.path().join(format!("files-{round}-{i}"));
            std::fs::create_dir_all(&files).unwrap();
            let p = publisher(dir.path(), &url, &repo);
            p.init(&files, TOKEN, vkey).await;
            repos.push(repo);
            let (acked_tx, vkey) = (acked_tx.clone(), vkey.clone());
            pushing.push(tokio::spawn(async move {
                for n in 1u64.. {
                    let name = format!("file-{n}.txt");
                    if p.publish(&files, &name, TOKEN, &vkey).await.is_err() {
                        return;
                    }
                    acked_tx.send_modify(|acked| acked[i] = n);
                }
            }));
        }
        let mut acked = acked_rx.clone();
        acked
            .wait_for(|n| n.iter().sum::<u64>() >= 3 * PUBLISHERS as u64)
            .await
            .unwrap();
        let killed = Instant::now();
        sequencer.kill();
        for p in pushing {
            p.await.unwrap();
        }
        let acknowledged = acked_rx.borrow().clone();

        integrates(&waiting, TAKEOVER_WITHIN + Duration::from_secs(30)).await;
        let took = killed.elapsed();
        sequencer = waiting;
        assert!(
            took < TAKEOVER_WITHIN,
            "round {round}: the follower integrated {took:?} after the kill"
        );
        eprintln!(
            "round {round}: pushes acknowledged {acknowledged:?}, a follower integrated {took:?} after the kill"
        );
        let holder = lease.lease_holder().unwrap().unwrap();
        assert_eq!(
            holder.token,
            round as u64 + 2,
            "a new term for each sequencer"
        );
        // The instance killed in this round is restarted as the next follower.
        waiting = instance(&configs[(round + 2) % configs.len()]);

        // The push the dead sequencer had staged, if any, is finished by the new one
        // before any new push (it was never acknowledged, and may now be logged).
        let deadline = Instant::now() + Duration::from_secs(10);
        while lease.staged().unwrap().is_some() {
            assert!(
                Instant::now() < deadline,
                "the staged batch is never finished"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let url = format!("http://{}", sequencer.addr("checkpoint"));
        // A client that updated before the failover follows the new sequencer: its
        // checkpoints are consistent with everything it saw.
        let user = self::user(dir.path(), &url, vkey);
        // A client that never saw the old sequencer agrees with it.
        let fresh = self::user(&dir.path().join(format!("fresh-{round}")), &url, vkey);
        for (repo, acked) in repos.iter().zip(&acknowledged) {
            let after = user.update(repo, None).await.unwrap();
            // Every acknowledged push is there: the repository was created with
            // targets version 2 (init publishes one file), and each push adds one.
            assert!(
                after.versions["targets"] >= acked + 2,
                "round {round}, {repo}: {acked} pushes acknowledged, targets v{}",
                after.versions["targets"]
            );
            assert_eq!(
                fresh.update(repo, None).await.unwrap().versions,
                after.versions
            );
        }
        let again = user.update("example.com/app-0", None).await.unwrap();
        assert_eq!(again.versions["targets"], before.versions["targets"]);
        assert!(again.checkpoint.unwrap().size > before.checkpoint.clone().unwrap().size);
    }
    drop(waiting);
    drop(sequencer);
}

/// The database, a signer and two instance configurations, for the tests below.
struct Shared {
    dir: tempfile::TempDir,
    _cluster: testkit::postgres::Cluster,
    _signer: Daemon,
    db: String,
    vkey: VerifierKey,
    configs: Vec<std::path::PathBuf>,
}

/// `instances` configurations, named a, b, c….
fn shared(instances: u8) -> Shared {
    let dir = tempfile::tempdir().unwrap();
    let cluster = testkit::postgres::Cluster::start().unwrap();
    let db = cluster.create_database("tuflog").unwrap();
    let signer_data = dir.path().join("signer");
    let out = signer_cmd(&[
        "init",
        "--data-dir",
        signer_data.to_str().unwrap(),
        "--origin",
        ORIGIN,
    ]);
    let vkey = VerifierKey::parse(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    pki(&dir.path().join("pki"));
    let sig = signer(&signer_data, &dir.path().join("pki"), "127.0.0.1:0");
    let configs = (b'a'..b'a' + instances)
        .map(|name| {
            let name = char::from(name).to_string();
            let path = dir.path().join(format!("{name}.toml"));
            std::fs::write(
                &path,
                instance_config(dir.path(), &name, &db, sig.addr("listening")),
            )
            .unwrap();
            path
        })
        .collect();
    Shared {
        dir,
        _cluster: cluster,
        _signer: sig,
        db,
        vkey,
        configs,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequencer_stopped_by_sigterm_hands_the_lease_over_at_once() {
    let s = shared(2);
    let mut first = instance(&s.configs[0]);
    let url = format!("http://{}", first.addr("checkpoint"));
    publisher(s.dir.path(), &url, "example.com/app")
        .init(s.dir.path(), TOKEN, &s.vkey)
        .await;
    let second = instance(&s.configs[1]);
    let stopped = Instant::now();
    signal(&first, "TERM");
    assert!(first.child.wait().unwrap().success());
    integrates(&second, Duration::from_secs(30)).await;
    let took = stopped.elapsed();
    eprintln!("a follower integrated {took:?} after SIGTERM");
    // Well inside the lease's 5 s: it was given up, not left to expire.
    assert!(took < Duration::from_secs(3), "{took:?}");
    let url = format!("http://{}", second.addr("checkpoint"));
    let user = user(s.dir.path(), &url, &s.vkey);
    assert_eq!(
        user.update("example.com/app", None).await.unwrap().versions["targets"],
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_sequencer_paused_past_its_lease_exits_and_the_log_does_not_fork() {
    let s = shared(2);
    let mut paused = instance(&s.configs[0]);
    let old_url = format!("http://{}", paused.addr("checkpoint"));
    let publisher = publisher(s.dir.path(), &old_url, "example.com/app");
    publisher.init(s.dir.path(), TOKEN, &s.vkey).await;
    let user = user(s.dir.path(), &old_url, &s.vkey);
    let before = user.update("example.com/app", None).await.unwrap();
    let next = instance(&s.configs[1]);

    // Frozen (SIGSTOP) past its lease: the follower takes over and the log moves on.
    signal(&paused, "STOP");
    integrates(&next, Duration::from_secs(30)).await;
    let url = format!("http://{}", next.addr("checkpoint"));
    let moved_on = push_to_another_repo(&s, &url).await;

    // Woken up, the old sequencer still believes it leads for up to a renewal
    // period; whatever it is asked meanwhile is never written, and it exits.
    signal(&paused, "CONT");
    let late = tokio::spawn({
        let dir = s.dir.path().to_path_buf();
        let vkey = s.vkey.clone();
        async move {
            let p = crate::publisher(&dir, &old_url, "example.com/late");
            p.ws.init(
                &[("root", &p.root), ("targets", &p.targets)],
                1,
                1,
                TOKEN,
                &vkey,
            )
            .await
        }
    });
    let exited = tokio::task::spawn_blocking(move || {
        let status = paused.child.wait().unwrap();
        (paused, status)
    });
    let (_paused, status) = tokio::time::timeout(Duration::from_secs(10), exited)
        .await
        .expect("the deposed sequencer exits within its renewal period")
        .unwrap();
    assert!(!status.success(), "it exits with an error: {status}");
    assert!(
        late.await.unwrap().is_err(),
        "a push to the deposed sequencer is not acknowledged"
    );

    // One history: the client that saw the old sequencer follows the new one (new
    // files, proven against a checkpoint consistent with the one it kept).
    let user = self::user(s.dir.path(), &url, &s.vkey);
    let after = user.update("example.com/moved-on", None).await.unwrap();
    let size = after.checkpoint.as_ref().unwrap().size;
    assert!(size >= moved_on, "{size} < {moved_on}");
    assert!(size > before.checkpoint.unwrap().size);
    let lease = store::postgres::PgStore::open(&s.db).unwrap();
    assert_eq!(lease.lease_holder().unwrap().unwrap().token, 2);
    let fresh = self::user(&s.dir.path().join("fresh"), &url, &s.vkey);
    assert!(
        fresh.update("example.com/late", None).await.is_err(),
        "never logged"
    );
}

/// A push through `url` to a repository of its own; returns the log size after it.
async fn push_to_another_repo(s: &Shared, url: &str) -> u64 {
    let p = publisher(s.dir.path(), url, "example.com/moved-on");
    p.init(s.dir.path(), TOKEN, &s.vkey).await;
    let user = user(&s.dir.path().join("mover"), url, &s.vkey);
    user.update("example.com/moved-on", None)
        .await
        .unwrap()
        .checkpoint
        .unwrap()
        .size
}
