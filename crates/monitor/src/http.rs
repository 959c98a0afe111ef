//! The monitor over HTTP: gossip (`POST /gossip/checkpoint`, `GET
//! /gossip/checkpoints`), `GET /alerts`, `GET /metrics`, `GET /healthz`; and
//! [`run`], which also drives the follow loop and the peer polls.

use crate::follower::{Monitor, Progress};
use crate::Error;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use edge::Http;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Largest checkpoint note accepted through gossip.
pub const MAX_GOSSIP_NOTE_BYTES: usize = tlog::note::MAX_NOTE_BYTES;

/// Most checkpoints a peer's answer may list.
pub const MAX_PEER_CHECKPOINTS: usize = 64;

/// Gossip requests answered per second, all senders together, beyond a burst of
/// as many; the rest get 429. A monitor must not be a lever on the log: each
/// checkpoint ahead of it can cost a catch-up.
pub const MAX_GOSSIP_PER_SECOND: u32 = 50;

/// A token bucket over all gossip requests.
struct GossipLimit {
    tokens: f64,
    at: Instant,
}

impl GossipLimit {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let rate = f64::from(MAX_GOSSIP_PER_SECOND);
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Served {
    monitor: Arc<Monitor>,
    limit: Mutex<GossipLimit>,
}

/// `GET /gossip/checkpoints`: the latest verified checkpoint per log.
#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoints {
    /// One per log this monitor follows.
    pub checkpoints: Vec<LogCheckpoint>,
}

/// A log's latest verified checkpoint.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogCheckpoint {
    /// The log's origin.
    pub origin: String,
    /// The signed note.
    pub note: String,
}

use wire::GossipReply;

/// The monitor's routes.
pub fn router(monitor: Arc<Monitor>) -> Router {
    let served = Arc::new(Served {
        monitor,
        limit: Mutex::new(GossipLimit {
            tokens: f64::from(MAX_GOSSIP_PER_SECOND),
            at: Instant::now(),
        }),
    });
    Router::new()
        .route(
            "/gossip/checkpoint",
            post(gossip_checkpoint).layer(DefaultBodyLimit::max(MAX_GOSSIP_NOTE_BYTES)),
        )
        .route("/gossip/checkpoints", get(gossip_checkpoints))
        .route("/alerts", get(alerts))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(served)
}

/// Serves `monitor` on `listener`, follows its log and polls its peers every
/// interval, until `shutdown` completes. The first catch-up reports to `progress`.
pub async fn run(
    monitor: Arc<Monitor>,
    listener: TcpListener,
    progress: Arc<dyn Progress>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, mut stop) = watch::channel(false);
    let follower = {
        let monitor = monitor.clone();
        tokio::spawn(async move {
            loop {
                match monitor.follow_once(progress.as_ref()).await {
                    Ok(step) => tracing::debug!(?step, "follow step"),
                    Err(e) => tracing::warn!(error = %e, "follow step failed"),
                }
                monitor.poll_peers().await;
                monitor.poll_witnesses().await;
                tokio::select! {
                    _ = tokio::time::sleep(monitor.config().interval) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        })
    };
    let served = axum::serve(listener, router(monitor))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await;
    // A step in flight finishes its batch (each is one synced write) or is cut
    // between batches; either way the store is whole.
    follower.abort();
    let _ = follower.await;
    served
}

async fn gossip_checkpoint(State(served): State<Arc<Served>>, body: Bytes) -> Response {
    if !served
        .limit
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return (StatusCode::TOO_MANY_REQUESTS, "too many gossip requests\n").into_response();
    }
    let monitor = &served.monitor;
    match monitor.hear(&body, "a client").await {
        Ok(verdict) => json(&GossipReply {
            verdict,
            size: monitor.size(),
        }),
        Err(e @ (Error::Log(_) | Error::Evidence(_))) => {
            (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("{e}\n")).into_response(),
    }
}

async fn gossip_checkpoints(State(served): State<Arc<Served>>) -> Response {
    let monitor = &served.monitor;
    let checkpoints = monitor
        .latest_note()
        .map(|note| LogCheckpoint {
            origin: monitor.config().log_key.name().to_string(),
            note,
        })
        .into_iter()
        .collect();
    json(&Checkpoints { checkpoints })
}

async fn alerts(State(served): State<Arc<Served>>) -> Response {
    json(&served.monitor.alerts().recent())
}

fn json(value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn metrics(State(served): State<Arc<Served>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        served.monitor.render_metrics(),
    )
}

/// A peer's latest checkpoints (notes), at most [`MAX_PEER_CHECKPOINTS`].
pub async fn fetch_peer(http: &Http, peer: &str) -> Result<Vec<String>, Error> {
    let url = format!("{}/gossip/checkpoints", peer.trim_end_matches('/'));
    let bytes = http
        .get(&url, crate::fetch::MAX_GOSSIP_BYTES)
        .await
        .map_err(|e| Error::fetch(&url, e))?
        .ok_or_else(|| Error::fetch(&url, "not found"))?;
    let answer: Checkpoints = serde_json::from_slice(&bytes).map_err(|e| Error::fetch(&url, e))?;
    Ok(answer
        .checkpoints
        .into_iter()
        .take(MAX_PEER_CHECKPOINTS)
        .map(|c| c.note)
        .collect())
}

/// A witness's latest cosigned checkpoint of the log `origin` (`GET
/// {witness}/checkpoint?origin=…`); `None` when it has cosigned none.
pub async fn fetch_witness(
    http: &Http,
    witness: &str,
    origin: &str,
) -> Result<Option<Vec<u8>>, Error> {
    let url = format!(
        "{}/checkpoint?origin={}",
        witness.trim_end_matches('/'),
        tuf::updater::encode_role_name(origin)
    );
    http.get(&url, tlog::note::MAX_NOTE_BYTES as u64)
        .await
        .map_err(|e| Error::fetch(&url, e))
}
