//! The wire checks, run over sealed keys (`mtls.rs`) and over a token (`token.rs`).

use super::{ask, names, start};
use proto::signer::v1 as pb;
use proto::signer::v1::signer_client::SignerClient;
use signer::keys::KeyHolder;
use signer::pki::Ca;
use std::path::Path;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

pub async fn only_a_valid_client_certificate_is_served(dir: &Path, keys: Arc<dyn KeyHolder>) {
    let ca = Ca::new("test CA", 1).unwrap();
    let running = start(dir, &ca, keys).await;
    let good = ca
        .issue_for_days(&["tuflog-server".into()], true, 1)
        .unwrap();
    let info = ask(running.addr, &ca.cert_pem, Some(&good)).await.unwrap();
    assert_eq!(info.verifier_key, running.verifier);
    assert_eq!(info.last_size, 0);

    // A client certificate issued by another CA, even for the same name.
    let other_ca = Ca::new("test CA", 1).unwrap();
    let foreign = other_ca
        .issue_for_days(&["tuflog-server".into()], true, 1)
        .unwrap();
    let err = ask(running.addr, &ca.cert_pem, Some(&foreign))
        .await
        .unwrap_err();
    assert!(!err.is_empty());

    // No client certificate at all.
    ask(running.addr, &ca.cert_pem, None).await.unwrap_err();

    // A client certificate from the right CA that expired yesterday.
    let now = OffsetDateTime::now_utc();
    let expired = ca
        .issue(
            &["tuflog-server".into()],
            true,
            now - Duration::days(30),
            now - Duration::days(1),
        )
        .unwrap();
    ask(running.addr, &ca.cert_pem, Some(&expired))
        .await
        .unwrap_err();

    // A server certificate (not for client authentication) from the right CA.
    let server_cert = ca.issue_for_days(&names(), false, 1).unwrap();
    ask(running.addr, &ca.cert_pem, Some(&server_cert))
        .await
        .unwrap_err();

    // The client, in turn, refuses a signer whose certificate it does not trust.
    ask(running.addr, &other_ca.cert_pem, Some(&good))
        .await
        .unwrap_err();

    // The refused connections got nothing signed; the good one still works.
    assert_eq!(
        ask(running.addr, &ca.cert_pem, Some(&good))
            .await
            .unwrap()
            .verifier_key,
        running.verifier
    );
    assert!(!running.metrics.render().contains("checkpoint\""));
}

/// A client of the signer at `running`, with a certificate from `ca`.
async fn client(running: &super::Running, ca: &Ca) -> SignerClient<Channel> {
    let good = ca
        .issue_for_days(&["tuflog-server".into()], true, 1)
        .unwrap();
    let channel = Channel::from_shared(format!("https://{}", running.addr))
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&ca.cert_pem))
                .identity(Identity::from_pem(&good.cert_pem, good.key_pem.as_bytes()))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
    SignerClient::new(channel)
}

pub async fn a_batch_is_judged_request_by_request(dir: &Path, keys: Arc<dyn KeyHolder>) {
    let ca = Ca::new("test CA", 1).unwrap();
    let running = start(dir, &ca, keys).await;
    let mut client = client(&running, &ca).await;
    let repo = "example.com/app";
    let keys = client
        .get_online_keys(pb::GetOnlineKeysRequest {
            repo: repo.into(),
            next: false,
        })
        .await
        .unwrap()
        .into_inner();
    let snapshot = |v: u64, expires: &str| {
        format!(
            r#"{{"_type":"snapshot","expires":"{expires}","meta":{{"targets.json":{{"version":{v}}}}},"spec_version":"1.0.31","version":{v}}}"#
        )
        .into_bytes()
    };
    let request = |repo: &str, signed: Vec<u8>, after: Option<u64>| pb::SignMetadataRequest {
        repo: repo.into(),
        role: "snapshot".into(),
        signed,
        generation: 0,
        timestamp_after: after.map(|version| pb::TimestampAfter {
            version,
            expires: "2030-01-01T00:00:00Z".into(),
        }),
    };
    let results = client
        .sign_metadata_batch(pb::SignMetadataBatchRequest {
            requests: vec![
                request(repo, snapshot(1, "2030-01-01T00:00:00Z"), Some(1)),
                request(
                    "example.com/unknown",
                    snapshot(1, "2030-01-01T00:00:00Z"),
                    None,
                ),
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(results.len(), 2);
    let Some(pb::metadata_result::Result::Signature(signed)) = &results[0].result else {
        panic!("{:?}", results[0]);
    };
    // The timestamp that follows the snapshot: a timestamp of version 1 naming
    // snapshot v1, signed by the repository's timestamp key.
    let timestamp = signed
        .timestamp
        .as_ref()
        .expect("the timestamp that follows");
    assert_eq!(timestamp.keyid, keys.timestamp_keyid);
    let text = std::str::from_utf8(&timestamp.signed).unwrap();
    assert!(text.contains(r#""snapshot.json":{"hashes""#), "{text}");
    assert!(text.contains(r#""_type":"timestamp""#), "{text}");
    let key: tuf::keys::Key = serde_json::from_str(&keys.timestamp_key).unwrap();
    let public = key.parse(&keys.timestamp_keyid).unwrap();
    assert!(public.verify(&timestamp.signed, &hex::decode(&timestamp.sig).unwrap()));
    // The request for a repository never seen is refused alone.
    let Some(pb::metadata_result::Result::Refused(refused)) = &results[1].result else {
        panic!("{:?}", results[1]);
    };
    assert_eq!(refused.code, "unknown_repository");
    // Snapshot v1 again with other content, and a timestamp after a timestamp.
    let mut other = request(repo, snapshot(1, "2031-01-01T00:00:00Z"), None);
    let results = client
        .sign_metadata_batch(pb::SignMetadataBatchRequest {
            requests: vec![other.clone(), {
                other.role = "timestamp".into();
                other.timestamp_after = Some(pb::TimestampAfter::default());
                other
            }],
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    let codes: Vec<&str> = results
        .iter()
        .map(|r| match &r.result {
            Some(pb::metadata_result::Result::Refused(r)) => r.code.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(codes, ["equivocation", "malformed"]);
    // Past the batch limit, the whole request is refused.
    let status = client
        .sign_metadata_batch(pb::SignMetadataBatchRequest {
            requests: vec![request(repo, snapshot(2, "2030-01-01T00:00:00Z"), None); 1025],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let metrics = running.metrics.render();
    for line in [
        "tuflog_signer_signatures_total{kind=\"snapshot\"} 1",
        "tuflog_signer_signatures_total{kind=\"timestamp\"} 1",
        "tuflog_signer_refusals_total{code=\"equivocation\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
}

pub async fn checkpoints_are_signed_and_a_fork_refused(dir: &Path, keys: Arc<dyn KeyHolder>) {
    let ca = Ca::new("test CA", 1).unwrap();
    let running = start(dir, &ca, keys).await;
    let mut client = client(&running, &ca).await;
    let sign = |size: u64, root: [u8; 32], from: u64| pb::SignCheckpointRequest {
        origin: "example.com/log".into(),
        size,
        root: root.to_vec(),
        from_size: from,
        proof: vec![],
    };
    let leaf = tlog::leaf_hash(b"entry 0");
    let note = client
        .sign_checkpoint(sign(1, leaf.0, 0))
        .await
        .unwrap()
        .into_inner()
        .note;
    let vkey = tlog::VerifierKey::parse(&running.verifier).unwrap();
    let cp = tlog::checkpoint::open(&note, &vkey, &[])
        .unwrap()
        .into_checkpoint();
    assert_eq!((cp.size(), cp.root()), (1, &leaf));
    // Another tree of size 1: a fork, refused as a failed precondition.
    let status = client
        .sign_checkpoint(sign(1, [7; 32], 0))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().starts_with("[fork]"),
        "{}",
        status.message()
    );
    // Metadata for a repository whose keys were never handed out.
    let status = client
        .sign_metadata(pb::SignMetadataRequest {
            repo: "example.com/app".into(),
            role: "timestamp".into(),
            signed: b"{}".to_vec(),
            generation: 0,
            timestamp_after: None,
        })
        .await
        .unwrap_err();
    assert!(
        status.message().starts_with("[unknown_repository]"),
        "{}",
        status.message()
    );
    let metrics = running.metrics.render();
    assert!(
        metrics.contains("tuflog_signer_signatures_total{kind=\"checkpoint\"} 1"),
        "{metrics}"
    );
    for code in ["fork", "unknown_repository"] {
        assert!(
            metrics.contains(&format!(
                "tuflog_signer_refusals_total{{code=\"{code}\"}} 1"
            )),
            "{metrics}"
        );
    }
    assert!(
        metrics.contains("tuflog_signer_request_duration_seconds_count{kind=\"checkpoint\"} 2"),
        "{metrics}"
    );
}
