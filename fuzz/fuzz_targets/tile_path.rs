//! Tile path parsing: typed errors, no panics, and accepted paths are canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlog::tile::TilePath;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = TilePath::parse(s) {
            assert_eq!(p.to_string(), s);
        }
    }
});
