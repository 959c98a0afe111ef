//! A monitor catching up with a log over loopback: entry bundles fetched and the
//! tree recomputed, every entry's metadata fetched by content and replayed against
//! TUF rules (a signature check each), state stored batch by batch, as `tuflog
//! monitor` does on first start.
//!
//! The log: a release server in this process, on RocksDB, holding 1,000
//! repositories' histories, appended straight into its sequencer, in two mixes:
//! - timestamps: each repository's first push, then timestamp versions (what most
//!   of a log is: timestamps re-signed);
//! - releases: the same, with a release every 20th step (a delegated `releases`
//!   role of 100 new files, every fifth release also a new top-level targets of
//!   500 files, then snapshot and timestamp) and a root rotation every 250th step
//!   (new root and timestamp keys, the new root signed by the old and new root keys).
//!
//! Run: `bench/run monitor`, or `cargo bench -p tuflog-bench --bench monitor`
//! (TUFLOG_BENCH_MONITOR_ENTRIES sets the log size, 1,000,000 by default;
//! TUFLOG_BENCH_MONITOR_MIX `timestamps` or `releases`, both by default).
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
use tuf::metadata::{Expires, Metadata, Snapshot, Targets, Timestamp};

const REPOS: usize = 1000;

// The allocator `tuflog-monitor` and `tuflog-server` are built with: the catch-up
// is allocation-heavy (JSON, proofs, RocksDB batches), and under glibc's malloc a
// fifth of its CPU time went to the allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A log entry, the SHA-256 of its metadata, and the metadata.
type Logged = (Vec<u8>, [u8; 32], Vec<u8>);

/// The mix of documents a repository's history holds.
#[derive(Clone, Copy, PartialEq)]
enum Mix {
    Timestamps,
    Releases,
}

impl Mix {
    fn name(self) -> &'static str {
        match self {
            Mix::Timestamps => "timestamps",
            Mix::Releases => "releases, delegations and root rotations",
        }
    }
}

fn logged(repo: &str, docs: Vec<(&str, Vec<u8>)>) -> Vec<Logged> {
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

fn history(repo: &str, versions: usize, mix: Mix) -> Vec<Logged> {
    match mix {
        Mix::Timestamps => timestamps_history(repo, versions),
        Mix::Releases => releases_history(repo, versions),
    }
}

fn key() -> PrivateKey {
    PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap()
}

/// Targets `version` listing `files` files under `prefix`, and delegating
/// `releases/*` to `delegate` when given.
fn targets_of(
    version: u64,
    prefix: &str,
    files: usize,
    delegate: Option<&PrivateKey>,
    signer: &PrivateKey,
    expires: Expires,
) -> Metadata<Targets> {
    let mut t = new_targets(expires);
    t.version = version;
    for f in 0..files {
        t.add_target(
            &format!("{prefix}/v{version}/file-{f:04}.tgz"),
            format!("{prefix} {version} {f}").as_bytes(),
            None,
        )
        .unwrap();
    }
    if let Some(d) = delegate {
        t.add_delegation(
            "releases",
            &[d.public()],
            1,
            vec!["releases/*".into()],
            false,
        )
        .unwrap();
    }
    Metadata::sign_new(t, &[signer], &mut OsRng).unwrap()
}

/// A repository that publishes releases and rotates keys, in log order.
fn releases_history(repo: &str, versions: usize) -> Vec<Logged> {
    let expires = Expires::parse("2040-01-01T00:00:00Z").unwrap();
    let (mut root_key, targets_key, snapshot_key, mut timestamp_key, releases_key) =
        (key(), key(), key(), key(), key());
    let root_of = |version: u64, root_key: &PrivateKey, timestamp_key: &PrivateKey| {
        let mut root = new_root(expires, true);
        root.version = version;
        root.add_key("root", root_key.public()).unwrap();
        root.add_key("targets", targets_key.public()).unwrap();
        root.add_key("snapshot", snapshot_key.public()).unwrap();
        root.add_key("timestamp", timestamp_key.public()).unwrap();
        root
    };
    let root = Metadata::sign_new(
        root_of(1, &root_key, &timestamp_key),
        &[&root_key],
        &mut OsRng,
    )
    .unwrap();
    let mut targets = targets_of(1, "apps", 500, Some(&releases_key), &targets_key, expires);
    let mut releases = targets_of(1, "releases", 100, None, &releases_key, expires);
    let mut snapshot: Metadata<Snapshot> = Metadata::sign_new(
        next_snapshot(
            None,
            &[("targets", &targets), ("releases", &releases)],
            expires,
        ),
        &[&snapshot_key],
        &mut OsRng,
    )
    .unwrap();
    let mut timestamp: Metadata<Timestamp> = Metadata::sign_new(
        next_timestamp(None, &snapshot, expires),
        &[&timestamp_key],
        &mut OsRng,
    )
    .unwrap();
    let mut root_version = 1;
    let mut docs = vec![
        ("root", root.bytes().to_vec()),
        ("targets", targets.bytes().to_vec()),
        ("releases", releases.bytes().to_vec()),
        ("snapshot", snapshot.bytes().to_vec()),
        ("timestamp", timestamp.bytes().to_vec()),
    ];
    let mut step = 0usize;
    while docs.len() < versions {
        step += 1;
        if step.is_multiple_of(250) {
            // A rotation: new root and timestamp keys; the new root is signed by the
            // old root key and the new one (TUF §5.3.4).
            let (new_root_key, new_timestamp_key) = (key(), key());
            root_version += 1;
            let root = Metadata::sign_new(
                root_of(root_version, &new_root_key, &new_timestamp_key),
                &[&root_key, &new_root_key],
                &mut OsRng,
            )
            .unwrap();
            docs.push(("root", root.bytes().to_vec()));
            (root_key, timestamp_key) = (new_root_key, new_timestamp_key);
        } else if step.is_multiple_of(20) {
            releases = targets_of(
                releases.version() + 1,
                "releases",
                100,
                None,
                &releases_key,
                expires,
            );
            let mut changed = vec![("releases", &releases)];
            if step.is_multiple_of(100) {
                targets = targets_of(
                    targets.version() + 1,
                    "apps",
                    500,
                    Some(&releases_key),
                    &targets_key,
                    expires,
                );
                docs.push(("targets", targets.bytes().to_vec()));
                changed.push(("targets", &targets));
            }
            docs.push(("releases", releases.bytes().to_vec()));
            snapshot = Metadata::sign_new(
                next_snapshot(Some(snapshot.signed()), &changed, expires),
                &[&snapshot_key],
                &mut OsRng,
            )
            .unwrap();
            docs.push(("snapshot", snapshot.bytes().to_vec()));
        }
        timestamp = Metadata::sign_new(
            next_timestamp(Some(timestamp.signed()), &snapshot, expires),
            &[&timestamp_key],
            &mut OsRng,
        )
        .unwrap();
        docs.push(("timestamp", timestamp.bytes().to_vec()));
    }
    docs.truncate(versions);
    logged(repo, docs)
}

/// One repository's first push, then timestamps, in log order.
fn timestamps_history(repo: &str, versions: usize) -> Vec<Logged> {
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
    logged(repo, docs)
}

fn main() {
    let entries: usize = std::env::var("TUFLOG_BENCH_MONITOR_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mixes = match std::env::var("TUFLOG_BENCH_MONITOR_MIX").as_deref() {
        Ok("timestamps") => vec![Mix::Timestamps],
        Ok("releases") => vec![Mix::Releases],
        _ => vec![Mix::Timestamps, Mix::Releases],
    };
    for mix in mixes {
        catch_up(entries, mix);
    }
}

/// Writes a log of `entries` entries of `mix`, then times a monitor catching up.
fn catch_up(entries: usize, mix: Mix) {
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
                        .map(|r| history(&format!("bench{r}.example/app"), per_repo, mix))
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
    let bytes: usize = order.iter().map(|(_, _, b)| b.len()).sum();
    println!(
        "log of {size} entries ({REPOS} repositories, {}, {} MB of metadata) written in {:.1} s",
        mix.name(),
        bytes / 1_000_000,
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
    tuflog_bench::result(
        "monitor",
        &format!("catch-up, {size} entries, {}", mix.name()),
        &[
            ("entries_per_second", size as f64 / took),
            ("seconds", took),
        ],
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
