//! The shipped `tuflog-server` binary, started the way an operator starts it, on a
//! data directory of the benchmark's choosing.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The origin every benchmark log carries.
pub const ORIGIN: &str = "bench.tuflog.dev/log";

/// A running `tuflog-server`.
pub struct ShippedServer {
    child: Child,
    /// Where it listens (HTTP and gRPC on one port).
    pub addr: SocketAddr,
    /// The admin write token it generated in its data directory.
    pub token: String,
    /// The log's verifier key, as it announced it.
    pub verifier_key: String,
    /// From spawning the process to its first successful `/readyz` with a checkpoint
    /// served: what an operator waits after a restart.
    pub time_to_ready: Duration,
}

/// `tuflog-server` beside this executable (`target/release/`), where
/// `cargo build --release -p tuflog-daemons` puts it.
#[allow(
    clippy::panic,
    reason = "a benchmark without its server has nothing to measure"
)]
pub fn default_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("locating myself: {e}"));
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    // Benchmarks run from target/release/deps.
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("tuflog-server");
    if !bin.exists() {
        panic!(
            "{} not found: build it first (cargo build --release -p tuflog-daemons)",
            bin.display()
        );
    }
    bin
}

#[allow(
    clippy::panic,
    reason = "a benchmark whose server does not start has nothing to measure"
)]
impl ShippedServer {
    /// Starts `binary` on `data_dir` (created on first start), listening on a free
    /// loopback port, and waits until it is ready.
    pub fn start(binary: &Path, data_dir: &Path) -> Self {
        Self::start_with(binary, data_dir, None)
    }

    /// [`ShippedServer::start`] with a configuration file (a `[signer]`, say).
    pub fn start_with(binary: &Path, data_dir: &Path, config: Option<&Path>) -> Self {
        let started = Instant::now();
        let mut command = Command::new(binary);
        if let Some(c) = config {
            command.arg("--config").arg(c);
        }
        let mut child = command
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0", "--origin", ORIGIN])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        // The start-up banner names the verifier key, then the checkpoint URL, which
        // carries the address.
        let banner = read_banner(&mut child, binary, "checkpoint");
        let verifier_key = banner_value(&banner, "verifier key").map(str::to_string);
        let addr = address_in(banner_value(&banner, "checkpoint").unwrap_or(""), "http://");
        while !ready(addr) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let time_to_ready = started.elapsed();
        let token = std::fs::read_to_string(data_dir.join("admin.token"))
            .unwrap_or_else(|e| panic!("reading the admin token: {e}"))
            .trim()
            .to_string();
        Self {
            child,
            addr,
            token,
            verifier_key: verifier_key
                .unwrap_or_else(|| panic!("{} announced no verifier key", binary.display())),
            time_to_ready,
        }
    }

    /// The process id, for resident memory readings.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now and at its peak, in KiB.
    pub fn rss_kib(&self) -> (u64, u64) {
        crate::rss_kib(self.pid())
    }

    /// Kills it (SIGKILL), as a machine dies, and waits for it to exit.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops it as an operator does (SIGTERM) and waits for it to exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// A benchmark that fails part-way still leaves no server behind.
impl Drop for ShippedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `/readyz` answers 200 and a checkpoint is served.
fn ready(addr: SocketAddr) -> bool {
    status_of(addr, "/readyz") == Some(200) && status_of(addr, "/log/checkpoint") == Some(200)
}

/// The status code of a plain GET, or `None` when nothing answers.
fn status_of(addr: SocketAddr, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// The shipped `tuflog-signer`, set up as a first deployment does (`pki`, `init`)
/// and serving on a free loopback port: the server's keys in a process of its own.
pub struct ShippedSigner {
    child: Child,
    /// Where it listens (gRPC over mutual TLS).
    pub addr: SocketAddr,
    /// Where its certificates are (`ca.pem`, `server.pem`, `server.key`, …).
    pub tls: PathBuf,
}

/// The passphrase of benchmark signers' sealed keys.
const SIGNER_PASSPHRASE: &str = "benchmark passphrase";

#[allow(
    clippy::panic,
    reason = "a benchmark whose signer does not start has nothing to measure"
)]
impl ShippedSigner {
    /// Creates keys, certificates and state under `dir` and starts `tuflog-signer`
    /// (beside `server_binary`).
    pub fn start(server_binary: &Path, dir: &Path) -> Self {
        let binary = server_binary.with_file_name("tuflog-signer");
        let tls = dir.join("tls");
        let data = dir.join("signer");
        let run = |args: &[&str]| {
            let out = Command::new(&binary)
                .args(args)
                .env("TUFLOG_SIGNER_PASSPHRASE", SIGNER_PASSPHRASE)
                .output()
                .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()));
            if !out.status.success() {
                panic!(
                    "tuflog-signer {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        let path = |p: &Path| {
            p.to_str()
                .unwrap_or_else(|| panic!("non-UTF-8 path"))
                .to_string()
        };
        run(&["pki", "--out", &path(&tls), "--name", "127.0.0.1"]);
        run(&["init", "--data-dir", &path(&data), "--origin", ORIGIN]);
        let mut child = Command::new(&binary)
            .args([
                "serve",
                "--data-dir",
                &path(&data),
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--cert",
                &path(&tls.join("signer.pem")),
                "--key",
                &path(&tls.join("signer.key")),
                "--client-ca",
                &path(&tls.join("ca.pem")),
            ])
            .env("TUFLOG_SIGNER_PASSPHRASE", SIGNER_PASSPHRASE)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let banner = read_banner(&mut child, &binary, "listening");
        let addr = address_in(banner_value(&banner, "listening").unwrap_or(""), "https://");
        Self { child, addr, tls }
    }

    /// Writes a server configuration file at `path` whose `[signer]` is this one.
    pub fn server_config(&self, path: &Path) {
        let text = format!(
            "[signer]\nurl = \"https://{}\"\nca_cert = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\n",
            self.addr,
            self.tls.join("ca.pem").display(),
            self.tls.join("server.pem").display(),
            self.tls.join("server.key").display(),
        );
        std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// The process id, for resident memory and CPU readings.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ShippedSigner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(
    clippy::panic,
    reason = "a benchmark whose daemon does not start has nothing to measure"
)]
/// The `label value` lines a daemon writes on stderr at start, up to the one
/// labelled `last`; its stderr is drained from then on, so a full pipe never
/// stalls it.
fn read_banner(child: &mut Child, binary: &Path, last: &str) -> Vec<(String, String)> {
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut banner = Vec::new();
    loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("{} exited before announcing {last}", binary.display());
        };
        // Labels are one or two words, then the value after a run of spaces.
        let line = line.trim();
        let Some((label, value)) = line.split_once("  ") else {
            continue;
        };
        let label = label.trim().to_string();
        let done = label == last;
        banner.push((label, value.trim().to_string()));
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    banner
}

fn banner_value<'a>(banner: &'a [(String, String)], label: &str) -> Option<&'a str> {
    banner
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, v)| v.as_str())
}

#[allow(
    clippy::panic,
    reason = "a benchmark whose daemon does not start has nothing to measure"
)]
/// The address in a banner value such as `https://127.0.0.1:8443 (mutual TLS)`.
fn address_in(value: &str, scheme: &str) -> SocketAddr {
    value
        .strip_prefix(scheme)
        .and_then(|u| u.split(['/', ' ']).next())
        .and_then(|host| host.parse().ok())
        .unwrap_or_else(|| panic!("no {scheme} address in {value:?}"))
}
