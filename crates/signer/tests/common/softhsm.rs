//! A SoftHSM2 token in a temporary directory, initialised with `softhsm2-util` (the
//! distribution's package, which `scripts/setup` installs).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The user PIN of every test token.
pub const PIN: &str = "1234 test pin";

/// The SoftHSM2 module: `TUFLOG_TEST_PKCS11_MODULE`, else where Debian puts it.
pub fn module() -> PathBuf {
    if let Ok(path) = std::env::var("TUFLOG_TEST_PKCS11_MODULE") {
        return path.into();
    }
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("SoftHSM2 is not installed: run scripts/setup")
}

/// Writes a SoftHSM2 configuration keeping tokens under `dir`, and returns its
/// path, for `SOFTHSM2_CONF`.
pub fn config(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    conf
}

/// Initialises a token labelled `label` under the configuration `conf`.
pub fn init_token(conf: &Path, label: &str) {
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", conf)
        .args(["--init-token", "--free", "--label", label])
        .args(["--pin", PIN, "--so-pin", "5678 so pin"])
        .output()
        .expect("softhsm2-util is not installed: run scripts/setup");
    assert!(
        out.status.success(),
        "softhsm2-util: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
