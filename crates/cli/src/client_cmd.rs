//! The client and publisher subcommands: parse, call `crates/client`, print.

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use client::keystore::Keystore;
use client::publish::Workspace;
use client::{Client, ClientConfig, WitnessPolicy};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tlog::note::VerifierKey;
use tuf::keys::KeyKind;

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
    output: Output,
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Human,
    Json,
}

/// `HOME/client.toml`: what flags and environment may also give.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
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
}

/// Most bytes read from a passphrase or token file.
const MAX_SECRET_FILE_BYTES: u64 = 4096;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a key in the keystore; prints its key ID.
    Generate {
        /// Key type.
        #[arg(long = "type", value_enum, default_value_t = KeyType::Ed25519)]
        key_type: KeyType,
        #[command(flatten)]
        secret: PassphraseArgs,
    },
    /// List the keystore's keys (no passphrase needed).
    List,
    /// Import a PKCS#8 PEM private key.
    Import {
        /// The PEM file.
        file: PathBuf,
        #[command(flatten)]
        secret: PassphraseArgs,
    },
    /// Export a key as PKCS#8 PEM (unencrypted: handle the output with care).
    Export {
        /// Key ID or a unique prefix of at least 8 characters.
        keyid: String,
        /// Write here (mode 0600) instead of stdout.
        #[arg(short, long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        secret: PassphraseArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum KeyType {
    Ed25519,
    EcdsaP256,
    EcdsaP384,
    Rsa,
}

/// Where the keystore passphrase comes from: never a flag (it would sit in shell
/// history and `ps`).
#[derive(Args, Clone)]
pub struct PassphraseArgs {
    /// Read the passphrase from this file (first line) [or TUFLOG_PASSPHRASE, or a prompt].
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum RepoCommand {
    /// Create a repository: fetch the server's online keys, write and sign root and
    /// targets, push them.
    Init {
        /// Repository name, e.g. example.com/app.
        repo: String,
        /// Key ID(s) for the root role.
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<String>,
        /// Key ID(s) for the targets role.
        #[arg(long = "targets-key", required = true)]
        targets_keys: Vec<String>,
        /// Root signatures required.
        #[arg(long, default_value_t = 1)]
        root_threshold: u64,
        /// Targets signatures required.
        #[arg(long, default_value_t = 1)]
        targets_threshold: u64,
        #[command(flatten)]
        secret: PassphraseArgs,
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Stage target files (copied into the workspace's targets directory).
    Add {
        /// Repository.
        repo: String,
        /// Files to add.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Target path (only with one file) [default: the file name].
        #[arg(long)]
        path: Option<String>,
        /// Custom metadata for the target(s), as JSON.
        #[arg(long)]
        custom: Option<String>,
    },
    /// Stage the removal of a target.
    Remove {
        /// Repository.
        repo: String,
        /// Target path.
        path: String,
    },
    /// Sign and push every staged change as one atomic push.
    Publish {
        /// Repository.
        repo: String,
        #[command(flatten)]
        secret: PassphraseArgs,
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Stage a delegation of target paths to a role.
    Delegate {
        /// Repository.
        repo: String,
        /// The delegated role's name.
        role: String,
        /// Key ID(s) of the role, from this keystore.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// Path patterns the role is trusted for (e.g. 'docs/*').
        #[arg(long = "paths", required = true, num_args = 1..)]
        paths: Vec<String>,
        /// Signatures the role needs.
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        /// A target search stops at this role.
        #[arg(long)]
        terminating: bool,
    },
    /// Stage the removal of a delegation.
    Undelegate {
        /// Repository.
        repo: String,
        /// The delegated role's name.
        role: String,
    },
    /// Replace the keys of the root or targets role and push the new root (signed
    /// by the old root keys, and the new ones for root) at once.
    Rotate {
        /// Repository.
        repo: String,
        /// `root` or `targets`.
        role: String,
        /// The new key ID(s), from this keystore.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// Signatures the role needs after the rotation.
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        #[command(flatten)]
        secret: PassphraseArgs,
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Published versions and staged changes.
    Status {
        /// Repository.
        repo: String,
    },
    /// Repositories with a publishing workspace here, or one repository's targets.
    List {
        /// Repository whose targets (published and staged) to list.
        repo: Option<String>,
    },
}

/// The bearer token for pushes.
#[derive(Args, Clone)]
pub struct TokenArgs {
    /// Read the push token from this file [or TUFLOG_TOKEN, or
    /// ./tuflog-data/admin.token, which `tuflog server` writes on its defaults].
    #[arg(long)]
    token_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum LogCommand {
    /// Fetch the log's checkpoint, verify it against the pinned key and the last
    /// trusted checkpoint (consistency proof), and trust it.
    Checkpoint,
    /// Prove that a metadata version is in the log: fetch it and its proof bundle,
    /// check both. `--output json` prints the bundle for `log verify` later.
    Prove {
        /// Repository.
        repo: String,
        /// Role, e.g. targets.
        role: String,
        /// Version.
        version: u64,
    },
    /// Check a monitor's split-view evidence file offline: both checkpoints signed
    /// by the log key, and not both true. Exits 0 only if the file proves a fork.
    VerifyEvidence {
        /// The evidence file (JSON, as a monitor writes it).
        file: PathBuf,
    },
    /// Check offline that a metadata file is in the log, from a saved proof bundle
    /// (the `bundle` of `log prove --output json`, or the server's bundle JSON),
    /// against the pinned log key and the witness policy only.
    Verify {
        /// The proof bundle JSON.
        #[arg(long)]
        bundle: PathBuf,
        /// The metadata file's exact bytes.
        #[arg(long)]
        metadata: PathBuf,
        /// Repository.
        #[arg(long)]
        repo: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// Version.
        #[arg(long)]
        version: u64,
    },
}

fn home(args: &ClientArgs) -> anyhow::Result<PathBuf> {
    if let Some(h) = &args.home {
        return Ok(h.clone());
    }
    let user = std::env::var_os("HOME").context("no --home and no HOME to put ~/.tuflog in")?;
    Ok(PathBuf::from(user).join(".tuflog"))
}

fn client_file(home: &Path) -> anyhow::Result<ClientFile> {
    let path = home.join("client.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClientFile::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn server(args: &ClientArgs, file: &ClientFile) -> String {
    args.server
        .clone()
        .or_else(|| file.server.clone())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
}

/// The log key pinned by a flag, the environment or client.toml, if any.
fn pinned_log_key(args: &ClientArgs, file: &ClientFile) -> anyhow::Result<Option<VerifierKey>> {
    let Some(text) = args.log_key.clone().or_else(|| file.log_key.clone()) else {
        return Ok(None);
    };
    VerifierKey::parse(text.trim())
        .map(Some)
        .with_context(|| format!("--log-key {text:?}"))
}

fn log_key(args: &ClientArgs, file: &ClientFile) -> anyhow::Result<VerifierKey> {
    pinned_log_key(args, file)?.context(
        "no log key pinned: pass --log-key (or TUFLOG_LOG_KEY, or log_key in client.toml) \
         with the verifier key `tuflog server` printed",
    )
}

/// The client that `args` and HOME/client.toml describe.
fn client(args: &ClientArgs) -> anyhow::Result<Client> {
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
        limits: tuf::client::Limits::default(),
    })
    .with_monitors(gossip_urls(args, &file));
    Ok(client)
}

/// The monitors to gossip with: `--gossip`, else `gossip` in client.toml.
fn gossip_urls(args: &ClientArgs, file: &ClientFile) -> Vec<String> {
    if args.gossip.is_empty() {
        file.gossip.clone()
    } else {
        args.gossip.clone()
    }
}

/// Reads at most `limit` bytes of `path`.
fn read_limited(path: &Path, limit: u64) -> anyhow::Result<zeroize::Zeroizing<String>> {
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
fn read_secret_file(path: &Path) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let text = read_limited(path, MAX_SECRET_FILE_BYTES)?;
    Ok(zeroize::Zeroizing::new(
        text.lines().next().unwrap_or("").to_string(),
    ))
}

fn passphrase(args: &PassphraseArgs, confirm: bool) -> anyhow::Result<zeroize::Zeroizing<String>> {
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

fn token(args: &TokenArgs) -> anyhow::Result<zeroize::Zeroizing<String>> {
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

fn keystore(args: &ClientArgs) -> anyhow::Result<Keystore> {
    Ok(Keystore::open(home(args)?.join("keys")))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    #[allow(clippy::print_stdout)]
    {
        println!("{}", serde_json::to_string_pretty(value)?);
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
fn say(line: impl std::fmt::Display) {
    println!("{line}");
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn key(args: &ClientArgs, command: KeyCommand) -> anyhow::Result<()> {
    let ks = keystore(args)?;
    match command {
        KeyCommand::Generate { key_type, secret } => {
            let kind = match key_type {
                KeyType::Ed25519 => KeyKind::Ed25519,
                KeyType::EcdsaP256 => KeyKind::EcdsaP256,
                KeyType::EcdsaP384 => KeyKind::EcdsaP384,
                KeyType::Rsa => KeyKind::RsaPss,
            };
            let pass = passphrase(&secret, true)?;
            let key = ks.generate(kind, &pass)?;
            match args.output {
                Output::Json => print_json(&key)?,
                Output::Human => say(&key.keyid),
            }
        }
        KeyCommand::List => {
            let keys = ks.list()?;
            match args.output {
                Output::Json => print_json(&keys)?,
                Output::Human => {
                    for k in keys {
                        say(format!(
                            "{}  {} {}",
                            k.keyid, k.public.keytype, k.public.scheme
                        ));
                    }
                }
            }
        }
        KeyCommand::Import { file, secret } => {
            let pem = read_limited(&file, client::keystore::MAX_KEY_FILE_BYTES)?;
            let pass = passphrase(&secret, true)?;
            let key = ks.import_pem(&pem, &pass)?;
            match args.output {
                Output::Json => print_json(&key)?,
                Output::Human => say(&key.keyid),
            }
        }
        KeyCommand::Export { keyid, out, secret } => {
            let pass = passphrase(&secret, false)?;
            let pem = ks.export_pem(&keyid, &pass)?;
            match out {
                Some(path) => edge::durable::write_atomic_private(&path, pem.as_bytes())?,
                None => {
                    #[allow(clippy::print_stdout)]
                    {
                        print!("{}", &*pem);
                    }
                }
            }
        }
    }
    Ok(())
}

pub fn repo(args: &ClientArgs, command: RepoCommand) -> anyhow::Result<()> {
    let home = home(args)?;
    let file = client_file(&home)?;
    let server = server(args, &file);
    let ks = keystore(args)?;
    let rt = runtime()?;
    match command {
        RepoCommand::Init {
            repo,
            root_keys,
            targets_keys,
            root_threshold,
            targets_threshold,
            secret,
            token: token_args,
        } => {
            let vkey = log_key(args, &file)?;
            let ws = Workspace::open(&home, &server, &repo)?;
            let pass = passphrase(&secret, false)?;
            let mut loaded = Vec::new();
            for (role, ids) in [("root", &root_keys), ("targets", &targets_keys)] {
                for id in ids {
                    loaded.push((role, ks.load(id, &pass)?));
                }
            }
            let keys: Vec<(&str, &tuf::keys::PrivateKey)> =
                loaded.iter().map(|(r, k)| (*r, k)).collect();
            let token = token(&token_args)?;
            let receipt =
                rt.block_on(ws.init(&keys, root_threshold, targets_threshold, &token, &vkey))?;
            match args.output {
                Output::Json => print_json(&receipt)?,
                Output::Human => {
                    say(format!("created {repo}: root v1 and targets v1 logged"));
                    for e in &receipt.entries {
                        say(format!(
                            "  {} v{} at log index {}",
                            e.role, e.version, e.index
                        ));
                    }
                    say(format!(
                        "  targets directory {}",
                        ws.targets_dir().display()
                    ));
                }
            }
        }
        RepoCommand::Add {
            repo,
            files,
            path,
            custom,
        } => {
            if path.is_some() && files.len() > 1 {
                bail!("--path names one target; give one file with it");
            }
            let custom = custom
                .map(|c| serde_json::from_str::<serde_json::Value>(&c))
                .transpose()
                .context("--custom is not JSON")?;
            let ws = Workspace::open(&home, &server, &repo)?;
            for f in &files {
                let target = match &path {
                    Some(p) => p.clone(),
                    None => f
                        .file_name()
                        .and_then(|n| n.to_str())
                        .with_context(|| format!("{}: no usable file name", f.display()))?
                        .to_string(),
                };
                let described = ws.add(f, &target, custom.clone())?;
                match args.output {
                    Output::Json => {
                        print_json(&serde_json::json!({"path": target, "target": described}))?
                    }
                    Output::Human => say(format!("staged {target} ({} bytes)", described.length)),
                }
            }
        }
        RepoCommand::Remove { repo, path } => {
            Workspace::open(&home, &server, &repo)?.remove(&path)?;
            if args.output == Output::Human {
                say(format!("staged removal of {path}"));
            }
        }
        RepoCommand::Publish {
            repo,
            secret,
            token: token_args,
        } => {
            let vkey = log_key(args, &file)?;
            let ws = Workspace::open(&home, &server, &repo)?;
            let ids = ws.signing_keyids("targets", &ks)?;
            if ids.is_empty() {
                bail!("this keystore holds none of {repo}'s targets keys");
            }
            let pass = passphrase(&secret, false)?;
            let keys = ids
                .iter()
                .map(|id| ks.load(id, &pass))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&tuf::keys::PrivateKey> = keys.iter().collect();
            let token = token(&token_args)?;
            let receipt = rt.block_on(ws.publish(&refs, &token, &vkey))?;
            match args.output {
                Output::Json => print_json(&receipt)?,
                Output::Human => {
                    say(format!("published {repo}, log size {}", receipt.size));
                    for e in &receipt.entries {
                        say(format!(
                            "  {} v{} at log index {}",
                            e.role, e.version, e.index
                        ));
                    }
                }
            }
        }
        RepoCommand::Delegate {
            repo,
            role,
            keys,
            paths,
            threshold,
            terminating,
        } => {
            let public = keys
                .iter()
                .map(|id| ks.public(id).map(|k| k.public))
                .collect::<Result<Vec<_>, _>>()?;
            Workspace::open(&home, &server, &repo)?.delegate(
                &role,
                public,
                threshold,
                paths,
                terminating,
            )?;
            if args.output == Output::Human {
                say(format!("staged delegation to {role}"));
            }
        }
        RepoCommand::Undelegate { repo, role } => {
            Workspace::open(&home, &server, &repo)?.undelegate(&role)?;
            if args.output == Output::Human {
                say(format!("staged removal of the delegation to {role}"));
            }
        }
        RepoCommand::Rotate {
            repo,
            role,
            keys,
            threshold,
            secret,
            token: token_args,
        } => {
            let vkey = log_key(args, &file)?;
            let ws = Workspace::open(&home, &server, &repo)?;
            let old_ids = ws.signing_keyids("root", &ks)?;
            if old_ids.is_empty() {
                bail!("this keystore holds none of {repo}'s current root keys");
            }
            let pass = passphrase(&secret, false)?;
            let old = old_ids
                .iter()
                .map(|id| ks.load(id, &pass))
                .collect::<Result<Vec<_>, _>>()?;
            let new = keys
                .iter()
                .map(|id| ks.load(id, &pass))
                .collect::<Result<Vec<_>, _>>()?;
            let token = token(&token_args)?;
            let receipt = rt.block_on(ws.rotate(
                &role,
                &new.iter().collect::<Vec<_>>(),
                threshold,
                &old.iter().collect::<Vec<_>>(),
                &token,
                &vkey,
            ))?;
            match args.output {
                Output::Json => print_json(&receipt)?,
                Output::Human => {
                    say(format!("rotated the {role} keys of {repo}"));
                    for e in &receipt.entries {
                        say(format!(
                            "  {} v{} at log index {}",
                            e.role, e.version, e.index
                        ));
                    }
                }
            }
        }
        RepoCommand::Status { repo } => {
            let status = Workspace::open(&home, &server, &repo)?.status()?;
            match args.output {
                Output::Json => print_json(&status)?,
                Output::Human => {
                    say(format!(
                        "{}: root v{}, targets v{} ({} targets)",
                        status.repo, status.root_version, status.targets_version, status.targets
                    ));
                    if status.staged.is_empty() {
                        say("nothing staged");
                    }
                    for c in &status.staged {
                        match c {
                            client::publish::Change::AddTarget { path, file } => {
                                say(format!("  add {path} ({} bytes)", file.length));
                            }
                            client::publish::Change::RemoveTarget { path } => {
                                say(format!("  remove {path}"));
                            }
                            client::publish::Change::Delegate {
                                role,
                                paths,
                                threshold,
                                keys,
                                ..
                            } => say(format!(
                                "  delegate {} to {role} ({threshold} of {} keys)",
                                paths.join(" "),
                                keys.len()
                            )),
                            client::publish::Change::Undelegate { role } => {
                                say(format!("  undelegate {role}"));
                            }
                        }
                    }
                }
            }
        }
        RepoCommand::List { repo: None } => {
            let repos = Workspace::list(&home)?;
            match args.output {
                Output::Json => print_json(&repos)?,
                Output::Human => repos.iter().for_each(say),
            }
        }
        RepoCommand::List { repo: Some(repo) } => {
            let targets = Workspace::open(&home, &server, &repo)?.targets()?;
            match args.output {
                Output::Json => print_json(&targets)?,
                Output::Human => {
                    for (path, t) in &targets {
                        let sha = t.hashes.get("sha256").map_or("", String::as_str);
                        say(format!("{path}  {} bytes  sha256:{sha}", t.length));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The root to start from: the file `--root` names, else none, and then, when
/// nothing is trusted for `repo` yet, an announcement on stderr that version 1 as
/// logged will be trusted on first use.
fn bootstrap_root(
    client: &Client,
    repo: &str,
    root: Option<&Path>,
) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(p) = root {
        return Ok(Some(
            std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        ));
    }
    if !client.metadata_dir(repo)?.join("root.json").exists() {
        eprintln!(
            "tuflog: nothing is trusted for {repo} yet: trusting its root version 1 as the log holds it (trust on first use); give --root to start from a root obtained another way"
        );
    }
    Ok(None)
}

pub fn update(args: &ClientArgs, repo: &str, root: Option<&Path>) -> anyhow::Result<()> {
    let client = client(args)?;
    let root = bootstrap_root(&client, repo, root)?;
    let runtime = runtime()?;
    let report = runtime.block_on(client.update(repo, root))?;
    match args.output {
        Output::Json => print_json(&report)?,
        Output::Human => {
            let versions: Vec<String> = report
                .versions
                .iter()
                .map(|(r, v)| format!("{r} v{v}"))
                .collect();
            say(format!("{repo}: {}", versions.join(", ")));
            if let Some(c) = &report.checkpoint {
                say(format!(
                    "every file proven in {} at size {}",
                    c.origin, c.size
                ));
            }
            for m in &report.monitors {
                say(format!("monitor {}: {}", m.monitor, m.verdict));
            }
        }
    }
    Ok(())
}

/// A progress bar on stderr; indicatif hides it when stderr is not a terminal.
struct Bar(indicatif::ProgressBar);

impl client::Progress for Bar {
    fn start(&self, what: &str, total: Option<u64>) {
        if let Some(t) = total {
            self.0.set_length(t);
        }
        self.0
            .set_message(what.rsplit('/').next().unwrap_or(what).to_string());
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn progress_bar() -> std::sync::Arc<Bar> {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
    ) {
        bar.set_style(style);
    }
    std::sync::Arc::new(Bar(bar))
}

pub fn download(
    args: &ClientArgs,
    repo: &str,
    target: &str,
    out: &Path,
    targets_url: Option<String>,
    root: Option<&Path>,
) -> anyhow::Result<()> {
    let client = client(args)?;
    let root = bootstrap_root(&client, repo, root)?;
    let targets_url = match targets_url {
        Some(u) => u,
        None => {
            let home = home(args)?;
            let dir = Workspace::open(&home, &client.config().server, repo)?.targets_dir();
            if !dir.exists() {
                bail!("no --targets-url, and no local publishing workspace for {repo}");
            }
            format!("file://{}", dir.canonicalize()?.display())
        }
    };
    let client = client.with_progress(progress_bar());
    let runtime = runtime()?;
    let report = runtime.block_on(client.download(repo, target, &targets_url, out, root))?;
    match args.output {
        Output::Json => print_json(&report)?,
        Output::Human => say(format!(
            "{} ({} bytes, sha256 {}) verified and written to {}",
            report.target,
            report.length,
            report.sha256.as_deref().unwrap_or("-"),
            report.written_to.display()
        )),
    }
    Ok(())
}

pub fn log(args: &ClientArgs, command: LogCommand) -> anyhow::Result<()> {
    if let LogCommand::VerifyEvidence { file } = &command {
        return verify_evidence(args, file);
    }
    let client = client(args)?;
    match command {
        LogCommand::VerifyEvidence { file } => verify_evidence(args, &file)?,
        LogCommand::Checkpoint => {
            let c = runtime()?.block_on(client.checkpoint())?;
            match args.output {
                Output::Json => print_json(&c)?,
                Output::Human => say(format!("{}\n{}\n{}", c.origin, c.size, c.root)),
            }
        }
        LogCommand::Prove {
            repo,
            role,
            version,
        } => {
            let r = runtime()?.block_on(client.prove(&repo, &role, version))?;
            match args.output {
                Output::Json => print_json(&r)?,
                Output::Human => say(format!(
                    "{repo} {role} v{version} (sha256 {}) is entry {} of {} at size {}",
                    r.sha256, r.index, r.checkpoint.origin, r.checkpoint.size
                )),
            }
        }
        LogCommand::Verify {
            bundle,
            metadata,
            repo,
            role,
            version,
        } => {
            let text = read_limited(&bundle, client::update::MAX_BUNDLE_BYTES)?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", bundle.display()))?;
            // Either a bare bundle or `log prove --output json` around one.
            let inner = value.get("bundle").cloned().unwrap_or(value);
            let parsed: wire::ProofBundle = serde_json::from_value(inner)
                .with_context(|| format!("{} is not a proof bundle", bundle.display()))?;
            let bytes = std::fs::read(&metadata)
                .with_context(|| format!("reading {}", metadata.display()))?;
            let trust = client::LogTrust::new(
                client.config().log_key.clone(),
                client.config().witnesses.clone(),
            );
            let file = metadata.display().to_string();
            let opened = trust.check_bundle(&parsed, &repo, &role, version, &bytes, &file)?;
            let checkpoint = opened.checkpoint();
            match args.output {
                Output::Json => print_json(&serde_json::json!({
                    "verified": true,
                    "index": parsed.index,
                    "origin": checkpoint.origin(),
                    "size": checkpoint.size(),
                    "root": checkpoint.root().to_base64(),
                }))?,
                Output::Human => say(format!(
                    "verified: {file} is entry {} of {} at size {}",
                    parsed.index,
                    checkpoint.origin(),
                    checkpoint.size()
                )),
            }
        }
    }
    Ok(())
}

/// `tuflog log verify-evidence`: needs no server, and the pinned log key only if
/// one is configured (the file names its key; a pinned one must match it).
fn verify_evidence(args: &ClientArgs, file: &Path) -> anyhow::Result<()> {
    // No home or no client.toml is no pinned key, not an error: the file names its key.
    let settings = home(args)
        .ok()
        .and_then(|h| client_file(&h).ok())
        .unwrap_or_default();
    let pinned = pinned_log_key(args, &settings)?;
    // One byte over the limit, so that Evidence::parse refuses an oversized file.
    let text = read_limited(file, wire::evidence::MAX_EVIDENCE_BYTES as u64 + 1)?;
    let evidence = wire::evidence::Evidence::parse(text.as_bytes())?;
    let verdict = evidence
        .verify(pinned.as_ref())
        .with_context(|| format!("{} proves no split view", file.display()))?;
    match args.output {
        Output::Json => print_json(&serde_json::json!({
            "proven": true,
            "origin": verdict.origin,
            "log_key": evidence.log_key,
            "smaller_size": verdict.smaller_size,
            "larger_size": verdict.larger_size,
            "reason": verdict.reason,
        }))?,
        Output::Human => {
            say(format!(
                "split view proven: {} signed two checkpoints (sizes {} and {}) that cannot both be true",
                verdict.origin, verdict.smaller_size, verdict.larger_size
            ));
            say(format!("  {}", verdict.reason));
            if pinned.is_none() {
                say(format!(
                    "  signed by {} (no log key pinned here to compare it with)",
                    evidence.log_key
                ));
            }
        }
    }
    Ok(())
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
