//! What every tuflog process does at its edges, written once: logging set-up.
//!
//! The pure crates (`tuflog-tlog`, `tuflog-tuf`, `tuflog-wire`) do no I/O; the
//! services and the client do theirs through here where they share it.
#![forbid(unsafe_code)]

pub mod logging;
