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
        let started = Instant::now();
        let mut child = Command::new(binary)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0", "--origin", ORIGIN])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let mut lines = std::io::BufReader::new(stderr).lines();
        // The start-up banner names the verifier key, then the checkpoint URL, which
        // carries the address.
        let mut verifier_key = None;
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!("{} exited before announcing its address", binary.display());
            };
            if let Some(key) = line.trim().strip_prefix("verifier key") {
                verifier_key = Some(key.trim().to_string());
            }
            if let Some(url) = line.trim().strip_prefix("checkpoint") {
                let url = url.trim();
                let host = url
                    .strip_prefix("http://")
                    .and_then(|u| u.split('/').next())
                    .unwrap_or_else(|| panic!("unexpected checkpoint line {line:?}"));
                break host
                    .parse::<SocketAddr>()
                    .unwrap_or_else(|e| panic!("address in {line:?}: {e}"));
            }
        };
        // Keep draining its log, so a full pipe never stalls it.
        std::thread::spawn(move || for _ in lines {});
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
