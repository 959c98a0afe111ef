//! The signer over real mutual TLS on loopback: only a client certificate from the
//! configured CA, and still valid, gets an answer; every signature is counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use proto::signer::v1 as pb;
use proto::signer::v1::signer_client::SignerClient;
use signer::keys::{KeyHolder, Passphrase, SealedKeys};
use signer::pki::{Ca, Issued};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

struct Running {
    addr: SocketAddr,
    metrics: Arc<signer::metrics::Metrics>,
    verifier: String,
}

fn names() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

async fn start(dir: &Path, ca: &Ca) -> Running {
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    let issued = ca.issue_for_days(&names(), false, 1).unwrap();
    write("signer.pem", &issued.cert_pem);
    write("signer.key", &issued.key_pem);
    write("ca.pem", &ca.cert_pem);
    let pass = Passphrase::Given(zeroize::Zeroizing::new("test passphrase".into()));
    let keys = SealedKeys::create(
        &dir.join("keys.sealed"),
        "example.com/log",
        &pass,
        edge::sealed::KdfParams::dangerous_low_cost(),
    )
    .unwrap();
    let verifier = keys.log_verifier().to_string();
    let state = Arc::new(store::memory::MemoryKv::default());
    // A signer without a starting record refuses to serve.
    let tls = signer::TlsFiles {
        cert: dir.join("signer.pem"),
        key: dir.join("signer.key"),
        client_ca: dir.join("ca.pem"),
    };
    let keys: Arc<dyn KeyHolder> = Arc::new(keys);
    assert!(signer::Signer::new(state.clone(), keys.clone(), &tls, vec![]).is_err());
    signer::guard::Guard::new(state.clone(), "example.com/log")
        .adopt_checkpoint(0, &tlog::EMPTY_ROOT)
        .unwrap();
    let signer = signer::Signer::new(state, keys, &tls, vec![]).unwrap();
    let metrics = signer.metrics().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(signer.run(listener, std::future::pending()));
    Running {
        addr,
        metrics,
        verifier,
    }
}

async fn ask(
    addr: SocketAddr,
    trusted_ca: &str,
    identity: Option<&Issued>,
) -> Result<pb::LogInfo, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(trusted_ca))
        .domain_name("localhost");
    if let Some(id) = identity {
        tls = tls.identity(Identity::from_pem(&id.cert_pem, id.key_pem.as_bytes()));
    }
    let channel = Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    SignerClient::new(channel)
        .get_log(pb::GetLogRequest {})
        .await
        .map(|r| r.into_inner())
        .map_err(|s| format!("{s:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_valid_client_certificate_from_the_configured_ca_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA", 1).unwrap();
    let running = start(dir.path(), &ca).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_signed_counted_and_a_fork_refused_over_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA", 1).unwrap();
    let running = start(dir.path(), &ca).await;
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
    let mut client = SignerClient::new(channel);
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
