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

    async fn leader(&self) -> Result<String, String> {
        if let Some((url, at)) = &*self.leader.lock().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < LEADER_TTL {
                return Ok(url.clone());
            }
        }
        let lease = self.lease.clone();
        let holder = tokio::task::spawn_blocking(move || lease.lease_holder())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let url = match holder {
            Some(h) if h.expires_in.is_some() && !h.address.is_empty() => h.address,
            _ => return Err("no instance holds the sequencer lease".into()),
        };
        if url == *self.own.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err("the lease names this instance, which is not integrating".into());
        }
        *self.leader.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((url.clone(), Instant::now()));
        Ok(url)
    }

    async fn forward(&self, req: Request) -> Result<Response, String> {
        let leader = self.leader().await?;
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
    match forwarder.forward(req).await {
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
