//! How much one update may read.

/// Size and count limits of one update. Defaults follow python-tuf's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest root metadata read (TUF §5.3.3 "up to some W number of bytes").
    pub root_max_bytes: u64,
    /// Largest timestamp read (TUF §5.4.1 "up to X number of bytes").
    pub timestamp_max_bytes: u64,
    /// Largest snapshot read when timestamp lists no length (TUF §5.5.1 "Y").
    pub snapshot_max_bytes: u64,
    /// Largest targets metadata read when snapshot lists no length (TUF §5.6.1 "Z").
    pub targets_max_bytes: u64,
    /// Most root versions read in one update (TUF §5.3.3 "Y may be 2^10").
    pub max_root_rotations: u32,
    /// Most roles visited in one target search (TUF §5.6.7.1).
    pub max_delegations: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            root_max_bytes: 512_000,
            timestamp_max_bytes: 16_384,
            snapshot_max_bytes: 2_000_000,
            targets_max_bytes: 5_000_000,
            max_root_rotations: 256,
            max_delegations: 32,
        }
    }
}
