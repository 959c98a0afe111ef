//! Who signs checkpoints: the sequencer asks a [`CheckpointSigner`], with the
//! consistency proof from the last checkpoint signed, and never holds a key itself.
//!
//! The embedded default, [`LocalCheckpointSigner`], holds the log key in this
//! process. A separate signer ([`crate::remote_signer::RemoteSigner`]) holds it in
//! another, and remembers what it signed: it refuses a checkpoint that does not
//! extend its last one. Such a signer may have signed a batch the server then failed
//! to store, so the sequencer stages each batch durably before asking
//! ([`CheckpointSigner::remembers`]) and, after a restart, finishes the staged batch
//! rather than build a different one of the same size.

use crate::Error;
use tlog::{Checkpoint, Hash, SignerKey, VerifierKey};

/// One checkpoint to sign and the proof that it extends the last one.
#[derive(Clone, Copy, Debug)]
pub struct CheckpointRequest<'a> {
    /// The log's origin.
    pub origin: &'a str,
    /// The new tree size.
    pub size: u64,
    /// The new tree's root.
    pub root: &'a Hash,
    /// The size of the last checkpoint signed.
    pub from_size: u64,
    /// RFC 9162 §2.1.4 consistency path from `from_size` to `size`.
    pub proof: &'a [Hash],
}

/// Signs checkpoints with the log key.
pub trait CheckpointSigner: Send + Sync {
    /// The log key's verifier, which clients pin.
    fn verifier(&self) -> &VerifierKey;

    /// Whether the signer keeps its own record of the last checkpoint it signed
    /// (so a batch must be staged durably before it is asked).
    fn remembers(&self) -> bool;

    /// The signed note of `request`'s checkpoint. Blocks; called from the
    /// integrator thread. [`Error::SignerUnavailable`] means retry: nothing was
    /// refused.
    fn sign_checkpoint(&self, request: &CheckpointRequest<'_>) -> Result<Vec<u8>, Error>;
}

/// The log key in this process: what `tuflog server` uses with no `[signer]`.
/// The sequencer checks consistency itself before asking, so this signs.
pub struct LocalCheckpointSigner {
    key: SignerKey,
    verifier: VerifierKey,
}

impl LocalCheckpointSigner {
    /// Signs with `key`.
    pub fn new(key: SignerKey) -> Self {
        let verifier = key.verifier();
        LocalCheckpointSigner { key, verifier }
    }
}

impl CheckpointSigner for LocalCheckpointSigner {
    fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    fn remembers(&self) -> bool {
        false
    }

    fn sign_checkpoint(&self, request: &CheckpointRequest<'_>) -> Result<Vec<u8>, Error> {
        let checkpoint = Checkpoint::new(request.origin, request.size, *request.root)?;
        Ok(checkpoint.sign(&self.key)?.to_string().into_bytes())
    }
}
