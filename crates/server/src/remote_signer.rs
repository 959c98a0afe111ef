//! The server's side of a separate signer (`tuflog signer`): gRPC over mutual TLS.
//!
//! [`RemoteSigner`] implements both signing traits, so with `[signer]` configured
//! the server holds no private key: not the log key, not an online key. Transport
//! failures and timeouts are [`Error::SignerUnavailable`] (the sequencer waits and
//! asks again; a push is refused with "unavailable, retry"); a refusal by the signer
//! is [`Error::SignerRefused`].

use crate::repos::name::RepoName;
use crate::repos::signer::{
    OnlineKeys, OnlineRole, SignFuture, Signer, SnapshotSignatures, TimestampAfter,
};
use crate::signing::{CheckpointRequest, CheckpointSigner};
use crate::Error;
use proto::signer::v1 as pb;
use proto::signer::v1::signer_client::SignerClient;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tlog::VerifierKey;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tuf::keys::{Key, Signature};

/// How the server reaches its signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteSignerConfig {
    /// `https://host:port`.
    pub url: String,
    /// The CA certificate (PEM) the signer's certificate must chain to.
    pub ca_cert: PathBuf,
    /// The server's client certificate (PEM), from a CA the signer trusts.
    pub client_cert: PathBuf,
    /// Its private key (PEM). A TLS credential, not a signing key; keep it outside
    /// the data directory.
    pub client_key: PathBuf,
    /// The name the signer's certificate must carry; the URL's host by default.
    pub server_name: Option<String>,
    /// How long one request may take before the signer counts as unavailable.
    pub timeout: Duration,
}

impl RemoteSignerConfig {
    /// Default request timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
}

fn read_pem(path: &Path) -> Result<Vec<u8>, Error> {
    let err = |reason: String| Error::Key {
        path: path.display().to_string(),
        reason,
    };
    edge::pem::read(path).map_err(|e| err(e.to_string()))
}

/// Repositories whose online keys are kept between pushes; past this many the
/// cache is emptied and refills.
pub const MAX_CACHED_REPOS: usize = 10_000;

/// Snapshot and timestamp requests sent in one `SignMetadataBatch` at most.
pub const MAX_BATCH_REQUESTS: usize = 256;
/// Bytes of documents in one batch at most; a larger document goes alone.
pub const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;
/// Batches in flight to the signer at once: while they are answered, the
/// requests that arrive wait and go together in the next.
pub const BATCHES_IN_FLIGHT: usize = 2;
/// Requests waiting for a batch at most; a push past this waits for room.
const QUEUED_REQUESTS: usize = 4096;

/// A request for a snapshot or timestamp signature, waiting for its batch.
struct Queued {
    request: pb::SignMetadataRequest,
    reply: tokio::sync::oneshot::Sender<Result<pb::MetadataSignature, Error>>,
}

/// A connection to the signer, with the log's verifier key it reported.
pub struct RemoteSigner {
    client: SignerClient<Channel>,
    /// Snapshot and timestamp requests, to the task that batches them.
    queue: tokio::sync::mpsc::Sender<Queued>,
    handle: tokio::runtime::Handle,
    verifier: VerifierKey,
    timeout: Duration,
    /// Each repository's keys and the last versions signed, as the signer reported
    /// them and as this server has had them signed since: a push then asks the
    /// signer twice (snapshot, timestamp) instead of three times. A refusal drops
    /// the repository's entry, so the next push asks afresh (another server sharing
    /// the signer may have had versions signed).
    keys: std::sync::Mutex<std::collections::HashMap<RepoName, OnlineKeys>>,
}

/// The version of a document's `signed`, read without the rest.
#[derive(serde::Deserialize)]
struct VersionOnly {
    version: u64,
}

fn status_error(status: tonic::Status) -> Error {
    use tonic::Code;
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            Error::SignerUnavailable(status.message().to_string())
        }
        Code::FailedPrecondition | Code::PermissionDenied | Code::InvalidArgument => {
            Error::SignerRefused(status.message().to_string())
        }
        _ => Error::SignerRefused(format!("{:?}: {}", status.code(), status.message())),
    }
}

impl RemoteSigner {
    /// Connects (mutual TLS) and asks for the log's verifier key, which must be
    /// named `origin`. The connection is re-established by itself when the signer
    /// comes back after an outage.
    pub async fn connect(config: &RemoteSignerConfig, origin: &str) -> Result<Self, Error> {
        let ca = Certificate::from_pem(read_pem(&config.ca_cert)?);
        let identity = Identity::from_pem(
            read_pem(&config.client_cert)?,
            zeroize::Zeroizing::new(read_pem(&config.client_key)?).as_slice(),
        );
        let mut tls = ClientTlsConfig::new().ca_certificate(ca).identity(identity);
        if let Some(name) = &config.server_name {
            tls = tls.domain_name(name.clone());
        }
        let channel = Channel::from_shared(config.url.clone())
            .map_err(|e| Error::invalid(format!("signer url {}: {e}", config.url)))?
            .tls_config(tls)
            .map_err(|e| Error::invalid(format!("signer TLS: {e}")))?
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .tcp_nodelay(true)
            .connect_lazy();
        let mut client = SignerClient::new(channel);
        let info = client
            .get_log(pb::GetLogRequest {})
            .await
            .map_err(status_error)?
            .into_inner();
        let verifier = VerifierKey::parse(&info.verifier_key)
            .map_err(|e| Error::SignerRefused(format!("the signer's log key: {e}")))?;
        if verifier.name().as_str() != origin {
            return Err(Error::invalid(format!(
                "the signer holds the log key of {}, not of {origin}",
                verifier.name()
            )));
        }
        tracing::info!(url = %config.url, key = %verifier, "connected to the signer");
        let (queue, queued) = tokio::sync::mpsc::channel(QUEUED_REQUESTS);
        tokio::spawn(send_batches(client.clone(), queued));
        Ok(RemoteSigner {
            client,
            queue,
            handle: tokio::runtime::Handle::current(),
            verifier,
            timeout: config.timeout,
            keys: Default::default(),
        })
    }
}

impl RemoteSigner {
    /// [`RemoteSigner::connect`] from synchronous code running on (or beside) a
    /// multi-threaded tokio runtime, as [`crate::Server::open`] is.
    pub fn connect_blocking(config: &RemoteSignerConfig, origin: &str) -> Result<Self, Error> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::invalid("a separate signer needs the server to run on a tokio runtime")
        })?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (config, origin) = (config.clone(), origin.to_string());
        let wait = config.timeout * 2 + Duration::from_secs(1);
        handle.spawn(async move {
            let _ = tx.send(RemoteSigner::connect(&config, &origin).await);
        });
        rx.recv_timeout(wait).unwrap_or_else(|_| {
            Err(Error::SignerUnavailable(
                "no answer from the signer while starting".into(),
            ))
        })
    }
}

impl RemoteSigner {
    fn cached(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<RepoName, OnlineKeys>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CheckpointSigner for RemoteSigner {
    fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    fn remembers(&self) -> bool {
        true
    }

    fn sign_checkpoint(&self, request: &CheckpointRequest<'_>) -> Result<Vec<u8>, Error> {
        let message = pb::SignCheckpointRequest {
            origin: request.origin.to_string(),
            size: request.size,
            root: request.root.as_bytes().to_vec(),
            from_size: request.from_size,
            proof: request
                .proof
                .iter()
                .map(|h| h.as_bytes().to_vec())
                .collect(),
        };
        let mut client = self.client.clone();
        // The integrator is a plain thread: the call runs on the runtime and the
        // answer comes back over a channel, so this works from any thread of a
        // multi-threaded runtime too (the log is opened from one).
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(client.sign_checkpoint(message).await);
        });
        match rx.recv_timeout(self.timeout + Duration::from_secs(1)) {
            Ok(Ok(reply)) => Ok(reply.into_inner().note),
            Ok(Err(status)) => Err(status_error(status)),
            Err(_) => Err(Error::SignerUnavailable("no answer in time".into())),
        }
    }
}

fn parse_key(json: &str, what: &str) -> Result<Key, Error> {
    serde_json::from_str(json)
        .map_err(|e| Error::SignerRefused(format!("the signer's {what} key: {e}")))
}

impl Signer for RemoteSigner {
    fn keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys> {
        Box::pin(async move {
            if let Some(k) = self.cached().get(repo) {
                return Ok(k.clone());
            }
            let keys = self.fetch_keys(repo, false).await?;
            let mut cache = self.cached();
            if cache.len() >= MAX_CACHED_REPOS {
                cache.clear();
            }
            cache.insert(repo.clone(), keys.clone());
            Ok(keys)
        })
    }

    fn next_keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys> {
        Box::pin(self.fetch_keys(repo, true))
    }

    fn sign<'a>(
        &'a self,
        repo: &'a RepoName,
        role: OnlineRole,
        generation: u32,
        message: &'a [u8],
    ) -> SignFuture<'a, Signature> {
        Box::pin(async move {
            let reply = self.ask(repo, role, generation, message, None).await?;
            self.note_signed(repo, role, generation, message);
            Ok(signature(reply.keyid, reply.sig))
        })
    }

    fn sign_snapshot_then_timestamp<'a>(
        &'a self,
        repo: &'a RepoName,
        generation: u32,
        snapshot: &'a [u8],
        after: &'a TimestampAfter,
    ) -> SignFuture<'a, SnapshotSignatures> {
        Box::pin(async move {
            let timestamp_after = pb::TimestampAfter {
                version: after.version,
                expires: after.expires.to_string(),
            };
            let reply = self
                .ask(
                    repo,
                    OnlineRole::Snapshot,
                    generation,
                    snapshot,
                    Some(timestamp_after),
                )
                .await?;
            self.note_signed(repo, OnlineRole::Snapshot, generation, snapshot);
            let timestamp = reply.timestamp.map(|t| {
                self.note_signed(repo, OnlineRole::Timestamp, generation, &t.signed);
                (signature(t.keyid, t.sig), t.signed)
            });
            Ok(SnapshotSignatures {
                snapshot: signature(reply.keyid, reply.sig),
                timestamp,
            })
        })
    }
}

fn signature(keyid: String, sig: String) -> Signature {
    Signature {
        keyid,
        sig,
        unknown: Default::default(),
    }
}

impl RemoteSigner {
    /// Queues one request for the next batch to the signer and waits for its
    /// answer. A refusal drops the repository's cached keys and floors.
    async fn ask(
        &self,
        repo: &RepoName,
        role: OnlineRole,
        generation: u32,
        message: &[u8],
        timestamp_after: Option<pb::TimestampAfter>,
    ) -> Result<pb::MetadataSignature, Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let request = pb::SignMetadataRequest {
            repo: repo.as_str().to_string(),
            role: role.as_str().to_string(),
            signed: message.to_vec(),
            generation,
            timestamp_after,
        };
        let stopped = || Error::SignerUnavailable("the signer's batching stopped".into());
        self.queue
            .send(Queued { request, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?.inspect_err(|_| {
            self.cached().remove(repo);
        })
    }

    /// What was just signed is the repository's new floor for that role; a
    /// signature by another generation than the cached keys' drops them (the signer
    /// moved the repository to the next).
    fn note_signed(&self, repo: &RepoName, role: OnlineRole, generation: u32, signed: &[u8]) {
        let mut cache = self.cached();
        if cache.get(repo).is_some_and(|k| k.generation != generation) {
            cache.remove(repo);
        }
        if let Ok(v) = serde_json::from_slice::<VersionOnly>(signed) {
            if let Some(k) = cache.get_mut(repo) {
                let floor = match role {
                    OnlineRole::Snapshot => &mut k.snapshot_signed,
                    OnlineRole::Timestamp => &mut k.timestamp_signed,
                };
                *floor = Some(floor.map_or(v.version, |f| f.max(v.version)));
            }
        }
    }
}

impl RemoteSigner {
    async fn fetch_keys(&self, repo: &RepoName, next: bool) -> Result<OnlineKeys, Error> {
        let keys = self
            .client
            .clone()
            .get_online_keys(pb::GetOnlineKeysRequest {
                repo: repo.as_str().to_string(),
                next,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        let snapshot = parse_key(&keys.snapshot_key, "snapshot")?;
        let timestamp = parse_key(&keys.timestamp_key, "timestamp")?;
        // The key IDs are the server's to compute: a signer naming another ID
        // would have roots written with keys that do not match.
        for (key, id, role) in [
            (&snapshot, &keys.snapshot_keyid, "snapshot"),
            (&timestamp, &keys.timestamp_keyid, "timestamp"),
        ] {
            let computed = key
                .key_id()
                .map_err(|e| Error::SignerRefused(format!("the signer's {role} key: {e}")))?;
            if &computed != id {
                return Err(Error::SignerRefused(format!(
                    "the signer's {role} key has ID {computed}, not {id}"
                )));
            }
        }
        let keys = OnlineKeys {
            snapshot,
            snapshot_keyid: keys.snapshot_keyid,
            timestamp,
            timestamp_keyid: keys.timestamp_keyid,
            snapshot_signed: keys.snapshot_signed,
            timestamp_signed: keys.timestamp_signed,
            generation: keys.generation,
        };
        Ok(keys)
    }
}

/// Sends the queued snapshot and timestamp requests to the signer in batches: one
/// round trip and one durable write at the signer for all the pushes waiting at
/// once, instead of one each. Ends when the [`RemoteSigner`] is dropped.
async fn send_batches(
    client: SignerClient<Channel>,
    mut queued: tokio::sync::mpsc::Receiver<Queued>,
) {
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(BATCHES_IN_FLIGHT));
    let mut carried: Option<Queued> = None;
    loop {
        let first = match carried.take() {
            Some(q) => q,
            None => match queued.recv().await {
                Some(q) => q,
                None => return,
            },
        };
        // Wait for room first: what arrives meanwhile joins this batch.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = first.request.signed.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_REQUESTS {
            let Ok(next) = queued.try_recv() else { break };
            bytes += next.request.signed.len();
            if bytes > MAX_BATCH_BYTES {
                carried = Some(next);
                break;
            }
            batch.push(next);
        }
        let mut client = client.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let (requests, replies): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|q| (q.request, q.reply)).unzip();
            let n = requests.len();
            match client
                .sign_metadata_batch(pb::SignMetadataBatchRequest { requests })
                .await
            {
                Ok(reply) => {
                    let results = reply.into_inner().results;
                    if results.len() != n {
                        let wrong = format!(
                            "the signer answered {} results for {n} requests",
                            results.len()
                        );
                        for r in replies {
                            let _ = r.send(Err(Error::SignerRefused(wrong.clone())));
                        }
                        return;
                    }
                    for (result, r) in results.into_iter().zip(replies) {
                        let _ = r.send(match result.result {
                            Some(pb::metadata_result::Result::Signature(sig)) => Ok(sig),
                            Some(pb::metadata_result::Result::Refused(refusal)) => {
                                Err(Error::SignerRefused(refusal.message))
                            }
                            None => Err(Error::SignerRefused("an empty result".into())),
                        });
                    }
                }
                Err(status) => {
                    let message = status.message().to_string();
                    let unavailable = matches!(status_error(status), Error::SignerUnavailable(_));
                    for r in replies {
                        let _ = r.send(Err(if unavailable {
                            Error::SignerUnavailable(message.clone())
                        } else {
                            Error::SignerRefused(message.clone())
                        }));
                    }
                }
            }
        });
    }
}
