//! Pushes that reach an instance following another's sequencer are sent on to the
//! sequencer, as they came, and its answer comes back as it was given.
//!
//! Forwarding rather than queueing in the database: the sequencer validates,
//! authorises and integrates exactly as for a push sent to it directly (the bearer
//! token travels with the request, and the body is streamed, not parsed), the
//! client is acknowledged only once the push is integrated, and a push costs one
//! more hop on loopback or the cluster network instead of a table written and
//! polled. HTTP pushes go over HTTP/1.1, gRPC pushes over HTTP/2 (trailers and
//! all). A forwarded request carries [`FORWARDED`]; an instance that receives one
//! while itself following refuses it rather than forwarding again, so two instances
//! that each believe the other leads cannot bounce a push between them.

use crate::sequencer::{Health, Log};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::SequencerLease;

/// The header a forwarded request carries.
pub const FORWARDED: &str = "x-tuflog-forwarded";
/// How long the sequencer's address, read from the lease, is used before it is
/// read again (at once after a failed forward).
const LEADER_TTL: Duration = Duration::from_secs(1);
/// Longest a forwarded push may take, answer included, before the follower gives
/// up on it and answers 503 (the push may still be integrated, as when a client's
/// own connection drops).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a push waits for an instance to hold the lease and say where it
/// listens: a sequencer that just started, or a takeover (the lease running out,
/// then a standby's next poll), before the follower answers 503.
const FIND_SEQUENCER_WITHIN: Duration =
    crate::lease::LEASE_TTL.saturating_add(Duration::from_secs(2));
/// How often the lease is read again meanwhile.
const FIND_SEQUENCER_EVERY: Duration = Duration::from_millis(50);
/// The gRPC method that writes; every other gRPC method reads.
const GRPC_PUSH: &str = "/tuflog.repo.v1.Repository/Push";

/// Sends writes to the instance holding the sequencer lease.
pub struct Forwarder {
    lease: Arc<dyn SequencerLease>,
    /// This instance's own advertised address, never forwarded to.
    own: Mutex<String>,
    leader: Mutex<Option<(String, Instant)>>,
    http1: Client<HttpConnector, Body>,
    http2: Client<HttpConnector, Body>,
}

impl Forwarder {
    /// A forwarder that finds the sequencer through `lease`.
    pub fn new(lease: Arc<dyn SequencerLease>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Forwarder {
            lease,
            own: Mutex::new(String::new()),
            leader: Mutex::new(None),
            http1: Client::builder(TokioExecutor::new()).build(connector.clone()),
            http2: Client::builder(TokioExecutor::new())
                .http2_only(true)
                .build(connector),
        }
    }

    /// Records this instance's advertised address.
    pub fn set_own_address(&self, address: &str) {
        *self.own.lock().unwrap_or_else(|p| p.into_inner()) = address.to_string();
    }

    /// The instance to send writes to: this one once it integrates, else the one
    /// the lease names, waited for up to [`FIND_SEQUENCER_WITHIN`].
    async fn find_sequencer(&self, log: &Log) -> Result<Sequencer, String> {
        let deadline = Instant::now() + FIND_SEQUENCER_WITHIN;
        loop {
            if log.health() != Health::Following {
                return Ok(Sequencer::ThisInstance);
            }
            match self.leader().await? {
                Some(url) => return Ok(Sequencer::At(url)),
                None if Instant::now() + FIND_SEQUENCER_EVERY < deadline => {
                    tokio::time::sleep(FIND_SEQUENCER_EVERY).await;
                }
                None => {
                    return Err(format!(
                        "no instance took the sequencer lease within {FIND_SEQUENCER_WITHIN:?}"
                    ))
                }
            }
        }
    }

    /// The address of another instance holding the lease; `None` while none does
    /// (or the holder has not yet said where it listens, or it is this instance,
    /// still taking over).
    async fn leader(&self) -> Result<Option<String>, String> {
        if let Some((url, at)) = &*self.leader.lock().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < LEADER_TTL {
                return Ok(Some(url.clone()));
            }
        }
        let lease = self.lease.clone();
        let holder = tokio::task::spawn_blocking(move || lease.lease_holder())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let url = match holder {
            Some(h) if h.expires_in.is_some() && !h.address.is_empty() => h.address,
            _ => return Ok(None),
        };
        if url == *self.own.lock().unwrap_or_else(|p| p.into_inner()) {
            return Ok(None);
        }
        *self.leader.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((url.clone(), Instant::now()));
        Ok(Some(url))
    }

    async fn forward(&self, leader: String, req: Request) -> Result<Response, String> {
        let (mut parts, body) = req.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        parts.uri = format!("{leader}{path}")
            .parse::<Uri>()
            .map_err(|e| format!("the sequencer's address {leader:?}: {e}"))?;
        parts.headers.remove(header::HOST);
        parts
            .headers
            .insert(FORWARDED, HeaderValue::from_static("1"));
        let grpc = parts.uri.path() == GRPC_PUSH;
        let request = Request::from_parts(parts, body);
        let sent = if grpc {
            tokio::time::timeout(FORWARD_TIMEOUT, self.http2.request(request)).await
        } else {
            tokio::time::timeout(FORWARD_TIMEOUT, self.http1.request(request)).await
        };
        match sent {
            Ok(Ok(response)) => Ok(response.map(Body::new)),
            Err(_) => Err(format!(
                "the sequencer at {leader} did not answer within {FORWARD_TIMEOUT:?}"
            )),
            Ok(Err(e)) => {
                // Read the lease again next time: the sequencer may have changed.
                *self.leader.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Err(format!("forwarding to the sequencer at {leader}: {e}"))
            }
        }
    }
}

/// Where a write goes.
enum Sequencer {
    /// This instance took over while the write waited: it handles it.
    ThisInstance,
    /// Another instance, at this address.
    At(String),
}

/// Whether `req` writes: a push over HTTP or gRPC.
fn is_write(req: &Request) -> bool {
    req.method() == Method::POST
        && (req.uri().path().starts_with("/repos/") || req.uri().path() == GRPC_PUSH)
}

/// The middleware: on a following instance, writes go to the sequencer.
pub(crate) async fn forward_writes(
    State((log, forwarder)): State<(Arc<Log>, Arc<Forwarder>)>,
    req: Request,
    next: Next,
) -> Response {
    if !is_write(&req) || log.health() != Health::Following {
        return next.run(req).await;
    }
    if req.headers().contains_key(FORWARDED) {
        return unavailable("a push forwarded to an instance that is not the sequencer");
    }
    let forwarded = match forwarder.find_sequencer(&log).await {
        Ok(Sequencer::ThisInstance) => return next.run(req).await,
        Ok(Sequencer::At(leader)) => forwarder.forward(leader, req).await,
        Err(reason) => Err(reason),
    };
    match forwarded {
        Ok(response) => response,
        Err(reason) => {
            tracing::warn!(error = %reason, "a push could not be forwarded");
            unavailable(&reason)
        }
    }
}

/// 503 with the reason, so a client retries (the push was not acknowledged).
fn unavailable(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        format!("not the sequencer: {reason}\n"),
    )
        .into_response()
}
