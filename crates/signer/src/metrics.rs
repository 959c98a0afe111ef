//! The signer's Prometheus metrics; every name starts with `tuflog_signer_`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Signatures made, by kind.
pub struct Metrics {
    registry: Registry,
    /// Signatures by kind (`checkpoint`, `snapshot`, `timestamp`).
    pub signatures_total: IntCounterVec,
    /// Requests refused, by the stable code of the refusal.
    pub refusals_total: IntCounterVec,
    /// Time to answer a signing request (check, durable record, signature), by kind.
    pub request_duration_seconds: HistogramVec,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let signatures_total = IntCounterVec::new(
            Opts::new(
                "tuflog_signer_signatures_total",
                "Signatures made, by kind (checkpoint, snapshot, timestamp)",
            ),
            &["kind"],
        )?;
        let refusals_total = IntCounterVec::new(
            Opts::new(
                "tuflog_signer_refusals_total",
                "Requests refused, by the stable code of the refusal",
            ),
            &["code"],
        )?;
        let request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "tuflog_signer_request_duration_seconds",
                "Time to check, record and sign one request, by kind",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["kind"],
        )?;
        registry.register(Box::new(signatures_total.clone()))?;
        for code in crate::error::REFUSAL_CODES {
            refusals_total.with_label_values(&[code]);
        }
        registry.register(Box::new(refusals_total.clone()))?;
        registry.register(Box::new(request_duration_seconds.clone()))?;
        Ok(Metrics {
            registry,
            signatures_total,
            refusals_total,
            request_duration_seconds,
        })
    }

    pub(crate) fn signed(&self, kind: &str) {
        self.signatures_total.with_label_values(&[kind]).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
