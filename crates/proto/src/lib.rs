//! gRPC messages and services generated from the `.proto` files under `proto/`.
//!
//! # What this crate is not
//!
//! Generated code only: no conversions, validation or behaviour. The server and
//! clients check every field they read.
#![forbid(unsafe_code)]

/// `tuflog.log.v1`: the log's read API.
pub mod log {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used
    )]
    pub mod v1 {
        tonic::include_proto!("tuflog.log.v1");
    }
}

/// `tuflog.repo.v1`: the repository service.
pub mod repo {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used
    )]
    pub mod v1 {
        tonic::include_proto!("tuflog.repo.v1");
    }
}
