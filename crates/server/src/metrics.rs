//! Prometheus metrics. Every name starts with `tuflog_` and carries its unit.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};
use std::time::SystemTime;

/// The server's metrics, registered in their own registry.
pub struct Metrics {
    registry: Registry,
    /// Entries in the latest signed checkpoint.
    pub log_size: IntGauge,
    /// Entries per integrated batch.
    pub integrate_batch_entries: Histogram,
    /// Time from a batch closing to its checkpoint being published.
    pub integrate_duration_seconds: Histogram,
    /// 1 while the checkpoint signer answers, 0 while a batch waits for it.
    pub signer_available: IntGauge,
    /// 1 while this instance integrates appends, 0 while it follows another's.
    pub sequencer_integrating: IntGauge,
    /// Bytes the log's store takes on disk; set when scraped.
    pub store_size_bytes: IntGauge,
    /// Seconds since the latest checkpoint was signed; set when scraped.
    checkpoint_age_seconds: Gauge,
    /// When the latest checkpoint was signed.
    checkpoint_signed_at: std::sync::Mutex<SystemTime>,
    /// Append requests by admission outcome (`queued`, `overloaded`, `invalid`, `failed`).
    pub appends_total: IntCounterVec,
    /// HTTP requests by route and status code.
    pub http_requests_total: IntCounterVec,
    /// HTTP request latency by route.
    pub http_request_duration_seconds: HistogramVec,
    /// Update packs served, by whether the pack cache had them (`hit`, `miss`).
    pub update_packs_total: IntCounterVec,
    /// gRPC requests by method and status code.
    pub grpc_requests_total: IntCounterVec,
    /// gRPC request latency by method.
    pub grpc_request_duration_seconds: HistogramVec,
    /// TLS handshakes that did not complete, by reason (`refused`, `timeout`).
    pub tls_handshake_failures_total: IntCounterVec,
}

/// Latency buckets from 50 µs to 5 s: proofs take tens of microseconds, synced
/// batches milliseconds.
fn latency_buckets() -> Vec<f64> {
    vec![
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
        1.0, 2.5, 5.0,
    ]
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let log_size = IntGauge::new("tuflog_log_size", "Entries in the latest signed checkpoint")?;
        let integrate_batch_entries = Histogram::with_opts(
            HistogramOpts::new(
                "tuflog_integrate_batch_entries",
                "Entries per integrated batch",
            )
            .buckets(prometheus::exponential_buckets(1.0, 4.0, 9)?),
        )?;
        let integrate_duration_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "tuflog_integrate_duration_seconds",
                "Time to hash, check, sign and durably store one batch",
            )
            .buckets(latency_buckets()),
        )?;
        let checkpoint_age_seconds = Gauge::new(
            "tuflog_checkpoint_age_seconds",
            "Seconds since the latest checkpoint was signed",
        )?;
        let signer_available = IntGauge::new(
            "tuflog_signer_available",
            "1 while the checkpoint signer answers, 0 while a batch waits for it",
        )?;
        let sequencer_integrating = IntGauge::new(
            "tuflog_sequencer_integrating",
            "1 while this instance integrates appends (on a shared database, holding the \
             sequencer lease), 0 while it follows another's",
        )?;
        let store_size_bytes = IntGauge::new(
            "tuflog_store_size_bytes",
            "Bytes the log's store takes on disk (every file of the RocksDB database, or the \
             PostgreSQL database's size)",
        )?;
        let appends_total = IntCounterVec::new(
            Opts::new("tuflog_appends_total", "Append requests by outcome"),
            &["outcome"],
        )?;
        let http_requests_total = IntCounterVec::new(
            Opts::new(
                "tuflog_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["route", "status"],
        )?;
        let http_request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "tuflog_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(latency_buckets()),
            &["route"],
        )?;
        let update_packs_total = IntCounterVec::new(
            Opts::new(
                "tuflog_update_packs_total",
                "Update packs served, by whether they were cached",
            ),
            &["cache"],
        )?;
        let grpc_requests_total = IntCounterVec::new(
            Opts::new(
                "tuflog_grpc_requests_total",
                "gRPC requests by method and status",
            ),
            &["method", "code"],
        )?;
        let grpc_request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "tuflog_grpc_request_duration_seconds",
                "gRPC request latency",
            )
            .buckets(latency_buckets()),
            &["method"],
        )?;
        let tls_handshake_failures_total = IntCounterVec::new(
            Opts::new(
                "tuflog_tls_handshake_failures_total",
                "TLS handshakes on the server's port that did not complete, by reason",
            ),
            &["reason"],
        )?;
        for reason in ["refused", "timeout"] {
            tls_handshake_failures_total.with_label_values(&[reason]);
        }
        registry.register(Box::new(tls_handshake_failures_total.clone()))?;
        registry.register(Box::new(log_size.clone()))?;
        registry.register(Box::new(integrate_batch_entries.clone()))?;
        registry.register(Box::new(integrate_duration_seconds.clone()))?;
        registry.register(Box::new(checkpoint_age_seconds.clone()))?;
        registry.register(Box::new(signer_available.clone()))?;
        registry.register(Box::new(sequencer_integrating.clone()))?;
        registry.register(Box::new(store_size_bytes.clone()))?;
        for outcome in ["queued", "overloaded", "invalid", "failed"] {
            appends_total.with_label_values(&[outcome]);
        }
        registry.register(Box::new(appends_total.clone()))?;
        registry.register(Box::new(http_requests_total.clone()))?;
        registry.register(Box::new(http_request_duration_seconds.clone()))?;
        registry.register(Box::new(update_packs_total.clone()))?;
        registry.register(Box::new(grpc_requests_total.clone()))?;
        registry.register(Box::new(grpc_request_duration_seconds.clone()))?;
        Ok(Metrics {
            registry,
            log_size,
            integrate_batch_entries,
            integrate_duration_seconds,
            signer_available,
            sequencer_integrating,
            store_size_bytes,
            checkpoint_age_seconds,
            checkpoint_signed_at: std::sync::Mutex::new(SystemTime::now()),
            appends_total,
            http_requests_total,
            http_request_duration_seconds,
            update_packs_total,
            grpc_requests_total,
            grpc_request_duration_seconds,
            tls_handshake_failures_total,
        })
    }

    /// Records that a checkpoint was just published.
    pub(crate) fn checkpoint_signed(&self, size: u64, at: SystemTime) {
        self.log_size.set(i64::try_from(size).unwrap_or(i64::MAX));
        *self
            .checkpoint_signed_at
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// The text exposition format, with the checkpoint age brought up to date.
    pub fn render(&self) -> String {
        let signed_at = *self
            .checkpoint_signed_at
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let age = SystemTime::now()
            .duration_since(signed_at)
            .unwrap_or_default();
        self.checkpoint_age_seconds.set(age.as_secs_f64());
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for metrics this registry built.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}
