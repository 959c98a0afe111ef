//! `tuflog-conformance` (the TUF conformance suite's client CLI) against
//! repositories written by python-tuf and served by a static HTTP server: every
//! scenario the TUF interop tests use (all key types, delegations, succinct hash
//! bins, root rotations, consistent snapshots on and off).

use crate::repo_root;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn python() -> PathBuf {
    let out = Command::new(repo_root().join("scripts/python-env"))
        .output()
        .expect("scripts/python-env runs (it needs python3 with venv: see scripts/setup)");
    assert!(
        out.status.success(),
        "scripts/python-env failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A static file server over `dir` (tests/cli/static_server.py), killed on drop.
pub(crate) struct StaticServer {
    child: Child,
    pub(crate) url: String,
}

impl StaticServer {
    fn start(python: &Path, dir: &Path) -> StaticServer {
        Self::start_logging(python, dir, None)
    }

    /// As [`StaticServer::start`], appending each request's path to `log`.
    pub(crate) fn start_logging(python: &Path, dir: &Path, log: Option<&Path>) -> StaticServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
            .arg(repo_root().join("crates/cli/tests/cli/static_server.py"))
            .arg(port.to_string())
            .arg(dir)
            .args(log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the static server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        StaticServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn conformance(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tuflog-conformance"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn python_tuf_repositories_update_and_download_through_the_conformance_client() {
    let python = python();
    let script = repo_root().join("crates/tuf/tests/interop/pytuf.py");
    for scenario in [
        "all-key-types",
        "delegations",
        "hash-bins",
        "root-rotations",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let out = Command::new(&python)
            .arg(&script)
            .args(["write", scenario])
            .arg(&repo)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{scenario}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let targets: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert!(!targets.is_empty());
        let server = StaticServer::start(&python, &repo);
        let (meta, tdir) = (
            dir.path().join("client-metadata"),
            dir.path().join("client-targets"),
        );
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::create_dir_all(&tdir).unwrap();
        let root = repo.join("metadata/1.root.json");
        let init = conformance(&[
            "--metadata-dir".as_ref(),
            meta.as_os_str(),
            "init".as_ref(),
            root.as_os_str(),
        ]);
        assert!(
            init.status.success(),
            "{scenario} init: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let metadata_url = format!("{}/metadata", server.url);
        let target_url = format!("{}/targets", server.url);
        let refresh = conformance(&[
            "--metadata-dir".as_ref(),
            meta.as_os_str(),
            "--metadata-url".as_ref(),
            metadata_url.as_ref(),
            "refresh".as_ref(),
        ]);
        assert!(
            refresh.status.success(),
            "{scenario} refresh: {}",
            String::from_utf8_lossy(&refresh.stderr)
        );
        // The trusted files are the served bytes, under unversioned names.
        let served_timestamp = std::fs::read(repo.join("metadata/timestamp.json")).unwrap();
        assert_eq!(
            std::fs::read(meta.join("timestamp.json")).unwrap(),
            served_timestamp,
            "{scenario}"
        );
        for f in ["root.json", "snapshot.json", "targets.json"] {
            assert!(meta.join(f).exists(), "{scenario}: {f}");
        }
        let mut args: Vec<std::ffi::OsString> = vec![
            "--metadata-dir".into(),
            meta.clone().into(),
            "--metadata-url".into(),
            metadata_url.clone().into(),
            "--target-base-url".into(),
            target_url.into(),
            "--target-dir".into(),
            tdir.clone().into(),
        ];
        for t in &targets {
            args.push("--target-name".into());
            args.push(t.into());
        }
        args.push("download".into());
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let download = conformance(&refs);
        assert!(
            download.status.success(),
            "{scenario} download: {}",
            String::from_utf8_lossy(&download.stderr)
        );
        for t in &targets {
            let local = tdir.join(tuf::updater::local_file_name(t).unwrap());
            assert!(local.exists(), "{scenario}: {t} not downloaded");
        }
        if scenario == "all-key-types" {
            // Served bytes go bad; the verified local copy is kept, not fetched again.
            std::fs::write(repo.join("targets/file1.txt"), b"tampered").unwrap();
            let again = conformance(&refs);
            assert!(
                again.status.success(),
                "{}",
                String::from_utf8_lossy(&again.stderr)
            );
            assert_eq!(
                std::fs::read(tdir.join("file1.txt")).unwrap(),
                b"first file"
            );
            std::fs::remove_file(tdir.join("file1.txt")).unwrap();
            let fetched = conformance(&refs);
            assert_eq!(
                fetched.status.code(),
                Some(1),
                "a tampered target is refused"
            );
        }
        // A missing target fails with exit code 1.
        let missing = conformance(&[
            "--metadata-dir".as_ref(),
            meta.as_os_str(),
            "--metadata-url".as_ref(),
            metadata_url.as_ref(),
            "--target-base-url".as_ref(),
            format!("{}/targets", server.url).as_ref(),
            "--target-dir".as_ref(),
            tdir.as_os_str(),
            "--target-name".as_ref(),
            "no/such/target".as_ref(),
            "download".as_ref(),
        ]);
        assert_eq!(missing.status.code(), Some(1), "{scenario}");
    }
}

#[test]
fn an_unreachable_repository_or_bad_arguments_exit_with_1() {
    let dir = tempfile::tempdir().unwrap();
    let refresh = conformance(&[
        "--metadata-dir".as_ref(),
        dir.path().as_os_str(),
        "--metadata-url".as_ref(),
        "http://127.0.0.1:9/metadata".as_ref(),
        "refresh".as_ref(),
    ]);
    assert_eq!(refresh.status.code(), Some(1));
    let bad = conformance(&["--no-such-flag".as_ref()]);
    assert_eq!(bad.status.code(), Some(1));
}
