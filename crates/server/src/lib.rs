//! tuflog's server: the log engine and its HTTP and gRPC surfaces.
//!
//! - [`sequencer`]: appends are queued and integrated in batches; each batch is one
//!   synced write and one signed checkpoint, checked for consistency with the last
//!   one before it is signed.
//! - [`logkey`]: the log's Ed25519 signing key, named after its origin, generated on
//!   first start and kept beside the database.
//! - [`http`] and [`grpc`]: the C2SP tlog-tiles routes, JSON proofs, metrics and
//!   health over HTTP, and the same reads (plus entries and a checkpoint watch) over
//!   gRPC, both on one listener.
//!
//! A binary builds a [`LogServer`] from a [`Config`] and calls [`LogServer::run`] with
//! a listener and a shutdown future; nothing else.
//!
//! # What this crate is not (yet)
//!
//! It takes no pushes from the network: repositories, TUF validation and the push
//! routes arrive with the repository service. Appends come through
//! [`sequencer::Log::append`].
#![forbid(unsafe_code)]

mod error;
pub mod grpc;
pub mod http;
pub mod logkey;
pub mod metrics;
mod nodecache;
mod reads;
pub mod sequencer;

pub use error::Error;
pub use reads::{ConsistencyProof, InclusionProof};

use axum::Router;
use metrics::Metrics;
use sequencer::{Log, Storage};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tlog::SignerKey;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::server::NamedService;

/// Origin used when none is configured. Logs meant to be public should set their
/// own: the origin names the log and its key in every checkpoint.
pub const DEFAULT_ORIGIN: &str = "localhost/tuflog";

/// What a log server needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the database and the log key live.
    pub data_dir: PathBuf,
    /// The checkpoint origin line, also the log key's name.
    pub origin: String,
    /// Batching and back-pressure.
    pub sequencer: sequencer::Config,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("tuflog-data"),
            origin: DEFAULT_ORIGIN.into(),
            sequencer: sequencer::Config::default(),
        }
    }
}

impl Config {
    /// Where the RocksDB database is kept.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("db")
    }

    /// Where the log key is kept.
    pub fn log_key_path(&self) -> PathBuf {
        self.data_dir.join("log.key")
    }
}

/// A running log with its metrics, ready to serve.
pub struct LogServer {
    log: Arc<Log>,
    metrics: Arc<Metrics>,
}

impl LogServer {
    /// Opens (or creates) the log under `config.data_dir` in RocksDB, with its key.
    pub fn open(config: &Config) -> Result<Self, Error> {
        let key = logkey::load_or_generate(&config.log_key_path(), &config.origin)?;
        let store = Arc::new(store::rocks::RocksStore::open(&config.db_path())?);
        Self::with_store(store, key, config.sequencer.clone())
    }

    /// A server over any store (tests use the in-memory one).
    pub fn with_store(
        store: Arc<dyn Storage>,
        key: SignerKey,
        sequencer: sequencer::Config,
    ) -> Result<Self, Error> {
        let metrics =
            Arc::new(Metrics::new().map_err(|e| Error::invalid(format!("metrics: {e}")))?);
        let log = Arc::new(Log::open(store, key, sequencer, metrics.clone())?);
        Ok(LogServer { log, metrics })
    }

    /// The log, for appending and reading in-process.
    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    /// The log's verifier key string (`<origin>+<key ID>+<base64>`), which clients pin.
    pub fn verifier_key(&self) -> String {
        self.log.verifier().to_string()
    }

    /// HTTP and gRPC routes on one router; gRPC streams end when `stopping` turns
    /// true.
    pub fn router(&self, stopping: watch::Receiver<bool>) -> Router {
        let state = http::AppState {
            log: self.log.clone(),
            metrics: self.metrics.clone(),
        };
        let grpc = grpc::LogService::new(state.clone(), stopping).into_server();
        let grpc_path = format!(
            "/{}/{{method}}",
            <proto::log::v1::log_server::LogServer<grpc::LogService> as NamedService>::NAME
        );
        http::router(state).route_service(&grpc_path, grpc)
    }

    /// Serves HTTP/1.1 and gRPC (HTTP/2 cleartext) on `listener` until `shutdown`
    /// completes, then finishes in-flight requests and the batch being integrated.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let (stopping_tx, stopping) = watch::channel(false);
        let router = self.router(stopping);
        let serving = axum::serve(listener, router).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping_tx.send(true);
        });
        let result = serving.await;
        let log = self.log.clone();
        // Joining the integrator blocks; keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || log.shutdown()).await;
        tracing::info!("stopped");
        Ok(result?)
    }
}
