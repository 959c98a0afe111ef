//! `tuflog server`'s configuration: a TOML file, then `TUFLOG_*` environment
//! variables, then flags, each overriding the one before; every setting has an
//! embedded default. docs/CONFIG.md documents every key.

use anyhow::{bail, Context};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Default listen address: loopback only, so a first run exposes nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// A duration written the human way: `"1d"`, `"6h"`, `"1ms"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map(HumanDuration)
            .map_err(|e| serde::de::Error::custom(format!("duration {s:?}: {e}")))
    }
}

/// The file's shape. Unknown keys are errors, so a typo never silently falls back
/// to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    origin: Option<String>,
    /// PostgreSQL in place of the embedded RocksDB.
    database_url: Option<String>,
    /// Where the other instances forward pushes while this one is the sequencer.
    advertise_url: Option<String>,
    /// HTTPS on `listen`: the certificate chain and its key (PEM).
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default)]
    sequencer: SequencerFile,
    #[serde(default)]
    repos: ReposFile,
    #[serde(default)]
    tokens: Vec<TokenFile>,
    /// Witnesses every checkpoint is submitted to.
    #[serde(default)]
    witnesses: Vec<WitnessFile>,
    /// How many of `witnesses` must cosign before readers see a checkpoint
    /// [default: all of them].
    witness_threshold: Option<usize>,
    /// A separate signer holding the log key and the online keys.
    signer: Option<SignerFile>,
}

/// `[signer]`: how the server reaches `tuflog signer` over mutual TLS.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignerFile {
    /// `https://host:port`.
    url: String,
    /// The CA certificate the signer's certificate chains to (PEM).
    ca_cert: PathBuf,
    /// The server's client certificate (PEM).
    client_cert: PathBuf,
    /// Its private key (PEM).
    client_key: PathBuf,
    /// The name in the signer's certificate, when not the URL's host.
    server_name: Option<String>,
    /// How long one request may take [default: 5s].
    timeout: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WitnessFile {
    /// Base URL (`POST {url}/add-checkpoint`).
    url: String,
    /// Its verifier key, as `tuflog witness` prints it.
    key: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SequencerFile {
    max_batch_entries: Option<usize>,
    max_batch_delay: Option<HumanDuration>,
    max_queued_entries: Option<usize>,
    max_queued_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReposFile {
    timestamp_expiry: Option<HumanDuration>,
    snapshot_expiry: Option<HumanDuration>,
    resign_margin: Option<HumanDuration>,
    resign_interval: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenFile {
    name: String,
    /// Hex SHA-256 of the token (preferred: the file then holds no secret).
    sha256: Option<String>,
    /// The token itself.
    token: Option<String>,
    prefixes: Vec<String>,
}

impl FileConfig {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let len = std::fs::metadata(path)
            .with_context(|| format!("reading config {}", path.display()))?
            .len();
        if len > MAX_CONFIG_BYTES {
            bail!("config {} is over {MAX_CONFIG_BYTES} bytes", path.display());
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config {}", path.display()))
    }
}

/// Overrides from the environment and flags (both through clap), applied last.
#[derive(Debug, Default)]
pub struct Overrides {
    /// `--listen` / `TUFLOG_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir` / `TUFLOG_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--origin` / `TUFLOG_ORIGIN`.
    pub origin: Option<String>,
    /// `--database-url` / `TUFLOG_DATABASE_URL`.
    pub database_url: Option<String>,
    /// `--advertise-url` / `TUFLOG_ADVERTISE_URL`.
    pub advertise_url: Option<String>,
    /// `--tls-cert` / `TUFLOG_TLS_CERT`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key` / `TUFLOG_TLS_KEY`.
    pub tls_key: Option<PathBuf>,
    /// `--max-batch-entries` / `TUFLOG_MAX_BATCH_ENTRIES`.
    pub max_batch_entries: Option<usize>,
    /// `--max-batch-delay` / `TUFLOG_MAX_BATCH_DELAY`.
    pub max_batch_delay: Option<Duration>,
    /// `--signer-url` / `TUFLOG_SIGNER_URL` and the TLS files beside it: where
    /// this instance finds the signer, in place of the file's `[signer]` values.
    pub signer: SignerOverrides,
}

/// `[signer]` values given by the environment or flags.
#[derive(Debug, Default)]
pub struct SignerOverrides {
    /// `--signer-url` / `TUFLOG_SIGNER_URL`.
    pub url: Option<String>,
    /// `--signer-ca-cert` / `TUFLOG_SIGNER_CA_CERT`.
    pub ca_cert: Option<PathBuf>,
    /// `--signer-client-cert` / `TUFLOG_SIGNER_CLIENT_CERT`.
    pub client_cert: Option<PathBuf>,
    /// `--signer-client-key` / `TUFLOG_SIGNER_CLIENT_KEY`.
    pub client_key: Option<PathBuf>,
}

/// The server configuration and listen address from defaults, `file` and
/// `overrides`, checked for settings that cannot work together.
pub fn build(
    file: FileConfig,
    overrides: Overrides,
) -> anyhow::Result<(server::Config, SocketAddr)> {
    let mut c = server::Config::default();
    let mut listen: SocketAddr = DEFAULT_LISTEN.parse()?;
    if let Some(v) = file.listen {
        listen = v;
    }
    if let Some(v) = file.data_dir {
        c.data_dir = v;
    }
    if let Some(v) = file.origin {
        c.origin = v;
    }
    let s = file.sequencer;
    if let Some(v) = s.max_batch_entries {
        c.sequencer.max_batch_entries = v;
    }
    if let Some(v) = s.max_batch_delay {
        c.sequencer.max_batch_delay = v.0;
    }
    if let Some(v) = s.max_queued_entries {
        c.sequencer.max_queued_entries = v;
    }
    if let Some(v) = s.max_queued_bytes {
        c.sequencer.max_queued_bytes = v;
    }
    let r = file.repos;
    if let Some(v) = r.timestamp_expiry {
        c.repos.timestamp_expiry = v.0;
    }
    if let Some(v) = r.snapshot_expiry {
        c.repos.snapshot_expiry = v.0;
    }
    if let Some(v) = r.resign_margin {
        c.repos.resign_margin = v.0;
    }
    if let Some(v) = r.resign_interval {
        c.repos.resign_interval = v.0;
    }
    for t in file.tokens {
        let rule = match (&t.sha256, &t.token) {
            (Some(hex_digest), None) => {
                let mut sha256 = [0u8; 32];
                hex::decode_to_slice(hex_digest, &mut sha256)
                    .with_context(|| format!("token {:?}: sha256 must be 64 hex digits", t.name))?;
                server::repos::auth::TokenRule {
                    name: t.name.clone(),
                    sha256,
                    prefixes: t.prefixes.clone(),
                }
            }
            (None, Some(token)) if !token.is_empty() => {
                server::repos::auth::TokenRule::for_token(&t.name, token, t.prefixes.clone())
            }
            _ => bail!(
                "token {:?}: give exactly one of sha256 (preferred) or token",
                t.name
            ),
        };
        if rule.prefixes.is_empty() {
            bail!(
                "token {:?}: prefixes is empty, so it could write nothing; use [\"\"] for every repository",
                t.name
            );
        }
        c.tokens.push(rule);
    }
    if !file.witnesses.is_empty() {
        let witnesses = file
            .witnesses
            .iter()
            .map(|w| {
                Ok(server::cosign::Witness {
                    url: w.url.clone(),
                    key: tlog::VerifierKey::parse(w.key.trim())
                        .with_context(|| format!("witness {} key {:?}", w.url, w.key))?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let policy = server::cosign::Policy {
            threshold: file.witness_threshold.unwrap_or(witnesses.len()),
            witnesses,
        };
        c.witnesses = Some(policy);
    } else if file.witness_threshold.is_some() {
        bail!("witness_threshold without [[witnesses]]");
    }
    let signer = match (file.signer, overrides.signer) {
        (
            None,
            SignerOverrides {
                url: None,
                ca_cert: None,
                client_cert: None,
                client_key: None,
            },
        ) => None,
        (Some(mut f), o) => {
            f.url = o.url.unwrap_or(f.url);
            f.ca_cert = o.ca_cert.unwrap_or(f.ca_cert);
            f.client_cert = o.client_cert.unwrap_or(f.client_cert);
            f.client_key = o.client_key.unwrap_or(f.client_key);
            Some(f)
        }
        (None, o) => match (o.url, o.ca_cert, o.client_cert, o.client_key) {
            (Some(url), Some(ca_cert), Some(client_cert), Some(client_key)) => Some(SignerFile {
                url,
                ca_cert,
                client_cert,
                client_key,
                server_name: None,
                timeout: None,
            }),
            _ => bail!(
                "a signer without [signer] in the file needs all of --signer-url, \
                 --signer-ca-cert, --signer-client-cert and --signer-client-key"
            ),
        },
    };
    if let Some(f) = signer {
        if !f.url.starts_with("https://") {
            bail!(
                "signer.url {:?}: the signer is reached over TLS, https://host:port",
                f.url
            );
        }
        let timeout = f.timeout.map_or(
            server::remote_signer::RemoteSignerConfig::DEFAULT_TIMEOUT,
            |t| t.0,
        );
        if timeout.is_zero() {
            bail!("signer.timeout must be positive");
        }
        c.signer = Some(server::remote_signer::RemoteSignerConfig {
            url: f.url,
            ca_cert: f.ca_cert,
            client_cert: f.client_cert,
            client_key: f.client_key,
            server_name: f.server_name,
            timeout,
        });
    }
    if let Some(v) = overrides.listen {
        listen = v;
    }
    if let Some(v) = overrides.data_dir {
        c.data_dir = v;
    }
    if let Some(v) = overrides.origin {
        c.origin = v;
    }
    c.tls = match (
        overrides.tls_cert.or(file.tls_cert),
        overrides.tls_key.or(file.tls_key),
    ) {
        (Some(cert), Some(key)) => Some(server::tls::TlsFiles { cert, key }),
        (None, None) => None,
        _ => bail!("tls_cert and tls_key go together: give both, or neither for cleartext"),
    };
    let advertise = overrides.advertise_url.or(file.advertise_url);
    match overrides.database_url.or(file.database_url) {
        Some(url) => {
            let advertise = advertise.unwrap_or_default();
            if !advertise.is_empty() && !advertise.starts_with("http://") {
                bail!(
                    "advertise_url {advertise:?}: instances reach each other over http://host:port"
                );
            }
            c.database = Some(server::DatabaseConfig {
                url: zeroize::Zeroizing::new(url),
                advertise,
            });
        }
        None if advertise.is_some() => {
            bail!("advertise_url is for instances sharing a database: set database_url too")
        }
        None => {}
    }
    if let Some(v) = overrides.max_batch_entries {
        c.sequencer.max_batch_entries = v;
    }
    if let Some(v) = overrides.max_batch_delay {
        c.sequencer.max_batch_delay = v;
    }
    if c.repos.resign_margin >= c.repos.timestamp_expiry {
        bail!(
            "repos.resign_margin ({}) must be shorter than repos.timestamp_expiry ({}), or every timestamp is always due",
            humantime::format_duration(c.repos.resign_margin),
            humantime::format_duration(c.repos.timestamp_expiry)
        );
    }
    if c.repos.resign_interval.is_zero() || c.repos.resign_interval >= c.repos.resign_margin {
        bail!("repos.resign_interval must be positive and shorter than repos.resign_margin, or a timestamp can expire between passes");
    }
    if c.sequencer.max_batch_entries == 0 {
        bail!("sequencer.max_batch_entries must be positive");
    }
    Ok((c, listen))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<FileConfig> {
        Ok(toml::from_str(text)?)
    }

    #[test]
    fn file_then_overrides_then_checks() {
        let file = parse(
            r#"
            listen = "127.0.0.1:9000"
            origin = "example.com/log"
            [sequencer]
            max_batch_delay = "3ms"
            [repos]
            timestamp_expiry = "2h"
            resign_margin = "30m"
            resign_interval = "1m"
            [[tokens]]
            name = "ci"
            token = "s3cret"
            prefixes = ["example.com"]
            "#,
        )
        .unwrap();
        let (c, listen) = build(
            file,
            Overrides {
                listen: Some("127.0.0.1:9001".parse().unwrap()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(listen.port(), 9001);
        assert_eq!(c.origin, "example.com/log");
        assert_eq!(c.sequencer.max_batch_delay, Duration::from_millis(3));
        assert_eq!(c.repos.timestamp_expiry, Duration::from_secs(7200));
        assert_eq!(c.tokens.len(), 1);
        assert_eq!(c.tokens[0].prefixes, ["example.com"]);
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(parse("lisen = \"127.0.0.1:1\"").is_err(), "unknown key");
        assert!(parse("[repos]\ntimestamp_expiry = \"soon\"").is_err());
        for bad in [
            "[repos]\ntimestamp_expiry = \"1h\"\nresign_margin = \"2h\"",
            "[[tokens]]\nname = \"x\"\nprefixes = [\"a\"]",
            "[[tokens]]\nname = \"x\"\nsha256 = \"zz\"\nprefixes = [\"a\"]",
            "[[tokens]]\nname = \"x\"\ntoken = \"t\"\nprefixes = []",
            "[signer]\nurl = \"http://s:1\"\nca_cert = \"c\"\nclient_cert = \"c\"\nclient_key = \"k\"",
            "[signer]\nurl = \"https://s:1\"\nca_cert = \"c\"\nclient_cert = \"c\"\nclient_key = \"k\"\ntimeout = \"0s\"",
        ] {
            assert!(
                build(parse(bad).unwrap(), Overrides::default()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tls_takes_a_certificate_and_its_key_together() {
        let (c, _) = build(parse("").unwrap(), Overrides::default()).unwrap();
        assert!(c.tls.is_none(), "cleartext by default");
        let file = "tls_cert = \"/etc/tuflog/server.crt\"\ntls_key = \"/etc/tuflog/server.key\"";
        let (c, _) = build(parse(file).unwrap(), Overrides::default()).unwrap();
        assert_eq!(
            c.tls,
            Some(server::tls::TlsFiles {
                cert: "/etc/tuflog/server.crt".into(),
                key: "/etc/tuflog/server.key".into(),
            })
        );
        let (c, _) = build(
            parse(file).unwrap(),
            Overrides {
                tls_cert: Some("/run/cert.pem".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(
            c.tls.unwrap().cert,
            std::path::PathBuf::from("/run/cert.pem")
        );
        for bad in [
            "tls_cert = \"/c.pem\"".to_string(),
            "tls_key = \"/k.pem\"".to_string(),
        ] {
            let e = build(parse(&bad).unwrap(), Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("tls_"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_database_url_from_the_file_or_an_override_selects_postgres_and_never_prints() {
        let (c, _) = build(parse("").unwrap(), Overrides::default()).unwrap();
        assert!(c.database.is_none(), "RocksDB by default");
        let file = "listen = \"127.0.0.1:9000\"\ndatabase_url = \"postgres://u:secret@db/t\"";
        let (c, _) = build(parse(file).unwrap(), Overrides::default()).unwrap();
        let db = c.database.unwrap();
        assert_eq!(db.url.as_str(), "postgres://u:secret@db/t");
        assert_eq!(db.advertise, "", "derived from the bound address at start");
        assert!(!format!("{db:?}").contains("secret"));
        let (c, _) = build(
            parse(file).unwrap(),
            Overrides {
                database_url: Some("postgres://other/t".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.database.unwrap().url.as_str(), "postgres://other/t");
        let advertised = format!("{file}\nadvertise_url = \"http://10.0.0.7:8080\"");
        let (c, _) = build(parse(&advertised).unwrap(), Overrides::default()).unwrap();
        assert_eq!(c.database.unwrap().advertise, "http://10.0.0.7:8080");
        for bad in [
            format!("{file}\nadvertise_url = \"10.0.0.7:8080\""),
            "advertise_url = \"http://10.0.0.7:8080\"".to_string(),
        ] {
            assert!(
                build(parse(&bad).unwrap(), Overrides::default()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("../../../docs/CONFIG.md");
        let example = doc
            .split("```toml")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap();
        build(parse(example).unwrap(), Overrides::default()).unwrap();
    }

    #[test]
    fn the_signer_is_found_from_the_file_or_moved_by_overrides() {
        let example = include_str!("../../../deploy/config/server.toml");
        let moved = Overrides {
            signer: SignerOverrides {
                url: Some("https://127.0.0.1:9443".into()),
                client_key: Some("/run/here/server.key".into()),
                ..SignerOverrides::default()
            },
            ..Overrides::default()
        };
        let (c, _) = build(parse(example).unwrap(), moved).unwrap();
        let signer = c.signer.unwrap();
        assert_eq!(signer.url, "https://127.0.0.1:9443");
        assert_eq!(signer.client_key, PathBuf::from("/run/here/server.key"));
        assert_eq!(signer.ca_cert, PathBuf::from("/etc/tuflog/tls/ca.pem"));
        // Without [signer] in the file, the overrides must name everything.
        let partial = Overrides {
            signer: SignerOverrides {
                url: Some("https://127.0.0.1:9443".into()),
                ..SignerOverrides::default()
            },
            ..Overrides::default()
        };
        let missing = build(parse("").unwrap(), partial).unwrap_err();
        assert!(
            missing.to_string().contains("--signer-ca-cert"),
            "{missing}"
        );
        let whole = Overrides {
            signer: SignerOverrides {
                url: Some("https://127.0.0.1:9443".into()),
                ca_cert: Some("ca.pem".into()),
                client_cert: Some("server.pem".into()),
                client_key: Some("server.key".into()),
            },
            ..Overrides::default()
        };
        assert!(build(parse("").unwrap(), whole).unwrap().0.signer.is_some());
        assert!(build(parse("").unwrap(), Overrides::default())
            .unwrap()
            .0
            .signer
            .is_none());
    }

    #[test]
    fn the_deployment_example_parses() {
        let example = include_str!("../../../deploy/config/server.toml");
        let (config, listen) = build(parse(example).unwrap(), Overrides::default()).unwrap();
        assert!(config.signer.is_some());
        assert_eq!(config.tokens.len(), 1);
        assert_eq!(listen.port(), 8080);
    }
}
