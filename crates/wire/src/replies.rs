//! The server's other JSON replies that a client reads: the log's proofs by index
//! and size (`GET /proof/inclusion`, `GET /proof/consistency`), a repository's
//! online keys (`GET /repos/{repo}/keys`) and the error body every failed request
//! carries.

use crate::json::{from_json, JsonLine};
use crate::{hashes, Error};
use serde::{Deserialize, Serialize};
use tlog::Hash;

/// `GET /proof/inclusion?index=I&size=N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionReply {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// The leaf hash at `index`, base64.
    pub leaf_hash: String,
    /// The audit path, leaf to root, base64 hashes.
    pub proof: Vec<String>,
}

impl JsonLine for InclusionReply {}

impl InclusionReply {
    /// The reply for leaf `index` of the tree of `size` leaves.
    pub fn new(index: u64, size: u64, leaf_hash: &Hash, proof: &[Hash]) -> Self {
        InclusionReply {
            index,
            size,
            leaf_hash: leaf_hash.to_base64(),
            proof: hashes::encode(proof),
        }
    }
}

/// `GET /proof/consistency?from=M&size=N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyReply {
    /// Old size.
    pub from: u64,
    /// New size.
    pub size: u64,
    /// The proof (RFC 9162 §2.1.4), base64 hashes.
    pub proof: Vec<String>,
}

impl JsonLine for ConsistencyReply {}

impl ConsistencyReply {
    /// The reply for the proof from `from` to `size`.
    pub fn new(from: u64, size: u64, proof: &[Hash]) -> Self {
        ConsistencyReply {
            from,
            size,
            proof: hashes::encode(proof),
        }
    }

    /// Reads a reply.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        from_json("consistency reply", bytes)
    }

    /// The proof's hashes.
    pub fn proof_hashes(&self) -> Result<Vec<Hash>, Error> {
        hashes::decode("proof", &self.proof)
    }
}

/// One online key of a repository, as the server holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OnlineKey {
    /// Its TUF key ID.
    pub keyid: String,
    /// The public key, as root lists it.
    pub key: tuf::keys::Key,
}

/// `GET /repos/{repo}/keys`: the keys the server signs snapshot and timestamp
/// with, for a publisher to list in root.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OnlineKeys {
    /// The repository.
    pub repo: String,
    /// The snapshot key.
    pub snapshot: OnlineKey,
    /// The timestamp key.
    pub timestamp: OnlineKey,
    /// The generation of these keys: 0 until the repository's online keys are
    /// first rotated (`?next` asks for the generation after the current one).
    #[serde(default)]
    pub generation: u32,
}

impl JsonLine for OnlineKeys {}

impl OnlineKeys {
    /// Reads a reply.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        from_json("online keys", bytes)
    }
}

/// The body of every failed request: `{"error":{"code":…,"message":…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// The error.
    pub error: ErrorDetail,
}

/// What [`ErrorReply`] carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable code a program can match on, e.g. `repeated_signature`; empty
    /// when the server gave none.
    #[serde(default)]
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl JsonLine for ErrorReply {}

impl ErrorReply {
    /// The body for `code` and `message`.
    pub fn new(code: &str, message: &str) -> Self {
        ErrorReply {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.to_string(),
            },
        }
    }

    /// Reads a body; `None` when it is not one of these (a proxy's page, say).
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn replies_read_back_as_written() {
        let h = tlog::leaf_hash(b"x");
        let c = ConsistencyReply::new(1, 2, &[h]);
        let back = ConsistencyReply::from_json(&c.to_json_line()).unwrap();
        assert_eq!(back.proof_hashes().unwrap(), vec![h]);
        let e = ErrorReply::new("not_found", "no such repository");
        assert_eq!(ErrorReply::from_json(&e.to_json_line()), Some(e));
        assert_eq!(ErrorReply::from_json(b"<html>bad gateway</html>"), None);
        let i = InclusionReply::new(0, 1, &h, &[]);
        let text = String::from_utf8(i.to_json_line()).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"index\":0,\"size\":1,\"leaf_hash\":\"{}\",\"proof\":[]}}\n",
                h.to_base64()
            )
        );
    }
}
