//! A k-of-n witness policy: how many distinct witness keys must have cosigned a
//! checkpoint (C2SP tlog-cosignature, cosignature/v1) before it counts. One rule for
//! every party that counts cosignatures: a client before it trusts a checkpoint, a
//! monitor before it vouches for one, the server before it publishes one.

use crate::checkpoint::VerifiedCheckpoint;
use crate::note::VerifierKey;
use crate::Error;

/// `threshold` of `witnesses`, each cosignature no older than
/// `max_cosignature_age`.
#[derive(Clone, Debug)]
pub struct WitnessPolicy {
    /// The witnesses' verifier keys (C2SP cosignature/v1).
    pub witnesses: Vec<VerifierKey>,
    /// How many distinct witness keys must have cosigned a checkpoint.
    pub threshold: usize,
    /// Cosignatures whose timestamp is older than this do not count.
    pub max_cosignature_age: Option<std::time::Duration>,
}

impl WitnessPolicy {
    /// `threshold` of `witnesses`, cosignatures of any age.
    pub fn new(witnesses: Vec<VerifierKey>, threshold: usize) -> Self {
        WitnessPolicy {
            witnesses,
            threshold,
            max_cosignature_age: None,
        }
    }

    /// Refuses a policy that cannot mean what it says for the log `log_key`: a
    /// threshold of zero, or above the number of distinct witness keys, or a
    /// witness key that is the log's own key (its holder could cosign for it).
    pub fn check(&self, log_key: &VerifierKey) -> Result<(), Error> {
        if self.witnesses.iter().any(|w| same_key(w, log_key)) {
            return Err(Error::UnusablePolicy(format!(
                "a witness key is the log's own key {log_key}: the log could cosign its own checkpoints"
            )));
        }
        let distinct = distinct_keys(self.witnesses.iter());
        if self.threshold == 0 || self.threshold > distinct {
            return Err(Error::UnusablePolicy(format!(
                "a threshold of {} with {distinct} distinct witness keys",
                self.threshold
            )));
        }
        Ok(())
    }

    /// How many distinct witness keys cosigned `verified` (opened with this
    /// policy's witnesses) no longer than `max_cosignature_age` before `now`
    /// (seconds since the Unix epoch; `None` does not check ages). One key named
    /// twice counts once.
    pub fn cosigners(&self, verified: &VerifiedCheckpoint, now: Option<u64>) -> usize {
        let fresh = |timestamp: Option<u64>| match (self.max_cosignature_age, now) {
            (Some(age), Some(now)) => {
                timestamp.is_some_and(|t| t.saturating_add(age.as_secs()) >= now)
            }
            _ => true,
        };
        distinct_keys(
            verified
                .cosignatures()
                .iter()
                .filter(|c| fresh(c.timestamp))
                .map(|c| &c.key),
        )
    }

    /// Whether `verified` meets the policy at `now` ([`WitnessPolicy::cosigners`]).
    pub fn is_met(&self, verified: &VerifiedCheckpoint, now: Option<u64>) -> bool {
        self.cosigners(verified, now) >= self.threshold
    }
}

/// Whether two verifier keys hold the same public key, whatever their names.
fn same_key(a: &VerifierKey, b: &VerifierKey) -> bool {
    a.public_key().as_bytes() == b.public_key().as_bytes()
}

fn distinct_keys<'a>(keys: impl Iterator<Item = &'a VerifierKey>) -> usize {
    let mut seen: Vec<[u8; 32]> = Vec::new();
    for k in keys {
        let bytes = *k.public_key().as_bytes();
        if !seen.contains(&bytes) {
            seen.push(bytes);
        }
    }
    seen.len()
}
