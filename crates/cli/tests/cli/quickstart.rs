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

/// A script's run: what it printed, in which directory.
struct Run {
    stdout: String,
    stderr: String,
    success: bool,
    pid: Option<String>,
    dir: tempfile::TempDir,
    port: u16,
}

/// Runs `script` with `sh -e` in an empty directory, with this build's binaries and
/// a free port, and stops the server whose pid the last line names.
fn run(script: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("script.sh"), script).unwrap();
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
    cmd.args(["-e", "script.sh"])
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
            panic!("the script did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // The server runs on after the script, as the README says; stop it.
    let pid = stdout
        .lines()
        .rev()
        .filter_map(|l| l.split("(pid ").nth(1))
        .filter_map(|p| p.split(')').next())
        .map(str::to_string)
        .next();
    if let Some(pid) = &pid {
        let _ = Command::new("kill").args(["-TERM", pid]).status();
    }
    Run {
        stdout,
        stderr,
        success: out.status.success(),
        pid,
        dir,
        port,
    }
}

/// The one fenced `sh` block under the heading `heading` of `docs/CONFIG.md`.
fn config_block(heading: &str) -> String {
    let text = std::fs::read_to_string(crate::repo_root().join("docs/CONFIG.md")).unwrap();
    let section = text
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/CONFIG.md has a section {heading:?}"));
    let block = section.split("```sh\n").nth(1).expect("a fenced sh block");
    block.split("\n```").next().unwrap().to_string() + "\n"
}

#[test]
fn the_documented_online_key_rotation_runs_verbatim() {
    // After the Quickstart: the owner rotates the online keys, the client follows.
    let run =
        run(&(quickstart_block(&readme())
            + &config_block("### Rotating a repository's online keys")));
    assert!(
        run.success,
        "the rotation procedure failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .contains("rotated the online keys of example.com/hello to generation 1"),
        "{}",
        run.stdout
    );
    // The update after the rotation accepted root v2.
    assert!(run.stdout.contains("root v2"), "{}", run.stdout);
}

#[test]
fn the_readme_quickstart_runs_verbatim() {
    let run = run(&quickstart_block(&readme()));
    let (stdout, stderr, port) = (&run.stdout, &run.stderr, run.port);
    assert!(run.success, "quickstart failed:\n{stdout}\n{stderr}");
    let pid = run
        .pid
        .clone()
        .expect("the last line names the server's pid");
    assert_eq!(
        std::fs::read_to_string(run.dir.path().join("hello-downloaded.txt")).unwrap(),
        "hello, transparent world\n"
    );
    // The release directory holds the published targets with its proof, which
    // `tuflog log verify` checked offline.
    assert!(run.dir.path().join("release/2.targets.json").is_file());
    assert!(stdout.contains("verified: release/2.targets.json is example.com/hello targets v2"));
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
