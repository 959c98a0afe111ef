//! A monitor catching up with a log over loopback: entry bundles fetched and the
//! tree recomputed, every entry's metadata fetched by content and replayed against
//! TUF rules (a signature check each), state stored batch by batch, as `tuflog
//! monitor` does on first start.
//!
//! The log: a release server in this process, on RocksDB, holding 1,000
//! repositories' first pushes and then timestamp versions (what most of a real log
//! is: timestamps re-signed), appended straight into its sequencer.
//!
//! Run: `cargo bench -p tuflog-bench --bench monitor`
//! (TUFLOG_BENCH_MONITOR_ENTRIES sets the log size, 1,000,000 by default). Figures go
//! to `bench/RESULTS.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::cast_precision_loss,
    missing_docs
)]

use monitor::follower::NoProgress;
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;
use tuf::editor::{new_root, new_targets, next_snapshot, next_timestamp};
use tuf::keys::{KeyKind, PrivateKey};
use tuf::logentry::LogEntry;
use tuf::metadata::{Expires, Metadata, Snapshot, Timestamp};

const REPOS: usize = 1000;

// The allocator `tuflog-monitor` and `tuflog-server` are built with: the catch-up
// is allocation-heavy (JSON, proofs, RocksDB batches), and under glibc's malloc a
// fifth of its CPU time went to the allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A log entry, the SHA-256 of its metadata, and the metadata.
type Logged = (Vec<u8>, [u8; 32], Vec<u8>);

/// One repository's documents, in log order.
fn history(repo: &str, versions: usize) -> Vec<Logged> {
    let expires = Expires::parse("2040-01-01T00:00:00Z").unwrap();
    let keys: Vec<PrivateKey> = (0..4)
        .map(|_| PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap())
        .collect();
    let mut root = new_root(expires, true);
    for (role, k) in ["root", "targets", "snapshot", "timestamp"]
        .iter()
        .zip(&keys)
    {
        root.add_key(role, k.public()).unwrap();
    }
    let root = Metadata::sign_new(root, &[&keys[0]], &mut OsRng).unwrap();
    let targets = Metadata::sign_new(new_targets(expires), &[&keys[1]], &mut OsRng).unwrap();
    let snapshot: Metadata<Snapshot> = Metadata::sign_new(
        next_snapshot(None, &[("targets", &targets)], expires),
        &[&keys[2]],
        &mut OsRng,
    )
    .unwrap();
    let mut docs = vec![
        ("root", root.bytes().to_vec()),
        ("targets", targets.bytes().to_vec()),
        ("snapshot", snapshot.bytes().to_vec()),
    ];
    let mut previous: Option<Timestamp> = None;
    for _ in 0..versions.saturating_sub(3) {
        let t = Metadata::sign_new(
            next_timestamp(previous.as_ref(), &snapshot, expires),
            &[&keys[3]],
            &mut OsRng,
        )
        .unwrap();
        previous = Some(t.signed().clone());
        docs.push(("timestamp", t.bytes().to_vec()));
    }
    docs.into_iter()
        .map(|(role, bytes)| {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let version = v["signed"]["version"].as_u64().unwrap();
            let entry = LogEntry::new(repo, role, version, &bytes)
                .to_bytes()
                .unwrap();
            (entry, Sha256::digest(&bytes).into(), bytes)
        })
        .collect()
}

fn main() {
    let entries: usize = std::env::var("TUFLOG_BENCH_MONITOR_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let per_repo = entries / REPOS;
    let dir = tempfile::tempdir().unwrap();
    let rt = tuflog_bench::two_core_runtime();

    let started = Instant::now();
    // Written on both cores, then interleaved round-robin so consecutive entries
    // belong to different repositories, as on a shared log.
    let histories: Vec<Vec<Logged>> = std::thread::scope(|s| {
        let halves: Vec<_> = (0..2)
            .map(|half| {
                s.spawn(move || {
                    (0..REPOS)
                        .filter(|r| r % 2 == half)
                        .map(|r| history(&format!("bench{r}.example/app"), per_repo))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut order = Vec::with_capacity(entries);
    for i in 0..per_repo {
        for h in &histories {
            if let Some(e) = h.get(i) {
                order.push(e);
            }
        }
    }
    let config = server::Config {
        data_dir: dir.path().join("server"),
        ..server::Config::default()
    };
    let srv = server::Server::open(&config).unwrap();
    let log = srv.log().clone();
    let vkey = tlog::VerifierKey::parse(&srv.verifier_key()).unwrap();
    rt.block_on(async {
        for chunk in order.chunks(1024) {
            let mut append = server::sequencer::Append::default();
            for (i, (entry, sha, bytes)) in chunk.iter().enumerate() {
                append.entries.push(entry.clone());
                append.blobs.push(store::Blob {
                    index: i as u64,
                    sha256: *sha,
                    bytes: bytes.clone(),
                });
            }
            log.append(append).await.unwrap();
        }
    });
    let size = log.latest().size();
    println!(
        "log of {size} entries ({REPOS} repositories) written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(histories);

    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = rt.spawn(srv.run(listener, async move {
        let _ = stopped.await;
    }));

    let kv = store::rocks::RocksKv::open(&dir.path().join("monitor")).unwrap();
    let mut mconfig = monitor::Config::new(&url, vkey);
    mconfig.evidence_dir = dir.path().join("evidence");
    let m = monitor::Monitor::open(mconfig, Arc::new(kv)).unwrap();
    let cpu_before = CpuTimes::now();
    let started = Instant::now();
    let step = rt.block_on(m.follow_once(&NoProgress)).unwrap();
    let took = started.elapsed().as_secs_f64();
    let cpu = CpuTimes::now().since(&cpu_before);
    assert_eq!(
        step,
        monitor::Step::Advanced { from: 0, to: size },
        "the monitor caught up"
    );
    assert!(m.alerts().recent().is_empty(), "{:?}", m.alerts().recent());
    println!(
        "monitor catch-up, {size} entries over loopback, every signature checked: {took:.1} s, {:.0} entries/s",
        size as f64 / took
    );
    println!(
        "CPU during catch-up: {:.1} s in all ({:.1} us per entry, {:.0}% of both cores): runtime workers (server and fetches) {:.1} s, monitor thread {:.1} s, other threads (signature checks, RocksDB) {:.1} s",
        cpu.total,
        cpu.total / size as f64 * 1e6,
        cpu.total / took / 2.0 * 100.0,
        cpu.workers,
        cpu.main,
        cpu.total - cpu.workers - cpu.main
    );
    let _ = stop.send(());
    rt.block_on(serving).unwrap().unwrap();
}

/// CPU seconds used so far by this process, and by its runtime workers and main
/// thread, from /proc (zero where it cannot be read): where the catch-up spends
/// both cores, since the server shares the machine.
#[derive(Default)]
struct CpuTimes {
    total: f64,
    workers: f64,
    main: f64,
}

impl CpuTimes {
    fn now() -> CpuTimes {
        // Fields 14 and 15 of stat (after the parenthesised name): user and system
        // time in clock ticks, 100 per second on Linux.
        fn seconds(stat: &str) -> Option<f64> {
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks: u64 =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        }
        let mut t = CpuTimes {
            total: std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|s| seconds(&s))
                .unwrap_or(0.0),
            ..CpuTimes::default()
        };
        let pid = std::process::id().to_string();
        for task in std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
        {
            let (Ok(stat), Ok(comm)) = (
                std::fs::read_to_string(task.path().join("stat")),
                std::fs::read_to_string(task.path().join("comm")),
            ) else {
                continue;
            };
            let secs = seconds(&stat).unwrap_or(0.0);
            if comm.trim() == "tokio-rt-worker" {
                t.workers += secs;
            } else if task.file_name().to_str() == Some(pid.as_str()) {
                t.main += secs;
            }
        }
        t
    }

    fn since(&self, before: &CpuTimes) -> CpuTimes {
        CpuTimes {
            total: self.total - before.total,
            workers: self.workers - before.workers,
            main: self.main - before.main,
        }
    }
}
