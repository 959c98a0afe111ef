//! What every tuflog process does at its edges, written once: logging set-up,
//! bounded HTTP fetches, durable file replacement, secrets sealed under a passphrase,
//! PEM files read bounded.
//!
//! The pure crates (`tuflog-tlog`, `tuflog-tuf`, `tuflog-wire`) do no I/O; the
//! client, the services and the binaries do theirs through here where they share
//! it.
#![forbid(unsafe_code)]

pub mod durable;
mod error;
pub mod http;
pub mod logging;
pub mod pem;
pub mod sealed;

pub use error::{Error, Result};
pub use http::Http;
