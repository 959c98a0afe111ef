//! TUF metadata parsing for every role: typed errors, no panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tuf::{Metadata, Root, Snapshot, Targets, Timestamp};

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = Metadata::<Root>::from_bytes(data) {
        // Every key in a parsed root either parses or is a typed error.
        for (id, key) in &root.signed().keys {
            let _ = key.parse(id);
            let _ = key.key_id();
        }
        let _ = tuf::threshold::Authorization::top_level(root.signed(), "root")
            .map(|a| tuf::threshold::verify_threshold(&a, &root));
    }
    let _ = Metadata::<Timestamp>::from_bytes(data);
    let _ = Metadata::<Snapshot>::from_bytes(data);
    if let Ok(t) = Metadata::<Targets>::from_bytes(data) {
        if let Some(d) = &t.signed().delegations {
            let _ = d.roles_for_target("a/b/c.txt");
        }
    }
});
