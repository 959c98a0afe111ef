//! The gRPC surface of the repository service (`proto/tuflog/repo/v1/repo.proto`):
//! the same operations as the HTTP routes under `/repos/`, with the same checks.

use crate::grpc::observed;
use crate::http::AppState;
use crate::repos::auth::Tokens;
use crate::repos::name::RepoName;
use crate::repos::{add_file, file_limit};
use crate::Error;
use proto::repo::v1 as pb;
use std::sync::Arc;
use tonic::codegen::{http, BoxFuture, Service};
use tonic::{Request, Response, Status};
use tuf::repository::Push;

/// The `tuflog.repo.v1.Repository` service.
#[derive(Clone)]
pub struct RepoService {
    state: AppState,
}

impl RepoService {
    /// A service over `state`.
    pub fn new(state: AppState) -> Self {
        RepoService { state }
    }

    /// The tonic server wrapper; a push may be as large as over HTTP, and its
    /// token is checked before its body is decoded ([`TokenFirst`]).
    pub fn into_server(self) -> TokenFirst<pb::repository_server::RepositoryServer<Self>> {
        let tokens = self.state.tokens.clone();
        TokenFirst {
            inner: pb::repository_server::RepositoryServer::new(self)
                .max_decoding_message_size(crate::MAX_PUSH_BYTES),
            tokens,
        }
    }
}

/// The gRPC path of `Push`.
const PUSH_PATH: &str = "/tuflog.repo.v1.Repository/Push";

/// Checks a `Push`'s bearer token from its headers before tonic reads and decodes
/// its body (up to [`crate::MAX_PUSH_BYTES`]), as the HTTP route does: a caller
/// without a token costs no decoding. Which repositories the token may write is
/// checked after decoding, where the repository's name is.
#[derive(Clone)]
pub struct TokenFirst<S> {
    inner: S,
    tokens: Arc<Tokens>,
}

impl<S, B> Service<http::Request<B>> for TokenFirst<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() == PUSH_PATH {
            let authorization = req.headers().get("authorization").map(|v| v.as_bytes());
            if let Err(e) = self.tokens.authenticate(authorization) {
                let refused = crate::grpc::status(e).into_http();
                return Box::pin(async move { Ok(refused) });
            }
        }
        Box::pin(self.inner.call(req))
    }
}

fn key_json(key: &tuf::Key) -> Result<String, Error> {
    serde_json::to_string(key).map_err(|e| Error::Signing(e.to_string()))
}

fn sha256_of(bytes: &[u8]) -> Result<[u8; 32], Error> {
    bytes
        .try_into()
        .map_err(|_| Error::invalid(format!("sha256 is {} bytes, not 32", bytes.len())))
}

/// A push request as the HTTP route would read it: each part within its role's
/// limit, no role twice.
fn push_from(state: &AppState, files: Vec<pb::MetadataPart>) -> Result<Push, Error> {
    let limits = state.repos.config().limits;
    if files.len() > limits.max_documents {
        return Err(Error::TooLarge(format!(
            "more than {} files in one push",
            limits.max_documents
        )));
    }
    let mut push = Push::default();
    for part in files {
        if part.role.is_empty() {
            return Err(Error::invalid("a file names no role"));
        }
        let limit = file_limit(&limits, &part.role);
        if part.content.len() > limit {
            return Err(Error::TooLarge(format!(
                "{}.json is larger than the {limit}-byte limit for {}",
                part.role, part.role
            )));
        }
        add_file(&mut push, &part.role, part.content)?;
    }
    Ok(push)
}

fn hashes(h: &[tlog::Hash]) -> Vec<Vec<u8>> {
    h.iter().map(|h| h.as_bytes().to_vec()).collect()
}

#[tonic::async_trait]
impl pb::repository_server::Repository for RepoService {
    async fn get_keys(
        &self,
        req: Request<pb::GetKeysRequest>,
    ) -> Result<Response<pb::OnlineKeys>, Status> {
        observed(&self.state.metrics, "GetKeys", async {
            let repo = RepoName::new(&req.get_ref().repo)?;
            let keys = if req.get_ref().next {
                self.state.repos.next_keys(&repo).await?
            } else {
                self.state.repos.keys(&repo).await?
            };
            Ok(pb::OnlineKeys {
                snapshot_key: key_json(&keys.snapshot)?,
                snapshot_keyid: keys.snapshot_keyid,
                timestamp_key: key_json(&keys.timestamp)?,
                timestamp_keyid: keys.timestamp_keyid,
                generation: keys.generation,
            })
        })
        .await
    }

    async fn push(
        &self,
        req: Request<pb::PushRequest>,
    ) -> Result<Response<pb::PushResponse>, Status> {
        observed(&self.state.metrics, "Push", async {
            let authorization = req
                .metadata()
                .get("authorization")
                .map(|v| v.as_bytes().to_vec());
            let body = req.into_inner();
            let repo = RepoName::new(&body.repo)?;
            self.state
                .tokens
                .authorize(authorization.as_deref(), &repo)?;
            let push = push_from(&self.state, body.files)?;
            let receipt = self.state.repos.push(&repo, push).await?;
            Ok(pb::PushResponse {
                checkpoint: receipt.checkpoint.note.clone(),
                size: receipt.checkpoint.size(),
                versions: receipt
                    .versions
                    .into_iter()
                    .map(|v| pb::LoggedVersion {
                        role: v.role,
                        version: v.version,
                        index: v.inclusion.index,
                        sha256: v.sha256.to_vec(),
                        length: v.length,
                        entry: v.entry,
                        leaf_hash: v.inclusion.leaf_hash.as_bytes().to_vec(),
                        inclusion: hashes(&v.inclusion.proof),
                    })
                    .collect(),
            })
        })
        .await
    }

    async fn get_metadata(
        &self,
        req: Request<pb::GetMetadataRequest>,
    ) -> Result<Response<pb::MetadataFile>, Status> {
        observed(&self.state.metrics, "GetMetadata", async {
            let r = req.get_ref();
            let repo = RepoName::new(&r.repo)?;
            let content = self.state.repos.metadata(&repo, &r.role, r.version).await?;
            Ok(pb::MetadataFile { content })
        })
        .await
    }

    async fn get_proof_bundle(
        &self,
        req: Request<pb::GetProofBundleRequest>,
    ) -> Result<Response<pb::ProofBundle>, Status> {
        observed(&self.state.metrics, "GetProofBundle", async {
            let r = req.get_ref();
            let repo = RepoName::new(&r.repo)?;
            let b = self
                .state
                .repos
                .proof_bundle(&repo, &r.role, r.version, r.from)
                .await?;
            Ok(pb::ProofBundle {
                entry: b.entry,
                index: b.index,
                checkpoint: b.checkpoint.note.clone(),
                size: b.checkpoint.size(),
                inclusion: hashes(&b.inclusion),
                has_consistency: b.consistency.is_some(),
                consistency: b.consistency.as_deref().map(hashes).unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_tlog_proof(
        &self,
        req: Request<pb::GetTlogProofRequest>,
    ) -> Result<Response<pb::TlogProof>, Status> {
        observed(&self.state.metrics, "GetTlogProof", async {
            let r = req.get_ref();
            let repo = RepoName::new(&r.repo)?;
            let b = self
                .state
                .repos
                .proof_bundle(&repo, &r.role, r.version, None)
                .await?;
            Ok(pb::TlogProof {
                text: b.tlog_proof_text(),
            })
        })
        .await
    }

    async fn get_blob(
        &self,
        req: Request<pb::GetBlobRequest>,
    ) -> Result<Response<pb::MetadataFile>, Status> {
        observed(&self.state.metrics, "GetBlob", async {
            let digest = sha256_of(&req.get_ref().sha256)?;
            let content = self.state.repos.blob(&digest).await?;
            Ok(pb::MetadataFile { content })
        })
        .await
    }
}
