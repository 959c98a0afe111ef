//! `tuflog`: every tuflog role as a subcommand. Thin: parse, build, run.
#![forbid(unsafe_code)]

mod client_cmd;
mod common;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

// The system allocator, unlike tuflog-server and tuflog-monitor (long-running; this
// binary execs them for those roles). A client command lives for milliseconds, and
// mimalloc's start (a 1 GiB arena reserved with huge pages advised, a heap per
// thread) and its purge at exit cost more than its faster allocation saves:
// interleaved `tuflog update` runs, 300 each against one server, took a median of
// 10.3-10.6 ms with mimalloc and 8.9-9.1 ms without (bench/RESULTS.md).

#[derive(Parser)]
#[command(
    name = "tuflog",
    version,
    about = "A TUF metadata service on a transparency log"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = common::LogFormat::Text, global = true)]
    log_format: common::LogFormat,
    #[command(flatten)]
    client: client_cmd::ClientArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the log and the repository service on an embedded RocksDB,
    /// HTTP and gRPC on one port (loopback by default). Settings: a TOML file, then
    /// TUFLOG_* environment variables, then flags (docs/CONFIG.md).
    Server(common::ServerArgs),
    /// Run a witness (C2SP tlog-witness): cosign each configured log's checkpoints,
    /// each only if it is consistent with the last one cosigned.
    Witness(common::WitnessArgs),
    /// Run a monitor of one log: verify every checkpoint against its own copy of
    /// the tree, replay every entry against TUF rules, gossip checkpoints with
    /// peers, raise alerts and write split-view evidence.
    Monitor(common::MonitorArgs),
    /// Manage the local keystore (keys encrypted under a passphrase).
    #[command(subcommand)]
    Key(client_cmd::KeyCommand),
    /// Publish: create repositories, stage targets, sign and push.
    #[command(subcommand)]
    Repo(client_cmd::RepoCommand),
    /// Update a repository's trusted metadata: TUF verification plus, for every
    /// file, an inclusion proof in the pinned log consistent with what this client
    /// saw before.
    Update(UpdateArgs),
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
    Log(client_cmd::LogCommand),
    /// Print a shell completion script (e.g. `tuflog completions bash > /etc/bash_completion.d/tuflog`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from these definitions.
    Man,
}

/// What `tuflog update` takes.
#[derive(clap::Args, Debug, PartialEq)]
struct UpdateArgs {
    /// Repository, e.g. example.com/app.
    repo: String,
    /// Trust this root to start with (first update only) instead of version 1
    /// as logged.
    #[arg(long)]
    root: Option<PathBuf>,
}

/// `tuflog update` alone, the command clients run most: parsed without building
/// every other subcommand and copying the global arguments into each (~190 kB of
/// argument tables, ~0.3 ms of an update's start on a fresh process). Whatever
/// it does not take (help, a typo, another command) goes to [`Cli`], which has
/// the last word.
#[derive(Parser)]
#[command(name = "tuflog")]
struct UpdateCli {
    #[arg(long, value_enum, default_value_t = common::LogFormat::Text, global = true)]
    log_format: common::LogFormat,
    #[command(flatten)]
    client: client_cmd::ClientArgs,
    #[command(subcommand)]
    command: UpdateOnly,
}

#[derive(Subcommand)]
enum UpdateOnly {
    Update(UpdateArgs),
}

/// `args` (the program's name first) parsed, when they are an update the short
/// parser takes whole. Help and version requests are left to [`Cli`].
fn parse_update(args: &[std::ffi::OsString]) -> Option<UpdateCli> {
    let mut rest = args.iter().skip(1);
    if rest.next().is_some_and(|a| a == "update")
        && !rest.any(|a| a == "-h" || a == "--help" || a == "-V" || a == "--version")
    {
        UpdateCli::try_parse_from(args).ok()
    } else {
        None
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(cli) = parse_update(&args) {
        common::init_logging(cli.log_format);
        let UpdateOnly::Update(args) = cli.command;
        return client_cmd::update(&cli.client, &args.repo, args.root.as_deref());
    }
    let cli = Cli::parse_from(args);
    match &cli.command {
        Command::Server(args) => {
            return exec_sibling("tuflog-server", args.to_args(cli.log_format))
        }
        Command::Witness(args) => {
            return exec_sibling("tuflog-witness", args.to_args(cli.log_format))
        }
        Command::Monitor(args) => {
            return exec_sibling("tuflog-monitor", args.to_args(cli.log_format))
        }
        _ => {}
    }
    common::init_logging(cli.log_format);
    match cli.command {
        Command::Server(args) => exec_sibling("tuflog-server", args.to_args(cli.log_format)),
        Command::Witness(args) => exec_sibling("tuflog-witness", args.to_args(cli.log_format)),
        Command::Monitor(args) => exec_sibling("tuflog-monitor", args.to_args(cli.log_format)),
        Command::Key(c) => client_cmd::key(&cli.client, c),
        Command::Repo(c) => client_cmd::repo(&cli.client, c),
        Command::Update(args) => client_cmd::update(&cli.client, &args.repo, args.root.as_deref()),
        Command::Download {
            repo,
            target,
            out,
            targets_url,
            root,
        } => client_cmd::download(
            &cli.client,
            &repo,
            &target,
            &out,
            targets_url,
            root.as_deref(),
        ),
        Command::Log(c) => client_cmd::log(&cli.client, c),
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

/// The long-running roles (`tuflog server`, `tuflog witness`) are binaries of their
/// own beside this one, so RocksDB and the servers stay out of the client's
/// start-up. This process is replaced by one (same PID: signals reach it directly).
fn exec_sibling(name: &str, args: Vec<std::ffi::OsString>) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let me = std::env::current_exe().context("locating this executable")?;
    let sibling = me.with_file_name(name);
    let err = std::process::Command::new(&sibling).args(args).exec();
    Err(err).with_context(|| format!("starting {}", sibling.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The short parser takes an update exactly as the full one does, and leaves
    /// everything else to it.
    #[test]
    fn the_update_parser_agrees_with_the_full_one_or_stands_aside() {
        let os = |argv: &[&str]| -> Vec<std::ffi::OsString> {
            argv.iter().map(std::ffi::OsString::from).collect()
        };
        for argv in [
            &["tuflog", "update", "example.com/app"][..],
            &["tuflog", "update", "--root", "root.json", "example.com/app"],
            &[
                "tuflog",
                "update",
                "example.com/app",
                "--root",
                "r.json",
                "--output",
                "json",
                "--home",
                "/h",
                "--server",
                "http://s",
                "--log-key",
                "k",
                "--gossip",
                "a,b",
                "--log-format",
                "json",
            ],
        ] {
            let args = os(argv);
            let short = parse_update(&args).expect("taken by the short parser");
            let full = Cli::try_parse_from(&args).unwrap();
            let Command::Update(full_update) = full.command else {
                panic!("{argv:?} is an update");
            };
            let UpdateOnly::Update(short_update) = short.command;
            assert_eq!(short_update, full_update, "{argv:?}");
            assert_eq!(short.client, full.client, "{argv:?}");
            assert_eq!(short.log_format, full.log_format, "{argv:?}");
        }
        for argv in [
            &["tuflog", "update", "--help"][..],
            &["tuflog", "update", "example.com/app", "-h"],
            &["tuflog", "update", "--version"],
            &["tuflog", "update"],
            &["tuflog", "update", "example.com/app", "--no-such-flag"],
            &["tuflog", "--output", "json", "update", "example.com/app"],
            &["tuflog", "download", "example.com/app", "t", "-o", "out"],
        ] {
            assert!(parse_update(&os(argv)).is_none(), "{argv:?}");
        }
    }

    /// Regression: `tuflog log verify-evidence` once reached the monitor crate, whose
    /// error type holds the store's, and that linked RocksDB (and its static
    /// initialisers, ~4 ms per run) into every client command. The client binary's
    /// modules name none of the crates that carry a storage engine or a server.
    #[test]
    fn the_client_binary_names_no_crate_that_links_rocksdb() {
        for (file, text) in [
            ("main.rs", include_str!("main.rs")),
            ("client_cmd.rs", include_str!("client_cmd.rs")),
            ("common.rs", include_str!("common.rs")),
        ] {
            for krate in ["store", "server", "witness", "monitor"] {
                let path = format!("{krate}::");
                let named = text.lines().any(|line| {
                    let code = line.split("//").next().unwrap_or("");
                    code.match_indices(&path).any(|(i, _)| {
                        // `client::…` or `tlog::…` end in these names too; a crate
                        // path starts a word.
                        !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                            && !code[..i].ends_with("::")
                    })
                });
                assert!(!named, "{file} names the {krate} crate");
            }
        }
    }
}
