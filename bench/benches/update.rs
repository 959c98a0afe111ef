//! `tuflog update` as a user runs it: the whole process (start, TUF workflow over
//! loopback HTTP, a proof bundle per file, persist) against a repository of 1,000
//! targets, beside two peers on the same repository with no proofs at all:
//! python-tuf's in-process `Updater.refresh()`, and tough as a whole process
//! (`tuflog-bench-tough-update`).
//!
//! Every side runs as deployed: the release `tuflog-server` in its own process, and
//! the release `tuflog` started afresh for every update. The peers' rounds alternate
//! with tuflog's, so every side meets the same moments of a noisy machine;
//! python-tuf's rounds are then also run back to back.
//!
//! Run: `bench/run update`, or `cargo build --release -p tuflog-cli -p tuflog-daemons
//! -p tuflog-bench --bins && cargo bench -p tuflog-bench --bench update`
//! (TUFLOG_BIN names another `tuflog` binary, with its `tuflog-server` beside it;
//! TUFLOG_BENCH_ROUNDS the rounds).
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
        "{} missing: run `cargo build --release -p tuflog-cli -p tuflog-daemons --bins` first",
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bin = tuflog_bin();
    // The server as deployed: the release `tuflog-server`, its own process.
    let server = tuflog_bench::shipped::ShippedServer::start(
        &bin.with_file_name("tuflog-server"),
        &dir.path().join("server"),
    );
    let (url, vkey_text) = (
        format!("http://{}", server.addr),
        server.verifier_key.clone(),
    );
    let token = server.token.as_str();
    let vkey = tlog::VerifierKey::parse(&vkey_text).unwrap();

    // The repository: 1,000 targets, published in one push.
    let home = dir.path().join("publisher");
    let ws = Workspace::open(&home, &url, REPO).unwrap();
    let root_key = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    let targets_key = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    rt.block_on(ws.init(
        &[("root", &root_key), ("targets", &targets_key)],
        1,
        1,
        token,
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
    rt.block_on(ws.publish(&[&targets_key], token, &vkey))
        .unwrap();
    let root_file = home.join("publish/bench.example%2Fapp/metadata/root.json");

    // The set-up wrote megabytes (server database, publisher workspace, 1,000
    // files); flushed now, so their writeback does not queue in front of the
    // updates' own syncs.
    assert!(Command::new("sync").status().unwrap().success());

    // python-tuf in one long-lived interpreter, asked for one round at a time so
    // its rounds alternate with tuflog's and both meet the same moments of the
    // machine (two runs of one side minutes apart differed by 2x here).
    let mut peer = python().and_then(|py| Peer::start(&py, &url, REPO, &root_file));
    if peer.is_none() {
        println!("python-tuf peer skipped: scripts/python-env failed");
    }

    // tuflog update: a fresh home each round, so every round does the whole
    // first-use update (root v1 proven, then timestamp, snapshot, targets).
    let mut samples = Vec::with_capacity(rounds);
    let mut peer_samples = Vec::with_capacity(rounds);

    // tough as a whole process too, over the same server and root.
    // target/release/deps/update-… → target/release/tuflog-bench-tough-update
    let tough = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.join("tuflog-bench-tough-update")))
        .filter(|b| b.exists());
    if tough.is_none() {
        println!(
            "tough peer skipped: build it with `cargo build --release -p tuflog-bench --bins`"
        );
    }
    let tough_args = [
        root_file.display().to_string(),
        format!("{url}/repos/{REPO}/metadata/"),
        "packages/pkg-0000.tgz".to_string(),
    ];
    let mut tough_samples = Vec::with_capacity(rounds);
    for round in 0..=rounds {
        // Round 0 warms both up; who goes first alternates.
        let peer_first = round % 2 == 1;
        if peer_first {
            peer_round(&mut peer, round > 0, &mut peer_samples);
            tough_round(tough.as_deref(), &tough_args, round > 0, &mut tough_samples);
        }
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
        if !peer_first {
            peer_round(&mut peer, round > 0, &mut peer_samples);
            tough_round(tough.as_deref(), &tough_args, round > 0, &mut tough_samples);
        }
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = percentile(&samples, 0.5);
    println!(
        "tuflog update, whole process, {TARGETS} targets, a proof per file: median {:.2} ms, p90 {:.2} ms, min {:.2} ms ({rounds} rounds)",
        ms(median),
        ms(percentile(&samples, 0.9)),
        ms(samples[0])
    );
    tuflog_bench::result(
        "update",
        "tuflog update, whole process",
        &[
            ("median_ms", ms(median)),
            ("p90_ms", ms(percentile(&samples, 0.9))),
            ("min_ms", ms(samples[0])),
        ],
    );
    if !peer_samples.is_empty() {
        peer_samples.sort();
        let peer_median = percentile(&peer_samples, 0.5);
        println!(
            "python-tuf Updater.refresh(), in-process, no proofs, rounds alternated with tuflog's: median {:.2} ms, p90 {:.2} ms, min {:.2} ms",
            ms(peer_median),
            ms(percentile(&peer_samples, 0.9)),
            ms(peer_samples[0])
        );
        tuflog_bench::result(
            "update",
            "python-tuf refresh, in-process, alternated",
            &[
                ("median_ms", ms(peer_median)),
                ("p90_ms", ms(percentile(&peer_samples, 0.9))),
                ("min_ms", ms(peer_samples[0])),
            ],
        );
        println!(
            "tuflog is {:.2}x as fast (medians)",
            peer_median.as_secs_f64() / median.as_secs_f64()
        );
    }
    if !tough_samples.is_empty() {
        tough_samples.sort();
        let tough_median = percentile(&tough_samples, 0.5);
        println!(
            "tough, whole process, rounds alternated with tuflog's: median {:.2} ms, p90 {:.2} ms, min {:.2} ms; tuflog {:.2}x as fast",
            ms(tough_median),
            ms(percentile(&tough_samples, 0.9)),
            ms(tough_samples[0]),
            tough_median.as_secs_f64() / median.as_secs_f64()
        );
        tuflog_bench::result(
            "update",
            "tough, whole process, alternated",
            &[
                ("median_ms", ms(tough_median)),
                ("p90_ms", ms(percentile(&tough_samples, 0.9))),
                ("min_ms", ms(tough_samples[0])),
            ],
        );
    }
    // python-tuf's rounds back to back as well, as this bench measured them before
    // it alternated: its caches stay warm between rounds.
    if let Some(p) = &mut peer {
        let mut back_to_back: Vec<Duration> = (0..rounds).map(|_| p.round()).collect();
        back_to_back.sort();
        let peer_median = percentile(&back_to_back, 0.5);
        println!(
            "python-tuf Updater.refresh(), its rounds back to back: median {:.2} ms, min {:.2} ms; tuflog {:.2}x as fast",
            ms(peer_median),
            ms(back_to_back[0]),
            peer_median.as_secs_f64() / median.as_secs_f64()
        );
    }
}

/// One python-tuf round, if the peer runs, its time kept in `samples` if `keep`.
fn peer_round(peer: &mut Option<Peer>, keep: bool, samples: &mut Vec<Duration>) {
    if let Some(p) = peer {
        let took = p.round();
        if keep {
            samples.push(took);
        }
    }
}

/// One tough update as a whole process, its time kept in `samples` if `keep`.
fn tough_round(
    bin: Option<&std::path::Path>,
    args: &[String; 3],
    keep: bool,
    samples: &mut Vec<Duration>,
) {
    let Some(bin) = bin else { return };
    let start = Instant::now();
    let out = Command::new(bin).args(args).output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "tough: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if keep {
        samples.push(took);
    }
}

/// python-tuf's refresh in a long-lived interpreter (`peers/pytuf_refresh.py`
/// serving rounds on request).
struct Peer {
    child: std::process::Child,
    ask: std::process::ChildStdin,
    answers: std::io::BufReader<std::process::ChildStdout>,
}

impl Peer {
    fn start(py: &std::path::Path, url: &str, repo: &str, root: &std::path::Path) -> Option<Peer> {
        use std::process::Stdio;
        let mut child = Command::new(py)
            .arg(manifest_dir().join("peers/pytuf_refresh.py"))
            .arg(format!("{url}/repos/{repo}/metadata"))
            .arg(root)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let ask = child.stdin.take()?;
        let answers = std::io::BufReader::new(child.stdout.take()?);
        Some(Peer {
            child,
            ask,
            answers,
        })
    }

    /// One refresh from an empty metadata directory, as the peer timed it.
    fn round(&mut self) -> Duration {
        use std::io::{BufRead, Write};
        writeln!(self.ask, "round").unwrap();
        self.ask.flush().unwrap();
        let mut line = String::new();
        self.answers.read_line(&mut line).unwrap();
        let ms: f64 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("python-tuf peer answered {line:?}"));
        Duration::from_secs_f64(ms / 1e3)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
