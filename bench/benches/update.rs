//! `tuflog update` as a user runs it: the whole process (start, TUF workflow over
//! loopback HTTP, a proof bundle per file, persist) against a repository of 1,000
//! targets, beside python-tuf's in-process `Updater.refresh()` of the same repository
//! with no proofs at all.
//!
//! Run: `cargo build --release -p tuflog-cli && cargo bench -p tuflog-bench --bench
//! update` (TUFLOG_BIN names another `tuflog` binary; TUFLOG_BENCH_ROUNDS the
//! rounds). Figures go to `bench/RESULTS.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    missing_docs
)]

use client::publish::Workspace;
use rand_core::OsRng;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tuf::keys::{KeyKind, PrivateKey};
use tuflog_bench::percentile;

const REPO: &str = "bench.example/app";
const TARGETS: usize = 1000;
const TOKEN: &str = "bench-token";

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn tuflog_bin() -> PathBuf {
    if let Some(b) = std::env::var_os("TUFLOG_BIN") {
        return PathBuf::from(b);
    }
    // target/release/deps/update-… → target/release/tuflog
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("tuflog");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build --release -p tuflog-cli` first",
        bin.display()
    );
    bin
}

fn python() -> Option<PathBuf> {
    let out = Command::new(manifest_dir().join("../scripts/python-env"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn main() {
    let rounds: usize = std::env::var("TUFLOG_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = server::Config {
        data_dir: dir.path().join("server"),
        origin: "bench.tuflog.dev/log".into(),
        tokens: vec![server::repos::auth::TokenRule::for_token(
            "bench",
            TOKEN,
            vec![String::new()],
        )],
        ..server::Config::default()
    };
    let srv = server::Server::open(&config).unwrap();
    let vkey_text = srv.verifier_key();
    let vkey = tlog::VerifierKey::parse(&vkey_text).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(srv.run(listener, std::future::pending()));

    // The repository: 1,000 targets, published in one push.
    let home = dir.path().join("publisher");
    let ws = Workspace::open(&home, &url, REPO).unwrap();
    let root_key = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    let targets_key = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    rt.block_on(ws.init(
        &[("root", &root_key), ("targets", &targets_key)],
        1,
        1,
        TOKEN,
        &vkey,
    ))
    .unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    for i in 0..TARGETS {
        let f = files.join(format!("pkg-{i:04}.tgz"));
        std::fs::write(&f, format!("package {i}")).unwrap();
        ws.add(&f, &format!("packages/pkg-{i:04}.tgz"), None)
            .unwrap();
    }
    rt.block_on(ws.publish(&[&targets_key], TOKEN, &vkey))
        .unwrap();
    let root_file = home.join("publish/bench.example%2Fapp/metadata/root.json");

    // tuflog update: a fresh home each round, so every round does the whole
    // first-use update (root v1 proven, then timestamp, snapshot, targets).
    let bin = tuflog_bin();
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..=rounds {
        let user = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let out = Command::new(&bin)
            .args(["update", REPO, "--root"])
            .arg(&root_file)
            .env("TUFLOG_HOME", user.path())
            .env("TUFLOG_SERVER", &url)
            .env("TUFLOG_LOG_KEY", &vkey_text)
            .output()
            .unwrap();
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if round > 0 {
            samples.push(took);
        }
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "tuflog update, whole process, {TARGETS} targets, a proof per file: median {:.2} ms, p90 {:.2} ms, min {:.2} ms ({rounds} rounds)",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.9)),
        ms(samples[0])
    );

    match python() {
        Some(py) => {
            let out = Command::new(py)
                .arg(manifest_dir().join("peers/pytuf_refresh.py"))
                .arg(format!("{url}/repos/{REPO}/metadata"))
                .arg(&root_file)
                .arg(rounds.to_string())
                .output()
                .unwrap();
            println!(
                "python-tuf Updater.refresh(), in-process, no proofs: {}{}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        None => println!("python-tuf peer skipped: scripts/python-env failed"),
    }
}
