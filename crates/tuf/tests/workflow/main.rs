//! The client workflow against repositories built in memory: updates that must
//! succeed, and one repository per attack, named after it, that must be refused with
//! its specific error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod attacks;
mod harness;
mod spec_cases;
mod updates;
