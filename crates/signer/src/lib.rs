//! tuflog's signer: the one process that holds the log key and the repositories'
//! online keys. The server asks it for signatures over gRPC with mutual TLS and
//! never sees a private key.
//!
//! It is also a guard ([`guard`]): it signs a checkpoint only for its own origin
//! and only as an RFC 9162 extension of the last checkpoint it signed, and signs a
//! snapshot or timestamp only for a repository whose keys it handed out, only as
//! canonical TUF of that role, and never twice for one version with different
//! content. Its memory is durable, so a server front end that an attacker controls
//! can still obtain signatures, but never two checkpoints that fork the log nor two
//! timestamps for one version.
//!
//! - [`keys`]: the keys at rest, sealed under a passphrase, behind [`keys::KeyHolder`];
//! - [`pkcs11`]: or on a PKCS#11 token, where they never leave it;
//! - [`pki`]: a private CA and certificates for a first deployment;
//! - [`Signer::run`]: serves until shutdown.
#![forbid(unsafe_code)]

mod error;
pub mod guard;
pub mod keys;
pub mod metrics;
pub mod pkcs11;
pub mod pki;
mod service;

pub use error::Error;

use guard::Guard;
use keys::KeyHolder;
use metrics::Metrics;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// The signer's TLS material: its own certificate and key, and the CA whose
/// certificates it accepts from clients (the server).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The signer's certificate chain, PEM.
    pub cert: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// The CA certificate clients must present a certificate from, PEM.
    pub client_ca: PathBuf,
}

fn read_pem(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    edge::pem::read(path).map_err(|e| Error::Tls(e.to_string()))
}

/// A signer ready to serve.
pub struct Signer {
    guard: Arc<Guard>,
    keys: Arc<dyn KeyHolder>,
    metrics: Arc<Metrics>,
    tls: ServerTlsConfig,
    allowed: Vec<String>,
}

impl Signer {
    /// A signer over its durable state (set up by [`Guard::adopt_checkpoint`]), its
    /// keys and its TLS files. Repository names must start with one of `allowed` for
    /// keys to be created (any name when empty).
    pub fn new(
        state: Arc<dyn store::KvStore>,
        keys: Arc<dyn KeyHolder>,
        tls: &TlsFiles,
        allowed: Vec<String>,
    ) -> Result<Self, Error> {
        // Other crates in a build may enable a second rustls provider; name ours so
        // rustls does not have to guess. An error means one is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let key = zeroize::Zeroizing::new(read_pem(&tls.key)?);
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(read_pem(&tls.cert)?, key.as_slice()))
            .client_ca_root(Certificate::from_pem(read_pem(&tls.client_ca)?));
        let origin = keys.log_verifier().name().as_str().to_string();
        let guard = Guard::new(state, origin);
        if !guard.is_initialised()? {
            return Err(Error::Keys(
                "the signer's state holds no record of what it signed: set up with \
                 `init` or `import`, or restore the state directory"
                    .into(),
            ));
        }
        Ok(Signer {
            guard: Arc::new(guard),
            keys,
            metrics: Arc::new(Metrics::new().map_err(|e| Error::Tls(format!("metrics: {e}")))?),
            tls,
            allowed,
        })
    }

    /// The guard, to adopt an existing log's checkpoint before serving.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The metrics, for an HTTP endpoint of the binary's choosing.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Serves mutual-TLS gRPC on `listener` until `shutdown` completes.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let service = service::SignerService {
            guard: self.guard,
            keys: self.keys,
            metrics: self.metrics,
            allowed: self.allowed,
        };
        tonic::transport::Server::builder()
            .tls_config(self.tls)
            .map_err(|e| Error::Tls(e.to_string()))?
            .add_service(proto::signer::v1::signer_server::SignerServer::new(service))
            // Without TCP_NODELAY a reply written in pieces (headers, data,
            // trailers) waits out the client's delayed ACK after every pause: ~40 ms
            // per request when the server asks one at a time.
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await
            .map_err(|e| Error::Tls(e.to_string()))?;
        tracing::info!("stopped");
        Ok(())
    }
}
