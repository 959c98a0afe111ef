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

/// The `p` quantile (0..=1) of `sorted` latencies, by nearest rank below; zero for no
/// samples. Every benchmark here reports p50 and p99 this one way.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank within a slice's length"
    )]
    let rank = (sorted.len().saturating_sub(1) as f64 * p) as usize;
    sorted.get(rank).copied().unwrap_or_default()
}
