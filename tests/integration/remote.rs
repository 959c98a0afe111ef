//! The harness switch `TUFLOG_TEST_SIGNER=remote`: each data directory a server is
//! started on gets a signer of its own (the signer library, as `tuflog signer
//! serve` runs it, over mutual TLS on loopback, with its own runtime and its own
//! thread), created on first use and kept for the rest of the test binary, so a
//! server restarted on the same directory reaches the same signer and its memory.

use signer::keys::{KeyHolder, Passphrase, SealedKeys};
use signer::pki::Ca;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Whether servers started by the harness sign through a separate signer.
pub fn enabled() -> bool {
    std::env::var("TUFLOG_TEST_SIGNER").is_ok_and(|v| v == "remote")
}

fn signers() -> &'static Mutex<HashMap<PathBuf, server::remote_signer::RemoteSignerConfig>> {
    static SIGNERS: OnceLock<Mutex<HashMap<PathBuf, server::remote_signer::RemoteSignerConfig>>> =
        OnceLock::new();
    SIGNERS.get_or_init(Default::default)
}

/// The `[signer]` settings for a server on `dir` whose log is `origin`, when the
/// switch is on; the signer is started the first time `dir` is seen.
pub fn signer_for(dir: &Path, origin: &str) -> Option<server::remote_signer::RemoteSignerConfig> {
    if !enabled() {
        return None;
    }
    let mut signers = signers().lock().unwrap();
    if let Some(c) = signers.get(dir) {
        return Some(c.clone());
    }
    let config = start(dir, origin);
    signers.insert(dir.to_path_buf(), config.clone());
    Some(config)
}

/// Where a server's signer keeps its files: beside the data directory, never in it.
fn signer_dir(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".signer");
    dir.with_file_name(name)
}

fn start(dir: &Path, origin: &str) -> server::remote_signer::RemoteSignerConfig {
    let home = signer_dir(dir);
    std::fs::create_dir_all(&home).unwrap();
    let write = |name: &str, text: &str| {
        let path = home.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let ca = Ca::new("tuflog test CA", 2).unwrap();
    let signer_cert = ca
        .issue_for_days(&["localhost".into(), "127.0.0.1".into()], false, 2)
        .unwrap();
    let client = ca
        .issue_for_days(&["tuflog-server".into()], true, 2)
        .unwrap();
    let tls = signer::TlsFiles {
        cert: write("signer.pem", &signer_cert.cert_pem),
        key: write("signer.key", &signer_cert.key_pem),
        client_ca: write("ca.pem", &ca.cert_pem),
    };
    let keys = SealedKeys::create(
        &home.join("keys.sealed"),
        origin,
        &Passphrase::Given(zeroize::Zeroizing::new("test passphrase".into())),
        edge::sealed::KdfParams::dangerous_low_cost(),
    )
    .unwrap();
    let keys: Arc<dyn KeyHolder> = Arc::new(keys);
    let state = Arc::new(store::memory::MemoryKv::default());
    signer::guard::Guard::new(state.clone(), origin)
        .adopt_checkpoint(0, &tlog::EMPTY_ROOT)
        .unwrap();
    let signer = signer::Signer::new(state, keys, &tls, vec![]).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    // Its own runtime on its own thread: it outlives every test's runtime, as a
    // separate process would.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            signer.run(listener, std::future::pending()).await.unwrap();
        });
    });
    server::remote_signer::RemoteSignerConfig {
        url: format!("https://{addr}"),
        ca_cert: home.join("ca.pem"),
        client_cert: write("server.pem", &client.cert_pem),
        client_key: write("server.key", &client.key_pem),
        server_name: None,
        timeout: server::remote_signer::RemoteSignerConfig::DEFAULT_TIMEOUT,
    }
}
