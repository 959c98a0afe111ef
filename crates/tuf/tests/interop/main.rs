//! Interop with python-tuf, the reference implementation, in both directions:
//! repositories python-tuf writes must pass our client workflow, and repositories we
//! write must pass python-tuf's client (ngclient), which checks everything its
//! Metadata API checks and the whole update workflow besides.
//!
//! python-tuf comes from PyPI through `scripts/python-env`, which this test runs
//! itself, so a fresh machine needs only Python 3 with venv.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use rand_core::OsRng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use tuf::editor::{bump, new_root, new_targets, next_snapshot, next_timestamp};
use tuf::metadata::Expires;
use tuf::updater::{encode_role_name, verify_target, Limits, Response, Updater};
use tuf::{KeyKind, Metadata, PrivateKey, Targets};

/// The package directory, read when the test runs: a test binary built in another
/// clone sharing `CARGO_TARGET_DIR` (CI's clean clone) would otherwise look for its
/// files in that clone, gone by now.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn repo_root() -> PathBuf {
    manifest_dir().join("../..")
}

fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let out = Command::new(repo_root().join("scripts/python-env"))
            .output()
            .expect("scripts/python-env runs (it needs python3 with venv: see scripts/setup)");
        assert!(
            out.status.success(),
            "scripts/python-env failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

fn pytuf(args: &[&str]) -> String {
    let script = manifest_dir().join("tests/interop/pytuf.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pytuf.py {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs our updater over a repository laid out on disk and verifies each target.
fn our_client_accepts(dir: &Path, targets: &[String]) {
    let meta = dir.join("metadata");
    let serve = |path: &str| match std::fs::read(meta.join(path)) {
        Ok(b) => Response::Bytes(b.into()),
        Err(_) => Response::NotFound,
    };
    let initial = std::fs::read(meta.join("1.root.json")).unwrap();
    let mut u = Updater::new(&initial, chrono::Utc::now(), Limits::default()).unwrap();
    while let Some(req) = u.next_request().unwrap() {
        u.handle(serve(&req.path)).unwrap();
    }
    for t in targets {
        u.start_lookup(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        while let Some(req) = u.next_request().unwrap() {
            u.handle(serve(&req.path))
                .unwrap_or_else(|e| panic!("{t}: {e}"));
        }
        let (_, info) = u.found_target().unwrap();
        let info = info.clone();
        let download = u.target_download_path(t, &info);
        let bytes = std::fs::read(dir.join("targets").join(&download)).unwrap();
        verify_target(t, &info, &bytes).unwrap();
    }
}

fn python_scenario(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let targets: Vec<String> = pytuf(&["write", name, dir.path().to_str().unwrap()])
        .lines()
        .map(String::from)
        .collect();
    assert!(!targets.is_empty());
    our_client_accepts(dir.path(), &targets);
}

#[test]
fn python_tuf_repository_with_every_key_type() {
    python_scenario("all-key-types");
}

#[test]
fn python_tuf_repository_with_nested_delegations_and_hash_prefixes() {
    python_scenario("delegations");
}

#[test]
fn python_tuf_repository_with_succinct_hash_bins() {
    python_scenario("hash-bins");
}

#[test]
fn python_tuf_repository_with_root_rotations() {
    python_scenario("root-rotations");
}

fn far() -> Expires {
    Expires(chrono::Utc::now() + chrono::Duration::days(365))
}

/// Writes a repository with our editor, in the layout a server serves.
fn write_our_repository(dir: &Path) -> Vec<String> {
    let meta = dir.join("metadata");
    let tdir = dir.join("targets");
    std::fs::create_dir_all(&meta).unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(meta.join(name), bytes).unwrap();
    let gen = |k| PrivateKey::generate(k, &mut OsRng).unwrap();

    let root_keys = [
        gen(KeyKind::Ed25519),
        gen(KeyKind::EcdsaP256),
        gen(KeyKind::RsaPss),
    ];
    let targets_key = gen(KeyKind::EcdsaP384);
    let snapshot_key = gen(KeyKind::Ed25519);
    let timestamp_key = gen(KeyKind::EcdsaP256);
    let mut root = new_root(far(), true);
    for k in &root_keys {
        root.add_key("root", k.public()).unwrap();
    }
    root.set_threshold("root", 2).unwrap();
    root.add_key("targets", targets_key.public()).unwrap();
    root.add_key("snapshot", snapshot_key.public()).unwrap();
    root.add_key("timestamp", timestamp_key.public()).unwrap();
    let v1 = Metadata::sign_new(root.clone(), &[&root_keys[0], &root_keys[2]], &mut OsRng).unwrap();
    write("1.root.json", v1.bytes());
    // Rotate: drop the RSA root key, signed by old and new thresholds.
    let new_key = gen(KeyKind::Ed25519);
    let mut root2 = root;
    bump(&mut root2, far());
    root2.remove_key("root", root_keys[2].key_id()).unwrap();
    root2.add_key("root", new_key.public()).unwrap();
    let v2 =
        Metadata::sign_new(root2, &[&root_keys[0], &root_keys[1], &new_key], &mut OsRng).unwrap();
    write("2.root.json", v2.bytes());

    let nested_key = gen(KeyKind::Ed25519);
    let up_key = gen(KeyKind::Ed25519);
    let mut targets = new_targets(far());
    let files: Vec<(String, Vec<u8>)> = vec![
        ("top.txt".into(), b"top".to_vec()),
        ("team/app.tgz".into(), b"delegated".to_vec()),
        ("up/x.txt".into(), b"from ../x".to_vec()),
    ];
    targets
        .add_target(&files[0].0, &files[0].1, Some(serde_json::json!({"x": 1})))
        .unwrap();
    targets
        .add_delegation(
            "team/one",
            &[nested_key.public()],
            1,
            vec!["team/*".into()],
            true,
        )
        .unwrap();
    // A role name that is a relative path: its file is "..%2Fx" everywhere.
    targets
        .add_delegation("../x", &[up_key.public()], 1, vec!["up/*".into()], false)
        .unwrap();
    targets
        .unknown
        .insert("x-tuflog".into(), serde_json::json!("kept"));
    let targets = Metadata::sign_new(targets, &[&targets_key], &mut OsRng).unwrap();
    let mut team: Targets = new_targets(far());
    team.add_target(&files[1].0, &files[1].1, None).unwrap();
    let team = Metadata::sign_new(team, &[&nested_key], &mut OsRng).unwrap();
    let mut up: Targets = new_targets(far());
    up.add_target(&files[2].0, &files[2].1, None).unwrap();
    let up = Metadata::sign_new(up, &[&up_key], &mut OsRng).unwrap();
    write("1.targets.json", targets.bytes());
    write(
        &format!("1.{}.json", encode_role_name("team/one")),
        team.bytes(),
    );
    assert_eq!(encode_role_name("../x"), "..%2Fx");
    write("1...%2Fx.json", up.bytes());
    let snapshot = Metadata::sign_new(
        next_snapshot(
            None,
            &[("targets", &targets), ("team/one", &team), ("../x", &up)],
            far(),
        ),
        &[&snapshot_key],
        &mut OsRng,
    )
    .unwrap();
    write("1.snapshot.json", snapshot.bytes());
    let timestamp = Metadata::sign_new(
        next_timestamp(None, &snapshot, far()),
        &[&timestamp_key],
        &mut OsRng,
    )
    .unwrap();
    write("timestamp.json", timestamp.bytes());
    for (path, data) in &files {
        let info = match path.as_str() {
            "top.txt" => &targets,
            "up/x.txt" => &up,
            _ => &team,
        }
        .signed()
        .targets
        .get(path)
        .expect("the target is listed");
        let hash = info.hashes.get("sha256").expect("python-tuf lists sha256");
        let (d, base) = path.rsplit_once('/').unwrap_or(("", path));
        let name = if d.is_empty() {
            format!("{hash}.{base}")
        } else {
            format!("{d}/{hash}.{base}")
        };
        let full = tdir.join(name);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, data).unwrap();
    }
    files.into_iter().map(|(p, _)| p).collect()
}

#[test]
fn our_repository_passes_python_tuf_client_and_ours() {
    let dir = tempfile::tempdir().unwrap();
    let targets = write_our_repository(dir.path());
    let mut args = vec!["client", dir.path().to_str().unwrap()];
    args.extend(targets.iter().map(String::as_str));
    let out = pytuf(&args);
    assert!(out.contains("verified 3 target(s)"), "{out}");
    our_client_accepts(dir.path(), &targets);
}

#[test]
fn python_tuf_rejects_our_repository_when_a_signature_is_corrupted() {
    // The positive test above proves nothing unless python-tuf can say no.
    let dir = tempfile::tempdir().unwrap();
    let targets = write_our_repository(dir.path());
    let path = dir.path().join("metadata/1.targets.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let sig = v["signatures"][0]["sig"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        &sig[..10],
        if &sig[10..11] == "0" { "1" } else { "0" }
    ) + &sig[11..];
    v["signatures"][0]["sig"] = serde_json::Value::String(flipped);
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let script = manifest_dir().join("tests/interop/pytuf.py");
    let status = Command::new(python())
        .arg(script)
        .arg("client")
        .arg(dir.path())
        .args(&targets)
        .output()
        .unwrap()
        .status;
    assert!(!status.success());
}
