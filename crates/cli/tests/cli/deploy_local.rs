//! `deploy/local/run`: the compose file's topology as processes on loopback, from
//! the same configuration files, running the README Quickstart against it and
//! querying every panel of the dashboard from a real Prometheus. Run here so the
//! deployment files cannot drift from what the binaries accept.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_local_topology_runs_the_quickstart_and_fills_the_dashboard() {
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_tuflog"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut cmd = Command::new(crate::repo_root().join("deploy/local/run"));
    for (k, _) in std::env::vars() {
        if k.starts_with("TUFLOG_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.env("TUFLOG_BIN_DIR", &bin_dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "deploy/local/run failed:\n{stdout}\n{stderr}"
    );
    // The Quickstart published, updated and downloaded through the deployment.
    assert!(stdout.contains("tuflog server (pid"), "{stdout}");
    assert!(
        stdout.contains("dashboard queries return series"),
        "{stdout}"
    );
    assert!(stdout.contains("none critical firing"), "{stdout}");
    assert!(stdout.contains("local: done"), "{stdout}");
}
