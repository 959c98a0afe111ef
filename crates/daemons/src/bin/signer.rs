//! `tuflog-signer`: the process that holds the log key and the online keys, what
//! `tuflog signer` runs. Thin: parse flags, open the keys and the state,
//! `run(listener, shutdown)`.
#![forbid(unsafe_code)]
// `init` and `import` print the log's verifier key on stdout, for scripts.
#![allow(clippy::print_stdout)]

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use daemons::args::LogFormat;
use edge::sealed::KdfParams;
use signer::keys::{KeyHolder, Passphrase, SealedKeys};
use signer::pkcs11::{OnlineKeyType, Pin, TokenConfig, TokenKeys};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The signer: holds the log key and every repository's online keys, signs for the
/// server over mutual TLS, and refuses to sign a fork. Usually started as `tuflog
/// signer`.
#[derive(Parser)]
#[command(name = "tuflog-signer", version)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DataDir {
    /// Where the sealed keys and the record of what was signed live.
    #[arg(
        long,
        env = "TUFLOG_SIGNER_DATA_DIR",
        default_value = "tuflog-signer-data"
    )]
    data_dir: PathBuf,
    /// A file holding the passphrase of the sealed keys (else
    /// TUFLOG_SIGNER_PASSPHRASE, else a prompt on the terminal).
    #[arg(long, env = "TUFLOG_SIGNER_PASSPHRASE_FILE")]
    passphrase_file: Option<PathBuf>,
    /// With keys on a PKCS#11 token: a file holding the user PIN (else
    /// TUFLOG_SIGNER_PIN, else a prompt on the terminal).
    #[arg(long, env = "TUFLOG_SIGNER_PIN_FILE")]
    pin_file: Option<PathBuf>,
}

/// Where `init` puts the keys: sealed in a file (the default) or on a token.
#[derive(clap::Args, Clone)]
struct TokenArgs {
    /// Keep the keys on a PKCS#11 token: the vendor's module, e.g.
    /// /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, env = "TUFLOG_SIGNER_PKCS11_MODULE", requires = "token")]
    pkcs11_module: Option<PathBuf>,
    /// The label of the token.
    #[arg(long, env = "TUFLOG_SIGNER_TOKEN", requires = "pkcs11_module")]
    token: Option<String>,
    /// The repositories' online key type on the token [default: Ed25519 where the
    /// token has EdDSA].
    #[arg(long, value_enum, requires = "pkcs11_module")]
    online_key_type: Option<OnlineKeyTypeArg>,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum OnlineKeyTypeArg {
    Ed25519,
    EcdsaP256,
}

#[derive(Subcommand)]
enum Command {
    /// Create the log key (named after the log's origin) and the online-key seed,
    /// sealed under a passphrase; prints the log's verifier key.
    Init {
        #[command(flatten)]
        dir: DataDir,
        /// The log's origin, which names its key.
        #[arg(long, env = "TUFLOG_ORIGIN")]
        origin: String,
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Move an embedded server's keys (its log.key and online.seed) into this
    /// signer, sealed, and start from the log's latest checkpoint. Delete the two
    /// files from the server's data directory afterwards.
    Import {
        #[command(flatten)]
        dir: DataDir,
        /// The server's data directory (stopped while this runs).
        #[arg(long)]
        from: PathBuf,
    },
    /// Write a private CA and the signer's and the server's certificates, for a
    /// first deployment (real deployments bring their own PKI).
    Pki {
        /// Directory to write ca.pem, signer.pem/.key and server.pem/.key into.
        #[arg(long)]
        out: PathBuf,
        /// A DNS name or IP address the server reaches the signer by; repeat.
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Serve signatures over mutual TLS.
    Serve {
        /// TOML file whose keys are these flags' names (`data_dir`, `cert`,
        /// `client_ca`, …): the defaults beneath the environment and the command
        /// line.
        #[arg(long, env = "TUFLOG_SIGNER_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        dir: DataDir,
        /// Address to listen on (gRPC over TLS).
        #[arg(long, env = "TUFLOG_SIGNER_LISTEN", default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Address of the plain-HTTP metrics endpoint (GET /metrics).
        #[arg(
            long,
            env = "TUFLOG_SIGNER_METRICS_LISTEN",
            default_value = "127.0.0.1:8444"
        )]
        metrics_listen: SocketAddr,
        /// The signer's certificate (PEM).
        #[arg(long, env = "TUFLOG_SIGNER_CERT")]
        cert: PathBuf,
        /// Its private key (PEM).
        #[arg(long, env = "TUFLOG_SIGNER_KEY")]
        key: PathBuf,
        /// The CA whose client certificates are accepted (PEM).
        #[arg(long, env = "TUFLOG_SIGNER_CLIENT_CA")]
        client_ca: PathBuf,
        /// Create keys only for repository names starting with this; repeat
        /// [default: any name].
        #[arg(long = "allow", env = "TUFLOG_SIGNER_ALLOW", value_delimiter = ',')]
        allow: Vec<String>,
    },
}

fn passphrase(dir: &DataDir, confirm: bool) -> anyhow::Result<Passphrase> {
    Ok(Passphrase::Given(secret(
        "passphrase",
        dir.passphrase_file.as_deref(),
        "TUFLOG_SIGNER_PASSPHRASE",
        confirm,
    )?))
}

fn pin(dir: &DataDir) -> anyhow::Result<Pin> {
    Ok(Pin::new(secret(
        "token PIN",
        dir.pin_file.as_deref(),
        "TUFLOG_SIGNER_PIN",
        false,
    )?))
}

/// Largest passphrase or PIN file read.
const MAX_SECRET_FILE_BYTES: u64 = 4096;
/// Largest key file read from an embedded server's data directory.
const MAX_IMPORTED_KEY_BYTES: u64 = 4096;

/// A secret from a file, else the environment variable `env`, else a prompt.
fn secret(
    what: &str,
    file: Option<&Path>,
    env: &str,
    confirm: bool,
) -> anyhow::Result<Zeroizing<String>> {
    if let Some(path) = file {
        let bytes = Zeroizing::new(
            edge::durable::read_bounded(path, MAX_SECRET_FILE_BYTES)
                .with_context(|| format!("reading the {what} file {}", path.display()))?,
        );
        let text = std::str::from_utf8(&bytes)
            .with_context(|| format!("the {what} file {} is not UTF-8", path.display()))?;
        return Ok(Zeroizing::new(
            text.trim_end_matches(['\n', '\r']).to_string(),
        ));
    }
    if let Ok(p) = std::env::var(env) {
        return Ok(Zeroizing::new(p));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("signer {what}: "))
            .with_context(|| format!("no {what}: give its file or {env}, or run on a terminal"))?,
    );
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("again: ")?);
        if *first != *again {
            bail!("the {what}s differ");
        }
    }
    Ok(first)
}

fn keys_path(dir: &DataDir) -> PathBuf {
    dir.data_dir.join("keys.sealed")
}

fn token_path(dir: &DataDir) -> PathBuf {
    dir.data_dir.join("token.json")
}

/// The keys, from whichever store `init` chose: a token when the data directory
/// holds a token descriptor, else the sealed file.
fn open_keys(dir: &DataDir) -> anyhow::Result<Arc<dyn KeyHolder>> {
    let (token, sealed) = (token_path(dir), keys_path(dir));
    if token.exists() && sealed.exists() {
        bail!(
            "{} holds both {} and {}; keep the one in use",
            dir.data_dir.display(),
            token.display(),
            sealed.display()
        );
    }
    if token.exists() {
        let pin = pin(dir)?;
        return Ok(Arc::new(TokenKeys::open(&token, &pin)?));
    }
    let pass = passphrase(dir, false)?;
    Ok(Arc::new(SealedKeys::open(&sealed, &pass)?))
}

fn state(dir: &Path) -> anyhow::Result<Arc<store::rocks::RocksKv>> {
    let db = dir.join("state");
    Ok(Arc::new(store::rocks::RocksKv::open(&db).with_context(
        || format!("opening the signer state in {}", db.display()),
    )?))
}

fn main() -> anyhow::Result<()> {
    let cli: Cli = daemons::flag_file::parse(Some("serve"), "TUFLOG_SIGNER_CONFIG")?;
    let _telemetry = cli.log_format.init("tuflog-signer");
    match cli.command {
        Command::Init { dir, origin, token } => {
            std::fs::create_dir_all(&dir.data_dir)?;
            if keys_path(&dir).exists() || token_path(&dir).exists() {
                bail!("{} already holds keys", dir.data_dir.display());
            }
            let keys: Box<dyn KeyHolder> = match (token.pkcs11_module, token.token) {
                (Some(module), Some(label)) => {
                    let online_type = token.online_key_type.map(|t| match t {
                        OnlineKeyTypeArg::Ed25519 => OnlineKeyType::Ed25519,
                        OnlineKeyTypeArg::EcdsaP256 => OnlineKeyType::EcdsaP256,
                    });
                    let config = TokenConfig {
                        module,
                        token: label,
                    };
                    Box::new(TokenKeys::create(
                        &token_path(&dir),
                        config,
                        &pin(&dir)?,
                        &origin,
                        online_type,
                    )?)
                }
                _ => {
                    let pass = passphrase(&dir, true)?;
                    Box::new(SealedKeys::create(
                        &keys_path(&dir),
                        &origin,
                        &pass,
                        KdfParams::default(),
                    )?)
                }
            };
            // A new log: the signer starts from the empty tree.
            signer::guard::Guard::new(state(&dir.data_dir)?, origin.as_str())
                .adopt_checkpoint(0, &tlog::EMPTY_ROOT)?;
            println!("{}", keys.log_verifier());
            Ok(())
        }
        Command::Import { dir, from } => import(dir, &from),
        Command::Pki { out, names, days } => {
            signer::pki::write_first_deployment(&out, &names, days)?;
            eprintln!(
                "wrote {}/ca.pem, signer.pem, signer.key, server.pem, server.key",
                out.display()
            );
            Ok(())
        }
        Command::Serve {
            dir,
            listen,
            metrics_listen,
            cert,
            key,
            client_ca,
            allow,
            config: _,
        } => {
            let keys = open_keys(&dir)?;
            let verifier = keys.log_verifier().to_string();
            let state = state(&dir.data_dir)?;
            let tls = signer::TlsFiles {
                cert,
                key,
                client_ca,
            };
            let signer = signer::Signer::new(state, keys, &tls, allow)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let shutdown = daemons::shutdown_signal()?;
                let (stop_tx, stop) = tokio::sync::watch::channel(false);
                let (listener, addr) = daemons::bind(listen).await?;
                let (metrics_listener, metrics_addr) = daemons::bind(metrics_listen).await?;
                let metrics = signer.metrics().clone();
                let mut metrics_stop = stop.clone();
                let metrics_task = tokio::spawn(async move {
                    let app = axum::Router::new().route(
                        "/metrics",
                        axum::routing::get(move || {
                            let m = metrics.clone();
                            async move { m.render() }
                        }),
                    );
                    let _ = axum::serve(metrics_listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = metrics_stop.wait_for(|s| *s).await;
                        })
                        .await;
                });
                daemons::announce(
                    "tuflog signer",
                    &[
                        ("verifier key", verifier),
                        ("listening", format!("https://{addr} (mutual TLS)")),
                        ("metrics", format!("http://{metrics_addr}/metrics")),
                    ],
                );
                signer
                    .run(listener, async move {
                        shutdown.await;
                        let _ = stop_tx.send(true);
                    })
                    .await?;
                let _ = metrics_task.await;
                Ok(())
            })
        }
    }
}

fn import(dir: DataDir, from: &Path) -> anyhow::Result<()> {
    let read = |name: &str| -> anyhow::Result<Zeroizing<String>> {
        let path = from.join(name);
        let bytes = Zeroizing::new(
            edge::durable::read_bounded(&path, MAX_IMPORTED_KEY_BYTES)
                .with_context(|| format!("reading {}", path.display()))?,
        );
        let text = std::str::from_utf8(&bytes)
            .with_context(|| format!("{} is not UTF-8", path.display()))?;
        Ok(Zeroizing::new(text.to_string()))
    };
    let (log_key, online_seed) = (read("log.key")?, read("online.seed")?);
    let db = from.join("db");
    let store = store::rocks::RocksStore::open(&db).with_context(|| {
        format!(
            "opening the server's database {} (is it stopped?)",
            db.display()
        )
    })?;
    let state = store::LogStore::state(&store)?
        .with_context(|| format!("{} holds no log", db.display()))?;
    drop(store);
    std::fs::create_dir_all(&dir.data_dir)?;
    if token_path(&dir).exists() {
        bail!(
            "{} keeps its keys on a token; an embedded server's keys are imported \
             into a sealed file, in a data directory of their own",
            dir.data_dir.display()
        );
    }
    let pass = passphrase(&dir, true)?;
    let keys = SealedKeys::import(
        &keys_path(&dir),
        &log_key,
        &online_seed,
        &pass,
        KdfParams::default(),
    )?;
    // The log's latest checkpoint, checked under the imported key, is where the
    // signer starts: every later checkpoint must extend it.
    let checkpoint = tlog::checkpoint::open(&state.checkpoint, keys.log_verifier(), &[])
        .context("the server's latest checkpoint does not verify under its log key")?
        .into_checkpoint();
    let guard = signer::guard::Guard::new(state_kv(&dir)?, keys.log_verifier().name().as_str());
    guard.adopt_checkpoint(checkpoint.size(), checkpoint.root())?;
    println!("{}", keys.log_verifier());
    eprintln!(
        "imported the keys of {} at size {}; now delete {} and {}",
        checkpoint.origin(),
        checkpoint.size(),
        from.join("log.key").display(),
        from.join("online.seed").display()
    );
    Ok(())
}

fn state_kv(dir: &DataDir) -> anyhow::Result<Arc<dyn store::KvStore>> {
    Ok(state(&dir.data_dir)?)
}
