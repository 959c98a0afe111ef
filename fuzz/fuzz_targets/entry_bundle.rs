//! Entry bundle parsing: typed errors, no panics, and parsed bundles re-encode exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlog::tile::{encode_bundle, parse_bundle};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = parse_bundle(data) {
        assert_eq!(encode_bundle(entries.iter().copied()).unwrap(), data);
    }
});
