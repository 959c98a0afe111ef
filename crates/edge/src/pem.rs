//! PEM files read at start (certificates, TLS keys), bounded.

use crate::Result;
use std::path::Path;

/// Largest PEM file read (a certificate chain or a key).
pub const MAX_PEM_BYTES: u64 = 256 * 1024;

/// The bytes of the PEM file at `path`, refused past [`MAX_PEM_BYTES`].
pub fn read(path: &Path) -> Result<Vec<u8>> {
    crate::durable::read_bounded(path, MAX_PEM_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn a_pem_file_past_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.pem");
        std::fs::write(&path, vec![b'A'; 256 * 1024 + 1]).unwrap();
        assert!(matches!(read(&path), Err(Error::TooLarge { .. })));
        std::fs::write(&path, b"-----BEGIN CERTIFICATE-----\n").unwrap();
        assert_eq!(read(&path).unwrap(), b"-----BEGIN CERTIFICATE-----\n");
        assert!(read(&dir.path().join("missing.pem")).is_err());
    }
}
