//! What the daemon tests share: daemons started as an operator starts them and read
//! by their start-up banners, the signer's command line and PKI, and a publisher and
//! a user of one repository.
#![allow(dead_code)]

use client::publish::Workspace;
use client::{Client, ClientConfig};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tlog::VerifierKey;
use tuf::keys::PrivateKey;

#[path = "../../../signer/tests/common/softhsm.rs"]
pub mod softhsm;

pub const REPO: &str = "example.com/app";
pub const ORIGIN: &str = "test.tuflog.dev/log";
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A daemon process, killed when dropped.
pub struct Daemon {
    pub child: Child,
    /// `label value` lines of its start-up banner.
    pub banner: Banner,
}

impl Daemon {
    /// Starts `bin` and reads its banner from stderr up to `last_label`.
    pub fn start(bin: &str, args: &[&str], envs: &[(&str, &Path)], last_label: &str) -> Daemon {
        Daemon::spawn(bin, args, envs, last_label).ready(Duration::from_secs(120))
    }

    /// Starts `bin`; its banner is read in the background, as a standby prints its
    /// banner only once it serves.
    pub fn spawn(bin: &str, args: &[&str], envs: &[(&str, &Path)], last_label: &str) -> Starting {
        let mut child = Command::new(bin)
            .args(args)
            .envs(envs.iter().copied())
            .env("TUFLOG_SIGNER_PASSPHRASE", PASSPHRASE)
            .env("TUFLOG_SIGNER_PIN", softhsm::PIN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let (tx, banner) = mpsc::channel();
        let last_label = last_label.to_string();
        std::thread::spawn(move || {
            let mut banner = Vec::new();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                let mut parts = line.trim().splitn(2, ' ');
                let (label, value) = (parts.next().unwrap(), parts.next().unwrap_or("").trim());
                banner.push((label.to_string(), value.to_string()));
                if label == last_label {
                    let _ = tx.send(Ok(std::mem::take(&mut banner)));
                    // Keep draining stderr so the daemon never blocks on a full pipe.
                    for _ in lines {}
                    return;
                }
            }
            let _ = tx.send(Err(banner));
        });
        Starting {
            daemon: Daemon {
                child,
                banner: Vec::new(),
            },
            banner,
            bin: bin.to_string(),
        }
    }

    pub fn get(&self, label: &str) -> &str {
        &self
            .banner
            .iter()
            .find(|(l, _)| l == label)
            .unwrap_or_else(|| panic!("no {label} in {:?}", self.banner))
            .1
    }

    /// The verifier key it announced.
    pub fn vkey(&self) -> String {
        let v = self.get("verifier");
        v.split_whitespace().last().unwrap().to_string()
    }

    /// The address in a banner value such as `http://127.0.0.1:1234/metrics`.
    pub fn addr(&self, label: &str) -> SocketAddr {
        let v = self.get(label);
        let rest = v.split("://").nth(1).unwrap();
        rest.split(['/', ' ']).next().unwrap().parse().unwrap()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `label value` lines as a daemon printed them.
pub type Banner = Vec<(String, String)>;

/// A daemon started and not yet serving.
pub struct Starting {
    pub daemon: Daemon,
    /// The banner, or what was printed before the daemon exited without one.
    banner: mpsc::Receiver<Result<Banner, Banner>>,
    bin: String,
}

impl Starting {
    /// Waits up to `within` for the banner; panics if the daemon exits first.
    pub fn ready(mut self, within: Duration) -> Daemon {
        match self.banner.recv_timeout(within) {
            Ok(Ok(banner)) => self.daemon.banner = banner,
            Ok(Err(printed)) => panic!("{} exited: {printed:?}", self.bin),
            Err(e) => panic!("{} printed no banner within {within:?}: {e}", self.bin),
        }
        self.daemon
    }
}

/// Sends the signal `name` (TERM, STOP, …) to `daemon`.
pub fn signal(daemon: &Daemon, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(daemon.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

pub fn signer_cmd(args: &[&str]) -> std::process::Output {
    signer_cmd_with(args, &[])
}

pub fn signer_cmd_with(args: &[&str], envs: &[(&str, &Path)]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tuflog-signer"))
        .args(args)
        .envs(envs.iter().copied())
        .env("TUFLOG_SIGNER_PASSPHRASE", PASSPHRASE)
        .env("TUFLOG_SIGNER_PIN", softhsm::PIN)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tuflog-signer {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn server(config: &Path) -> Daemon {
    Daemon::start(
        env!("CARGO_BIN_EXE_tuflog-server"),
        &["--config", config.to_str().unwrap()],
        &[],
        "gRPC",
    )
}

pub fn signer(data: &Path, pki: &Path, listen: &str) -> Daemon {
    signer_with(data, pki, listen, &[])
}

pub fn signer_with(data: &Path, pki: &Path, listen: &str, envs: &[(&str, &Path)]) -> Daemon {
    let p = |f: &str| pki.join(f).to_str().unwrap().to_string();
    Daemon::start(
        env!("CARGO_BIN_EXE_tuflog-signer"),
        &[
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            listen,
            "--metrics-listen",
            "127.0.0.1:0",
            "--cert",
            &p("signer.pem"),
            "--key",
            &p("signer.key"),
            "--client-ca",
            &p("ca.pem"),
        ],
        envs,
        "metrics",
    )
}

pub fn server_config(data: &Path, signer_addr: SocketAddr, pki: &Path, client: &Path) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\norigin = \"{ORIGIN}\"\ndata_dir = \"{}\"\n\
         [signer]\nurl = \"https://{signer_addr}\"\nca_cert = \"{}\"\n\
         client_cert = \"{}\"\nclient_key = \"{}\"\ntimeout = \"2s\"\n",
        data.display(),
        pki.join("ca.pem").display(),
        client.join("server.pem").display(),
        client.join("server.key").display(),
    )
}

pub fn pki(out: &Path) {
    signer_cmd(&[
        "pki",
        "--out",
        out.to_str().unwrap(),
        "--name",
        "localhost",
        "--name",
        "127.0.0.1",
    ]);
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub struct Publisher {
    pub root: PrivateKey,
    pub targets: PrivateKey,
    pub ws: Workspace,
}

/// A client with its home in `dir`, trusting `vkey` at `url`.
pub fn user(dir: &Path, url: &str, vkey: &VerifierKey) -> Client {
    Client::new(ClientConfig {
        server: url.to_string(),
        log_key: vkey.clone(),
        witnesses: None,
        home: dir.join("user"),
        limits: tuf::updater::Limits::default(),
    })
}

impl Publisher {
    /// Creates the repository and publishes a first file.
    pub async fn init(&self, dir: &Path, token: &str, vkey: &VerifierKey) {
        self.ws
            .init(
                &[("root", &self.root), ("targets", &self.targets)],
                1,
                1,
                token,
                vkey,
            )
            .await
            .unwrap();
        self.publish(dir, "one.txt", token, vkey).await.unwrap();
    }

    pub async fn publish(
        &self,
        dir: &Path,
        name: &str,
        token: &str,
        log: &VerifierKey,
    ) -> client::Result<()> {
        let file = dir.join(name);
        std::fs::write(&file, name.as_bytes()).unwrap();
        self.ws.add(&file, name, None).unwrap();
        self.ws
            .publish(&[&self.targets], token, log)
            .await
            .map(|_| ())
    }
}
