//! Benchmarks live in `benches/` and `src/bin/`; this library holds what several of
//! them share. `bench/run` runs the whole set; `bench/RESULTS.md` has the figures.
#![forbid(unsafe_code)]

pub mod load;
pub mod shipped;

use std::time::Duration;

/// A log entry of the shape and size (~190 bytes) of a `tuflog/entry/v1` document,
/// distinct for every `i`; the server benchmarks append these.
pub fn sample_entry(i: u64) -> Vec<u8> {
    format!(
        "{{\"_type\":\"tuflog/entry/v1\",\"length\":{},\"repo\":\"example.com/app\",\"role\":\"targets\",\"sha256\":\"{:064x}\",\"version\":{i}}}",
        1000 + i % 997,
        u128::from(i) * 0x9e37_79b9_7f4a_7c15
    )
    .into_bytes()
}

/// The `p` quantile (0..=1) of `sorted` latencies, by nearest rank below; zero for no
/// samples. Every benchmark here reports quantiles this one way.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank within a slice's length"
    )]
    let rank = (sorted.len().saturating_sub(1) as f64 * p) as usize;
    sorted.get(rank).copied().unwrap_or_default()
}

/// Latencies of one run, sorted.
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// Sorts `samples`.
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `p` quantile in milliseconds.
    pub fn ms(&self, p: f64) -> f64 {
        percentile(&self.0, p).as_secs_f64() * 1e3
    }
}

/// One result line for `bench/run`: `RESULT {json}` on stdout, beside the
/// human-readable output. `fields` are (name, value) pairs of numbers.
#[allow(clippy::print_stdout, reason = "stdout is how bench/run reads results")]
pub fn result(benchmark: &str, case: &str, fields: &[(&str, f64)]) {
    let mut line = serde_json::Map::new();
    line.insert("benchmark".into(), benchmark.into());
    line.insert("case".into(), case.into());
    for (name, value) in fields {
        line.insert((*name).into(), (*value).into());
    }
    println!("RESULT {}", serde_json::Value::Object(line));
}

/// Resident memory of process `pid` now and at its peak (`VmRSS`, `VmHWM`), in KiB.
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The runtime every benchmark drives its clients with: two worker threads, the
/// cores of the machine the figures were taken on.
pub fn two_core_runtime() -> tokio::runtime::Runtime {
    runtime(Some(2))
}

/// A multi-threaded runtime with `workers` threads, or one per core (as a server
/// runs) when `None`.
#[allow(
    clippy::panic,
    reason = "a benchmark whose set-up fails has nothing to measure"
)]
pub fn runtime(workers: Option<usize>) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    builder
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("starting a runtime: {e}"))
}

/// Runs this very executable again with `--serve DIR` (a benchmark's server,
/// in a process of its own so its CPU is not the client's) and returns it with
/// the address it printed as `listening ADDR` on its first line.
#[allow(
    clippy::panic,
    reason = "a benchmark whose set-up fails has nothing to measure"
)]
pub fn serve_in_child(dir: &std::path::Path) -> (std::process::Child, std::net::SocketAddr) {
    use std::io::BufRead;
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("locating myself: {e}"));
    let mut child = std::process::Command::new(exe)
        .arg("--serve")
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the server process: {e}"));
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the server process printed {line:?}"));
    (child, addr)
}
