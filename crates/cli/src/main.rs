//! `tuflog`: every tuflog role as a subcommand. Thin: parse, build, run.
#![forbid(unsafe_code)]

mod keys;
mod log_inspection;
mod publishing;
mod settings;
mod updating;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

// The system allocator, unlike tuflog-server and tuflog-monitor (long-running; this
// binary execs them for those roles): a client command lives for milliseconds, and
// mimalloc's start-up and purge at exit cost more than its faster allocation saves
// there (the update benchmark, run against both builds with `TUFLOG_BIN`).

#[derive(Parser)]
#[command(
    name = "tuflog",
    version,
    about = "A TUF metadata service on a transparency log"
)]
struct Cli {
    /// Log format on stderr (handed to the daemons too).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(flatten)]
    client: settings::ClientArgs,
    #[command(subcommand)]
    command: Command,
}

/// How logs are written on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Daemon(Daemon),
    #[command(flatten)]
    Client(ClientCommand),
    /// Print a shell completion script (e.g. `tuflog completions bash > /etc/bash_completion.d/tuflog`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from these definitions.
    Man,
}

/// The long-running roles: binaries of their own beside this one, so RocksDB and
/// the servers stay out of every client command's start. Their flags are theirs
/// alone: `tuflog server --help` shows them.
#[derive(Subcommand)]
enum Daemon {
    /// Run the server: the log and the repository service on an embedded RocksDB,
    /// HTTP and gRPC on one port (loopback by default). Settings: a TOML file, then
    /// TUFLOG_* environment variables, then flags (docs/CONFIG.md).
    #[command(disable_help_flag = true)]
    Server(Passed),
    /// Run a witness (C2SP tlog-witness): cosign each configured log's checkpoints,
    /// each only if it is consistent with the last one cosigned.
    #[command(disable_help_flag = true)]
    Witness(Passed),
    /// Run the signer, or prepare one (`init`, `import`, `pki`, `serve`): the
    /// process that holds the log key and the online keys, signs for the server
    /// over mutual TLS, and refuses to sign a fork.
    #[command(disable_help_flag = true)]
    Signer(Passed),
    /// Run a monitor of one log: verify every checkpoint against its own copy of
    /// the tree, replay every entry against TUF rules, gossip checkpoints with
    /// peers, raise alerts and write split-view evidence.
    #[command(disable_help_flag = true)]
    Monitor(Passed),
}

/// A daemon's arguments, handed to its binary untouched.
#[derive(clap::Args)]
struct Passed {
    /// The daemon's flags (see `tuflog server --help`, …).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Manage the local keystore (keys encrypted under a passphrase).
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Publish: create repositories, stage targets, sign and push.
    #[command(subcommand)]
    Repo(publishing::RepoCommand),
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
        /// Trust this root to start with (first update only) instead of version 1
        /// as logged.
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Inspect the log by hand.
    #[command(subcommand)]
    Log(log_inspection::LogCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Daemon(daemon) => {
            let (name, passed) = match daemon {
                Daemon::Server(p) => ("tuflog-server", p),
                Daemon::Witness(p) => ("tuflog-witness", p),
                Daemon::Signer(p) => ("tuflog-signer", p),
                Daemon::Monitor(p) => ("tuflog-monitor", p),
            };
            let format = match cli.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            };
            let mut args: Vec<OsString> = vec!["--log-format".into(), format.into()];
            args.extend(passed.args);
            exec_sibling(name, args)
        }
        Command::Client(command) => {
            edge::logging::init(match cli.log_format {
                LogFormat::Text => edge::logging::LogFormat::Text,
                LogFormat::Json => edge::logging::LogFormat::Json,
            });
            run_client(&cli.client, command)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "tuflog", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(())
        }
    }
}

fn run_client(args: &settings::ClientArgs, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Key(c) => keys::key(args, c),
        ClientCommand::Repo(c) => publishing::repo(args, c),
        ClientCommand::Update { repo, root } => updating::update(args, &repo, root.as_deref()),
        ClientCommand::Download {
            repo,
            target,
            out,
            targets_url,
            root,
        } => updating::download(args, &repo, &target, &out, targets_url, root.as_deref()),
        ClientCommand::Log(c) => log_inspection::log(args, c),
    }
}

/// Replaces this process with the daemon `name` beside this executable (same
/// PID: signals reach it directly).
fn exec_sibling(name: &str, args: Vec<OsString>) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let me = std::env::current_exe().context("locating this executable")?;
    let sibling = me.with_file_name(name);
    if !sibling.exists() {
        anyhow::bail!(
            "{name} is not installed beside {}: the daemons ship as their own binaries \
             (cargo build --release -p tuflog-cli -p tuflog-daemons builds both)",
            me.display()
        );
    }
    let err = std::process::Command::new(&sibling).args(args).exec();
    Err(err).with_context(|| format!("starting {}", sibling.display()))
}
