//! gRPC messages and services generated from the `.proto` files under `proto/`.
//!
//! # What this crate is not
//!
//! Generated code only: no conversions, validation or behaviour. The server and
//! clients check every field they read.
#![forbid(unsafe_code)]

/// The code generated for one protobuf package, as generated: not documented
/// item by item, and not held to this workspace's lints.
macro_rules! generated {
    ($package:literal) => {
        /// Version 1.
        #[allow(
            missing_docs,
            clippy::all,
            clippy::pedantic,
            clippy::unwrap_used,
            clippy::expect_used
        )]
        pub mod v1 {
            tonic::include_proto!($package);
        }
    };
}

/// `tuflog.log.v1`: the log's read API.
pub mod log {
    generated!("tuflog.log.v1");
}

/// `tuflog.repo.v1`: the repository service.
pub mod repo {
    generated!("tuflog.repo.v1");
}

/// `tuflog.signer.v1`: the signer, which holds the keys.
pub mod signer {
    generated!("tuflog.signer.v1");
}
