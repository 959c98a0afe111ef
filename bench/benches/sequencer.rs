//! The sequencer over RocksDB, in-process: integration throughput under a flood of
//! appends, and append-to-checkpoint latency under a light load, at several batch
//! settings. Every batch is a synced write and a signed checkpoint, as in service.
//!
//! Run: `cargo bench -p tuflog-bench --bench sequencer` (TUFLOG_BENCH_ENTRIES sets
//! the flood size, default 1,000,000). Figures go to `bench/RESULTS.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::print_stdout,
    clippy::panic,
    missing_docs
)]

use server::metrics::Metrics;
use server::sequencer::{Append, Config, Log};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tlog::note::{KeyName, SignatureType};
use tlog::SignerKey;

/// Concurrent appenders in the light-load latency run.
const LIGHT_CLIENTS: usize = 64;
const LIGHT_APPENDS: usize = 20_000;

use tuflog_bench::percentile;
use tuflog_bench::sample_entry as entry;

fn open(config: Config) -> (tempfile::TempDir, Arc<Log>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store::rocks::RocksStore::open(dir.path()).unwrap());
    let key = SignerKey::generate(
        KeyName::new("bench.tuflog.dev/log").unwrap(),
        SignatureType::Ed25519,
        &mut rand_core::OsRng,
    );
    let signer = Arc::new(server::signing::LocalCheckpointSigner::new(key));
    let log = Log::open(store, signer, config, Arc::new(Metrics::new().unwrap())).unwrap();
    (dir, Arc::new(log))
}

/// Appends `total` one-entry appends from `clients` concurrent tasks, each waiting
/// for its acknowledgement before the next. Returns entries/s and latencies.
fn run(log: &Arc<Log>, total: usize, clients: usize) -> (f64, Vec<Duration>) {
    let rt = tuflog_bench::two_core_runtime();
    rt.block_on(async {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let log = log.clone();
            let n = total / clients;
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(n);
                for i in 0..n {
                    let e = entry((c * n + i) as u64);
                    loop {
                        let t = Instant::now();
                        let append = Append {
                            entries: vec![e.clone()],
                            ..Append::default()
                        };
                        match log.append(append).await {
                            Ok(_) => {
                                lat.push(t.elapsed());
                                break;
                            }
                            Err(server::Error::Overloaded(_)) => tokio::task::yield_now().await,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                lat
            }));
        }
        let mut all = Vec::with_capacity(total);
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let rate = all.len() as f64 / started.elapsed().as_secs_f64();
        all.sort();
        (rate, all)
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a listing; there is nothing to list.
    }
    let total: usize = std::env::var("TUFLOG_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let settings = [
        (256, Duration::ZERO),
        (1024, Duration::from_millis(1)),
        (4096, Duration::from_millis(2)),
        (16384, Duration::from_millis(5)),
    ];
    println!("| max batch | max delay | flood entries/s | flood p50 | flood p99 | {LIGHT_CLIENTS} clients entries/s | p50 | p99 |");
    println!("|---|---|---|---|---|---|---|---|");
    for (max_batch_entries, max_batch_delay) in settings {
        let config = Config {
            max_batch_entries,
            max_batch_delay,
            ..Config::default()
        };
        // Flood: enough clients to keep two batches queued at all times.
        let (_dir, log) = open(config.clone());
        let (flood_rate, flood) = run(&log, total, (2 * max_batch_entries).max(512));
        drop(log);
        let (_dir, log) = open(config);
        let (light_rate, light) = run(&log, LIGHT_APPENDS, LIGHT_CLIENTS);
        println!(
            "| {max_batch_entries} | {max_batch_delay:?} | {flood_rate:.0} | {:.2?} | {:.2?} | {light_rate:.0} | {:.2?} | {:.2?} |",
            percentile(&flood, 0.5),
            percentile(&flood, 0.99),
            percentile(&light, 0.5),
            percentile(&light, 0.99),
        );
        tuflog_bench::result(
            "sequencer",
            &format!("batch {max_batch_entries}, delay {max_batch_delay:?}"),
            &[
                ("flood_entries_per_second", flood_rate),
                ("light_entries_per_second", light_rate),
                ("light_p99_ms", percentile(&light, 0.99).as_secs_f64() * 1e3),
            ],
        );
    }
}
