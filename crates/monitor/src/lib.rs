//! The parties outside the server that make a lying log visible.
//!
//! - [`replay::Replay`] is the monitor's judgement, sans I/O: handed each log entry
//!   with the metadata bytes it commits to, it checks them as a TUF client and a
//!   repository owner would, across the whole history, and reports every new
//!   version and every violation.
//! - [`follower::Monitor`] follows one log over its tile API: it verifies every
//!   checkpoint against its own copy of the tree, replays every entry, stores its
//!   state durably ([`state`]) and judges checkpoints heard through gossip.
//! - split-view evidence files are written with [`wire::evidence`], which anyone
//!   can check without this crate.
//! - [`alerts`]: structured log events, `tuflog_monitor_alerts_total{kind}`, an
//!   optional webhook.
//! - [`http`]: gossip, alerts and metrics routes, and the loop that drives it all.
//!
//! # What this crate does not do
//!
//! Follow the gRPC watch (the tile API is what any C2SP log serves, and polling it
//! is enough at the log's checkpoint rate), follow several logs in one process, or
//! check expiry: a monitor reads history, where every document has expired sooner
//! or later.
#![forbid(unsafe_code)]

pub mod alerts;
mod error;
pub mod fetch;
pub mod follower;
pub mod http;
pub mod metrics;
pub mod replay;
pub mod state;

pub use error::Error;
pub use follower::{Config, Monitor, Step, Verdict};
