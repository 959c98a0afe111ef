//! The C2SP tlog-witness `add-checkpoint` request body, as a witness reads it from
//! anyone on the network: typed errors, no panics, and every request that parses
//! is written back as the very bytes that were read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlog::witness_protocol::AddCheckpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = AddCheckpoint::parse(data) {
        assert_eq!(request.to_body(), data);
    }
});
