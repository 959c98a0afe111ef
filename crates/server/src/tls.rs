//! HTTPS on the server's one port: HTTP/1.1 and HTTP/2 (so gRPC) over TLS, chosen
//! by ALPN, with the certificate chain and key an operator configures.
//!
//! Handshakes run beside the accept loop, each bounded in time, and at most
//! [`MAX_PENDING_HANDSHAKES`] at once: a client that opens connections and never
//! finishes its handshake holds one slot for [`TLS_HANDSHAKE_TIMEOUT`], and
//! delays no one else's.

use crate::metrics::Metrics;
use crate::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client has to finish its TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; further connections wait to be accepted.
pub const MAX_PENDING_HANDSHAKES: usize = 1024;

/// The files of the server's TLS identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, PEM, the server's own certificate first.
    pub cert: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A PEM file of the TLS identity, read as every PEM file is ([`edge::pem`]).
fn read_pem(path: &Path, what: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    edge::pem::read(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| Error::invalid(format!("TLS {what} {}: {e}", path.display())))
}

/// The rustls configuration for `files`, offering HTTP/2 and HTTP/1.1.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain = CertificateDer::pem_slice_iter(&read_pem(&files.cert, "certificate")?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::invalid(format!(
                "TLS certificate {}: not PEM certificates: {e}",
                files.cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(Error::invalid(format!(
            "TLS certificate {}: no certificate in it",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&read_pem(&files.key, "key")?).map_err(|e| {
        Error::invalid(format!(
            "TLS key {}: no private key in it: {e}",
            files.key.display()
        ))
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::invalid(format!("TLS: {e}")))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| {
        Error::invalid(format!(
            "TLS certificate {} and key {}: {e}",
            files.cert.display(),
            files.key.display()
        ))
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A listener whose connections come out of their TLS handshake, for
/// `axum::serve`. Accepting stops when it is dropped.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub(crate) fn new(
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (ready_tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let slots = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = ready_tx.closed() => return,
                    accepted = async {
                        let slot = slots.clone().acquire_owned().await;
                        (slot, listener.accept().await)
                    } => accepted,
                };
                let (Ok(slot), accepted) = accepted else {
                    return;
                };
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, or the like: wait, as axum does.
                        tracing::debug!(error = %e, "accepting a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // See `Server::run`: gRPC replies otherwise wait for delayed ACKs.
                let _ = tcp.set_nodelay(true);
                let (acceptor, ready_tx, metrics) =
                    (acceptor.clone(), ready_tx.clone(), metrics.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = ready_tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => {
                            metrics
                                .tls_handshake_failures_total
                                .with_label_values(&["refused"])
                                .inc();
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            metrics
                                .tls_handshake_failures_total
                                .with_label_values(&["timeout"])
                                .inc();
                            tracing::debug!(%peer, "TLS handshake timed out");
                        }
                    }
                });
            }
        });
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accept loop only ends once this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn refused(files: &TlsFiles, wanted: &str) {
        match server_config(files) {
            Err(e) => assert!(e.to_string().contains(wanted), "{e}"),
            Ok(_) => panic!("{files:?} accepted"),
        }
    }

    #[test]
    fn a_certificate_and_its_key_make_a_config_offering_h2_and_http1() {
        let dir = tempfile::tempdir().unwrap();
        let f = testkit::pki::server_certificate(&["localhost"])
            .unwrap()
            .write(dir.path())
            .unwrap();
        let config = server_config(&TlsFiles {
            cert: f.cert,
            key: f.key,
        })
        .unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn a_server_on_a_shared_database_refuses_to_serve_tls_before_connecting() {
        let config = crate::Config {
            tls: Some(TlsFiles {
                cert: "/nonexistent/cert.pem".into(),
                key: "/nonexistent/key.pem".into(),
            }),
            database: Some(crate::DatabaseConfig {
                url: zeroize::Zeroizing::new("postgres://nobody@127.0.0.1:1/none".into()),
                advertise: String::new(),
            }),
            ..crate::Config::default()
        };
        let e = crate::Server::open(&config).err().unwrap();
        assert!(e.to_string().contains("forward pushes"), "{e}");
    }

    #[test]
    fn unusable_files_are_refused_by_name_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let f = testkit::pki::server_certificate(&["localhost"])
            .unwrap()
            .write(dir.path())
            .unwrap();
        let other = testkit::pki::server_certificate(&["localhost"])
            .unwrap()
            .write(&dir.path().join("other"))
            .unwrap();
        let missing = dir.path().join("missing.pem");
        refused(
            &TlsFiles {
                cert: missing.clone(),
                key: f.key.clone(),
            },
            "missing.pem",
        );
        // A key file given as the certificate, and a certificate as the key.
        refused(
            &TlsFiles {
                cert: f.key.clone(),
                key: f.key.clone(),
            },
            "no certificate in it",
        );
        refused(
            &TlsFiles {
                cert: f.cert.clone(),
                key: f.cert.clone(),
            },
            "no private key",
        );
        // Another certificate's key.
        refused(
            &TlsFiles {
                cert: f.cert.clone(),
                key: other.key,
            },
            "server.key",
        );
    }
}
