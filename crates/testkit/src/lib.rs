//! Real parts for tuflog's tests, so that no test talks to a mock of something an
//! operator would run.
#![forbid(unsafe_code)]

pub mod pki;
pub mod postgres;
