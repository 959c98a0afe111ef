//! The signer's Prometheus metrics; every name starts with `tuflog_signer_`.

use prometheus::{Encoder, IntCounterVec, Opts, Registry, TextEncoder};

/// Signatures made, by kind.
pub struct Metrics {
    registry: Registry,
    /// Signatures by kind (`checkpoint`, `snapshot`, `timestamp`).
    pub signatures_total: IntCounterVec,
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
        registry.register(Box::new(signatures_total.clone()))?;
        Ok(Metrics {
            registry,
            signatures_total,
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
