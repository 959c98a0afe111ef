//! Read load over loopback HTTP/1.1: a fixed number of keep-alive connections, each
//! sending its next request as soon as the last reply is read, for a fixed time.

use crate::Latencies;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one request path is, given the connection's random state.
pub type PathFn = Arc<dyn Fn(&mut u64) -> String + Send + Sync>;

/// A cheap xorshift, so choosing an index costs nothing next to a request.
pub fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Requests per second over `connections` connections for `duration`, and the
/// latency of each. Every reply must be 200.
#[allow(
    clippy::panic,
    reason = "a failed request means the figure would be of something else"
)]
pub async fn closed_loop(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    path: PathFn,
) -> (f64, Latencies) {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
            let _ = stream.set_nodelay(true);
            let (mut send, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap_or_else(|e| panic!("handshake: {e}"));
            tokio::spawn(conn);
            let mut rng = 0x2545_f491_4f6c_dd1d ^ (c as u64 + 1);
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let p = path(&mut rng);
                let req = hyper::Request::get(&p)
                    .header("host", "bench")
                    .body(Empty::<Bytes>::new())
                    .unwrap_or_else(|e| panic!("request {p}: {e}"));
                let t = Instant::now();
                let resp = send
                    .send_request(req)
                    .await
                    .unwrap_or_else(|e| panic!("GET {p}: {e}"));
                let status = resp.status();
                let body = resp
                    .into_body()
                    .collect()
                    .await
                    .unwrap_or_else(|e| panic!("GET {p}: {e}"));
                if status != 200 {
                    panic!("GET {p}: {status} {:?}", body.to_bytes());
                }
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_else(|e| panic!("load task: {e}")));
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    (rate, Latencies::new(all))
}

/// The log routes both read benchmarks drive, on a log of `size` entries, by the
/// names the results carry: the checkpoint, inclusion and consistency proofs at the
/// latest size from a random index, and a random full level-0 tile.
pub fn log_routes(size: u64) -> Vec<(&'static str, PathFn)> {
    vec![
        ("checkpoint", Arc::new(|_| "/log/checkpoint".into())),
        (
            "inclusion proof, random leaf, latest size",
            Arc::new(move |r| format!("/log/proof/inclusion?index={}&size={size}", next(r) % size)),
        ),
        (
            "consistency proof, random from, latest size",
            Arc::new(move |r| {
                format!(
                    "/log/proof/consistency?from={}&size={size}",
                    1 + next(r) % size
                )
            }),
        ),
        (
            "full level-0 tile, random",
            Arc::new(move |r| format!("/log/{}", full_tile(r, size, tlog::tile::TilePath::Hashes))),
        ),
    ]
}

/// A random full level-0 tile of a log of `size` entries, as hashes or entries.
#[allow(
    clippy::panic,
    reason = "a log smaller than one tile has nothing to measure"
)]
pub fn full_tile(
    r: &mut u64,
    size: u64,
    kind: fn(tlog::Tile) -> tlog::tile::TilePath,
) -> tlog::tile::TilePath {
    let full = size / 256;
    assert!(full > 0, "a log of {size} entries has no full tile");
    let tile = tlog::Tile::new(0, next(r) % full, 256).unwrap_or_else(|e| panic!("{e}"));
    kind(tile)
}

/// The size of the latest checkpoint the log at `url` publishes.
#[allow(
    clippy::panic,
    reason = "a benchmark without a log has nothing to measure"
)]
pub async fn checkpoint_size(url: &str) -> u64 {
    let body = edge::Http::new()
        .get(&format!("{url}/log/checkpoint"), 1 << 16)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{url} serves no checkpoint"));
    String::from_utf8_lossy(&body)
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("{url}: a checkpoint without a size"))
}
