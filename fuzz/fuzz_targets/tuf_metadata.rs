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
        // A targets map read from a document was checked entry by entry, so each
        // entry parses when it is asked for, and the same as when read on its own.
        let targets = &t.signed().targets;
        assert_eq!(targets.iter().count(), targets.len());
        for path in targets.keys() {
            assert!(targets.get(path).is_some(), "{path:?}");
        }
        let signed: serde_json::Value = serde_json::from_slice::<serde_json::Value>(data)
            .ok()
            .and_then(|v| v.get("signed").cloned())
            .unwrap_or_default();
        if let Ok(built) = serde_json::from_value::<Targets>(signed) {
            assert_eq!(&built.targets, targets);
        }
        if let Some(d) = &t.signed().delegations {
            let _ = d.roles_for_target("a/b/c.txt");
        }
    }
});
