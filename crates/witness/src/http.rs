//! The witness over HTTP: `POST /add-checkpoint`, `GET /checkpoint?origin=…`,
//! `GET /metrics`, `GET /healthz`.

use crate::{Error, Witness};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tlog::witness_protocol::MAX_REQUEST_BYTES;
use tokio::net::TcpListener;

/// The witness's Prometheus metrics.
pub struct Metrics {
    registry: Registry,
    requests_total: IntCounterVec,
    request_duration_seconds: HistogramVec,
}

impl Metrics {
    fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests_total = IntCounterVec::new(
            Opts::new(
                "tuflog_witness_add_checkpoint_total",
                "add-checkpoint requests, by response status code",
            ),
            &["code"],
        )?;
        let request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "tuflog_witness_add_checkpoint_duration_seconds",
                "Time to answer an add-checkpoint request, storage sync included",
            )
            .buckets(prometheus::exponential_buckets(0.0001, 4.0, 9)?),
            &["code"],
        )?;
        // The answers an operator watches, each with a series from the start:
        // cosigned, stale size, and inconsistent (someone showed a fork).
        for code in ["200", "409", "422"] {
            requests_total.with_label_values(&[code]);
        }
        registry.register(Box::new(requests_total.clone()))?;
        registry.register(Box::new(request_duration_seconds.clone()))?;
        Ok(Metrics {
            registry,
            requests_total,
            request_duration_seconds,
        })
    }

    fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

struct Served {
    witness: Arc<Witness>,
    metrics: Metrics,
}

/// The witness's routes.
pub fn router(witness: Arc<Witness>) -> Result<Router, prometheus::Error> {
    let served = Arc::new(Served {
        witness,
        metrics: Metrics::new()?,
    });
    Ok(Router::new()
        .route(
            "/add-checkpoint",
            post(add_checkpoint).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/checkpoint", get(latest_checkpoint))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(served))
}

/// Serves `witness` on `listener` until `shutdown` completes, then finishes the
/// requests in flight.
pub async fn run(
    witness: Arc<Witness>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(witness).map_err(std::io::Error::other)?;
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn add_checkpoint(State(served): State<Arc<Served>>, body: Bytes) -> Response {
    let started = Instant::now();
    let witness = served.witness.clone();
    // The check and the synced write of the new state block; off the async workers.
    let result = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body)).await;
    let response = match result {
        Ok(Ok(lines)) => (StatusCode::OK, lines).into_response(),
        Ok(Err(e)) => refusal(&e),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    };
    let code = response.status().as_u16().to_string();
    served
        .metrics
        .requests_total
        .with_label_values(&[&code])
        .inc();
    served
        .metrics
        .request_duration_seconds
        .with_label_values(&[&code])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Longest `origin` accepted by `GET /checkpoint` (a note key name's limit).
pub const MAX_ORIGIN_BYTES: usize = tlog::note::MAX_KEY_NAME_BYTES;

/// `GET /checkpoint?origin=<percent-encoded origin>`: the latest checkpoint this
/// witness cosigned for the log, as a signed note with its cosignature
/// (`text/plain`); 404 for an origin it does not follow or has cosigned nothing
/// for.
async fn latest_checkpoint(
    State(served): State<Arc<Served>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let origin = query.as_deref().and_then(|q| {
        let value = q.strip_prefix("origin=")?;
        if value.len() > 3 * MAX_ORIGIN_BYTES || value.contains('&') {
            return None;
        }
        let decoded = percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .ok()?;
        (decoded.len() <= MAX_ORIGIN_BYTES).then(|| decoded.into_owned())
    });
    let Some(origin) = origin else {
        return (StatusCode::BAD_REQUEST, "want ?origin=<log origin>\n").into_response();
    };
    match served.witness.latest(&origin) {
        Ok(Some(c)) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            c.note,
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "nothing cosigned for this origin\n").into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

fn refusal(e: &Error) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        // "The response body MUST consist of the tree size of the latest cosigned
        // checkpoint in decimal, followed by a newline ... Content-Type of
        // text/x.tlog.size."
        Error::StaleOldSize { latest, .. } => (
            status,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{latest}\n"),
        )
            .into_response(),
        _ => {
            tracing::info!(status = status.as_u16(), error = %e, "add-checkpoint refused");
            (status, format!("{e}\n")).into_response()
        }
    }
}

async fn metrics(State(served): State<Arc<Served>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        served.metrics.render(),
    )
}
