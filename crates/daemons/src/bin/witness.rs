//! `tuflog-witness`: a C2SP tlog-witness for tuflog logs, what `tuflog witness`
//! runs. Thin: parse flags, open the state, `run(listener, shutdown)`.
#![forbid(unsafe_code)]

use anyhow::Context;
use daemons::args::{LogFormat, WitnessArgs};
use std::sync::Arc;
use tlog::note::SignatureType;

/// Run a witness: cosign each configured log's checkpoints, each only if it is
/// consistent with the last one cosigned (C2SP tlog-witness, `POST
/// /add-checkpoint`). Usually started as `tuflog witness`.
#[derive(clap::Parser)]
#[command(name = "tuflog-witness", version)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(flatten)]
    args: WitnessArgs,
}

fn main() -> anyhow::Result<()> {
    let cli: Cli = daemons::flag_file::parse(None, "TUFLOG_WITNESS_CONFIG")?;
    let _telemetry = cli.log_format.init("tuflog-witness");
    let args = cli.args;
    let logs = args
        .logs
        .iter()
        .map(|v| {
            tlog::VerifierKey::parse(v.trim()).with_context(|| format!("log verifier key {v:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let key = store::keyfile::load_or_generate(
        &args.data_dir.join("witness.key"),
        &args.name,
        SignatureType::CosignatureV1,
    )?;
    let db = args.data_dir.join("db");
    let state = store::rocks::RocksKv::open(&db)
        .with_context(|| format!("opening the witness state in {}", db.display()))?;
    let origins: Vec<String> = logs.iter().map(|k| k.name().to_string()).collect();
    let witness = Arc::new(witness::Witness::new(key, logs, Arc::new(state)));
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let shutdown = daemons::shutdown_signal()?;
        let (listener, addr) = daemons::bind(args.listen).await?;
        daemons::announce(
            &format!("tuflog witness: {}", args.name),
            &[
                ("verifier key", witness.verifier().to_string()),
                ("add-checkpoint", format!("http://{addr}/add-checkpoint")),
                ("metrics", format!("http://{addr}/metrics")),
                ("logs", origins.join(", ")),
            ],
        );
        witness::http::run(witness, listener, shutdown).await?;
        tracing::info!("stopped");
        Ok(())
    })
}
