//! What the CLI offers besides its commands: help, completions, the man page.

use std::process::Command;

fn tuflog(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tuflog"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tuflog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_and_the_man_page_cover_every_command() {
    let commands = ["server", "key", "repo", "update", "download", "log"];
    let bash = tuflog(&["completions", "bash"]);
    let man = tuflog(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH tuflog"),
        "{}",
        &man[..man.len().min(200)]
    );
    let help = tuflog(&["--help"]);
    for c in commands {
        assert!(bash.contains(c), "bash completion lacks {c}");
        assert!(man.contains(c), "man page lacks {c}");
        assert!(help.contains(c), "--help lacks {c}");
    }
    for sub in [
        "generate", "import", "export", "init", "publish", "delegate", "rotate",
    ] {
        assert!(bash.contains(sub), "bash completion lacks {sub}");
    }
    assert!(tuflog(&["completions", "zsh"]).contains("#compdef tuflog"));
}

#[test]
fn a_passphrase_is_never_a_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_tuflog"))
        .args(["key", "generate", "--passphrase", "secret"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let help = tuflog(&["key", "generate", "--help"]);
    assert!(help.contains("--passphrase-file"));
    assert!(!help.contains("--passphrase "), "{help}");
}

#[test]
fn regression_tuflog_server_without_its_daemon_beside_it_says_what_is_missing() {
    // `tuflog` alone, as an operator who copied one binary would have it.
    let dir = tempfile::tempdir().unwrap();
    let lone = dir.path().join("tuflog");
    std::fs::copy(env!("CARGO_BIN_EXE_tuflog"), &lone).unwrap();
    let out = Command::new(&lone)
        .args(["server", "--help"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tuflog-server is not installed beside") && err.contains("tuflog-daemons"),
        "{err}"
    );
}
