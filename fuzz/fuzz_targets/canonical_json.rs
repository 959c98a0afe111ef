//! Canonical JSON's fast path: any text `is_canonical` accepts must be exactly what
//! the tree-based canonicaliser writes for it, and what `canonical_text` returns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tuf::canonical::{canonical_text, canonical_value, is_canonical};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if is_canonical(text) {
        let value: serde_json::Value =
            serde_json::from_str(text).expect("text called canonical is JSON");
        let written = canonical_value(&value).expect("text called canonical has no floats");
        assert_eq!(
            written, data,
            "the scan accepted text that is not canonical"
        );
        assert_eq!(canonical_text(text).ok().as_deref(), Some(data));
    }
});
