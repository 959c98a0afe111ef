//! The log server over loopback HTTP on a log of 1,000,000 entries: proof, tile and
//! checkpoint requests per second with latency percentiles, and the server's
//! resident memory. The server runs as a separate process (this binary re-executed
//! with `--serve DIR`), so its RSS is its own.
//!
//! Run: `cargo bench -p tuflog-bench --bench server` (TUFLOG_BENCH_LOG_SIZE sets the
//! log size, TUFLOG_BENCH_SECONDS the length of each run). Figures go to
//! `bench/RESULTS.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::print_stdout,
    clippy::panic,
    missing_docs
)]

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tuflog_bench::load::{closed_loop, full_tile, log_routes, next, PathFn};
use tuflog_bench::rss_kib;
use tuflog_bench::Latencies;

/// Keep-alive connections the load generator holds open.
const CONNECTIONS: usize = 32;

async fn load(addr: std::net::SocketAddr, seconds: u64, path: PathFn) -> (f64, Latencies) {
    closed_loop(addr, CONNECTIONS, Duration::from_secs(seconds), path).await
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

use tuflog_bench::sample_entry as entry;

fn config(dir: &std::path::Path) -> server::Config {
    server::Config {
        data_dir: dir.to_path_buf(),
        origin: "bench.tuflog.dev/log".into(),
        ..server::Config::default()
    }
}

/// The child: serve the log in `dir` until killed.
fn serve(dir: &str) {
    let rt = tuflog_bench::runtime(None);
    rt.block_on(async {
        let srv = server::Server::open(&config(std::path::Path::new(dir))).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening {}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        srv.run(listener, std::future::pending()).await.unwrap();
    });
}

fn populate(dir: &std::path::Path, size: u64) -> f64 {
    let srv = server::Server::open(&config(dir)).unwrap();
    let log = srv.log().clone();
    let rt = tuflog_bench::two_core_runtime();
    let started = Instant::now();
    rt.block_on(async {
        let window = Arc::new(tokio::sync::Semaphore::new(16_384));
        let mut last = None;
        for i in 0..size {
            let permit = window.clone().acquire_owned().await.unwrap();
            let append = server::sequencer::Append {
                entries: vec![entry(i)],
                ..Default::default()
            };
            let reply = loop {
                match log.submit(append.clone()) {
                    Ok(r) => break r,
                    Err(server::Error::Overloaded(_)) => tokio::task::yield_now().await,
                    Err(e) => panic!("{e}"),
                }
            };
            last = Some(tokio::spawn(async move {
                let r = reply.await.unwrap().unwrap();
                drop(permit);
                r
            }));
        }
        last.unwrap().await.unwrap();
    });
    let rate = size as f64 / started.elapsed().as_secs_f64();
    log.shutdown();
    rate
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        serve(&args[i + 1]);
        return;
    }
    let size = env_or("TUFLOG_BENCH_LOG_SIZE", 1_000_000);
    let seconds = env_or("TUFLOG_BENCH_SECONDS", 10);
    let dir = tempfile::tempdir().unwrap();
    let rate = populate(dir.path(), size);
    println!("populated {size} entries at {rate:.0} entries/s");

    let (mut child, addr) = tuflog_bench::serve_in_child(dir.path());
    let (rss_idle, _) = rss_kib(child.id());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The routes the read benchmark drives, and proofs at a random older size.
    let mut scenarios = log_routes(size);
    scenarios.push((
        "inclusion proof, random leaf and size",
        Arc::new(move |r| {
            let s = 1 + next(r) % size;
            format!("/log/proof/inclusion?index={}&size={s}", next(r) % s)
        }),
    ));
    println!("| request | requests/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for (name, path) in scenarios {
        let (rate, lat) = rt.block_on(load(addr, seconds, path));
        println!(
            "| {name} | {rate:.0} | {:.2} | {:.2} |",
            lat.ms(0.5),
            lat.ms(0.99)
        );
        tuflog_bench::result(
            "server",
            name,
            &[("requests_per_second", rate), ("p50_ms", lat.ms(0.5))],
        );
    }
    let (rss, hwm) = rss_kib(child.id());
    println!(
        "server RSS at {size} entries: {} MiB idle after open, {} MiB after load, peak {} MiB",
        rss_idle / 1024,
        rss / 1024,
        hwm / 1024
    );
    let tiles = tempfile::tempdir().unwrap();
    rt.block_on(export_level0_tiles(addr, size, tiles.path()));
    let _ = child.kill();
    let _ = child.wait();
    nginx_peer(&rt, tiles.path(), size, seconds);
}

/// Writes every full level-0 tile, fetched from the server, as static files.
async fn export_level0_tiles(addr: std::net::SocketAddr, size: u64, root: &std::path::Path) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    for index in 0..size / 256 {
        let path =
            tlog::tile::TilePath::Hashes(tlog::Tile::new(0, index, 256).unwrap()).to_string();
        let req = hyper::Request::get(format!("/log/{path}"))
            .header("host", "bench")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let body = send
            .send_request(req)
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap();
        let file = root.join(&path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body.to_bytes()).unwrap();
    }
}

/// The peer: nginx serving the same full tiles as static files, the way a C2SP
/// static-asset log (Tessera's POSIX mode, say) serves them, under the same load
/// generator. Skipped, with a note, when nginx is not installed.
fn nginx_peer(rt: &tokio::runtime::Runtime, root: &std::path::Path, size: u64, seconds: u64) {
    // nginx workers run as an unprivileged user; a temporary directory is 0700.
    std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let Ok(nginx) = which("nginx") else {
        println!("peer skipped: nginx not installed (apt-get install nginx-light)");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = root.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 2; daemon off; pid {root}/nginx.pid; error_log {root}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; sendfile on; tcp_nodelay on; keepalive_requests 10000000;\n\
             server {{ listen 127.0.0.1:{port}; root {root};\n\
             location / {{ add_header Cache-Control \"public, max-age=31536000, immutable\"; }} }} }}\n",
            root = root.display()
        ),
    )
    .unwrap();
    // Its output goes nowhere: a worker holding this process's stdout would keep
    // whoever reads it (bench/run) waiting after this process has exited.
    let mut child = Command::new(nginx)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    while std::net::TcpStream::connect(addr).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (rate, lat) = rt.block_on(load(
        addr,
        seconds,
        Arc::new(move |r| format!("/{}", full_tile(r, size, tlog::tile::TilePath::Hashes))),
    ));
    println!(
        "| peer: nginx 2 workers, same full level-0 tiles as static files | {rate:.0} | {:.2} | {:.2} |",
        lat.ms(0.5),
        lat.ms(0.99)
    );
    tuflog_bench::result(
        "server",
        "peer: nginx, full level-0 tile, random",
        &[("requests_per_second", rate), ("p50_ms", lat.ms(0.5))],
    );
    // SIGTERM, not SIGKILL: the master then stops its workers, which SIGKILL
    // would leave running.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.exists())
        .ok_or(())
}
