//! The gRPC service: each request through the [`Guard`], then the [`KeyHolder`];
//! every signature counted and logged by kind, never a key.

use crate::guard::{CheckpointAsk, Guard, OnlineRole};
use crate::keys::KeyHolder;
use crate::metrics::Metrics;
use crate::Error;
use proto::signer::v1 as pb;
use std::sync::Arc;
use tlog::verify::MAX_PROOF_HASHES;
use tlog::Hash;
use tonic::{Request, Response, Status};

/// Longest repository name accepted (the server's own limit is lower).
pub const MAX_REPO_NAME_BYTES: usize = 512;

pub(crate) struct SignerService {
    pub(crate) guard: Arc<Guard>,
    pub(crate) keys: Arc<dyn KeyHolder>,
    pub(crate) metrics: Arc<Metrics>,
    /// Repository name prefixes keys may be created for; empty allows any.
    pub(crate) allowed: Vec<String>,
}

fn status(e: Error) -> Status {
    let message = format!("[{}] {e}", e.code());
    if e.is_refusal() {
        tracing::warn!(code = e.code(), error = %e, "refused to sign");
        match e {
            Error::Malformed(_) => Status::invalid_argument(message),
            _ => Status::failed_precondition(message),
        }
    } else {
        tracing::error!(error = %e, "signing failed");
        Status::internal(message)
    }
}

fn hash(bytes: &[u8], what: &str) -> Result<Hash, Error> {
    let h: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::Malformed(format!("{what}: {} bytes, not 32", bytes.len())))?;
    Ok(Hash(h))
}

fn repo_name(repo: &str) -> Result<&str, Error> {
    if repo.is_empty() || repo.len() > MAX_REPO_NAME_BYTES || repo.contains('\0') {
        return Err(Error::Malformed(format!("repository name {repo:?}")));
    }
    Ok(repo)
}

/// Runs blocking work (a synced write, a signature) off the async workers, timed
/// and, when refused, counted by the refusal's code.
async fn blocking<T: Send + 'static>(
    metrics: &Metrics,
    kind: &str,
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Status> {
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("signing task: {e}")))?;
    metrics
        .request_duration_seconds
        .with_label_values(&[kind])
        .observe(started.elapsed().as_secs_f64());
    result.map_err(|e| {
        if e.is_refusal() {
            metrics.refusals_total.with_label_values(&[e.code()]).inc();
        }
        status(e)
    })
}

#[tonic::async_trait]
impl pb::signer_server::Signer for SignerService {
    async fn get_log(
        &self,
        _request: Request<pb::GetLogRequest>,
    ) -> Result<Response<pb::LogInfo>, Status> {
        let (size, root) = self.guard.last_checkpoint().map_err(status)?;
        Ok(Response::new(pb::LogInfo {
            verifier_key: self.keys.log_verifier().to_string(),
            last_size: size,
            last_root: root.as_bytes().to_vec(),
        }))
    }

    async fn sign_checkpoint(
        &self,
        request: Request<pb::SignCheckpointRequest>,
    ) -> Result<Response<pb::SignedCheckpoint>, Status> {
        let r = request.into_inner();
        if r.proof.len() > MAX_PROOF_HASHES {
            return Err(status(Error::Malformed(format!(
                "{} proof hashes; at most {MAX_PROOF_HASHES}",
                r.proof.len()
            ))));
        }
        let root = hash(&r.root, "root").map_err(status)?;
        let proof = r
            .proof
            .iter()
            .map(|h| hash(h, "proof hash"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(status)?;
        let (guard, keys, metrics) = (self.guard.clone(), self.keys.clone(), self.metrics.clone());
        let note = blocking(&self.metrics, "checkpoint", move || {
            guard
                .checkpoint(
                    &CheckpointAsk {
                        origin: &r.origin,
                        size: r.size,
                        root: &root,
                        from_size: r.from_size,
                        proof: &proof,
                    },
                    || keys.sign_checkpoint(r.size, &root),
                )
                .inspect(|_| {
                    metrics.signed("checkpoint");
                    tracing::info!(
                        kind = "checkpoint",
                        origin = %r.origin,
                        size = r.size,
                        key_id = format_args!("{:08x}", keys.log_verifier().key_id()),
                        "signed"
                    );
                })
        })
        .await?;
        Ok(Response::new(pb::SignedCheckpoint { note }))
    }

    async fn get_online_keys(
        &self,
        request: Request<pb::GetOnlineKeysRequest>,
    ) -> Result<Response<pb::OnlineKeys>, Status> {
        let pb::GetOnlineKeysRequest { repo, next } = request.into_inner();
        repo_name(&repo).map_err(status)?;
        if !self.allowed.is_empty() && !self.allowed.iter().any(|p| repo.starts_with(p.as_str())) {
            return Err(status(Error::RepositoryNotAllowed(repo)));
        }
        let (guard, keys) = (self.guard.clone(), self.keys.clone());
        let reply = blocking(&self.metrics, "keys", move || {
            let generation = match (guard.generation(&repo)?, next) {
                (Some(current), false) => current,
                (Some(current), true) => current.saturating_add(1),
                (None, false) => 0,
                (None, true) => return Err(Error::UnknownRepository(repo)),
            };
            let (snapshot, snapshot_keyid) =
                keys.online_key(&repo, OnlineRole::Snapshot, generation)?;
            let (timestamp, timestamp_keyid) =
                keys.online_key(&repo, OnlineRole::Timestamp, generation)?;
            guard.register(&repo)?;
            let snapshot_signed = guard.last_signed(&repo, OnlineRole::Snapshot)?;
            let timestamp_signed = guard.last_signed(&repo, OnlineRole::Timestamp)?;
            let json = |k: &tuf::keys::Key| {
                serde_json::to_string(k).map_err(|e| Error::Keys(e.to_string()))
            };
            Ok(pb::OnlineKeys {
                snapshot_key: json(&snapshot)?,
                snapshot_keyid,
                timestamp_key: json(&timestamp)?,
                timestamp_keyid,
                snapshot_signed,
                timestamp_signed,
                generation,
            })
        })
        .await?;
        Ok(Response::new(reply))
    }

    async fn sign_metadata(
        &self,
        request: Request<pb::SignMetadataRequest>,
    ) -> Result<Response<pb::MetadataSignature>, Status> {
        let r = request.into_inner();
        repo_name(&r.repo).map_err(status)?;
        let role = OnlineRole::parse(&r.role).map_err(status)?;
        let (guard, keys, metrics) = (self.guard.clone(), self.keys.clone(), self.metrics.clone());
        let signature = blocking(&self.metrics, role.as_str(), move || {
            guard
                .metadata(&r.repo, role, r.generation, &r.signed, || {
                    keys.sign_online(&r.repo, role, r.generation, &r.signed)
                })
                .inspect(|sig| {
                    metrics.signed(role.as_str());
                    tracing::info!(
                        kind = role.as_str(),
                        repo = %r.repo,
                        keyid = %sig.keyid,
                        generation = r.generation,
                        "signed"
                    );
                })
        })
        .await?;
        Ok(Response::new(pb::MetadataSignature {
            keyid: signature.keyid,
            sig: signature.sig,
        }))
    }
}
