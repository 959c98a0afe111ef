//! The gRPC service: each request through the [`Guard`], then the [`KeyHolder`];
//! every signature counted and logged by kind, never a key.

use crate::guard::{CheckpointAsk, Guard, MetadataAsk, OnlineRole};
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
/// Most requests in one `SignMetadataBatch`.
pub const MAX_BATCH_REQUESTS: usize = 1024;

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
        let kind = OnlineRole::parse(&r.role).map_err(status)?.as_str();
        let (guard, keys, metrics) = (self.guard.clone(), self.keys.clone(), self.metrics.clone());
        let signed = blocking(&self.metrics, kind, move || {
            sign_requests(&guard, keys.as_ref(), &metrics, &[r])?
                .pop()
                .unwrap_or_else(|| Err(Error::Malformed("no result".into())))
        })
        .await?;
        Ok(Response::new(signed.into_reply()))
    }

    async fn sign_metadata_batch(
        &self,
        request: Request<pb::SignMetadataBatchRequest>,
    ) -> Result<Response<pb::SignMetadataBatchReply>, Status> {
        let requests = request.into_inner().requests;
        if requests.len() > MAX_BATCH_REQUESTS {
            return Err(status(Error::Malformed(format!(
                "{} requests in a batch; at most {MAX_BATCH_REQUESTS}",
                requests.len()
            ))));
        }
        let (guard, keys, metrics) = (self.guard.clone(), self.keys.clone(), self.metrics.clone());
        let results = blocking(&self.metrics, "metadata_batch", move || {
            sign_requests(&guard, keys.as_ref(), &metrics, &requests)
        })
        .await?;
        let results = results
            .into_iter()
            .map(|r| pb::MetadataResult {
                result: Some(match r {
                    Ok(signed) => pb::metadata_result::Result::Signature(signed.into_reply()),
                    Err(e) => {
                        if e.is_refusal() {
                            self.metrics
                                .refusals_total
                                .with_label_values(&[e.code()])
                                .inc();
                        }
                        let code = e.code().to_string();
                        let message = status(e).message().to_string();
                        pb::metadata_result::Result::Refused(pb::Refusal { code, message })
                    }
                }),
            })
            .collect();
        Ok(Response::new(pb::SignMetadataBatchReply { results }))
    }
}

/// What one request got: its signature and, for a snapshot asked with
/// `timestamp_after`, the timestamp's signature and the `signed` it covers.
pub(crate) struct Signed {
    signature: tuf::keys::Signature,
    timestamp: Option<(tuf::keys::Signature, Vec<u8>)>,
}

impl Signed {
    fn into_reply(self) -> pb::MetadataSignature {
        pb::MetadataSignature {
            keyid: self.signature.keyid,
            sig: self.signature.sig,
            timestamp: self.timestamp.map(|(sig, signed)| pb::TimestampSignature {
                keyid: sig.keyid,
                sig: sig.sig,
                signed,
            }),
        }
    }
}

/// The guard's judgement of `requests`, each signed in turn (and the timestamp
/// asked to follow a snapshot, after it), all recorded in one durable write before
/// any signature is returned. Every signature counted and logged.
fn sign_requests(
    guard: &Guard,
    keys: &dyn KeyHolder,
    metrics: &Metrics,
    requests: &[pb::SignMetadataRequest],
) -> Result<Vec<Result<Signed, Error>>, Error> {
    let roles: Vec<Result<OnlineRole, Error>> = requests
        .iter()
        .map(|r| {
            repo_name(&r.repo)?;
            let role = OnlineRole::parse(&r.role)?;
            if r.timestamp_after.is_some() && role != OnlineRole::Snapshot {
                return Err(Error::Malformed(
                    "a timestamp follows a snapshot, not a timestamp".into(),
                ));
            }
            Ok(role)
        })
        .collect();
    let mut index = Vec::new();
    let mut asks = Vec::new();
    for (i, (r, role)) in requests.iter().zip(&roles).enumerate() {
        if let Ok(role) = role {
            index.push(i);
            asks.push(MetadataAsk {
                repo: &r.repo,
                role: *role,
                generation: r.generation,
                signed: &r.signed,
            });
        }
    }
    let judged = guard.sign_metadata(&asks, |asked, ask| {
        let sig = keys.sign_online(ask.repo, ask.role, ask.generation, ask.signed)?;
        metrics.signed(ask.role.as_str());
        tracing::info!(
            kind = ask.role.as_str(),
            repo = %ask.repo,
            keyid = %sig.keyid,
            generation = ask.generation,
            "signed"
        );
        // A follower's `signed` goes back with it, for the server to compare.
        let Some(asked) = asked else {
            return Ok(((sig, ask.signed.to_vec()), None));
        };
        let follower = match &requests[index[asked]].timestamp_after {
            Some(after) => Some(timestamp_after(ask.signed, &sig, after)?),
            None => None,
        };
        Ok(((sig, Vec::new()), follower))
    })?;
    let mut results: Vec<Result<Signed, Error>> = Vec::with_capacity(requests.len());
    let mut judged = judged.into_iter();
    for role in roles {
        results.push(role.and_then(|_| {
            let ((signature, _), timestamp) = judged
                .next()
                .unwrap_or_else(|| Err(Error::Malformed("a request not judged".into())))?;
            Ok(Signed {
                signature,
                timestamp,
            })
        }));
    }
    Ok(results)
}

/// The canonical `signed` of the timestamp for the snapshot whose canonical
/// `signed` is `snapshot` and which `signature` just signed: its envelope built as
/// the server builds it, then `tuf::repository::timestamp_for`.
fn timestamp_after(
    snapshot: &[u8],
    signature: &tuf::keys::Signature,
    after: &pb::TimestampAfter,
) -> Result<Vec<u8>, Error> {
    use tuf::metadata::{Expires, Metadata, Snapshot};
    let bad = |e: tuf::Error| Error::Malformed(format!("the timestamp to follow: {e}"));
    let mut envelope = Vec::with_capacity(snapshot.len() + 32);
    envelope.extend_from_slice(b"{\"signatures\":[],\"signed\":");
    envelope.extend_from_slice(snapshot);
    envelope.push(b'}');
    let mut doc = Metadata::<Snapshot>::from_bytes(&envelope).map_err(bad)?;
    doc.add_signature(signature.clone()).map_err(bad)?;
    let expires = Expires::parse(&after.expires).map_err(bad)?;
    let timestamp = tuf::repository::timestamp_for(after.version, &doc, expires);
    Ok(Metadata::unsigned(timestamp)
        .map_err(bad)?
        .canonical_signed()
        .to_vec())
}
