//! python-tuf's client (PyPI `tuf`, ngclient) against the server: it refreshes from
//! the server's metadata URL and downloads targets, for repositories signed with
//! ed25519 and with ECDSA keys, before and after a push, and from a delegated role
//! whose name is a relative path (`../x`).

use crate::publisher::{push, sign, verify_receipt, Publisher};
use crate::util::{get_ok, http, InProcess, ADMIN_TOKEN};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use tuf::keys::KeyKind;

/// The package directory, read when the test runs: a test binary built in another
/// clone sharing `CARGO_TARGET_DIR` (CI's clean clone) would otherwise look for its
/// files in that clone, gone by now.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn repo_root() -> PathBuf {
    manifest_dir().join("..")
}

/// The pinned python-tuf environment, created by `scripts/python-env` on first use.
fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let out = Command::new(repo_root().join("scripts/python-env"))
            .output()
            .expect("scripts/python-env runs (python3 with venv: scripts/setup)");
        assert!(
            out.status.success(),
            "scripts/python-env failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// Writes a target under its plain and its hash-prefixed name (consistent
/// snapshots), as a target server would hold it.
fn put_target(dir: &Path, name: &str, contents: &[u8]) {
    let hash = hex::encode(Sha256::digest(contents));
    let (subdir, base) = name.rsplit_once('/').unwrap_or(("", name));
    std::fs::create_dir_all(dir.join(subdir)).unwrap();
    std::fs::write(dir.join(name), contents).unwrap();
    std::fs::write(dir.join(subdir).join(format!("{hash}.{base}")), contents).unwrap();
}

fn python_client(
    srv: &InProcess,
    repo: &str,
    root: &Path,
    targets: &Path,
    work: &Path,
    want: &[&str],
) {
    let script = manifest_dir().join("support/pytuf_http_client.py");
    let out = Command::new(python())
        .arg(script)
        .arg(srv.url(&format!("/repos/{repo}/metadata/")))
        .arg(root)
        .arg(targets)
        .arg(work)
        .args(want)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python-tuf refused {repo}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for t in want {
        let got = std::fs::read(work.join("downloads").join(t.replace('/', "%2F")))
            .or_else(|_| std::fs::read(work.join("downloads").join(t)))
            .unwrap();
        assert_eq!(got, std::fs::read(targets.join(t)).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_tuf_updates_from_the_server_with_ed25519_and_ecdsa_keys() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(&dir.path().join("server")).await;
    let base = srv.url("");
    for (repo, kind) in [
        ("interop.example/ed25519", KeyKind::Ed25519),
        ("interop.example/ecdsa", KeyKind::EcdsaP256),
    ] {
        let work = dir.path().join(repo.replace('/', "_"));
        let targets = work.join("targets");
        std::fs::create_dir_all(&targets).unwrap();
        let p = Publisher::new(&base, repo, kind).await;
        verify_receipt(&srv, repo, &p.create(&base, ADMIN_TOKEN).await).await;
        put_target(&targets, "app-v1.tgz", b"app 1");
        let root = work.join("root.json");
        std::fs::write(
            &root,
            get_ok(
                &http(),
                &srv.url(&format!("/repos/{repo}/metadata/1.root.json")),
            )
            .await,
        )
        .unwrap();
        python_client(
            &srv,
            repo,
            &root,
            &targets,
            &work.join("first"),
            &["app-v1.tgz"],
        );

        // A push, then the same client state refreshes to it.
        let reply = p.push_targets(&base, ADMIN_TOKEN, 2).await;
        verify_receipt(&srv, repo, &reply).await;
        put_target(&targets, "app-v2.tgz", b"app 2");
        python_client(
            &srv,
            repo,
            &root,
            &targets,
            &work.join("first"),
            &["app-v2.tgz"],
        );

        // A delegated role named "../x": pushed as "..%2Fx.json", served as
        // "{n}...%2Fx.json", and kept by python-tuf in its own metadata directory.
        let mut targets_v3 = p.targets(3);
        targets_v3
            .add_delegation(
                "../x",
                &[p.team_key.public()],
                1,
                vec!["up/*".into()],
                false,
            )
            .unwrap();
        let reply = push(
            &base,
            repo,
            ADMIN_TOKEN,
            &[
                ("targets.json", &sign(targets_v3, &[&p.targets_key])),
                ("..%2Fx.json", &sign(p.team(1, "up/x.tgz"), &[&p.team_key])),
            ],
        )
        .await;
        verify_receipt(&srv, repo, &reply).await;
        put_target(&targets, "up/x.tgz", b"team file");
        python_client(
            &srv,
            repo,
            &root,
            &targets,
            &work.join("first"),
            &["up/x.tgz"],
        );
        let kept: Vec<String> = std::fs::read_dir(work.join("first"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(kept.contains(&"..%2Fx.json".to_string()), "{kept:?}");
    }
    srv.stop().await;
}
