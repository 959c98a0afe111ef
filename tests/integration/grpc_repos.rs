//! The repository service over gRPC: the same pushes, reads, proofs and refusals as
//! over HTTP.

use crate::publisher::{sign, Publisher};
use crate::util::{get_ok, http, InProcess, ADMIN_TOKEN, EXAMPLE_TOKEN};
use proto::repo::v1 as pb;
use proto::repo::v1::repository_client::RepositoryClient;
use tlog::leaf_hash;
use tonic::Code;
use tuf::keys::KeyKind;
use tuf::logentry::LogEntry;

type Client = RepositoryClient<tonic::transport::Channel>;

pub(crate) fn push_request(
    repo: &str,
    token: Option<&str>,
    files: &[(&str, Vec<u8>)],
) -> tonic::Request<pb::PushRequest> {
    let mut req = tonic::Request::new(pb::PushRequest {
        repo: repo.into(),
        files: files
            .iter()
            .map(|(role, content)| pb::MetadataPart {
                role: (*role).into(),
                content: content.clone(),
            })
            .collect(),
    });
    if let Some(t) = token {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    req
}

fn hashes(v: &[Vec<u8>]) -> Vec<tlog::Hash> {
    v.iter()
        .map(|h| tlog::Hash(h.as_slice().try_into().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_push_read_and_prove_match_http() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    let base = srv.url("");
    let repo = "example.com/grpc";
    let mut grpc: Client = RepositoryClient::connect(base.clone()).await.unwrap();

    // The online keys agree with HTTP's.
    let keys = grpc
        .get_keys(pb::GetKeysRequest {
            repo: repo.into(),
            next: false,
        })
        .await
        .unwrap()
        .into_inner();
    let p = Publisher::new(&base, repo, KeyKind::EcdsaP256).await;
    assert_eq!(keys.timestamp_keyid, p.timestamp_key.key_id().unwrap());

    let root = sign(p.root(1), &[&p.root_key]);
    let targets = sign(p.targets(1), &[&p.targets_key]);
    let files = [("root", root.clone()), ("targets", targets.clone())];

    // Refusals carry the right codes and change nothing.
    let refused = |r: Result<tonic::Response<pb::PushResponse>, tonic::Status>| r.unwrap_err();
    let e = refused(grpc.push(push_request(repo, None, &files)).await);
    assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    let e = refused(
        grpc.push(push_request("other.org/x", Some(EXAMPLE_TOKEN), &files))
            .await,
    );
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    let wrong_key = [
        ("root", root.clone()),
        ("targets", sign(p.targets(1), &[&p.team_key])),
    ];
    let e = refused(
        grpc.push(push_request(repo, Some(ADMIN_TOKEN), &wrong_key))
            .await,
    );
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    assert!(e.message().starts_with("[threshold_not_met]"), "{e}");
    let e = grpc
        .get_metadata(pb::GetMetadataRequest {
            repo: repo.into(),
            role: "root".into(),
            version: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e}");

    // A push over gRPC; its receipt verifies, and HTTP serves the same bytes.
    let receipt = grpc
        .push(push_request(repo, Some(ADMIN_TOKEN), &files))
        .await
        .unwrap()
        .into_inner();
    let cp = tlog::checkpoint::open(&receipt.checkpoint, &srv.vkey, &[])
        .unwrap()
        .into_checkpoint();
    assert_eq!(cp.size(), receipt.size);
    assert_eq!(receipt.versions.len(), 4);
    for v in &receipt.versions {
        let bytes = grpc
            .get_metadata(pb::GetMetadataRequest {
                repo: repo.into(),
                role: v.role.clone(),
                version: Some(v.version),
            })
            .await
            .unwrap()
            .into_inner()
            .content;
        let over_http = get_ok(
            &http(),
            &srv.url(&format!(
                "/repos/{repo}/metadata/{}.{}.json",
                v.version, v.role
            )),
        )
        .await;
        assert_eq!(bytes, over_http, "{} v{}", v.role, v.version);
        assert_eq!(
            v.entry,
            LogEntry::new(repo, &v.role, v.version, &bytes)
                .to_bytes()
                .unwrap()
        );
        tlog::verify::verify_inclusion(
            &leaf_hash(&v.entry),
            v.index,
            cp.size(),
            &hashes(&v.inclusion),
            cp.root(),
        )
        .unwrap();
        let blob = grpc
            .get_blob(pb::GetBlobRequest {
                sha256: v.sha256.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .content;
        assert_eq!(blob, bytes);
    }
    assert_eq!(
        grpc.get_metadata(pb::GetMetadataRequest {
            repo: repo.into(),
            role: "root".into(),
            version: None
        })
        .await
        .unwrap()
        .into_inner()
        .content,
        root
    );

    // A proof bundle over gRPC, with consistency from the receipt's checkpoint to a
    // later one.
    let later = grpc
        .push(push_request(
            repo,
            Some(ADMIN_TOKEN),
            &[("targets", sign(p.targets(2), &[&p.targets_key]))],
        ))
        .await
        .unwrap()
        .into_inner();
    let b = grpc
        .get_proof_bundle(pb::GetProofBundleRequest {
            repo: repo.into(),
            role: "targets".into(),
            version: 1,
            from: Some(cp.size()),
        })
        .await
        .unwrap()
        .into_inner();
    let latest = tlog::checkpoint::open(&b.checkpoint, &srv.vkey, &[])
        .unwrap()
        .into_checkpoint();
    assert!(latest.size() >= later.size);
    assert!(b.has_consistency);
    assert_eq!(
        b.entry,
        LogEntry::new(repo, "targets", 1, &targets)
            .to_bytes()
            .unwrap()
    );
    tlog::verify::verify_inclusion(
        &leaf_hash(&b.entry),
        b.index,
        latest.size(),
        &hashes(&b.inclusion),
        latest.root(),
    )
    .unwrap();
    tlog::verify::verify_consistency(
        cp.size(),
        latest.size(),
        cp.root(),
        latest.root(),
        &hashes(&b.consistency),
    )
    .unwrap();
    let e = grpc
        .get_blob(pb::GetBlobRequest { sha256: vec![1; 5] })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    srv.stop().await;
}

/// A `Push` without a valid token is refused from its headers alone, as over
/// HTTP: the server never decodes its body. Shown with a body past the push
/// limit, which a decode would refuse as too large instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_push_checks_the_token_before_decoding_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    let mut grpc: Client = RepositoryClient::connect(srv.url("")).await.unwrap();
    let oversized = vec![b' '; server::MAX_PUSH_BYTES + 1];
    for token in [None, Some("not-a-token")] {
        let e = grpc
            .push(push_request(
                "example.com/app",
                token,
                &[("targets", oversized.clone())],
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{e}");
    }
    // With a valid token the same body reaches the decoder, which refuses it.
    let e = grpc
        .push(push_request(
            "example.com/app",
            Some(ADMIN_TOKEN),
            &[("targets", oversized)],
        ))
        .await
        .unwrap_err();
    assert_ne!(e.code(), Code::Unauthenticated, "{e}");
    srv.stop().await;
}
