//! `tuflog-monitor`: follows a tuflog log, replays every entry against TUF rules,
//! gossips checkpoints with peers and raises alerts; what `tuflog monitor` runs.
//! Thin: parse flags, open the state, `run(listener, shutdown)`.
#![forbid(unsafe_code)]

use anyhow::Context;
use daemons::args::{LogFormat, MonitorArgs};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Run a monitor of one log: verify every checkpoint against its own copy of the
/// tree, replay every entry against TUF rules, gossip checkpoints with peers, and
/// raise alerts with evidence. Usually started as `tuflog monitor`.
#[derive(clap::Parser)]
#[command(name = "tuflog-monitor", version)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(flatten)]
    args: MonitorArgs,
}

/// The catch-up's progress on stderr; indicatif hides it when stderr is not a
/// terminal.
struct Bar(indicatif::ProgressBar);

impl monitor::follower::Progress for Bar {
    fn start(&self, phase: &str, total: u64) {
        self.0.reset();
        self.0.set_length(total);
        self.0.set_message(phase.to_string());
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn main() -> anyhow::Result<()> {
    let cli: Cli = daemons::flag_file::parse(None, "TUFLOG_MONITOR_CONFIG")?;
    let _telemetry = cli.log_format.init("tuflog-monitor");
    let args = cli.args;
    let log_key = tlog::VerifierKey::parse(args.log_key.trim())
        .with_context(|| format!("log verifier key {:?}", args.log_key))?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let db = args.data_dir.join("db");
    let kv = store::rocks::RocksKv::open(&db)
        .with_context(|| format!("opening the monitor state in {}", db.display()))?;
    let mut config = monitor::Config::new(&args.log, log_key);
    config.peers = args.peers;
    config.watch = args.watch;
    config.webhook = args.webhook;
    config.interval = args.interval;
    config.gossip_wait = args.gossip_wait;
    config.heard_deadline = args.heard_deadline;
    config.max_checkpoint_age =
        (!args.max_checkpoint_age.is_zero()).then_some(args.max_checkpoint_age);
    config.witness_urls = args.witness_urls;
    config.ca_cert = args.ca_cert;
    if !args.witnesses.is_empty() {
        let keys = args
            .witnesses
            .iter()
            .map(|w| tlog::VerifierKey::parse(w.trim()).with_context(|| format!("--witness {w:?}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let threshold = args.witness_threshold.unwrap_or(keys.len());
        let policy = tlog::witness_policy::WitnessPolicy::new(keys, threshold);
        policy
            .check(&config.log_key)
            .map_err(|e| anyhow::anyhow!("--witness: {e}"))?;
        config.witnesses = Some(policy);
    } else if args.witness_threshold.is_some() {
        anyhow::bail!("--witness-threshold without --witness");
    }
    config.evidence_dir = args.data_dir.join("evidence");
    let evidence_dir = config.evidence_dir.clone();
    let monitor = Arc::new(monitor::Monitor::open(config, Arc::new(kv))?);
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {pos}/{len} entries {per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let shutdown = daemons::shutdown_signal()?;
        let (listener, addr) = daemons::bind(args.listen).await?;
        daemons::announce(
            &format!("tuflog monitor of {}", args.log),
            &[
                ("resumed at", format!("{} entries", monitor.size())),
                ("gossip", format!("http://{addr}/gossip/checkpoints")),
                ("alerts", format!("http://{addr}/alerts")),
                ("metrics", format!("http://{addr}/metrics")),
                ("evidence", evidence_dir.display().to_string()),
            ],
        );
        monitor::http::run(monitor, listener, Arc::new(Bar(bar)), shutdown).await?;
        tracing::info!("stopped");
        Ok(())
    })
}
