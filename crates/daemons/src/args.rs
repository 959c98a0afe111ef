//! The daemons' flags, each with its `TUFLOG_*` environment variable. `tuflog
//! server`, `tuflog witness` and `tuflog monitor` hand their arguments to these
//! binaries unparsed, so each flag is defined here only.

use clap::ValueEnum;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How a daemon writes its logs on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Text.
    Text,
    /// One JSON object a line.
    Json,
}

impl LogFormat {
    /// Installs the process's subscriber: logs in this format, and spans exported
    /// as `service` when an OpenTelemetry collector is configured
    /// ([`crate::telemetry`]). Keep what it returns until the daemon ends.
    pub fn init(self, service: &str) -> crate::telemetry::Telemetry {
        crate::telemetry::init(self == LogFormat::Json, service)
    }
}

/// `tuflog-server` settings.
#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// TOML config file.
    #[arg(long, env = "TUFLOG_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the database and the keys live [default: tuflog-data].
    #[arg(long, env = "TUFLOG_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on, HTTP/1.1 and gRPC over h2c, or over TLS with
    /// --tls-cert [default: 127.0.0.1:8080].
    #[arg(long, env = "TUFLOG_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate
    /// first) [default: tls_cert, or cleartext].
    #[arg(long, env = "TUFLOG_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM) [default: tls_key].
    #[arg(long, env = "TUFLOG_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The log's checkpoint origin, also its key's name [default: localhost/tuflog].
    #[arg(long, env = "TUFLOG_ORIGIN")]
    pub origin: Option<String>,
    /// Keep the log in PostgreSQL (`postgres://user:password@host:port/db`) instead
    /// of the embedded RocksDB; instances sharing one database take turns as the
    /// sequencer [default: none, RocksDB under --data-dir].
    #[arg(long, env = "TUFLOG_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the other instances on the database forward pushes while this one is
    /// the sequencer [default: http:// and the listen address].
    #[arg(long, env = "TUFLOG_ADVERTISE_URL")]
    pub advertise_url: Option<String>,
    /// A batch closes at this many entries [default: 1024].
    #[arg(long, env = "TUFLOG_MAX_BATCH_ENTRIES")]
    pub max_batch_entries: Option<usize>,
    /// A batch closes this long after its first append, e.g. "1ms" [default: 1ms].
    #[arg(long, env = "TUFLOG_MAX_BATCH_DELAY", value_parser = humantime::parse_duration)]
    pub max_batch_delay: Option<Duration>,
    /// The separate signer, `https://host:port` [default: the file's signer.url].
    #[arg(long, env = "TUFLOG_SIGNER_URL")]
    pub signer_url: Option<String>,
    /// The CA the signer's certificate chains to [default: signer.ca_cert].
    #[arg(long, env = "TUFLOG_SIGNER_CA_CERT")]
    pub signer_ca_cert: Option<PathBuf>,
    /// This server's client certificate for the signer [default: signer.client_cert].
    #[arg(long, env = "TUFLOG_SIGNER_CLIENT_CERT")]
    pub signer_client_cert: Option<PathBuf>,
    /// Its private key [default: signer.client_key].
    #[arg(long, env = "TUFLOG_SIGNER_CLIENT_KEY")]
    pub signer_client_key: Option<PathBuf>,
}

/// `tuflog witness` / `tuflog-witness` settings.
#[derive(clap::Args, Clone)]
pub struct WitnessArgs {
    /// TOML file whose keys are these flags' names (`data_dir`, `log`, …): the
    /// defaults beneath the environment and the command line.
    #[arg(long, env = "TUFLOG_WITNESS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the witness keeps its key and the latest checkpoint cosigned per log.
    #[arg(
        long,
        env = "TUFLOG_WITNESS_DATA_DIR",
        default_value = "tuflog-witness-data"
    )]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "TUFLOG_WITNESS_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// The witness's name: its key's name, which logs and clients pin.
    #[arg(long, env = "TUFLOG_WITNESS_NAME", default_value = "localhost/witness")]
    pub name: String,
    /// A log to witness, by its verifier key (`origin+keyid+key`, as `tuflog
    /// server` prints it); repeat for more logs.
    #[arg(
        long = "log",
        env = "TUFLOG_WITNESS_LOGS",
        value_delimiter = ',',
        required = true
    )]
    pub logs: Vec<String>,
}

/// `tuflog monitor` / `tuflog-monitor` settings.
#[derive(clap::Args, Clone)]
pub struct MonitorArgs {
    /// TOML file whose keys are these flags' names (`log`, `log_key`, `peer`, …):
    /// the defaults beneath the environment and the command line.
    #[arg(long, env = "TUFLOG_MONITOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// The log's base URL.
    #[arg(long = "log", env = "TUFLOG_MONITOR_LOG")]
    pub log: String,
    /// A PEM file of CA certificates trusted for `https://` URLs besides the
    /// public roots: a log, peer or witness whose certificate a private CA issued.
    #[arg(long, env = "TUFLOG_MONITOR_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// The log's verifier key (`origin+keyid+key`, as `tuflog server` prints it).
    #[arg(long, env = "TUFLOG_MONITOR_LOG_KEY")]
    pub log_key: String,
    /// Where the monitor keeps its state and evidence files.
    #[arg(
        long,
        env = "TUFLOG_MONITOR_DATA_DIR",
        default_value = "tuflog-monitor-data"
    )]
    pub data_dir: PathBuf,
    /// Address to listen on (gossip, alerts, metrics).
    #[arg(long, env = "TUFLOG_MONITOR_LISTEN", default_value = "127.0.0.1:8082")]
    pub listen: SocketAddr,
    /// A peer monitor to poll for checkpoints; repeat for more.
    #[arg(long = "peer", env = "TUFLOG_MONITOR_PEERS", value_delimiter = ',')]
    pub peers: Vec<String>,
    /// A repository whose every new version is reported ("*" for all); repeat
    /// for more.
    #[arg(long = "watch", env = "TUFLOG_MONITOR_WATCH", value_delimiter = ',')]
    pub watch: Vec<String>,
    /// Where alerts and watched versions are posted as JSON.
    #[arg(long, env = "TUFLOG_MONITOR_WEBHOOK")]
    pub webhook: Option<String>,
    /// Time between polls of the log and the peers, e.g. "5s".
    #[arg(long, env = "TUFLOG_MONITOR_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub interval: std::time::Duration,
    /// A witness verifier key of the policy the log's clients apply; repeat for
    /// more. A checkpoint the log serves short of the policy raises an alert.
    #[arg(
        long = "witness",
        env = "TUFLOG_MONITOR_WITNESSES",
        value_delimiter = ','
    )]
    pub witnesses: Vec<String>,
    /// How many of the witnesses must cosign (default: all of them).
    #[arg(long, env = "TUFLOG_MONITOR_WITNESS_THRESHOLD")]
    pub witness_threshold: Option<usize>,
    /// A witness whose latest cosigned checkpoint of the log is read every
    /// interval (`GET URL/checkpoint?origin=…`) and judged like gossip; repeat
    /// for more.
    #[arg(
        long = "witness-url",
        env = "TUFLOG_MONITOR_WITNESS_URLS",
        value_delimiter = ','
    )]
    pub witness_urls: Vec<String>,
    /// How long an answer to gossip may wait while the monitor follows the log
    /// to a heard checkpoint's size.
    #[arg(long, env = "TUFLOG_MONITOR_GOSSIP_WAIT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub gossip_wait: std::time::Duration,
    /// A heard checkpoint not reached by the monitor's verified tree within this
    /// raises `checkpoint_frozen`.
    #[arg(long, env = "TUFLOG_MONITOR_HEARD_DEADLINE", default_value = "5m", value_parser = humantime::parse_duration)]
    pub heard_deadline: std::time::Duration,
    /// The newest verified checkpoint older than this raises `checkpoint_stale`
    /// ("0s" turns the check off).
    #[arg(long, env = "TUFLOG_MONITOR_MAX_CHECKPOINT_AGE", default_value = "25h", value_parser = humantime::parse_duration)]
    pub max_checkpoint_age: std::time::Duration,
}
