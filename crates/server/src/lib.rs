//! tuflog's server: the log engine, the repository service, and their HTTP and gRPC
//! surfaces.
//!
//! - [`sequencer`]: appends are queued and integrated in batches; each batch is one
//!   synced write and one signed checkpoint, checked for consistency with the last
//!   one before it is signed.
//! - [`repos`]: TUF repositories by name; pushes validated as a client would, the
//!   online snapshot and timestamp signed, every accepted version logged in one
//!   append; timestamps re-signed before they expire.
//! - [`signing`]: who signs checkpoints. Embedded, the log key ([`logkey`]) and the
//!   online-key seed are generated on first start and kept beside the database; with
//!   a separate signer ([`remote_signer`]) the server holds no private key.
//! - [`http`] and [`grpc`]: the C2SP tlog-tiles routes, JSON proofs, the TUF
//!   repository layout, pushes, proof bundles, metrics and health over HTTP, and the
//!   same over gRPC, both on one listener.
//!
//! A binary builds a [`Server`] from a [`Config`] and calls [`Server::run`] with a
//! listener and a shutdown future; nothing else.
#![forbid(unsafe_code)]

pub mod cosign;
mod error;
mod forward;
pub mod grpc;
pub mod grpc_repo;
pub mod http;
pub mod lease;
pub mod logkey;
pub mod metrics;
pub mod migrate;
mod nodecache;
pub mod pack_cache;
mod published_reads;
pub mod remote_signer;
pub mod repos;
mod repos_http;
pub mod sequencer;
pub mod signing;
pub mod tls;

pub use error::{Error, ErrorKind};
pub use published_reads::{ConsistencyProof, InclusionProof};
pub use repos_http::MAX_PUSH_BYTES;

use axum::serve::ListenerExt;
use axum::Router;
use metrics::Metrics;
use remote_signer::{RemoteSigner, RemoteSignerConfig};
use repos::auth::{TokenRule, Tokens};
use repos::signer::{LocalSigner, Signer};
use repos::{RepoConfig, Repos};
use sequencer::{Log, Storage};
use signing::{CheckpointSigner, LocalCheckpointSigner};
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::server::NamedService;

/// Origin used when none is configured. Logs meant to be public should set their
/// own: the origin names the log and its key in every checkpoint.
pub const DEFAULT_ORIGIN: &str = "localhost/tuflog";

/// What a server needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the database and the keys live.
    pub data_dir: PathBuf,
    /// The checkpoint origin line, also the log key's name.
    pub origin: String,
    /// Batching and back-pressure.
    pub sequencer: sequencer::Config,
    /// Repository expiries and push limits.
    pub repos: RepoConfig,
    /// Write tokens. When empty, the server uses (creating it on first start) one
    /// token covering every repository, kept in [`Config::admin_token_path`].
    pub tokens: Vec<TokenRule>,
    /// Witnesses every checkpoint is submitted to; readers see a checkpoint only
    /// once the policy's threshold of them cosigned it.
    pub witnesses: Option<cosign::Policy>,
    /// A separate signer holding the log key and the online keys. When `None`, the
    /// keys are kept in the data directory and used in this process.
    pub signer: Option<RemoteSignerConfig>,
    /// A PostgreSQL database for the log in place of the embedded RocksDB, which
    /// several instances may share (one integrating, by the sequencer lease).
    pub database: Option<DatabaseConfig>,
    /// Serve HTTPS (HTTP/1.1 and HTTP/2, so gRPC, by ALPN) with this certificate
    /// and key instead of cleartext HTTP/1.1 and h2c.
    pub tls: Option<tls::TlsFiles>,
}

/// Where the log lives when it is not in the embedded RocksDB.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// A `postgres://` URL (or key=value connection string); it may hold a password.
    pub url: zeroize::Zeroizing<String>,
    /// The URL the other instances forward pushes to while this one is the
    /// sequencer (`http://host:port`); empty for `http://` and the address it
    /// listens on.
    pub advertise: String,
}

impl std::fmt::Debug for DatabaseConfig {
    /// Never the URL, which may hold the database password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("advertise", &self.advertise)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("tuflog-data"),
            origin: DEFAULT_ORIGIN.into(),
            sequencer: sequencer::Config::default(),
            repos: RepoConfig::default(),
            tokens: Vec::new(),
            witnesses: None,
            signer: None,
            database: None,
            tls: None,
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

    /// Where the seed of every repository's online keys is kept.
    pub fn online_seed_path(&self) -> PathBuf {
        self.data_dir.join("online.seed")
    }

    /// Where the generated admin token is kept when no tokens are configured.
    pub fn admin_token_path(&self) -> PathBuf {
        self.data_dir.join("admin.token")
    }
}

/// Loads the admin token at `path`, or generates one (32 random bytes, hex) if there
/// is no file; a rule covering every repository.
pub fn load_or_generate_admin_token(path: &std::path::Path) -> Result<TokenRule, Error> {
    let err = |reason: String| Error::Key {
        path: path.display().to_string(),
        reason,
    };
    let token = match std::fs::read_to_string(path) {
        Ok(t) => zeroize::Zeroizing::new(t.trim_end().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut raw = zeroize::Zeroizing::new([0u8; 32]);
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, raw.as_mut());
            let t = zeroize::Zeroizing::new(hex::encode(raw.as_ref()));
            logkey::write_secret_file(path, t.as_bytes()).map_err(|e| err(e.to_string()))?;
            t
        }
        Err(e) => return Err(err(e.to_string())),
    };
    if token.is_empty() {
        return Err(err("empty token file".into()));
    }
    Ok(TokenRule::for_token("admin", &token, vec![String::new()]))
}

/// A running log and repository service with its metrics, ready to serve.
pub struct Server {
    log: Arc<Log>,
    witnesses: Option<cosign::Policy>,
    metrics: Arc<Metrics>,
    repos: Arc<Repos>,
    tokens: Arc<Tokens>,
    /// On a shared database: the sequencer lease, held or waited for.
    sequencing: Option<Sequencing>,
    /// The TLS identity to serve with, when configured.
    tls: Option<Arc<rustls::ServerConfig>>,
}

struct Sequencing {
    lease: Arc<dyn store::SequencerLease>,
    me: lease::Identity,
    /// The lease term this instance holds from the start, if it leads.
    token: Option<u64>,
    forwarder: Arc<forward::Forwarder>,
}

impl Server {
    /// Opens (or creates) the server's state under `config.data_dir`: RocksDB, the
    /// admin token when no tokens are configured, and either the log key and the
    /// online-key seed or, with [`Config::signer`], a connection to the signer that
    /// holds them (which needs a multi-threaded tokio runtime).
    ///
    /// With [`Config::database`], the log is in PostgreSQL instead. The instance
    /// that takes the sequencer lease integrates; the others follow it
    /// ([`Log::follow`]), serving reads and forwarding pushes to it
    /// ([`forward`]), and take over when its lease runs out. With a witness policy,
    /// the others serve the cosigned checkpoints the sequencer keeps in the
    /// database, each checked as a client checks it.
    pub fn open(config: &Config) -> Result<Self, Error> {
        if config.tls.is_some() && config.database.is_some() {
            return Err(Error::invalid(
                "tls_cert with database_url: instances on a shared database forward pushes \
                 to each other in cleartext; put TLS in the load balancer in front of them \
                 and keep the instances on a private network",
            ));
        }
        let (checkpoints, signer): (Arc<dyn CheckpointSigner>, Arc<dyn Signer>) =
            match &config.signer {
                Some(remote) => {
                    let remote = Arc::new(RemoteSigner::connect_blocking(remote, &config.origin)?);
                    (remote.clone(), remote)
                }
                None => {
                    let key = logkey::load_or_generate(&config.log_key_path(), &config.origin)?;
                    (
                        Arc::new(LocalCheckpointSigner::new(key)),
                        Arc::new(LocalSigner::load_or_generate(&config.online_seed_path())?),
                    )
                }
            };
        let mut config = config.clone();
        if config.tokens.is_empty() {
            config.tokens = vec![load_or_generate_admin_token(&config.admin_token_path())?];
        }
        let Some(database) = &config.database else {
            let store = Arc::new(store::rocks::RocksStore::open(&config.db_path())?);
            return Self::with_store(store, checkpoints, signer, &config);
        };
        let pg = Arc::new(store::postgres::PgStore::open(&database.url)?);
        let me = lease::Identity::of_this_process(database.advertise.clone());
        let token = lease::lead_or_follow(pg.as_ref(), pg.as_ref(), &me)?;
        let store: Arc<dyn Storage> = pg.clone();
        let mut server = Self::assemble(store, checkpoints, signer, &config, token.is_none())?;
        server.sequencing = Some(Sequencing {
            forwarder: Arc::new(forward::Forwarder::new(pg.clone())),
            lease: pg,
            me,
            token,
        });
        Ok(server)
    }

    /// A server over any store and signers (tests use the in-memory store).
    pub fn with_store(
        store: Arc<dyn Storage>,
        checkpoints: Arc<dyn CheckpointSigner>,
        signer: Arc<dyn Signer>,
        config: &Config,
    ) -> Result<Self, Error> {
        Self::assemble(store, checkpoints, signer, config, false)
    }

    /// A server whose log integrates, or with `follow`, follows the sequencer
    /// another instance runs on the same store ([`Log::follow`]).
    fn assemble(
        store: Arc<dyn Storage>,
        checkpoints: Arc<dyn CheckpointSigner>,
        signer: Arc<dyn Signer>,
        config: &Config,
        follow: bool,
    ) -> Result<Self, Error> {
        let metrics =
            Arc::new(Metrics::new().map_err(|e| Error::invalid(format!("metrics: {e}")))?);
        let mut sequencer = config.sequencer.clone();
        if let Some(policy) = &config.witnesses {
            policy.check(checkpoints.verifier())?;
            sequencer.witnesses = Some(policy.rule());
        }
        let log = Arc::new(if follow {
            Log::follow(store, checkpoints, sequencer, metrics.clone())?
        } else {
            Log::open(store, checkpoints, sequencer, metrics.clone())?
        });
        let repos = Arc::new(Repos::new(log.clone(), signer, config.repos.clone()));
        Ok(Server {
            log,
            witnesses: config.witnesses.clone(),
            metrics,
            repos,
            tokens: Arc::new(Tokens::new(config.tokens.clone())),
            sequencing: None,
            tls: config.tls.as_ref().map(tls::server_config).transpose()?,
        })
    }

    /// The log, for appending and reading in-process.
    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    /// The repository service.
    pub fn repos(&self) -> &Arc<Repos> {
        &self.repos
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
            repos: self.repos.clone(),
            tokens: self.tokens.clone(),
            packs: Arc::new(pack_cache::PackCache::default()),
        };
        let log_service = grpc::LogService::new(state.clone(), stopping).into_server();
        let log_path = format!(
            "/{}/{{method}}",
            <proto::log::v1::log_server::LogServer<grpc::LogService> as NamedService>::NAME
        );
        let repo_service = grpc_repo::RepoService::new(state.clone()).into_server();
        let repo_path = format!(
            "/{}/{{method}}",
            <proto::repo::v1::repository_server::RepositoryServer<grpc_repo::RepoService> as NamedService>::NAME
        );
        http::router(state)
            .route_service(&log_path, log_service)
            .route_service(&repo_path, repo_service)
    }

    /// Serves HTTP/1.1 and gRPC (HTTP/2 cleartext) on `listener` until `shutdown`
    /// completes, then finishes in-flight requests and the batch being integrated.
    /// Re-signs timestamps near expiry in the background meanwhile. On a shared
    /// database, renews the sequencer lease meanwhile and gives it up at the end; if
    /// the lease is lost, stops the same way and returns [`Error::LeaseLost`].
    pub async fn run(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let (stopping_tx, stopping) = watch::channel(false);
        let (stopped_tx, stopped) = watch::channel(false);
        let (lost_tx, mut lost) = watch::channel(false);
        let sequencing = self.sequencing.take();
        let forwarder = sequencing.as_ref().map(|s| s.forwarder.clone());
        let keeper = match sequencing {
            Some(mut seq) => {
                if seq.me.address.is_empty() {
                    seq.me.address = format!("http://{}", listener.local_addr()?);
                }
                seq.forwarder.set_own_address(&seq.me.address);
                let log = self.log.clone();
                Some(tokio::spawn(async move {
                    let kept = lease::sequence(seq.lease, seq.me, seq.token, log, stopped).await;
                    if let Err(e) = &kept {
                        tracing::error!(error = %e, "stopping: this instance is no longer the sequencer");
                        let _ = lost_tx.send(true);
                    }
                    kept
                }))
            }
            None => None,
        };
        let mut router = self.router(stopping.clone());
        if let Some(forwarder) = forwarder {
            router = router.layer(axum::middleware::from_fn_with_state(
                (self.log.clone(), forwarder),
                forward::forward_writes,
            ));
        }
        let cosigner = self
            .witnesses
            .clone()
            .map(|policy| tokio::spawn(cosign::run(self.log.clone(), policy, stopping.clone())));
        let resigner = tokio::spawn(resign_loop(self.log.clone(), self.repos.clone(), stopping));
        let shutdown = async move {
            let lost = async move {
                // Without a lease keeper the sender is gone at once: never lost.
                if lost.wait_for(|l| *l).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = shutdown => {}
                _ = lost => {}
            }
            let _ = stopping_tx.send(true);
        };
        let serving: Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = match &self.tls {
            Some(config) => {
                let listener =
                    tls::TlsListener::new(listener, config.clone(), self.metrics.clone())?;
                Box::pin(
                    axum::serve(listener, router)
                        .with_graceful_shutdown(shutdown)
                        .into_future(),
                )
            }
            None => {
                // Without TCP_NODELAY a gRPC reply (headers, data and trailers
                // written separately) waits out the client's delayed ACK on every
                // push (seen with tuflog-pushload: ~49 ms per push).
                let listener = listener.tap_io(|tcp| {
                    if let Err(e) = tcp.set_nodelay(true) {
                        tracing::debug!(error = %e, "could not set TCP_NODELAY");
                    }
                });
                Box::pin(
                    axum::serve(listener, router)
                        .with_graceful_shutdown(shutdown)
                        .into_future(),
                )
            }
        };
        let result = serving.await;
        let _ = resigner.await;
        if let Some(c) = cosigner {
            let _ = c.await;
        }
        let log = self.log.clone();
        // Joining the integrator blocks; keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || log.shutdown()).await;
        // The lease is given up only now, once the last batch is in.
        let _ = stopped_tx.send(true);
        if let Some(keeper) = keeper {
            keeper
                .await
                .map_err(|e| Error::LeaseLost(format!("the lease task failed: {e}")))??;
        }
        tracing::info!("stopped");
        Ok(result?)
    }
}

/// Every `resign_interval`, re-signs the timestamps near expiry, until `stopping`.
async fn resign_loop(log: Arc<Log>, repos: Arc<Repos>, mut stopping: watch::Receiver<bool>) {
    let interval = repos.config().resign_interval;
    loop {
        // A following instance signs nothing; the sequencer re-signs.
        let due = match log.is_sequencer() {
            true => repos.resign_due().await,
            false => Ok(0),
        };
        match due {
            Ok(0) => {}
            Ok(n) => tracing::info!(repositories = n, "timestamps re-signed"),
            Err(e) => tracing::error!(error = %e, "the timestamp re-signing pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}
