//! `tuflog-server`: the log and the repository service, what `tuflog server` runs.
//! Thin: parse config, build, `run(listener, shutdown)`.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::Parser;
use daemons::args::{LogFormat, ServerArgs};

// Allocation is a visible share of the server's CPU under push load, and
// mimalloc's is cheaper than glibc's (tuflog-pushload, 64 clients: 2,928 → 3,212
// pushes/s).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Run the server: the log and the repository service on an embedded RocksDB, HTTP
/// and gRPC on one port (loopback by default). Settings: a TOML file, then TUFLOG_*
/// environment variables, then flags (docs/CONFIG.md). Usually started as
/// `tuflog server`.
#[derive(Parser)]
#[command(name = "tuflog-server", version)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(flatten)]
    args: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    cli.log_format.init();
    serve(cli.args)
}

fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => daemons::config::FileConfig::read(path)?,
        None => daemons::config::FileConfig::default(),
    };
    let (config, listen) = daemons::config::build(
        file,
        daemons::config::Overrides {
            listen: args.listen,
            data_dir: args.data_dir,
            origin: args.origin,
            database_url: args.database_url,
            advertise_url: args.advertise_url,
            max_batch_entries: args.max_batch_entries,
            max_batch_delay: args.max_batch_delay,
        },
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        // On a shared database, opening waits while another instance is the
        // sequencer; until it returns, SIGTERM and SIGINT end the process at once,
        // which holds nothing then.
        let srv = server::Server::open(&config).with_context(|| match &config.database {
            Some(_) => "opening the log in the database".to_string(),
            None => format!("opening the server state in {}", config.data_dir.display()),
        })?;
        let shutdown = daemons::shutdown_signal()?;
        let (listener, addr) = daemons::bind(listen).await?;
        daemons::announce(
            &format!("tuflog server: log {}", config.origin),
            &[
                ("verifier key", srv.verifier_key().to_string()),
                ("checkpoint", format!("http://{addr}/log/checkpoint")),
                (
                    "repositories",
                    format!("http://{addr}/repos/<name>/metadata/"),
                ),
                ("online keys", format!("http://{addr}/repos/<name>/keys")),
                ("metrics", format!("http://{addr}/metrics")),
                ("gRPC", format!("http://{addr} (tuflog.log.v1.Log)")),
            ],
        );
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
