//! Gossip with monitors: before a client trusts a new checkpoint it shows it to the
//! monitors it is configured with (`POST {monitor}/gossip/checkpoint`). A monitor
//! holds its own view of the log, fetched and verified independently; it vouches
//! for a checkpoint only once it has fetched every entry up to it, hashed them into
//! its own tree and replayed them against TUF rules. Anything short of that leaves
//! the update with nothing trusted. The monitor also keeps every checkpoint it
//! hears, so a fork is caught even when this client was its only audience.
//!
//! It does not: choose monitors, or fall back when a configured monitor is
//! unreachable — a configured monitor that cannot be asked fails the update too,
//! because a server able to cut the client off from its monitors is the one whose
//! view needs checking. A monitor still catching up (`behind`) is asked again, a
//! bounded number of times.

use crate::logtrust::describe;
use crate::{Error, Result};
use edge::Http;
use serde::Serialize;
use std::time::Duration;
use tlog::checkpoint::Checkpoint;
pub use wire::gossip::{GossipReply, Verdict};

/// Largest reply read from a monitor.
pub const MAX_GOSSIP_REPLY_BYTES: u64 = 4 * 1024;

/// Times a monitor answering [`Verdict::Behind`] is asked, in all.
pub const MAX_GOSSIP_ATTEMPTS: usize = 3;

/// Pause before asking a monitor that answered [`Verdict::Behind`] again.
pub const GOSSIP_RETRY_DELAY: Duration = Duration::from_millis(500);

/// What one monitor said of the checkpoint this client trusted.
#[derive(Clone, Debug, Serialize)]
pub struct MonitorVerdict {
    /// The monitor's URL.
    pub monitor: String,
    /// Its verdict: always [`Verdict::Consistent`] in a report of an update that
    /// trusted something.
    pub verdict: Verdict,
}

/// Submits the checkpoint `note` to the monitor at `url`.
pub async fn submit(http: &Http, url: &str, note: &str) -> Result<GossipReply> {
    let endpoint = format!("{}/gossip/checkpoint", url.trim_end_matches('/'));
    let body = http
        .post_text(&endpoint, note.to_string(), MAX_GOSSIP_REPLY_BYTES)
        .await?;
    GossipReply::from_json(&body).map_err(|e| Error::malformed(&endpoint, e))
}

/// Shows `note` (which verifies as `checkpoint`) to every monitor in `monitors`;
/// fails, naming the checkpoint, at the first that does not answer
/// [`Verdict::Consistent`] (one still `behind` is asked again, at most
/// [`MAX_GOSSIP_ATTEMPTS`] times in all).
pub async fn check_with_monitors(
    http: &Http,
    monitors: &[String],
    note: &str,
    checkpoint: &Checkpoint,
) -> Result<Vec<MonitorVerdict>> {
    let mut verdicts = Vec::with_capacity(monitors.len());
    for url in monitors {
        let mut reply = submit(http, url, note).await?;
        for _ in 1..MAX_GOSSIP_ATTEMPTS {
            if reply.verdict != Verdict::Behind {
                break;
            }
            tokio::time::sleep(GOSSIP_RETRY_DELAY).await;
            reply = submit(http, url, note).await?;
        }
        if reply.verdict != Verdict::Consistent {
            return Err(Error::Log {
                file: "checkpoint".into(),
                checkpoint: describe(checkpoint),
                detail: refusal(url, &reply),
            });
        }
        verdicts.push(MonitorVerdict {
            monitor: url.clone(),
            verdict: reply.verdict,
        });
    }
    Ok(verdicts)
}

fn refusal(url: &str, reply: &GossipReply) -> String {
    match reply.verdict {
        Verdict::Behind => format!(
            "the monitor at {url} has not verified the log up to it (it has verified {} entries; behind): nothing was trusted",
            reply.size
        ),
        v => format!(
            "the monitor at {url} cannot square it with its own view of the log ({v}): the log may be showing this client a fork; nothing was trusted"
        ),
    }
}
