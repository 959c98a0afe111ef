use crate::tree::NodeId;

/// Every way an operation of this crate can fail.
///
/// Parsers return one of these for every malformed input; nothing in this crate
/// panics on attacker-controlled bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hash was not 32 bytes or not valid base64.
    #[error("malformed hash: {0}")]
    MalformedHash(&'static str),

    /// A proof was requested for an index or size outside the tree, or for sizes the
    /// RFC does not define a proof between (for example a consistency proof from 0).
    #[error("invalid proof request: {0}")]
    InvalidProofRequest(String),

    /// An inclusion or consistency proof failed verification.
    #[error("proof rejected: {0}")]
    ProofRejected(&'static str),

    /// The hash storage does not hold a hash the tree needs.
    #[error("hash storage has no hash for {0}")]
    MissingHash(NodeId),

    /// The hash storage failed.
    #[error("hash storage: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A tile path, tile body or tile request was malformed.
    #[error("malformed tile: {0}")]
    MalformedTile(String),

    /// An entry bundle was malformed, or an entry too large to bundle.
    #[error("malformed entry bundle: {0}")]
    MalformedBundle(String),

    /// A signed note was malformed (before any signature was checked).
    #[error("malformed note: {0}")]
    MalformedNote(String),

    /// A key name, verifier key or signer key string was malformed.
    #[error("malformed key: {0}")]
    MalformedKey(String),

    /// A signature by a known key did not verify; the whole note is rejected.
    #[error("invalid signature by known key {name}+{key_id:08x}")]
    InvalidSignature {
        /// The key name on the signature line.
        name: String,
        /// The key ID on the signature line.
        key_id: u32,
    },

    /// No signature in the note was by a key the verifier knows.
    #[error("note has no signature by a known key")]
    UnverifiedNote,

    /// A checkpoint body was malformed.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),

    /// A checkpoint was signed by the right key but is for another log.
    #[error("checkpoint origin {found:?} does not match the expected origin {expected:?}")]
    WrongOrigin {
        /// The origin the caller expected.
        expected: String,
        /// The origin line of the checkpoint.
        found: String,
    },

    /// A cosignature was malformed (wrong length, timestamp out of range).
    #[error("malformed cosignature: {0}")]
    MalformedCosignature(String),

    /// A C2SP tlog-witness `add-checkpoint` request that is not one.
    #[error("malformed add-checkpoint request: {0}")]
    MalformedWitnessRequest(String),

    /// A witness policy that cannot mean what it says.
    #[error("unusable witness policy: {0}")]
    UnusablePolicy(String),

    /// A C2SP tlog-proof that is not one.
    #[error("malformed tlog-proof: {0}")]
    MalformedProof(String),

    /// A checkpoint cosigned by fewer distinct witnesses than the policy asks for.
    #[error("cosigned by {cosigners} of the {threshold} witnesses the policy asks for")]
    WitnessPolicyNotMet {
        /// Distinct witness keys with a valid cosignature.
        cosigners: usize,
        /// How many the policy asks for.
        threshold: usize,
    },
}
