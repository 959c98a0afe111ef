//! The parties outside the server that make a lying log visible.
//!
//! [`replay::Replay`] is the monitor's judgement, sans I/O: handed each log entry
//! with the metadata bytes it commits to, it checks them as a TUF client and a
//! repository owner would, across the whole history, and reports every new version
//! and every violation.
//!
//! # What this crate does not do (yet)
//!
//! Fetch anything, keep state on disk, gossip or raise alerts outside its return
//! values: the follower, its storage and the HTTP surfaces are the next part of
//! issue [6]. It checks signatures and versions, not expiry: a monitor reads
//! history, where every document has expired sooner or later.
#![forbid(unsafe_code)]

pub mod replay;
