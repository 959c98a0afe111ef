//! What every client command shares: the settings (flags, environment,
//! `HOME/client.toml`), the secrets it reads (passphrases, tokens), and how it
//! prints.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use client::keystore::Keystore;
use client::{Client, ClientConfig, WitnessPolicy};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tlog::note::VerifierKey;

/// Settings every client command shares.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct ClientArgs {
    /// Where keys, trusted metadata and publishing workspaces live [default: ~/.tuflog].
    #[arg(long, env = "TUFLOG_HOME", global = true)]
    home: Option<PathBuf>,
    /// The tuflog server [default: http://127.0.0.1:8080, or `server` in HOME/client.toml].
    #[arg(long, env = "TUFLOG_SERVER", global = true)]
    server: Option<String>,
    /// The log's verifier key, pinned: every checkpoint must be signed by it
    /// [or `log_key` in HOME/client.toml]. `tuflog server` prints it at start.
    #[arg(long, env = "TUFLOG_LOG_KEY", global = true)]
    log_key: Option<String>,
    /// Human-readable or JSON output on stdout.
    #[arg(long, value_enum, default_value_t = Output::Human, global = true)]
    pub(crate) output: Output,
    /// A monitor to show each checkpoint before this client trusts it
    /// (`POST /gossip/checkpoint`); repeat for more [or `gossip` in
    /// HOME/client.toml]. A monitor that cannot square it with its own view of
    /// the log, or cannot be reached, makes the command fail with nothing trusted.
    #[arg(
        long = "gossip",
        env = "TUFLOG_GOSSIP",
        value_delimiter = ',',
        global = true
    )]
    gossip: Vec<String>,
    /// A PEM file of CA certificates to trust for an `https://` server signed by
    /// a private CA, besides the public roots [or `ca_cert` in HOME/client.toml].
    #[arg(long, env = "TUFLOG_CA_CERT", global = true)]
    ca_cert: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Human,
    Json,
}

/// `HOME/client.toml`: what flags and environment may also give.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientFile {
    server: Option<String>,
    log_key: Option<String>,
    /// Witness verifier keys (C2SP note verifier keys, cosignature/v1).
    #[serde(default)]
    witnesses: Vec<String>,
    /// How many of `witnesses` must cosign every checkpoint.
    witness_threshold: Option<usize>,
    /// Cosignatures older than this (e.g. "1h") do not count toward the threshold.
    witness_max_age: Option<String>,
    /// Monitors told the trusted checkpoint after each update.
    #[serde(default)]
    gossip: Vec<String>,
    /// CA certificates (PEM) trusted for an `https://` server, besides the
    /// public roots.
    ca_cert: Option<PathBuf>,
}

/// Most bytes read from a passphrase or token file.
const MAX_SECRET_FILE_BYTES: u64 = 4096;

/// Where the keystore passphrase comes from: never a flag (it would sit in shell
/// history and `ps`).
#[derive(Args, Clone)]
pub struct PassphraseArgs {
    /// Read the passphrase from this file (first line) [or TUFLOG_PASSPHRASE, or a prompt].
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

/// The bearer token for pushes.
#[derive(Args, Clone)]
pub struct TokenArgs {
    /// Read the push token from this file [or TUFLOG_TOKEN, or
    /// ./tuflog-data/admin.token, which `tuflog server` writes on its defaults].
    #[arg(long)]
    token_file: Option<PathBuf>,
}

pub(crate) fn home(args: &ClientArgs) -> anyhow::Result<PathBuf> {
    if let Some(h) = &args.home {
        return Ok(h.clone());
    }
    let user = std::env::var_os("HOME").context("no --home and no HOME to put ~/.tuflog in")?;
    Ok(PathBuf::from(user).join(".tuflog"))
}

pub(crate) fn client_file(home: &Path) -> anyhow::Result<ClientFile> {
    let path = home.join("client.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClientFile::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

pub(crate) fn server(args: &ClientArgs, file: &ClientFile) -> String {
    args.server
        .clone()
        .or_else(|| file.server.clone())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
}

/// The log key pinned by a flag, the environment or client.toml, if any.
pub(crate) fn pinned_log_key(
    args: &ClientArgs,
    file: &ClientFile,
) -> anyhow::Result<Option<VerifierKey>> {
    let Some(text) = args.log_key.clone().or_else(|| file.log_key.clone()) else {
        return Ok(None);
    };
    VerifierKey::parse(text.trim())
        .map(Some)
        .with_context(|| format!("--log-key {text:?}"))
}

pub(crate) fn log_key(args: &ClientArgs, file: &ClientFile) -> anyhow::Result<VerifierKey> {
    pinned_log_key(args, file)?.context(
        "no log key pinned: pass --log-key (or TUFLOG_LOG_KEY, or log_key in client.toml) \
         with the verifier key `tuflog server` printed",
    )
}

/// The client that `args` and HOME/client.toml describe.
pub(crate) fn client(args: &ClientArgs) -> anyhow::Result<Client> {
    let home = home(args)?;
    let file = client_file(&home)?;
    let witnesses = if file.witnesses.is_empty() {
        None
    } else {
        let keys = file
            .witnesses
            .iter()
            .map(|w| VerifierKey::parse(w).with_context(|| format!("witness key {w:?}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let threshold = file.witness_threshold.unwrap_or(keys.len());
        let max_cosignature_age = file
            .witness_max_age
            .as_deref()
            .map(|age| {
                humantime::parse_duration(age).with_context(|| format!("witness_max_age {age:?}"))
            })
            .transpose()?;
        Some(WitnessPolicy {
            max_cosignature_age,
            ..WitnessPolicy::new(keys, threshold)
        })
    };
    let log_key = log_key(args, &file)?;
    if let Some(policy) = &witnesses {
        policy
            .check(&log_key)
            .map_err(|e| anyhow::anyhow!("client.toml witnesses: {e}"))?;
    }
    let client = Client::new(ClientConfig {
        server: server(args, &file),
        log_key,
        witnesses,
        home,
        limits: tuf::updater::Limits::default(),
    })
    .with_http(http(args, &file)?)
    .with_monitors(gossip_urls(args, &file));
    Ok(client)
}

/// The HTTP client for the server and monitors: trusting `--ca-cert` (else
/// `ca_cert` in client.toml) besides the public roots.
pub(crate) fn http(args: &ClientArgs, file: &ClientFile) -> anyhow::Result<client::Http> {
    match args.ca_cert.as_ref().or(file.ca_cert.as_ref()) {
        Some(ca) => client::Http::trusting(ca).context("ca_cert"),
        None => Ok(client::Http::new()),
    }
}

/// The monitors to gossip with: `--gossip`, else `gossip` in client.toml.
pub(crate) fn gossip_urls(args: &ClientArgs, file: &ClientFile) -> Vec<String> {
    if args.gossip.is_empty() {
        file.gossip.clone()
    } else {
        args.gossip.clone()
    }
}

/// Reads at most `limit` bytes of `path`.
pub(crate) fn read_limited(path: &Path, limit: u64) -> anyhow::Result<zeroize::Zeroizing<String>> {
    use std::io::Read;
    let mut text = zeroize::Zeroizing::new(String::new());
    std::fs::File::open(path)
        .with_context(|| format!("opening {}", path.display()))?
        .take(limit)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(text)
}

/// The first line of a passphrase or token file.
pub(crate) fn read_secret_file(path: &Path) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let text = read_limited(path, MAX_SECRET_FILE_BYTES)?;
    Ok(zeroize::Zeroizing::new(
        text.lines().next().unwrap_or("").to_string(),
    ))
}

pub(crate) fn passphrase(
    args: &PassphraseArgs,
    confirm: bool,
) -> anyhow::Result<zeroize::Zeroizing<String>> {
    if let Some(path) = &args.passphrase_file {
        return read_secret_file(path);
    }
    if let Ok(p) = std::env::var("TUFLOG_PASSPHRASE") {
        return Ok(zeroize::Zeroizing::new(p));
    }
    let first =
        zeroize::Zeroizing::new(rpassword::prompt_password("keystore passphrase: ").context(
            "no passphrase: give --passphrase-file or TUFLOG_PASSPHRASE, or run in a terminal",
        )?);
    if confirm {
        let again = zeroize::Zeroizing::new(rpassword::prompt_password("again: ")?);
        if *again != *first {
            bail!("the passphrases differ");
        }
    }
    Ok(first)
}

pub(crate) fn token(args: &TokenArgs) -> anyhow::Result<zeroize::Zeroizing<String>> {
    if let Some(path) = &args.token_file {
        return read_secret_file(path);
    }
    if let Ok(t) = std::env::var("TUFLOG_TOKEN") {
        return Ok(zeroize::Zeroizing::new(t));
    }
    let local = Path::new("tuflog-data/admin.token");
    if local.exists() {
        return read_secret_file(local);
    }
    bail!("no push token: give --token-file or TUFLOG_TOKEN")
}

pub(crate) fn keystore(args: &ClientArgs) -> anyhow::Result<Keystore> {
    Ok(Keystore::open(home(args)?.join("keys")))
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    #[allow(clippy::print_stdout)]
    {
        println!("{}", serde_json::to_string_pretty(value)?);
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
pub(crate) fn say(line: impl std::fmt::Display) {
    println!("{line}");
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client example in docs/CONFIG.md parses and builds a client with a
    /// witness policy.
    #[test]
    fn the_documented_client_toml_is_valid() {
        let doc = include_str!("../../../docs/CONFIG.md");
        let section = doc
            .split("## Configuring the client")
            .nth(1)
            .expect("docs/CONFIG.md documents client.toml");
        let example = section
            .split("```toml")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("with a toml example");
        let home = tempfile::tempdir().expect("a temporary home");
        std::fs::write(home.path().join("client.toml"), example).expect("written");
        let args = ClientArgs {
            home: Some(home.path().to_path_buf()),
            server: None,
            log_key: None,
            output: Output::Human,
            gossip: Vec::new(),
            ca_cert: None,
        };
        let c = client(&args).expect("the example builds a client");
        assert_eq!(c.config().server, "https://tuf.example.com");
        let policy = c.config().witnesses.as_ref().expect("a witness policy");
        assert_eq!((policy.witnesses.len(), policy.threshold), (1, 1));
        std::fs::write(
            home.path().join("client.toml"),
            format!("{example}\nunknown = 1\n"),
        )
        .expect("written");
        assert!(client(&args).is_err(), "unknown keys are refused");
    }
}
