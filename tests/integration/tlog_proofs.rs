//! Offline proofs in the C2SP tlog-proof format: every logged metadata version's
//! proof is served beside its JSON bundle, and checks out with nothing but the
//! file, the proof and the pinned log key.

use crate::publisher::{verify_receipt, Publisher};
use crate::util::{get_ok, http, InProcess, ADMIN_TOKEN};
use proto::repo::v1 as pb;
use proto::repo::v1::repository_client::RepositoryClient;
use tuf::keys::KeyKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_logged_version_has_a_tlog_proof_that_proves_its_file_offline() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(dir.path()).await;
    let repo = "example.com/app";
    let p = Publisher::new(&server.url(""), repo, KeyKind::Ed25519).await;
    let created = p.create(&server.url(""), ADMIN_TOKEN).await;
    verify_receipt(&server, repo, &created).await;
    for (role, version) in [
        ("root", 1),
        ("targets", 1),
        ("snapshot", 1),
        ("timestamp", 1),
    ] {
        let file = get_ok(
            &http(),
            &server.url(&format!("/repos/{repo}/metadata/{version}.{role}.json")),
        )
        .await;
        let proof = get_ok(
            &http(),
            &server.url(&format!("/repos/{repo}/proof/{version}.{role}.tlog-proof")),
        )
        .await;
        assert!(proof.starts_with(b"c2sp.org/tlog-proof@v1\nextra "));
        let proven =
            client::offline::verify_tlog_proof(&proof, &file, &server.vkey, None, 0).unwrap();
        assert_eq!((proven.role.as_str(), proven.version), (role, version));
        assert_eq!(proven.repo, repo);
        // Not another file, and not under another log's key.
        assert!(client::offline::verify_tlog_proof(&proof, b"{}", &server.vkey, None, 0).is_err());
        let other = tlog::SignerKey::from_seed(
            tlog::note::KeyName::new(server.vkey.name().as_str()).unwrap(),
            tlog::note::SignatureType::Ed25519,
            &[9; 32],
        );
        assert!(
            client::offline::verify_tlog_proof(&proof, &file, &other.verifier(), None, 0).is_err()
        );
    }
    // gRPC serves the same bytes as the HTTP route, and the same refusal.
    let mut grpc = RepositoryClient::connect(server.url("")).await.unwrap();
    let over_grpc = grpc
        .get_tlog_proof(pb::GetTlogProofRequest {
            repo: repo.into(),
            role: "targets".into(),
            version: 1,
        })
        .await
        .unwrap()
        .into_inner()
        .text;
    let over_http = get_ok(
        &http(),
        &server.url(&format!("/repos/{repo}/proof/1.targets.tlog-proof")),
    )
    .await;
    assert_eq!(over_grpc, over_http);
    let e = grpc
        .get_tlog_proof(pb::GetTlogProofRequest {
            repo: repo.into(),
            role: "targets".into(),
            version: 9,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    // A version never logged has no proof.
    let missing = http()
        .get(server.url(&format!("/repos/{repo}/proof/9.targets.tlog-proof")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.stop().await;
}
