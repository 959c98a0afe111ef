//! What an update reports.

/// What an update trusted.
#[derive(Clone, Debug, serde::Serialize)]
pub struct UpdateReport {
    /// Trusted version of each role after the update.
    pub versions: std::collections::BTreeMap<String, u64>,
    /// The files newly accepted, as (role, version).
    pub accepted: Vec<(String, u64)>,
    /// The checkpoint trusted after the update, when proofs were checked.
    pub checkpoint: Option<CheckpointSummary>,
    /// What the configured monitors said of that checkpoint before it was trusted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<crate::gossip::MonitorVerdict>,
}

/// A checkpoint in reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckpointSummary {
    /// The log's origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash, base64.
    pub root: String,
}

impl From<&tlog::checkpoint::Checkpoint> for CheckpointSummary {
    fn from(c: &tlog::checkpoint::Checkpoint) -> Self {
        CheckpointSummary {
            origin: c.origin().into(),
            size: c.size(),
            root: c.root().to_base64(),
        }
    }
}
