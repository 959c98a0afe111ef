//! The sequencer lease, when server instances share a database: one integrates,
//! the others follow it (serving reads, forwarding pushes) and take over when its
//! lease runs out.
//!
//! Safety does not rest on timing. Every write of the log is fenced in the
//! database itself ([`store::SequencerLease`]): once a standby has taken the lease,
//! nothing the previous holder sends is written, however long it was paused. The
//! timings here only bound how soon a standby takes over:
//!
//! - the holder renews every [`RENEW_EVERY`], for [`LEASE_TTL`];
//! - a follower asks every [`STANDBY_POLL`];
//! - so after the holder dies, a follower holds the lease within
//!   `LEASE_TTL + STANDBY_POLL` (6 s), then recovers the log from the database and
//!   integrates, finishing any batch the holder staged before any new one.
//!
//! A holder that cannot renew in time, or finds the lease taken, stops serving
//! ([`Error::LeaseLost`]): restarted by its supervisor, it comes back as a follower.

use crate::sequencer::Log;
use crate::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::SequencerLease;
use tokio::sync::watch;

/// How long a lease lasts unless renewed.
pub const LEASE_TTL: Duration = Duration::from_secs(5);
/// How often the holder renews: three chances before the lease runs out.
pub const RENEW_EVERY: Duration = Duration::from_millis(1_600);
/// How often a standby asks for the lease.
pub const STANDBY_POLL: Duration = Duration::from_secs(1);

/// Who this instance is, as other instances see it in the lease.
#[derive(Clone, Debug)]
pub struct Identity {
    /// A name unique among the instances (host and process by default).
    pub holder: String,
    /// Where this instance takes requests, for the others to find it.
    pub address: String,
}

impl Identity {
    /// `host/pid` and an address.
    pub fn of_this_process(address: String) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        Identity {
            holder: format!("{host}/{}", std::process::id()),
            address,
        }
    }
}

/// Sleeps `wait`, or less if told to stop; true when told to stop (or when the
/// server is gone: the sender dropped).
async fn sleep_or_stop(wait: Duration, stopping: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => false,
        stopped = stopping.wait_for(|s| *s) => {
            drop(stopped);
            true
        }
    }
}

/// Runs a blocking lease call (a database round trip) off the async threads.
async fn off_thread<T: Send + 'static>(
    what: &str,
    call: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| Error::LeaseLost(format!("{what}: the task failed: {e}")))
}

/// Asks for the lease (a renewal when this instance holds it), off the async threads.
async fn ask(
    lease: &Arc<dyn SequencerLease>,
    me: &Identity,
) -> Result<store::Result<Option<u64>>, Error> {
    let (lease, me) = (lease.clone(), me.clone());
    off_thread("asking for the lease", move || {
        lease.take_lease(&me.holder, &me.address, LEASE_TTL)
    })
    .await
}

/// Says on the log who holds the lease, as this instance `does` beside it.
fn report_holder(lease: &dyn SequencerLease, does: &str) -> Result<(), Error> {
    let holder = lease.lease_holder()?;
    tracing::info!(
        holder = holder.as_ref().map(|h| h.holder.as_str()),
        address = holder.as_ref().map(|h| h.address.as_str()),
        "another instance holds the sequencer lease; {does}"
    );
    Ok(())
}

/// At start on a shared database: takes the lease if it is free (returning its
/// token: this instance leads), else returns `None` (this instance follows) once
/// the log exists. A log not yet created is created by whoever takes the lease,
/// so until it exists this keeps asking.
pub fn lead_or_follow(
    lease: &dyn SequencerLease,
    store: &dyn store::LogStore,
    me: &Identity,
) -> Result<Option<u64>, Error> {
    loop {
        if let Some(token) = lease.take_lease(&me.holder, &me.address, LEASE_TTL)? {
            tracing::info!(holder = %me.holder, token, "holding the sequencer lease");
            return Ok(Some(token));
        }
        if store.state()?.is_some() {
            report_holder(lease, "following it")?;
            return Ok(None);
        }
        std::thread::sleep(STANDBY_POLL);
    }
}

/// The lease's side of a running instance on a shared database, until `stopping`:
/// a follower asks for the lease every [`STANDBY_POLL`] and, once it holds it,
/// takes over the log ([`Log::lead`]); the sequencer keeps the lease ([`keep`]).
pub async fn sequence(
    lease: Arc<dyn SequencerLease>,
    me: Identity,
    token: Option<u64>,
    log: Arc<Log>,
    mut stopping: watch::Receiver<bool>,
) -> Result<(), Error> {
    let token = match token {
        Some(token) => token,
        None => loop {
            if sleep_or_stop(STANDBY_POLL, &mut stopping).await {
                return Ok(());
            }
            match ask(&lease, &me).await? {
                Ok(Some(token)) => {
                    tracing::info!(holder = %me.holder, token, "took the sequencer lease; taking over the log");
                    let log = log.clone();
                    off_thread("taking over the log", move || log.lead())
                        .await?
                        .map_err(|e| {
                            Error::LeaseLost(format!("taking over the log failed: {e}"))
                        })?;
                    break token;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "asking for the sequencer lease failed"),
            }
        },
    };
    keep(lease, me, token, stopping).await
}

/// Renews the lease held with `token` until `stopping`, then gives it up so a
/// standby need not wait for it to expire. Returns [`Error::LeaseLost`] as soon as
/// the lease is taken by another or cannot be renewed before it runs out.
pub async fn keep(
    lease: Arc<dyn SequencerLease>,
    me: Identity,
    token: u64,
    mut stopping: watch::Receiver<bool>,
) -> Result<(), Error> {
    // Measured from before each request, so the deadline is never later than the
    // database's own.
    let mut lasts_until = Instant::now() + LEASE_TTL;
    // The first renewal at once: it records the address this instance listens on.
    let mut first = true;
    loop {
        let stop = !first && sleep_or_stop(RENEW_EVERY, &mut stopping).await;
        first = false;
        if stop {
            let released = off_thread("giving up the lease", move || lease.release_lease()).await;
            if let Ok(Err(e)) = released {
                tracing::warn!(error = %e, "giving up the sequencer lease failed; it expires by itself");
            }
            return Ok(());
        }
        let asked = Instant::now();
        match ask(&lease, &me).await? {
            Ok(Some(t)) if t == token => lasts_until = asked + LEASE_TTL,
            Ok(_) => {
                let l = lease.clone();
                let holder = off_thread("reading the lease", move || l.lease_holder())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten();
                return Err(Error::LeaseLost(format!(
                    "the lease of term {token} passed to {}",
                    holder.map_or_else(
                        || "nobody".into(),
                        |h| format!("{} (term {})", h.holder, h.token)
                    )
                )));
            }
            Err(e) if Instant::now() + RENEW_EVERY < lasts_until => {
                tracing::warn!(error = %e, "renewing the sequencer lease failed; trying again");
            }
            Err(e) => {
                return Err(Error::LeaseLost(format!(
                    "could not renew it before it runs out: {e}"
                )))
            }
        }
    }
}
