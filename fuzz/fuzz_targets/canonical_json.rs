//! Canonical JSON's recogniser: any text `is_canonical` accepts must be exactly what
//! the canonical writer (`transcode`) writes for it, and what `canonical_text`
//! returns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tuf::canonical::{canonical_text, is_canonical, transcode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if is_canonical(text) {
        assert_eq!(
            transcode(text).ok().as_deref(),
            Some(data),
            "the scan accepted text that is not canonical"
        );
        assert_eq!(canonical_text(text).ok().as_deref(), Some(data));
    }
});
