//! tuflog's own wire formats, one type for each, used by the side that writes it
//! and the side that reads it: the server and the client, the monitor and the
//! client, a monitor and whoever checks its evidence.
//!
//! | module | format | written by | read by |
//! |---|---|---|---|
//! | [`bundle`] | proof bundle: a metadata version's log entry, its inclusion proof and the checkpoint it is proven against | server | client |
//! | [`receipt`] | push receipt: what a push logged, each version with its inclusion proof | server | publisher |
//! | [`replies`] | the log's proofs by index and size, a repository's online keys, errors | server | client, `tuflog log` |
//! | [`gossip`] | a monitor's verdict on a checkpoint shown to it | monitor | client |
//! | [`pack`] | update pack: the files of one client update with their bundles, in one reply | server | client |
//! | [`evidence`] | split-view evidence: two checkpoints one key signed that cannot both be true | monitor | anyone |
//!
//! The formats of other specifications live elsewhere: RFC 9162 proofs and the
//! C2SP notes, checkpoints, cosignatures and tiles in `tuflog-tlog`, TUF metadata
//! in `tuflog-tuf`. Nothing here does I/O.
#![forbid(unsafe_code)]

pub mod bundle;
mod error;
pub mod evidence;
pub mod gossip;
pub mod hashes;
mod json;
pub mod pack;
pub mod receipt;
pub mod replies;

pub use bundle::ProofBundle;
pub use error::Error;
pub use gossip::{GossipReply, Verdict};
pub use json::JsonLine;
pub use receipt::{PushReceipt, ReceiptEntry};

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
