//! The HTTP surface of the log: C2SP tlog-tiles reads, JSON proofs, metrics and
//! health. Routes and formats are the contract in docs/PROTOCOL.md.
//!
//! Store reads run on the async workers directly: they are block-cache point reads
//! of a few microseconds, cheaper than a hand-off to a blocking pool.

use crate::metrics::Metrics;
use crate::repos::auth::Tokens;
use crate::repos::Repos;
use crate::sequencer::{Health, Log};
use crate::{Error, ErrorKind};
use axum::body::Body;
use axum::extract::{MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;
use tlog::tile::TilePath;
use tracing::Instrument;
use wire::JsonLine;

/// Longest query string accepted; the longest valid one is about 50 bytes.
pub const MAX_QUERY_BYTES: usize = 256;
/// Longest request path accepted; the longest tile path is under 100 bytes.
pub const MAX_PATH_BYTES: usize = 512;

/// Full tiles, entry bundles and proofs for a fixed size never change.
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint changes with every batch: "its headers SHOULD prevent caching
/// beyond a few seconds" (C2SP tlog-tiles, Checkpoints).
pub(crate) const CHECKPOINT_CACHE: &str = "public, max-age=1, must-revalidate";
const NO_STORE: &str = "no-store";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The log.
    pub log: Arc<Log>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The repository service.
    pub repos: Arc<Repos>,
    /// Write tokens.
    pub tokens: Arc<Tokens>,
    /// Update packs answered at the latest log size.
    pub packs: Arc<crate::pack_cache::PackCache>,
}

/// The router for `/log/...`, the repository routes, `/metrics`, `/healthz` and
/// `/readyz`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/tile/{*path}", get(tile))
        .route("/log/proof/inclusion", get(inclusion))
        .route("/log/proof/consistency", get(consistency))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::repos_http::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Per-request span, request counter and latency histogram, and the request-size
/// limits every route shares.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let span = tracing::info_span!(
        "http",
        method = %req.method(),
        route = %route,
        status = tracing::field::Empty
    );
    let started = Instant::now();
    let uri = req.uri();
    let response = if uri.path().len() > MAX_PATH_BYTES
        || uri.query().is_some_and(|q| q.len() > MAX_QUERY_BYTES)
    {
        error_json(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            &format!("paths are at most {MAX_PATH_BYTES} bytes and queries {MAX_QUERY_BYTES}"),
        )
    } else {
        next.run(req).instrument(span.clone()).await
    };
    let status = response.status();
    span.record("status", status.as_u16());
    state
        .metrics
        .http_requests_total
        .with_label_values(&[route.as_str(), status.as_str()])
        .inc();
    state
        .metrics
        .http_request_duration_seconds
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// An error for programs and people alike: `{"error":{"code":…,"message":…}}`, where
/// `code` is stable ([`Error::code`]) and `message` says what was wrong.
pub(crate) fn error_json(status: StatusCode, code: &str, message: &str) -> Response {
    let body = wire::replies::ErrorReply::new(code, message).to_json_line();
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        body,
    )
        .into_response()
}

/// A plain-text status for health probes.
fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    let mut body = message.into();
    body.push('\n');
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        body,
    )
        .into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match self.kind() {
            ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = error_json(status, self.code(), &self.to_string());
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            StatusCode::UNAUTHORIZED => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tuflog\""),
                );
            }
            _ => {}
        }
        response
    }
}

/// A body with a strong ETag over its bytes, or 304 when the client has it.
pub(crate) fn cached(
    request: &HeaderMap,
    body: Vec<u8>,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let etag = etag_of(&body);
    cached_as(request, body.into(), &etag, content_type, cache)
}

/// The entity tag of `body`, quoted: the first half of its SHA-256.
pub(crate) fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&Sha256::digest(body)[..16]))
}

/// [`cached`] for a body whose entity tag is known already.
pub(crate) fn cached_as(
    request: &HeaderMap,
    body: bytes::Bytes,
    etag: &str,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(body))
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, v);
    }
    response
}

async fn checkpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let latest = state.log.latest();
    cached(
        &headers,
        latest.note.clone(),
        "text/plain; charset=utf-8",
        CHECKPOINT_CACHE,
    )
}

async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let parsed = TilePath::parse(&format!("tile/{path}")).map_err(Error::invalid)?;
    let body = state.log.tile(&parsed)?;
    Ok(cached(
        &headers,
        body,
        "application/octet-stream",
        IMMUTABLE,
    ))
}

/// Parses a query of exactly the named decimal parameters, each once.
pub(crate) fn params<const N: usize>(
    query: Option<&str>,
    names: [&str; N],
) -> Result<[u64; N], Error> {
    let mut values: [Option<u64>; N] = [None; N];
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::invalid(format!("query parameter {pair:?} has no value")))?;
        let slot = names.iter().position(|n| *n == name).ok_or_else(|| {
            Error::invalid(format!(
                "unknown query parameter {name:?}; expected {}",
                names.join(", ")
            ))
        })?;
        if values[slot].is_some() {
            return Err(Error::invalid(format!(
                "query parameter {name} given twice"
            )));
        }
        let parsed = tlog::decimal::parse_canonical(value).ok();
        values[slot] = Some(parsed.ok_or_else(|| {
            Error::invalid(format!(
                "{name} must be a decimal integer below 2^64 without leading zeros, got {value:?}"
            ))
        })?);
    }
    let mut out = [0u64; N];
    for (i, v) in values.iter().enumerate() {
        out[i] =
            v.ok_or_else(|| Error::invalid(format!("missing query parameter {}", names[i])))?;
    }
    Ok(out)
}

/// A proof document: its content is fixed by the request, so it never changes.
fn immutable_json(headers: &HeaderMap, body: Vec<u8>) -> Response {
    cached(headers, body, "application/json", IMMUTABLE)
}

async fn inclusion(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let [index, size] = params(query.as_deref(), ["index", "size"])?;
    let p = state.log.inclusion_proof(index, size)?;
    let body = wire::replies::InclusionReply::new(p.index, p.size, &p.leaf_hash, &p.proof);
    Ok(immutable_json(&headers, body.to_json_line()))
}

async fn consistency(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let [from, size] = params(query.as_deref(), ["from", "size"])?;
    let p = state.log.consistency_proof(from, size)?;
    let body = wire::replies::ConsistencyReply::new(p.from, p.size, &p.proof);
    Ok(immutable_json(&headers, body.to_json_line()))
}

async fn metrics(State(state): State<AppState>) -> Response {
    match state.log.store().size_on_disk() {
        Ok(Some(bytes)) => state
            .metrics
            .store_size_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX)),
        Ok(None) => {}
        Err(e) => tracing::debug!(error = %e, "reading the store's size failed"),
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        state.metrics.render(),
    )
        .into_response()
}

async fn healthz() -> Response {
    problem(StatusCode::OK, "ok")
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.log.health() {
        Health::Running => problem(StatusCode::OK, "ready"),
        // Reads are served from what is published; only pushes wait for the signer,
        // so a load balancer keeps sending reads here.
        Health::SignerUnavailable(reason) => problem(
            StatusCode::OK,
            format!("ready for reads; pushes are refused until the signer answers: {reason}"),
        ),
        Health::Halted(reason) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("log halted: {reason}"),
        ),
        Health::Following => problem(
            StatusCode::OK,
            "ready (following the sequencer; pushes are forwarded to it)",
        ),
        Health::Stopped => problem(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
    }
}

async fn not_found(req: Request) -> Response {
    error_json(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("no route for {} {}", req.method(), req.uri().path()),
    )
}

#[cfg(test)]
mod tests {
    use super::params;

    #[test]
    fn query_parameters_are_strict() {
        assert_eq!(
            params(Some("index=3&size=10"), ["index", "size"]).unwrap(),
            [3, 10]
        );
        assert_eq!(
            params(Some("size=10&index=0"), ["index", "size"]).unwrap(),
            [0, 10]
        );
        for bad in [
            None,
            Some(""),
            Some("index=3"),
            Some("index=3&size=10&x=1"),
            Some("index=3&index=4&size=10"),
            Some("index=-1&size=10"),
            Some("index=03&size=10"),
            Some("index=+3&size=10"),
            Some("index=3&size=18446744073709551616"),
            Some("index=3&size"),
            Some("index=0x1&size=2"),
            Some("index=&size=2"),
        ] {
            let err = params(bad, ["index", "size"]).unwrap_err();
            assert!(
                matches!(err, crate::Error::InvalidRequest(_)),
                "{bad:?}: {err}"
            );
        }
    }
}
