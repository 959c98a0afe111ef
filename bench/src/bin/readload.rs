//! `tuflog-readload`: restarts the shipped `tuflog-server` on a log that holds
//! repositories (one `tuflog-pushload` filled) and measures what an operator and the
//! clients see: the time from start to ready, then reads per second and their
//! latency for every read route a client, a monitor or a witness uses, and the
//! server's resident memory under that load.
//!
//! `bench/run` runs it: `tuflog-readload --data-dir DIR --repos N --versions K
//! [--restarts R] [--seconds S] [--connections C] [--server-bin PATH]`, where
//! repositories `bench.example/repo-0..N` hold targets versions 1..=K, as
//! `tuflog-pushload --repos N` leaves them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tuflog_bench::load::{checkpoint_size, closed_loop, full_tile, log_routes, next, PathFn};
use tuflog_bench::shipped::ShippedServer;

struct Args {
    data_dir: PathBuf,
    repos: u64,
    versions: u64,
    restarts: usize,
    seconds: u64,
    connections: usize,
    server_bin: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut a = Args {
        data_dir: PathBuf::new(),
        repos: 0,
        versions: 0,
        restarts: 5,
        seconds: 5,
        connections: 32,
        server_bin: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--data-dir" => a.data_dir = value().into(),
            "--repos" => a.repos = value().parse().unwrap(),
            "--versions" => a.versions = value().parse().unwrap(),
            "--restarts" => a.restarts = value().parse().unwrap(),
            "--seconds" => a.seconds = value().parse().unwrap(),
            "--connections" => a.connections = value().parse().unwrap(),
            "--server-bin" => a.server_bin = Some(value().into()),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        a.data_dir.join("admin.token").exists(),
        "--data-dir names a server's data directory"
    );
    assert!(
        a.repos > 0 && a.versions > 1 && a.restarts > 0,
        "--repos N --versions K (K > 1)"
    );
    a
}

fn main() {
    let args = parse_args();
    let bin = args
        .server_bin
        .clone()
        .unwrap_or_else(tuflog_bench::shipped::default_binary);
    let mut server = None;
    for run in 0..args.restarts {
        if let Some(s) = server.take() {
            ShippedServer::stop(s);
        }
        let s = ShippedServer::start(&bin, &args.data_dir);
        let ms = s.time_to_ready.as_secs_f64() * 1e3;
        let (rss, _) = s.rss_kib();
        println!(
            "start {}: ready in {ms:.0} ms, RSS {} MiB",
            run + 1,
            rss / 1024
        );
        tuflog_bench::result(
            "restart",
            "start to ready",
            &[("ms", ms), ("rss_mib", rss as f64 / 1024.0)],
        );
        server = Some(s);
    }
    let server = server.unwrap();
    let addr = server.addr;
    let rt = tuflog_bench::two_core_runtime();
    let size = rt.block_on(checkpoint_size(&format!("http://{addr}")));
    println!(
        "log size {size}, {} repositories of {} targets versions",
        args.repos, args.versions
    );
    let (repos, versions) = (args.repos, args.versions);
    let repo = move |r: &mut u64| format!("bench.example/repo-{}", next(r) % repos);
    let mut scenarios = log_routes(size);
    scenarios.extend::<Vec<(&str, PathFn)>>(vec![
        (
            "full entry bundle, random",
            Arc::new(move |r| {
                format!("/log/{}", full_tile(r, size, tlog::tile::TilePath::Entries))
            }),
        ),
        (
            "targets version by number, random repository",
            Arc::new(move |r| {
                format!(
                    "/repos/{}/metadata/{}.targets.json",
                    repo(r),
                    1 + next(r) % versions
                )
            }),
        ),
        (
            "timestamp.json, random repository",
            Arc::new(move |r| format!("/repos/{}/metadata/timestamp.json", repo(r))),
        ),
        (
            "proof bundle with consistency, random repository and version",
            Arc::new(move |r| {
                format!(
                    "/repos/{}/proof/{}.targets.json?from={}",
                    repo(r),
                    1 + next(r) % versions,
                    1 + next(r) % size
                )
            }),
        ),
        (
            "update pack after root 1, random repository",
            Arc::new(move |r| format!("/repos/{}/update?root=1", repo(r))),
        ),
    ]);
    println!("| request | requests/s | p50 ms | p99 ms | p999 ms |");
    println!("|---|---|---|---|---|");
    for (name, path) in scenarios {
        let (rate, lat) = rt.block_on(closed_loop(
            addr,
            args.connections,
            Duration::from_secs(args.seconds),
            path,
        ));
        println!(
            "| {name} | {rate:.0} | {:.2} | {:.2} | {:.2} |",
            lat.ms(0.5),
            lat.ms(0.99),
            lat.ms(0.999)
        );
        tuflog_bench::result(
            "readload",
            name,
            &[
                ("requests_per_second", rate),
                ("p50_ms", lat.ms(0.5)),
                ("p99_ms", lat.ms(0.99)),
                ("p999_ms", lat.ms(0.999)),
            ],
        );
    }
    let (rss, peak) = server.rss_kib();
    println!(
        "server RSS after the reads: {} MiB, peak {} MiB",
        rss / 1024,
        peak / 1024
    );
    tuflog_bench::result(
        "readload",
        "server memory",
        &[
            ("rss_mib", rss as f64 / 1024.0),
            ("rss_peak_mib", peak as f64 / 1024.0),
        ],
    );
    server.stop();
}
