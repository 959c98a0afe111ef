//! The `tuflog server` binary as an operator runs it: embedded defaults in a fresh
//! directory, SIGTERM, and a restart over the same state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Starts the binary in `dir` and returns it with the verifier key and the address
/// it printed.
fn start(dir: &std::path::Path) -> (Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tuflog"))
        .args(["server", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut vkey, mut addr) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while vkey.is_none() || addr.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the server printed its verifier key and URLs");
        if let Some(v) = line.trim().strip_prefix("verifier key") {
            vkey = Some(v.trim().to_string());
        }
        if let Some(u) = line.trim().strip_prefix("checkpoint") {
            addr = Some(u.trim().trim_end_matches("/log/checkpoint").to_string());
        }
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    (child, vkey.unwrap(), addr.unwrap())
}

fn sigterm_and_wait(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn runs_on_embedded_defaults_stops_on_sigterm_and_restarts_with_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let (child, vkey, addr) = start(dir.path());
    assert!(vkey.starts_with("localhost/tuflog+"), "{vkey}");
    assert!(addr.starts_with("http://127.0.0.1:"), "{addr}");
    for file in [
        "tuflog-data/log.key",
        "tuflog-data/online.seed",
        "tuflog-data/admin.token",
    ] {
        let meta = std::fs::metadata(dir.path().join(file)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
    }
    let status = sigterm_and_wait(child);
    assert!(status.success(), "exit after SIGTERM: {status}");

    // The same log key and token after a restart: state was kept, not regenerated.
    let token = std::fs::read(dir.path().join("tuflog-data/admin.token")).unwrap();
    let (child, vkey_again, _) = start(dir.path());
    assert_eq!(vkey_again, vkey);
    assert_eq!(
        std::fs::read(dir.path().join("tuflog-data/admin.token")).unwrap(),
        token
    );
    assert!(sigterm_and_wait(child).success());
}
