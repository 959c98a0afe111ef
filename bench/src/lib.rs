//! Benchmarks live in `benches/`; this library holds what several of them share.
//! See `bench/RESULTS.md` for the figures and the commands that reproduce them.
#![forbid(unsafe_code)]

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
/// samples. Every benchmark here reports p50 and p99 this one way.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank within a slice's length"
    )]
    let rank = (sorted.len().saturating_sub(1) as f64 * p) as usize;
    sorted.get(rank).copied().unwrap_or_default()
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
