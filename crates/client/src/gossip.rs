//! Gossip with monitors: before a client trusts a new checkpoint it shows it to the
//! monitors it is configured with (`POST {monitor}/gossip/checkpoint`). A monitor
//! holds its own view of the log, fetched independently; if it cannot square the
//! checkpoint with that view, the log may be showing this client a fork, and the
//! update stops with nothing trusted. The monitor also keeps the checkpoint as
//! evidence, so the fork is caught even when this client was its only audience.
//!
//! It does not: choose monitors, retry, or fall back when a configured monitor is
//! unreachable — a configured monitor that cannot be asked fails the update too,
//! because a server able to cut the client off from its monitors is the one whose
//! view needs checking.

use crate::logtrust::describe;
use crate::transport::Http;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use tlog::checkpoint::Checkpoint;

/// Largest reply read from a monitor.
pub const MAX_GOSSIP_REPLY_BYTES: u64 = 4 * 1024;

/// The verdict of a monitor that found the checkpoint cannot be true together with
/// its own view (it wrote evidence).
pub const VERDICT_SPLIT_VIEW: &str = "split_view";
/// The verdict of a monitor that could not get the log to prove the checkpoint
/// consistent with its own view.
pub const VERDICT_UNPROVEN: &str = "unproven";

/// `POST /gossip/checkpoint`'s answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GossipReply {
    /// `consistent`, `ahead`, [`VERDICT_SPLIT_VIEW`] or [`VERDICT_UNPROVEN`].
    pub verdict: String,
    /// Leaves the monitor has replayed.
    pub size: u64,
}

impl GossipReply {
    /// Whether the monitor squared the checkpoint with its own view.
    pub fn agrees(&self) -> bool {
        self.verdict != VERDICT_SPLIT_VIEW && self.verdict != VERDICT_UNPROVEN
    }
}

/// What one monitor said of the checkpoint this client trusted.
#[derive(Clone, Debug, Serialize)]
pub struct MonitorVerdict {
    /// The monitor's URL.
    pub monitor: String,
    /// Its verdict.
    pub verdict: String,
}

/// Submits the checkpoint `note` to the monitor at `url`.
pub async fn submit(http: &Http, url: &str, note: &str) -> Result<GossipReply> {
    let endpoint = format!("{}/gossip/checkpoint", url.trim_end_matches('/'));
    let body = http
        .post_text(&endpoint, note.to_string(), MAX_GOSSIP_REPLY_BYTES)
        .await?;
    serde_json::from_slice(&body).map_err(|e| Error::malformed(&endpoint, e))
}

/// Shows `note` (which verifies as `checkpoint`) to every monitor in `monitors`;
/// fails, naming the checkpoint, at the first that cannot square it with its view.
pub async fn check_with_monitors(
    http: &Http,
    monitors: &[String],
    note: &str,
    checkpoint: &Checkpoint,
) -> Result<Vec<MonitorVerdict>> {
    let mut verdicts = Vec::with_capacity(monitors.len());
    for url in monitors {
        let reply = submit(http, url, note).await?;
        if !reply.agrees() {
            return Err(Error::Log {
                file: "checkpoint".into(),
                checkpoint: describe(checkpoint),
                detail: format!(
                    "the monitor at {url} cannot square it with its own view of the log ({}): the log may be showing this client a fork; nothing was trusted",
                    reply.verdict
                ),
            });
        }
        verdicts.push(MonitorVerdict {
            monitor: url.clone(),
            verdict: reply.verdict,
        });
    }
    Ok(verdicts)
}
