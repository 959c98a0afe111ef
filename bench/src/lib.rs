//! Benchmarks live in `benches/`; this crate has no library code of its own.
//! See `bench/RESULTS.md` for the figures and the commands that reproduce them.
#![forbid(unsafe_code)]
