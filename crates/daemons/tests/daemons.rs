//! The daemon binaries as an operator starts them: what each says when its settings
//! are wrong, before it touches any state.
//!
//! These tests also make `cargo test --workspace` build the daemons into the
//! target directory, where `tuflog server|witness|monitor` (and the CLI's process
//! tests) find them beside `tuflog`: without an integration test here, a fresh
//! checkout's test run would have no `tuflog-server` to start.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn each_daemon_reports_its_version() {
    for bin in [
        env!("CARGO_BIN_EXE_tuflog-server"),
        env!("CARGO_BIN_EXE_tuflog-witness"),
        env!("CARGO_BIN_EXE_tuflog-monitor"),
        env!("CARGO_BIN_EXE_tuflog-signer"),
    ] {
        let out = run(bin, &["--version"]);
        assert!(out.status.success(), "{bin}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(env!("CARGO_PKG_VERSION")),
            "{bin} printed {text:?}"
        );
    }
}

#[test]
fn an_unknown_setting_in_the_config_file_is_refused_by_name_before_any_state_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tuflog.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nmax_batch_entires = 10\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = run(
        env!("CARGO_BIN_EXE_tuflog-server"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("max_batch_entires"),
        "{}",
        stderr(&out)
    );
    assert!(
        !data.exists(),
        "a refused configuration must not create the data directory"
    );
}

#[test]
fn a_monitor_without_the_log_key_is_refused_with_the_flag_named() {
    let out = run(
        env!("CARGO_BIN_EXE_tuflog-monitor"),
        &["--log", "http://127.0.0.1:9"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--log-key"), "{}", stderr(&out));
}

#[test]
fn the_signer_serves_only_with_its_passphrase_and_its_record_of_what_it_signed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("signer");
    let tls = dir.path().join("tls");
    let signer = |args: &[&str], passphrase: &str| {
        Command::new(env!("CARGO_BIN_EXE_tuflog-signer"))
            .args(args)
            .env("TUFLOG_SIGNER_PASSPHRASE", passphrase)
            .output()
            .unwrap()
    };
    let d = data.to_str().unwrap();
    let out = signer(
        &["init", "--data-dir", d, "--origin", "example.com/log"],
        "one",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let vkey = String::from_utf8(out.stdout).unwrap();
    assert!(vkey.starts_with("example.com/log+"), "{vkey}");
    let out = signer(
        &["init", "--data-dir", d, "--origin", "example.com/log"],
        "one",
    );
    assert!(
        !out.status.success(),
        "a second init must not replace the keys"
    );
    let out = signer(
        &["pki", "--out", tls.to_str().unwrap(), "--name", "localhost"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let t = |f: &str| tls.join(f).to_str().unwrap().to_string();
    let serve = [
        "serve",
        "--data-dir",
        d,
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--cert",
        &t("signer.pem"),
        "--key",
        &t("signer.key"),
        "--client-ca",
        &t("ca.pem"),
    ];
    let out = signer(&serve, "two");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(data.join("state")).unwrap();
    let out = signer(&serve, "one");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("holds no record of what it signed"),
        "{}",
        stderr(&out)
    );
}
