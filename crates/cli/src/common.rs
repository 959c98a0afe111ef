//! What `tuflog` and `tuflog-server` share: the server's flags and log set-up. The
//! server lives in its own binary so the client commands do not load a database
//! engine at every start (RocksDB's static initialisers and a 450 MB image cost
//! ~6 ms per `tuflog update`; bench/RESULTS.md).

use clap::ValueEnum;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

// Both impls below serve `tuflog server` (main.rs); tuflog-server includes this file too.
#[allow(dead_code)]
impl LogFormat {
    fn as_arg(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// Logs on stderr, filtered by RUST_LOG (default info), as text or JSON.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// TOML config file.
    #[arg(long, env = "TUFLOG_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the database and the keys live [default: tuflog-data].
    #[arg(long, env = "TUFLOG_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on, HTTP/1.1 and gRPC over h2c [default: 127.0.0.1:8080].
    #[arg(long, env = "TUFLOG_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The log's checkpoint origin, also its key's name [default: localhost/tuflog].
    #[arg(long, env = "TUFLOG_ORIGIN")]
    pub origin: Option<String>,
    /// A batch closes at this many entries [default: 1024].
    #[arg(long, env = "TUFLOG_MAX_BATCH_ENTRIES")]
    pub max_batch_entries: Option<usize>,
    /// A batch closes this long after its first append, e.g. "1ms" [default: 1ms].
    #[arg(long, env = "TUFLOG_MAX_BATCH_DELAY", value_parser = humantime::parse_duration)]
    pub max_batch_delay: Option<Duration>,
}

#[allow(dead_code)]
impl ServerArgs {
    /// These settings as `tuflog-server` flags (environment variables pass through
    /// on their own).
    pub fn to_args(&self, log_format: LogFormat) -> Vec<OsString> {
        let mut out: Vec<OsString> = vec!["--log-format".into(), log_format.as_arg().into()];
        let mut flag = |name: &str, value: Option<OsString>| {
            if let Some(v) = value {
                out.push(name.into());
                out.push(v);
            }
        };
        flag("--config", self.config.clone().map(Into::into));
        flag("--data-dir", self.data_dir.clone().map(Into::into));
        flag("--listen", self.listen.map(|a| a.to_string().into()));
        flag("--origin", self.origin.clone().map(Into::into));
        flag(
            "--max-batch-entries",
            self.max_batch_entries.map(|n| n.to_string().into()),
        );
        flag(
            "--max-batch-delay",
            self.max_batch_delay
                .map(|d| humantime::format_duration(d).to_string().into()),
        );
        out
    }
}

/// `tuflog witness` / `tuflog-witness` settings.
#[derive(clap::Args, Clone)]
pub struct WitnessArgs {
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

// Used by `tuflog`, not by the binaries that include this file for the parsing.
#[allow(dead_code)]
impl WitnessArgs {
    /// These settings as `tuflog-witness` flags.
    pub fn to_args(&self, log_format: LogFormat) -> Vec<OsString> {
        let mut out: Vec<OsString> = vec!["--log-format".into(), log_format.as_arg().into()];
        out.extend([
            "--data-dir".into(),
            self.data_dir.clone().into(),
            "--listen".into(),
            self.listen.to_string().into(),
            "--name".into(),
            self.name.clone().into(),
        ]);
        for log in &self.logs {
            out.extend(["--log".into(), log.into()]);
        }
        out
    }
}

/// `tuflog monitor` / `tuflog-monitor` settings.
#[derive(clap::Args, Clone)]
pub struct MonitorArgs {
    /// The log's base URL.
    #[arg(long = "log", env = "TUFLOG_MONITOR_LOG")]
    pub log: String,
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

#[allow(dead_code)]
impl MonitorArgs {
    /// These settings as `tuflog-monitor` flags.
    pub fn to_args(&self, log_format: LogFormat) -> Vec<OsString> {
        let mut out: Vec<OsString> = vec!["--log-format".into(), log_format.as_arg().into()];
        out.extend([
            "--log".into(),
            self.log.clone().into(),
            "--log-key".into(),
            self.log_key.clone().into(),
            "--data-dir".into(),
            self.data_dir.clone().into(),
            "--listen".into(),
            self.listen.to_string().into(),
            "--interval".into(),
            humantime::format_duration(self.interval).to_string().into(),
            "--gossip-wait".into(),
            humantime::format_duration(self.gossip_wait)
                .to_string()
                .into(),
            "--heard-deadline".into(),
            humantime::format_duration(self.heard_deadline)
                .to_string()
                .into(),
            "--max-checkpoint-age".into(),
            humantime::format_duration(self.max_checkpoint_age)
                .to_string()
                .into(),
        ]);
        for w in &self.witnesses {
            out.extend(["--witness".into(), w.into()]);
        }
        if let Some(t) = self.witness_threshold {
            out.extend(["--witness-threshold".into(), t.to_string().into()]);
        }
        for w in &self.witness_urls {
            out.extend(["--witness-url".into(), w.into()]);
        }
        for p in &self.peers {
            out.extend(["--peer".into(), p.into()]);
        }
        for w in &self.watch {
            out.extend(["--watch".into(), w.into()]);
        }
        if let Some(w) = &self.webhook {
            out.extend(["--webhook".into(), w.into()]);
        }
        out
    }
}

/// SIGINT or SIGTERM; either starts a graceful shutdown (the server finishes the
/// batch in flight). The handlers are installed when this is called, not when the
/// future is first polled: a SIGTERM that arrived after the URLs were printed but
/// before `run` polled it used to kill the process outright (exit by signal,
/// nothing flushed), seen as a flaky `server_process` test.
#[allow(dead_code)]
pub fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context;
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down");
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        #[command(flatten)]
        args: ServerArgs,
    }

    #[derive(Parser)]
    struct MonitorProbe {
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        #[command(flatten)]
        args: MonitorArgs,
    }

    #[test]
    fn monitor_flags_survive_the_hand_over_to_tuflog_monitor() {
        let given = MonitorProbe::try_parse_from([
            "tuflog-monitor",
            "--log",
            "http://127.0.0.1:8080",
            "--log-key",
            "localhost/tuflog+00000000+AAAA",
            "--witness",
            "w1+1+AAAA",
            "--witness",
            "w2+2+BBBB",
            "--witness-threshold",
            "1",
            "--witness-url",
            "http://127.0.0.1:8081",
            "--gossip-wait",
            "3s",
            "--heard-deadline",
            "2m",
            "--max-checkpoint-age",
            "0s",
        ])
        .unwrap();
        let mut argv: Vec<OsString> = vec!["tuflog-monitor".into()];
        argv.extend(given.args.to_args(LogFormat::Json));
        let again = MonitorProbe::try_parse_from(argv).unwrap();
        assert_eq!(again.args.witnesses, vec!["w1+1+AAAA", "w2+2+BBBB"]);
        assert_eq!(again.args.witness_threshold, Some(1));
        assert_eq!(again.args.witness_urls, vec!["http://127.0.0.1:8081"]);
        assert_eq!(again.args.gossip_wait, Duration::from_secs(3));
        assert_eq!(again.args.heard_deadline, Duration::from_secs(120));
        assert_eq!(again.args.max_checkpoint_age, Duration::ZERO);
    }

    #[test]
    fn server_flags_survive_the_hand_over_to_tuflog_server() {
        let given = Probe::try_parse_from([
            "tuflog-server",
            "--data-dir",
            "/srv/tuflog",
            "--listen",
            "0.0.0.0:9000",
            "--origin",
            "example.com/log",
            "--max-batch-entries",
            "64",
            "--max-batch-delay",
            "3ms",
        ])
        .unwrap();
        let mut argv: Vec<OsString> = vec!["tuflog-server".into()];
        argv.extend(given.args.to_args(LogFormat::Json));
        let again = Probe::try_parse_from(argv).unwrap();
        assert!(matches!(again.log_format, LogFormat::Json));
        assert_eq!(again.args.data_dir, given.args.data_dir);
        assert_eq!(again.args.listen, given.args.listen);
        assert_eq!(again.args.origin, given.args.origin);
        assert_eq!(again.args.max_batch_entries, Some(64));
        assert_eq!(again.args.max_batch_delay, Some(Duration::from_millis(3)));
        assert!(again.args.config.is_none());
    }
}
