//! A monitor's answer to `POST /gossip/checkpoint`: what it makes of a checkpoint
//! shown to it, and the size of the log it has verified itself. A client trusts a
//! checkpoint only on [`Verdict::Consistent`].

use crate::json::{from_json, JsonLine};
use crate::Error;
use serde::{Deserialize, Serialize};

/// A monitor's judgement of a checkpoint shown to it: the one wire type monitor
/// and client share. The set is closed: a reply naming anything else does not
/// parse, and the client trusts nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The monitor fetched every entry up to the checkpoint's size, hashed them
    /// into its own tree, found the signed root, and replayed them against TUF
    /// rules. The only verdict a client trusts.
    Consistent,
    /// The checkpoint is ahead of everything the monitor has verified, and it
    /// could not follow the log to that size in time. The monitor keeps the
    /// checkpoint and judges it once its tree passes that size.
    Behind,
    /// It cannot be true together with the monitor's view; evidence was written.
    SplitView,
    /// The log could not prove it either way against the monitor's view.
    Unproven,
}

impl Verdict {
    /// The label on the wire, in metrics and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Consistent => "consistent",
            Verdict::Behind => "behind",
            Verdict::SplitView => "split_view",
            Verdict::Unproven => "unproven",
        }
    }

    /// Every verdict, for tests and metrics.
    pub const ALL: [Verdict; 4] = [
        Verdict::Consistent,
        Verdict::Behind,
        Verdict::SplitView,
        Verdict::Unproven,
    ];
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /gossip/checkpoint`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GossipReply {
    /// The monitor's judgement.
    pub verdict: Verdict,
    /// Size of the latest checkpoint the monitor verified.
    pub size: u64,
}

impl JsonLine for GossipReply {}

impl GossipReply {
    /// Reads a reply; a verdict outside the closed set is malformed.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        from_json("gossip reply", bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn verdicts_are_a_closed_set_on_the_wire() {
        for v in Verdict::ALL {
            let reply = GossipReply {
                verdict: v,
                size: 7,
            };
            let text = serde_json::to_string(&reply).unwrap();
            assert_eq!(
                text,
                format!("{{\"verdict\":\"{}\",\"size\":7}}", v.as_str())
            );
            assert_eq!(GossipReply::from_json(text.as_bytes()).unwrap(), reply);
        }
        // What an older monitor said of a checkpoint it had not verified, and
        // anything else, is no verdict at all.
        for other in ["ahead", "Consistent", "", "consistent "] {
            let text = format!("{{\"verdict\":\"{other}\",\"size\":7}}");
            assert!(GossipReply::from_json(text.as_bytes()).is_err(), "{other}");
        }
    }
}
