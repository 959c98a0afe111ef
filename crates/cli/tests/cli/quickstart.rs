//! The README's Quickstart block, run verbatim in an empty directory, so it cannot
//! rot. Only the port (TUFLOG_LISTEN / TUFLOG_SERVER, documented settings) and where
//! the binary is (TUFLOG_BIN_DIR: this build's, not a release build) come from here.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn readme() -> String {
    std::fs::read_to_string(crate::repo_root().join("README.md")).unwrap()
}

/// The one fenced `sh` block under `## Quickstart`.
fn quickstart_block(readme: &str) -> String {
    let section = readme
        .split("\n## Quickstart\n")
        .nth(1)
        .expect("README has a Quickstart section");
    let section = section.split("\n## ").next().unwrap();
    let mut blocks = section.split("```sh\n").skip(1);
    let block = blocks.next().expect("a fenced sh block");
    assert!(blocks.next().is_none(), "exactly one sh block");
    block.split("\n```").next().unwrap().to_string() + "\n"
}

#[test]
fn the_readme_quickstart_runs_verbatim() {
    let script = quickstart_block(&readme());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("quickstart.sh"), &script).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_tuflog"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut cmd = Command::new("sh");
    cmd.args(["-e", "quickstart.sh"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("TUFLOG_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("TUFLOG_BIN_DIR", &bin_dir)
        .env("TUFLOG_LISTEN", format!("127.0.0.1:{port}"))
        .env("TUFLOG_SERVER", format!("http://127.0.0.1:{port}"));
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the quickstart did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // The server runs on after the script, as the README says; stop it.
    let pid = stdout
        .lines()
        .last()
        .and_then(|l| l.split("(pid ").nth(1))
        .and_then(|p| p.split(')').next())
        .map(str::to_string);
    if let Some(pid) = &pid {
        let _ = Command::new("kill").args(["-TERM", pid]).status();
    }
    assert!(
        out.status.success(),
        "quickstart failed:\n{stdout}\n{stderr}"
    );
    let pid = pid.expect("the last line names the server's pid");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("hello-downloaded.txt")).unwrap(),
        "hello, transparent world\n"
    );
    assert!(
        stdout.contains("every file proven in localhost/tuflog"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("at http://127.0.0.1:{port}")),
        "prints its URL: {stdout}"
    );
    // `tuflog log checkpoint` printed origin, size and root.
    assert!(stdout.lines().any(|l| l == "localhost/tuflog"), "{stdout}");
    // Orphaned, the server may linger as a zombie where PID 1 does not reap.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!running(), "the server (pid {pid}) stops on SIGTERM");
}
