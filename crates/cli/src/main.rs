//! `tuflog`: every tuflog role as a subcommand. Thin: parse, build, run.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "tuflog",
    version,
    about = "A TUF metadata service on a transparency log"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server on an embedded RocksDB (log only until the repository service
    /// lands): HTTP and gRPC on one loopback port by default.
    Server(ServerArgs),
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Where the database and the log key live.
    #[arg(long, default_value = "tuflog-data")]
    data_dir: PathBuf,
    /// Address to listen on (HTTP/1.1 and gRPC over h2c).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The log's checkpoint origin, also its key's name.
    #[arg(long, default_value = server::DEFAULT_ORIGIN)]
    origin: String,
    /// A batch closes at this many entries.
    #[arg(long, default_value_t = server::sequencer::Config::default().max_batch_entries)]
    max_batch_entries: usize,
    /// A batch closes this many milliseconds after its first append.
    #[arg(long, default_value_t = 1)]
    max_batch_delay_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match cli.command {
        Command::Server(args) => serve(args),
    }
}

fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let config = server::Config {
        data_dir: args.data_dir,
        origin: args.origin,
        sequencer: server::sequencer::Config {
            max_batch_entries: args.max_batch_entries,
            max_batch_delay: Duration::from_millis(args.max_batch_delay_ms),
            ..server::sequencer::Config::default()
        },
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let srv = server::LogServer::open(&config)
            .with_context(|| format!("opening the log in {}", config.data_dir.display()))?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        eprintln!("tuflog server: log {}", config.origin);
        eprintln!("  verifier key  {}", srv.verifier_key());
        eprintln!("  checkpoint    http://{addr}/log/checkpoint");
        eprintln!("  metrics       http://{addr}/metrics");
        eprintln!("  gRPC          http://{addr} (tuflog.log.v1.Log)");
        srv.run(listener, shutdown_signal()).await?;
        Ok(())
    })
}

/// SIGINT or SIGTERM; either starts a graceful shutdown that finishes the batch in
/// flight.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
