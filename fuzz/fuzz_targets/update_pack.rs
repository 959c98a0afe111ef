//! Update pack decoding (`wire::pack`): typed errors, no panics, every range within
//! the input, and a decoded pack re-encodes to exactly the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::pack::{decode, encode, PackFile};

fuzz_target!(|data: &[u8]| {
    if let Ok(pack) = decode(data) {
        let files: Vec<PackFile<'_>> = pack
            .parts
            .iter()
            .map(|p| PackFile {
                role: &p.role,
                version: p.version,
                metadata: &data[p.metadata.clone()],
                bundle: &data[p.bundle.clone()],
            })
            .collect();
        assert_eq!(encode(pack.latest_root, &files).unwrap(), data);
    }
});
