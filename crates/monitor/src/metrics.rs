//! The monitor's Prometheus metrics.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// Counters and gauges a monitor exports at `GET /metrics`.
pub struct Metrics {
    registry: Registry,
    /// Alerts raised, by kind.
    pub alerts_total: IntCounterVec,
    /// New versions of watched repositories, by repository.
    pub watched_versions_total: IntCounterVec,
    /// Entries replayed.
    pub entries_replayed_total: IntCounter,
    /// Size of the latest checkpoint verified against the monitor's own tree.
    pub verified_tree_size_entries: IntGauge,
    /// Follow steps that failed (the log unreachable, a malformed answer).
    pub follow_errors_total: IntCounter,
    /// Checkpoints heard through gossip, by verdict.
    pub gossip_checkpoints_total: IntCounterVec,
    /// Time per follow step.
    pub follow_step_duration_seconds: Histogram,
    /// Seconds since a tree of the latest verified checkpoint's size was first
    /// verified.
    pub verified_checkpoint_age_seconds: IntGauge,
    /// Signed checkpoints heard ahead of the tree, kept until it passes them.
    pub heard_checkpoints_pending: IntGauge,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let alerts_total = IntCounterVec::new(
            Opts::new("tuflog_monitor_alerts_total", "Alerts raised, by kind"),
            &["kind"],
        )?;
        let watched_versions_total = IntCounterVec::new(
            Opts::new(
                "tuflog_monitor_watched_versions_total",
                "New versions of watched repositories, by repository",
            ),
            &["repo"],
        )?;
        let entries_replayed_total = IntCounter::new(
            "tuflog_monitor_entries_replayed_total",
            "Log entries replayed against TUF rules",
        )?;
        let verified_tree_size_entries = IntGauge::new(
            "tuflog_monitor_verified_tree_size_entries",
            "Size of the latest checkpoint verified against the monitor's own tree",
        )?;
        let follow_errors_total = IntCounter::new(
            "tuflog_monitor_follow_errors_total",
            "Follow steps that failed before reaching a verdict",
        )?;
        let gossip_checkpoints_total = IntCounterVec::new(
            Opts::new(
                "tuflog_monitor_gossip_checkpoints_total",
                "Checkpoints heard through gossip, by verdict",
            ),
            &["verdict"],
        )?;
        let follow_step_duration_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "tuflog_monitor_follow_step_duration_seconds",
                "Time per follow step, catching up included",
            )
            .buckets(prometheus::exponential_buckets(0.001, 4.0, 10)?),
        )?;
        let verified_checkpoint_age_seconds = IntGauge::new(
            "tuflog_monitor_verified_checkpoint_age_seconds",
            "Seconds since a tree of the latest verified checkpoint's size was first verified",
        )?;
        let heard_checkpoints_pending = IntGauge::new(
            "tuflog_monitor_heard_checkpoints_pending",
            "Signed checkpoints heard ahead of the monitor's tree, not yet judged",
        )?;
        registry.register(Box::new(verified_checkpoint_age_seconds.clone()))?;
        registry.register(Box::new(heard_checkpoints_pending.clone()))?;
        for kind in crate::replay::AlertKind::ALL {
            alerts_total.with_label_values(&[kind.as_str()]);
        }
        registry.register(Box::new(alerts_total.clone()))?;
        registry.register(Box::new(watched_versions_total.clone()))?;
        registry.register(Box::new(entries_replayed_total.clone()))?;
        registry.register(Box::new(verified_tree_size_entries.clone()))?;
        registry.register(Box::new(follow_errors_total.clone()))?;
        registry.register(Box::new(gossip_checkpoints_total.clone()))?;
        registry.register(Box::new(follow_step_duration_seconds.clone()))?;
        Ok(Metrics {
            registry,
            alerts_total,
            watched_versions_total,
            entries_replayed_total,
            verified_tree_size_entries,
            follow_errors_total,
            gossip_checkpoints_total,
            follow_step_duration_seconds,
            verified_checkpoint_age_seconds,
            heard_checkpoints_pending,
        })
    }

    /// Records the latest verified checkpoint's age.
    pub fn set_checkpoint_age(&self, seconds: u64) {
        self.verified_checkpoint_age_seconds
            .set(i64::try_from(seconds).unwrap_or(i64::MAX));
    }

    /// Records how many heard checkpoints wait to be judged.
    pub fn set_heard_pending(&self, n: usize) {
        self.heard_checkpoints_pending
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Records `size` as the latest verified tree size.
    pub fn set_verified_size(&self, size: u64) {
        self.verified_tree_size_entries
            .set(i64::try_from(size).unwrap_or(i64::MAX));
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}
