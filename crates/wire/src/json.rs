//! How every JSON format of this crate is read and written.

use crate::Error;
use serde::Serialize;

/// `bytes` read as the JSON format named `field`.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    field: &'static str,
    bytes: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::MalformedField {
        field,
        detail: e.to_string(),
    })
}

/// A JSON format of this crate, served as one line.
pub trait JsonLine: Serialize {
    /// The value as served: one line of JSON.
    fn to_json_line(&self) -> Vec<u8> {
        // Serialising these types cannot fail: no maps with non-string keys, no
        // user-defined Serialize impls that error.
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}
