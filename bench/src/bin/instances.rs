//! `tuflog-instances`: two shipped `tuflog-server` instances on one PostgreSQL
//! database, as docs/SCALING.md lays them out, and what an operator would measure:
//! pushes/s sent to the sequencer and to the follower (which forwards them), reads/s
//! served by one instance and by both (the same load split between them), and the
//! time from SIGKILL of the sequencer to the follower integrating.
//!
//! `bench/run instances` runs it: `tuflog-instances --database-url URL [--server-bin
//! PATH] [--pushes N] [--seconds S] [--connections C] [--failovers F]`; the database
//! must be empty. Pushes are `tuflog-pushload` runs beside this executable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tuflog_bench::load::{checkpoint_size, closed_loop, full_tile, next, PathFn};
use tuflog_bench::shipped::ShippedServer;

const REPOS: u64 = 100;

struct Args {
    database_url: String,
    server_bin: Option<PathBuf>,
    pushes: usize,
    seconds: u64,
    connections: usize,
    failovers: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        database_url: String::new(),
        server_bin: None,
        pushes: 10_000,
        seconds: 5,
        connections: 32,
        failovers: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--database-url" => a.database_url = value(),
            "--server-bin" => a.server_bin = Some(value().into()),
            "--pushes" => a.pushes = value().parse().unwrap(),
            "--seconds" => a.seconds = value().parse().unwrap(),
            "--connections" => a.connections = value().parse().unwrap(),
            "--failovers" => a.failovers = value().parse().unwrap(),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        !a.database_url.is_empty(),
        "--database-url names an empty database"
    );
    assert!(
        a.connections >= 2,
        "--connections of at least 2, split between instances"
    );
    a
}

/// An instance on the shared database: the sequencer if the lease is free, else a
/// follower. Both share the data directory, and so the keys and the write token.
fn instance(bin: &Path, data: &Path, config: &Path) -> ShippedServer {
    ShippedServer::start_with(bin, data, Some(config))
}

/// `tuflog-pushload` against `url`, its figures recorded under `note`.
fn push(bin: &Path, url: &str, token: &str, pushes: usize, prefix: &str, note: &str) {
    let status = Command::new(bin.with_file_name("tuflog-pushload"))
        .args(["--server", url, "--token", token, "--transport", "grpc"])
        .args(["--clients", "64", "--repos", &REPOS.to_string()])
        .args(["--pushes", &pushes.to_string(), "--repo-prefix", prefix])
        .args(["--case-note", note])
        .status()
        .unwrap();
    assert!(status.success(), "tuflog-pushload failed");
}

async fn is_sequencer(addr: SocketAddr) -> bool {
    match edge::Http::new()
        .get(&format!("http://{addr}/readyz"), 1 << 12)
        .await
    {
        Ok(Some(body)) => String::from_utf8_lossy(&body).trim() == "ready",
        _ => false,
    }
}

fn main() {
    let args = parse_args();
    let bin = args
        .server_bin
        .clone()
        .unwrap_or_else(tuflog_bench::shipped::default_binary);
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("server");
    let config = temp.path().join("tuflog.toml");
    std::fs::write(
        &config,
        format!("database_url = \"{}\"\n", args.database_url),
    )
    .unwrap();
    let rt = tuflog_bench::two_core_runtime();

    let mut sequencer = instance(&bin, &data, &config);
    let mut follower = instance(&bin, &data, &config);
    assert!(rt.block_on(is_sequencer(sequencer.addr)));
    assert!(!rt.block_on(is_sequencer(follower.addr)));
    let token = sequencer.token.clone();

    // Pushes, to the sequencer and then (other repositories) to the follower.
    let half = args.pushes / 2;
    let to_sequencer = format!("http://{}", sequencer.addr);
    let to_follower = format!("http://{}", follower.addr);
    push(
        &bin,
        &to_sequencer,
        &token,
        half,
        "bench.example/direct-",
        "to the sequencer",
    );
    push(
        &bin,
        &to_follower,
        &token,
        half,
        "bench.example/forwarded-",
        "to a follower, forwarded",
    );

    // Reads: the follower has caught up with the sequencer first.
    let size = rt.block_on(checkpoint_size(&to_sequencer));
    while rt.block_on(checkpoint_size(&to_follower)) < size {
        std::thread::sleep(Duration::from_millis(20));
    }
    let versions = (half as u64 / REPOS).max(1);
    let scenarios: Vec<(&str, PathFn)> = vec![
        (
            "targets version by number, random repository",
            Arc::new(move |r| {
                format!(
                    "/repos/bench.example/direct-{}/metadata/{}.targets.json",
                    next(r) % REPOS,
                    1 + next(r) % versions
                )
            }),
        ),
        (
            "proof bundle with consistency, random repository and version",
            Arc::new(move |r| {
                format!(
                    "/repos/bench.example/direct-{}/proof/{}.targets.json?from={}",
                    next(r) % REPOS,
                    1 + next(r) % versions,
                    1 + next(r) % size
                )
            }),
        ),
        (
            "full entry bundle, random",
            Arc::new(move |r| {
                format!("/log/{}", full_tile(r, size, tlog::tile::TilePath::Entries))
            }),
        ),
    ];
    let seconds = Duration::from_secs(args.seconds);
    println!("| request | one instance, requests/s | two instances, requests/s |");
    println!("|---|---|---|");
    for (name, path) in scenarios {
        let (one, _) = rt.block_on(closed_loop(
            sequencer.addr,
            args.connections,
            seconds,
            path.clone(),
        ));
        let (a, b) = rt.block_on(async {
            tokio::join!(
                closed_loop(sequencer.addr, args.connections / 2, seconds, path.clone()),
                closed_loop(follower.addr, args.connections / 2, seconds, path.clone()),
            )
        });
        let two = a.0 + b.0;
        println!("| {name} | {one:.0} | {two:.0} |");
        tuflog_bench::result(
            "instances",
            name,
            &[
                ("one_instance_requests_per_second", one),
                ("two_instances_requests_per_second", two),
            ],
        );
    }

    // Failover: the sequencer is killed; the follower integrates; the killed one
    // comes back as the next follower.
    for round in 1..=args.failovers {
        let killed = Instant::now();
        sequencer.kill();
        while !rt.block_on(is_sequencer(follower.addr)) {
            assert!(
                killed.elapsed() < Duration::from_secs(60),
                "no instance integrates a minute after the sequencer was killed"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let took = killed.elapsed().as_secs_f64();
        println!("failover {round}: the follower integrates {took:.2} s after SIGKILL");
        tuflog_bench::result("instances", "failover after SIGKILL", &[("seconds", took)]);
        sequencer = follower;
        follower = instance(&bin, &data, &config);
    }
    follower.stop();
    sequencer.stop();
}
