//! TUF client benchmarks, beside python-tuf and tough on the same repository.
//!
//! Run: `cargo bench -p tuflog-bench --bench tuf`. The repository: a 3-of-5 root
//! chain of 10 rotations (11 root versions, each signed by three old and three new
//! keys), and targets metadata with 10,000 targets. python-tuf (the pinned version of
//! `scripts/python-env`) is timed in its own process over the same bytes; tough loads
//! the same files through its filesystem transport.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::print_stdout,
    missing_docs
)]

use criterion::{criterion_group, criterion_main, Criterion};
use rand_core::OsRng;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use tuf::editor::{bump, new_root, new_targets, next_snapshot, next_timestamp};
use tuf::metadata::Expires;
use tuf::threshold::{verify_threshold, Authorization};
use tuf::updater::{Limits, Response, Updater};
use tuf::{KeyKind, Metadata, PrivateKey, Root, Targets};

/// The package directory, read when the test runs: a test binary built in another
/// clone sharing `CARGO_TARGET_DIR` (CI's clean clone) would otherwise look for its
/// files in that clone, gone by now.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

// The allocator of every tuflog binary that runs this code (`tuflog update`, the
// server, the monitor): parsed metadata is many small allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROTATIONS: usize = 10;
const TARGETS: usize = 10_000;

struct Fixture {
    dir: tempfile::TempDir,
    roots: Vec<Vec<u8>>,
    timestamp: Vec<u8>,
    snapshot: Vec<u8>,
    targets: Vec<u8>,
    target: String,
}

fn fixture() -> Fixture {
    let expires = Expires(chrono::Utc::now() + chrono::Duration::days(365));
    let gen = || PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    let mut keys: Vec<PrivateKey> = (0..5).map(|_| gen()).collect();
    let (targets_key, snapshot_key, timestamp_key) = (gen(), gen(), gen());
    let mut root = new_root(expires, true);
    for k in &keys {
        root.add_key("root", k.public()).unwrap();
    }
    root.set_threshold("root", 3).unwrap();
    root.add_key("targets", targets_key.public()).unwrap();
    root.add_key("snapshot", snapshot_key.public()).unwrap();
    root.add_key("timestamp", timestamp_key.public()).unwrap();
    let first: Vec<&PrivateKey> = keys.iter().take(3).collect();
    let mut roots = vec![Metadata::sign_new(root.clone(), &first, &mut OsRng).unwrap()];
    for r in 0..ROTATIONS {
        // Replace one key; three old keys and three new keys sign (the two that stay
        // sign once and count for both).
        let replaced = r % 5;
        let new = gen();
        bump(&mut root, expires);
        root.remove_key("root", keys[replaced].key_id()).unwrap();
        root.add_key("root", new.public()).unwrap();
        let old_signer = std::mem::replace(&mut keys[replaced], new);
        let mut signers: Vec<&PrivateKey> = vec![&old_signer, &keys[replaced]];
        signers.extend(
            keys.iter()
                .enumerate()
                .filter(|(i, _)| *i != replaced)
                .map(|(_, k)| k)
                .take(2),
        );
        roots.push(Metadata::sign_new(root.clone(), &signers, &mut OsRng).unwrap());
    }
    let mut t: Targets = new_targets(expires);
    for i in 0..TARGETS {
        let path = format!("pkg/{}/release-{i}.tar.gz", i % 97);
        t.add_target(&path, format!("contents {i}").as_bytes(), None)
            .unwrap();
    }
    let targets = Metadata::sign_new(t, &[&targets_key], &mut OsRng).unwrap();
    let snapshot = Metadata::sign_new(
        next_snapshot(None, &[("targets", &targets)], expires),
        &[&snapshot_key],
        &mut OsRng,
    )
    .unwrap();
    let timestamp = Metadata::sign_new(
        next_timestamp(None, &snapshot, expires),
        &[&timestamp_key],
        &mut OsRng,
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("metadata");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::create_dir_all(dir.path().join("targets")).unwrap();
    for r in &roots {
        std::fs::write(meta.join(format!("{}.root.json", r.version())), r.bytes()).unwrap();
    }
    std::fs::write(meta.join("timestamp.json"), timestamp.bytes()).unwrap();
    std::fs::write(meta.join("1.snapshot.json"), snapshot.bytes()).unwrap();
    std::fs::write(meta.join("1.targets.json"), targets.bytes()).unwrap();
    let target = format!("pkg/{}/release-5000.tar.gz", 5000 % 97);
    assert!(targets.signed().targets.contains_key(&target));
    std::fs::write(dir.path().join("target.txt"), &target).unwrap();
    Fixture {
        dir,
        roots: roots.iter().map(|r| r.bytes().to_vec()).collect(),
        timestamp: timestamp.bytes().to_vec(),
        snapshot: snapshot.bytes().to_vec(),
        targets: targets.bytes().to_vec(),
        target,
    }
}

fn serve<'a>(f: &'a Fixture) -> impl Fn(&str) -> Response + 'a {
    move |path: &str| {
        let bytes = match path {
            "timestamp.json" => Some(&f.timestamp),
            "1.snapshot.json" => Some(&f.snapshot),
            "1.targets.json" => Some(&f.targets),
            p => p
                .strip_suffix(".root.json")
                .and_then(|v| v.parse::<usize>().ok())
                .and_then(|v| f.roots.get(v - 1)),
        };
        bytes.map_or(Response::NotFound, |b| Response::Bytes(b.clone().into()))
    }
}

fn root_chain(f: &Fixture) -> Updater {
    let serve = serve(f);
    let mut u = Updater::new(&f.roots[0], chrono::Utc::now(), Limits::default()).unwrap();
    while let Some(req) = u.next_request().unwrap() {
        if req.role != "root" {
            break;
        }
        u.handle(serve(&req.path)).unwrap();
    }
    u
}

fn full_update(f: &Fixture) -> u64 {
    let serve = serve(f);
    let mut u = Updater::new(&f.roots[0], chrono::Utc::now(), Limits::default()).unwrap();
    while let Some(req) = u.next_request().unwrap() {
        u.handle(serve(&req.path)).unwrap();
    }
    u.start_lookup(&f.target).unwrap();
    u.found_target().unwrap().1.length
}

fn tough_full_update(rt: &tokio::runtime::Runtime, dir: &Path, root: &[u8], target: &str) -> bool {
    let meta = url::Url::from_directory_path(dir.join("metadata")).unwrap();
    let targets = url::Url::from_directory_path(dir.join("targets")).unwrap();
    rt.block_on(async {
        let repo = tough::RepositoryLoader::new(&root, meta, targets)
            .load()
            .await
            .unwrap();
        let name = tough::TargetName::new(target).unwrap();
        repo.targets().signed.targets.contains_key(&name)
    })
}

fn python() -> Option<PathBuf> {
    let root = manifest_dir().join("..");
    let out = std::process::Command::new(root.join("scripts/python-env"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    let final_root: Metadata<Root> = Metadata::from_bytes(f.roots.last().unwrap()).unwrap();

    let mut g = c.benchmark_group("tuf");
    g.sample_size(20);
    g.bench_function("verify_targets_10k/tuflog", |b| {
        b.iter(|| {
            let t: Metadata<Targets> = Metadata::from_bytes(black_box(&f.targets)).unwrap();
            let auth = Authorization::top_level(final_root.signed(), "targets").unwrap();
            verify_threshold(&auth, &t).unwrap();
        })
    });
    g.bench_function("root_chain_10_rotations/tuflog", |b| {
        b.iter(|| black_box(root_chain(&f)))
    });
    g.bench_function("full_update/tuflog", |b| {
        b.iter(|| black_box(full_update(&f)))
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(tough_full_update(&rt, f.dir.path(), &f.roots[0], &f.target));
    g.bench_function("full_update/tough_from_files", |b| {
        b.iter(|| black_box(tough_full_update(&rt, f.dir.path(), &f.roots[0], &f.target)))
    });
    g.finish();

    // python-tuf in its own process, over the same files, median of 20 rounds.
    match python() {
        Some(py) => {
            let script = manifest_dir().join("peers/pytuf_bench.py");
            let out = std::process::Command::new(py)
                .arg(script)
                .arg(f.dir.path())
                .arg("20")
                .output()
                .unwrap();
            println!(
                "python-tuf (median seconds): {}{}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            if let Ok(serde_json::Value::Object(medians)) = serde_json::from_slice(&out.stdout) {
                for (case, seconds) in medians {
                    if let Some(s) = seconds.as_f64() {
                        tuflog_bench::result(
                            "tuf",
                            &format!("tuf/{case}/python-tuf"),
                            &[("median_us", s * 1e6)],
                        );
                    }
                }
            }
        }
        None => println!("python-tuf: not available (run scripts/setup)"),
    }
}

criterion_group!(tuf_benches, benches);
criterion_main!(tuf_benches);
