//! What the signer's wire tests share: a signer on loopback over given keys, and a
//! client that asks it for the log's key.
#![allow(dead_code)]

pub mod checks;
pub mod softhsm;

use proto::signer::v1 as pb;
use proto::signer::v1::signer_client::SignerClient;
use signer::keys::{KeyHolder, Passphrase, SealedKeys};
use signer::pki::{Ca, Issued};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

pub const ORIGIN: &str = "example.com/log";

pub fn sealed_keys(dir: &Path) -> Arc<dyn KeyHolder> {
    let pass = Passphrase::Given(zeroize::Zeroizing::new("test passphrase".into()));
    Arc::new(
        SealedKeys::create(
            &dir.join("keys.sealed"),
            ORIGIN,
            &pass,
            edge::sealed::KdfParams::dangerous_low_cost(),
        )
        .unwrap(),
    )
}

pub struct Running {
    pub addr: SocketAddr,
    pub metrics: Arc<signer::metrics::Metrics>,
    pub verifier: String,
}

pub fn names() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

pub async fn start(dir: &Path, ca: &Ca, keys: Arc<dyn KeyHolder>) -> Running {
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    let issued = ca.issue_for_days(&names(), false, 1).unwrap();
    write("signer.pem", &issued.cert_pem);
    write("signer.key", &issued.key_pem);
    write("ca.pem", &ca.cert_pem);
    let verifier = keys.log_verifier().to_string();
    let state = Arc::new(store::memory::MemoryKv::default());
    // A signer without a starting record refuses to serve.
    let tls = signer::TlsFiles {
        cert: dir.join("signer.pem"),
        key: dir.join("signer.key"),
        client_ca: dir.join("ca.pem"),
    };
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

pub async fn ask(
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
