//! OLPC canonical JSON, the form TUF signatures cover (TUF §4.2: "the canonical JSON
//! form of the signed portion"), through the `olpc-cjson` crate rather than a
//! hand-written serialiser.

use crate::{Error, Result};
use serde::Serialize;

/// Serialises `value` as OLPC canonical JSON.
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    value
        .serialize(&mut ser)
        .map_err(|e| Error::malformed("canonical JSON", e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_whitespace_dropped() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{ "b": 1, "a": [true, null, "x\"y"], "c": {"z": 0, "y": -3} }"#,
        )
        .unwrap();
        assert_eq!(
            to_canonical_json(&v).unwrap(),
            br#"{"a":[true,null,"x\"y"],"b":1,"c":{"y":-3,"z":0}}"#
        );
    }

    #[test]
    fn floats_are_refused() {
        let v: serde_json::Value = serde_json::from_str(r#"{"a": 1.5}"#).unwrap();
        assert!(to_canonical_json(&v).is_err());
    }
}
