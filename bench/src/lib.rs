//! Benchmarks live in `benches/`; this crate has no library code of its own.
//! See `bench/RESULTS.md` for the figures and the commands that reproduce them.
#![forbid(unsafe_code)]

/// A log entry of the shape and size (~190 bytes) of a `tuflog/entry/v1` document,
/// distinct for every `i`; the server benchmarks append these.
pub fn sample_entry(i: u64) -> Vec<u8> {
    format!(
        "{{\"_type\":\"tuflog/entry/v1\",\"length\":{},\"repo\":\"example.com/app\",\"role\":\"targets\",\"sha256\":\"{:064x}\",\"version\":{i}}}",
        1000 + i % 997,
        u128::from(i) * 0x9e37_79b9_7f4a_7c15
    )
    .into_bytes()
}
