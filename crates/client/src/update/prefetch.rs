//! Files fetched before the workflow asks for them: the update pack, asked for as
//! a session opens, and the top-level files fetched under their unversioned names
//! while the workflow looks for a newer root. Either is used only when it is the
//! very file the workflow then asks for, and judged as if fetched alone.

use super::*;

/// The update pack ([`wire::pack`]): every file this update is likely to need and
/// its proof bundle, in one reply, asked for as the session opens. Used as the
/// files fetched ahead are: a file is taken from it only when it is the very file
/// the workflow asks for, and judged as if fetched alone.
pub(super) enum PackState {
    /// No pack: plain TUF, or the server sent none (the session then fetches file
    /// by file).
    Off,
    Fetching {
        url: String,
        fetch: tokio::task::JoinHandle<Result<Option<Vec<u8>>>>,
    },
    Arrived {
        bytes: Bytes,
        pack: wire::pack::Pack,
    },
}

impl PackState {
    /// The part for `role` at `version` (any version when `None`).
    pub(super) fn part(
        &self,
        role: &str,
        version: Option<u64>,
    ) -> Option<(&wire::pack::PackPart, &Bytes)> {
        let PackState::Arrived { bytes, pack } = self else {
            return None;
        };
        pack.parts
            .iter()
            .find(|p| p.role == role && version.is_none_or(|v| p.version == v))
            .map(|p| (p, bytes))
    }

    /// The proof bundle the pack holds for `role` `version`, if within the limit
    /// for a bundle fetched alone.
    pub(super) fn bundle(&self, role: &str, version: Option<u64>) -> Option<Vec<u8>> {
        let (part, bytes) = self.part(role, version)?;
        bundle_within_limit(part, bytes)
    }

    /// The proof bundle the pack holds for exactly `metadata` as `role` `version`.
    /// A log may hold two documents for one version (an equivocation): the pack
    /// carries the latest, the versioned route may serve the other, and the bundle
    /// must be the one for the bytes the client judged.
    pub(super) fn bundle_for(&self, role: &str, version: u64, metadata: &[u8]) -> Option<Vec<u8>> {
        let (part, bytes) = self.part(role, Some(version))?;
        if bytes[part.metadata.clone()] != *metadata {
            return None;
        }
        bundle_within_limit(part, bytes)
    }

    /// The newest root the server had when it wrote the pack.
    pub(super) fn latest_root(&self) -> Option<u64> {
        match self {
            PackState::Arrived { pack, .. } => Some(pack.latest_root),
            _ => None,
        }
    }
}

/// A part's proof bundle, if within the limit for a bundle fetched alone.
pub(super) fn bundle_within_limit(part: &wire::pack::PackPart, bytes: &Bytes) -> Option<Vec<u8>> {
    (part.bundle.len() as u64 <= MAX_BUNDLE_BYTES).then(|| bytes[part.bundle.clone()].to_vec())
}

/// Most bytes of an update pack read: the most each part may hold, as if each
/// file and bundle were fetched alone.
pub(super) fn pack_max_bytes(limits: &Limits) -> u64 {
    use wire::pack::{MAX_PACK_ROOTS, PACK_HEADER_BYTES, PART_FRAMING_MAX_BYTES};
    let part = |max: u64| max + MAX_BUNDLE_BYTES + PART_FRAMING_MAX_BYTES as u64;
    PACK_HEADER_BYTES as u64
        + MAX_PACK_ROOTS as u64 * part(limits.root_max_bytes)
        + part(limits.timestamp_max_bytes)
        + part(limits.snapshot_max_bytes)
        + part(limits.targets_max_bytes)
}

/// A top-level file fetched under its unversioned name before the workflow knew
/// which version it needs.
pub(super) struct Ahead {
    pub(super) role: &'static str,
    pub(super) fetch: tokio::task::JoinHandle<Result<Option<Vec<u8>>>>,
}

/// The version a metadata file declares, read without building the rest; `None`
/// when it has none to read. Only chooses between two fetches: the workflow checks
/// the bytes in full either way.
pub(super) fn declared_version(bytes: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Doc {
        signed: Signed,
    }
    #[derive(serde::Deserialize)]
    struct Signed {
        version: u64,
    }
    serde_json::from_slice::<Doc>(bytes)
        .ok()
        .map(|d| d.signed.version)
}
