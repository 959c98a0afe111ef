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
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    args: ServerArgs,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Move the log in the data directory's RocksDB into the PostgreSQL database
    /// named by database_url, checkpoints intact, and check the copy. The database
    /// must hold no log, and no server may run on either meanwhile; the data
    /// directory keeps the keys and tokens.
    Migrate {
        #[command(flatten)]
        args: ServerArgs,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = cli.log_format.init("tuflog-server");
    match cli.command {
        Some(Command::Migrate { args }) => migrate(args),
        None => serve(cli.args),
    }
}

fn migrate(args: ServerArgs) -> anyhow::Result<()> {
    let (config, _) = settings(&args)?;
    let database = config.database.as_ref().context(
        "migrate moves the log into PostgreSQL: give the database with database_url, \
         --database-url or TUFLOG_DATABASE_URL",
    )?;
    let db = config.db_path();
    if !db.join("CURRENT").exists() {
        anyhow::bail!("no RocksDB log in {}", db.display());
    }
    let from = store::rocks::RocksStore::open(&db).with_context(|| {
        format!(
            "opening {} (is a server still running on it?)",
            db.display()
        )
    })?;
    let to = store::postgres::PgStore::open(&database.url).context("opening the database")?;
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} entries ({eta} left)")
    {
        bar.set_style(style);
    }
    let moved = server::migrate::move_log(&from, &to, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .context("moving the log")?;
    bar.finish_and_clear();
    eprintln!(
        "moved {} entries, {} metadata files and {} role versions into the database, and \
         checked the copy: the same state and checkpoint, its nodes hash to that \
         checkpoint, and all {} roles have the same current version",
        moved.entries, moved.files, moved.versions, moved.roles
    );
    eprintln!(
        "start the server with database_url set; {} is no longer read and can be removed",
        db.display()
    );
    Ok(())
}

/// The configuration from the file, the environment and the flags.
fn settings(args: &ServerArgs) -> anyhow::Result<(server::Config, std::net::SocketAddr)> {
    let file = match &args.config {
        Some(path) => daemons::config::FileConfig::read(path)?,
        None => daemons::config::FileConfig::default(),
    };
    daemons::config::build(
        file,
        daemons::config::Overrides {
            listen: args.listen,
            data_dir: args.data_dir.clone(),
            origin: args.origin.clone(),
            database_url: args.database_url.clone(),
            advertise_url: args.advertise_url.clone(),
            tls_cert: args.tls_cert.clone(),
            tls_key: args.tls_key.clone(),
            max_batch_entries: args.max_batch_entries,
            max_batch_delay: args.max_batch_delay,
            signer: daemons::config::SignerOverrides {
                url: args.signer_url.clone(),
                ca_cert: args.signer_ca_cert.clone(),
                client_cert: args.signer_client_cert.clone(),
                client_key: args.signer_client_key.clone(),
            },
        },
    )
}

fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let (config, listen) = settings(&args)?;
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
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        daemons::announce(
            &format!("tuflog server: log {}", config.origin),
            &[
                ("verifier key", srv.verifier_key().to_string()),
                ("checkpoint", format!("{scheme}://{addr}/log/checkpoint")),
                (
                    "repositories",
                    format!("{scheme}://{addr}/repos/<name>/metadata/"),
                ),
                (
                    "online keys",
                    format!("{scheme}://{addr}/repos/<name>/keys"),
                ),
                ("metrics", format!("{scheme}://{addr}/metrics")),
                ("gRPC", format!("{scheme}://{addr} (tuflog.log.v1.Log)")),
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
