//! `tuflog`: every tuflog role as a subcommand. Thin: parse, build, run.
#![forbid(unsafe_code)]

mod client_cmd;
mod config;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

// glibc malloc/free was ~15% of the server's CPU under push load (perf on
// tuflog-pushload); mimalloc took pushes/s from ~2,900 to ~3,300 there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    #[command(flatten)]
    client: client_cmd::ClientArgs,
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
    /// Run the server: the log and the repository service on an embedded RocksDB,
    /// HTTP and gRPC on one port (loopback by default). Settings: a TOML file, then
    /// TUFLOG_* environment variables, then flags (docs/CONFIG.md).
    Server(ServerArgs),
    /// Manage the local keystore (keys encrypted under a passphrase).
    #[command(subcommand)]
    Key(client_cmd::KeyCommand),
    /// Publish: create repositories, stage targets, sign and push.
    #[command(subcommand)]
    Repo(client_cmd::RepoCommand),
    /// Update a repository's trusted metadata: TUF verification plus, for every
    /// file, an inclusion proof in the pinned log consistent with what this client
    /// saw before.
    Update {
        /// Repository, e.g. example.com/app.
        repo: String,
        /// Trust this root to start with (first update only) instead of version 1
        /// as logged.
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Update, then download a target and verify its length and hashes.
    Download {
        /// Repository.
        repo: String,
        /// Target path.
        target: String,
        /// Write it here.
        #[arg(short, long)]
        out: PathBuf,
        /// Where targets are served [default: this machine's publishing workspace].
        #[arg(long)]
        targets_url: Option<String>,
    },
    /// Inspect the log by hand.
    #[command(subcommand)]
    Log(client_cmd::LogCommand),
}

#[derive(clap::Args)]
struct ServerArgs {
    /// TOML config file.
    #[arg(long, env = "TUFLOG_CONFIG")]
    config: Option<PathBuf>,
    /// Where the database and the keys live [default: tuflog-data].
    #[arg(long, env = "TUFLOG_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on, HTTP/1.1 and gRPC over h2c [default: 127.0.0.1:8080].
    #[arg(long, env = "TUFLOG_LISTEN")]
    listen: Option<SocketAddr>,
    /// The log's checkpoint origin, also its key's name [default: localhost/tuflog].
    #[arg(long, env = "TUFLOG_ORIGIN")]
    origin: Option<String>,
    /// A batch closes at this many entries [default: 1024].
    #[arg(long, env = "TUFLOG_MAX_BATCH_ENTRIES")]
    max_batch_entries: Option<usize>,
    /// A batch closes this long after its first append, e.g. "1ms" [default: 1ms].
    #[arg(long, env = "TUFLOG_MAX_BATCH_DELAY", value_parser = humantime::parse_duration)]
    max_batch_delay: Option<Duration>,
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
        Command::Key(c) => client_cmd::key(&cli.client, c),
        Command::Repo(c) => client_cmd::repo(&cli.client, c),
        Command::Update { repo, root } => client_cmd::update(&cli.client, &repo, root.as_deref()),
        Command::Download {
            repo,
            target,
            out,
            targets_url,
        } => client_cmd::download(&cli.client, &repo, &target, &out, targets_url),
        Command::Log(c) => client_cmd::log(&cli.client, c),
    }
}

fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => config::FileConfig::read(path)?,
        None => config::FileConfig::default(),
    };
    let (config, listen) = config::build(
        file,
        config::Overrides {
            listen: args.listen,
            data_dir: args.data_dir,
            origin: args.origin,
            max_batch_entries: args.max_batch_entries,
            max_batch_delay: args.max_batch_delay,
        },
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let shutdown = shutdown_signal()?;
        let srv = server::Server::open(&config).with_context(|| {
            format!("opening the server state in {}", config.data_dir.display())
        })?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        eprintln!("tuflog server: log {}", config.origin);
        eprintln!("  verifier key   {}", srv.verifier_key());
        eprintln!("  checkpoint     http://{addr}/log/checkpoint");
        eprintln!("  repositories   http://{addr}/repos/<name>/metadata/");
        eprintln!("  online keys    http://{addr}/repos/<name>/keys");
        eprintln!("  metrics        http://{addr}/metrics");
        eprintln!("  gRPC           http://{addr} (tuflog.log.v1.Log)");
        if config.tokens.is_empty() {
            eprintln!(
                "  write token    {} (covers every repository; configure [[tokens]] to scope them)",
                config.admin_token_path().display()
            );
        }
        srv.run(listener, shutdown).await?;
        Ok(())
    })
}

/// SIGINT or SIGTERM; either starts a graceful shutdown that finishes the batch in
/// flight. The handlers are installed when this is called, not when the future is
/// first polled: a SIGTERM that arrived after the URLs were printed but before
/// `run` polled it used to kill the process outright (exit by signal, nothing
/// flushed), seen as a flaky `server_process` test.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
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
