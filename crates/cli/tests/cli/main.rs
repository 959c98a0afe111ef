//! The `tuflog` and `tuflog-conformance` binaries as users run them: one test binary,
//! modules by subject, regression tests named after their bug.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod conformance;
mod conformance_cases;
mod deploy_local;
mod log_commands;
mod monitor_process;
mod quickstart;
mod server_process;
mod surface;
mod witness_process;

// The in-memory TUF repositories of the workflow tests, written to disk here for
// the conformance client.
#[allow(dead_code)]
#[path = "../../../tuf/tests/workflow/harness.rs"]
mod tuf_harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository checkout, read when the test runs (not when it was compiled: a
/// binary built by another clone sharing CARGO_TARGET_DIR must not use that path).
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../..")
}

/// `tuflog ARGS` as a user with `home`, pinned to `server` and its key `vkey`, with
/// the keystore passphrase and the write token in the environment.
pub fn tuflog_as(
    home: &Path,
    server: &str,
    vkey: &str,
    secrets: (&str, &str),
    args: &[&str],
) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tuflog"))
        .args(args)
        .env("TUFLOG_HOME", home)
        .env("TUFLOG_SERVER", server)
        .env("TUFLOG_LOG_KEY", vkey)
        .env("TUFLOG_PASSPHRASE", secrets.0)
        .env("TUFLOG_TOKEN", secrets.1)
        .output()
        .unwrap()
}

/// Creates `example.com/app` through `run`, with a new root key and a new targets
/// key from its keystore.
pub fn init_example_repo(run: impl Fn(&[&str]) -> Output) {
    let root = ok(run(&["key", "generate"])).trim().to_string();
    let targets = ok(run(&["key", "generate"])).trim().to_string();
    ok(run(&[
        "repo",
        "init",
        "example.com/app",
        "--root-key",
        &root,
        "--targets-key",
        &targets,
    ]));
}

/// The stdout of a command that must have succeeded (its stderr otherwise).
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
