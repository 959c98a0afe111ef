//! `tuflog log prove`, `tuflog log verify` and `tuflog repo publish --proofs`
//! against the real binaries: a proof fetched online can be re-checked offline, and
//! only for the exact bytes it names.

use crate::server_process::{sigterm_and_wait, start};
use crate::{init_example_repo, ok, tuflog_as};
use std::path::Path;
use std::process::Output;

/// `tuflog` with this test's passphrase and the server's admin token.
fn tuflog(home: &Path, server: &str, vkey: &str, token: &str, args: &[&str]) -> Output {
    tuflog_as(
        home,
        server,
        vkey,
        ("log-commands test passphrase", token),
        args,
    )
}

#[test]
fn a_proof_fetched_online_verifies_offline_for_the_exact_bytes_only() {
    let dir = tempfile::tempdir().unwrap();
    let (child, vkey, server) = start(dir.path());
    let token = std::fs::read_to_string(dir.path().join("tuflog-data/admin.token")).unwrap();
    let home = dir.path().join("home");
    let run = |args: &[&str]| tuflog(&home, &server, &vkey, token.trim(), args);
    init_example_repo(run);

    let proved = ok(run(&[
        "--output",
        "json",
        "log",
        "prove",
        "example.com/app",
        "targets",
        "1",
    ]));
    let report: serde_json::Value = serde_json::from_str(&proved).unwrap();
    assert_eq!(report["index"], 1);
    let bundle = dir.path().join("bundle.json");
    std::fs::write(&bundle, &proved).unwrap();
    let metadata = home.join("publish/example.com%2Fapp/metadata/targets.json");
    let verify = |file: &Path, version: &str| {
        run(&[
            "log",
            "verify",
            "--bundle",
            bundle.to_str().unwrap(),
            "--metadata",
            file.to_str().unwrap(),
            "--repo",
            "example.com/app",
            "--role",
            "targets",
            "--version",
            version,
        ])
    };
    let out = ok(verify(&metadata, "1"));
    assert!(out.starts_with("verified:"), "{out}");

    let tampered = dir.path().join("tampered.json");
    let mut bytes = std::fs::read(&metadata).unwrap();
    bytes.push(b'\n');
    std::fs::write(&tampered, bytes).unwrap();
    let out = verify(&tampered, "1");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not describe these bytes"));
    assert!(!verify(&metadata, "2").status.success(), "another version");

    // The same version as a C2SP tlog-proof: printed once it verifies, then
    // checked offline from the file alone; exit 1 for any other bytes.
    let proof_text = ok(run(&[
        "log",
        "prove",
        "example.com/app",
        "targets",
        "1",
        "--format",
        "tlog-proof",
    ]));
    assert!(
        proof_text.starts_with("c2sp.org/tlog-proof@v1\n"),
        "{proof_text}"
    );
    let proof = dir.path().join("targets.json.tlog-proof");
    std::fs::write(&proof, &proof_text).unwrap();
    let check = |file: &Path| {
        run(&[
            "log",
            "verify",
            proof.to_str().unwrap(),
            "--metadata",
            file.to_str().unwrap(),
        ])
    };
    let out = ok(check(&metadata));
    assert!(out.contains("example.com/app targets v1"), "{out}");
    let refused = check(&tampered);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("does not describe this file"));
    // A flipped bit anywhere in the proof is refused too.
    let mut flipped = proof_text.clone().into_bytes();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 1;
    std::fs::write(&proof, flipped).unwrap();
    assert_eq!(check(&metadata).status.code(), Some(1));
    // Bad usage is 2: a proof file and a bundle at once.
    let both = run(&[
        "log",
        "verify",
        proof.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--metadata",
        metadata.to_str().unwrap(),
    ]);
    assert_eq!(both.status.code(), Some(2));

    assert!(sigterm_and_wait(child).success());
}

#[test]
fn publish_with_proofs_writes_each_logged_file_with_a_tlog_proof_that_verifies_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (child, vkey, server) = start(dir.path());
    let token = std::fs::read_to_string(dir.path().join("tuflog-data/admin.token")).unwrap();
    let home = dir.path().join("home");
    let run = |args: &[&str]| tuflog(&home, &server, &vkey, token.trim(), args);
    init_example_repo(run);
    let artifact = dir.path().join("app.tar");
    std::fs::write(&artifact, b"release 1").unwrap();
    ok(run(&[
        "repo",
        "add",
        "example.com/app",
        artifact.to_str().unwrap(),
    ]));
    let release = dir.path().join("release");
    let out = ok(run(&[
        "--output",
        "json",
        "repo",
        "publish",
        "example.com/app",
        "--proofs",
        release.to_str().unwrap(),
    ]));
    let receipt: serde_json::Value = serde_json::from_str(&out).unwrap();
    let written = receipt["proofs"].as_array().unwrap();
    // Every version the push logged: targets 2 and the snapshot and timestamp the
    // server signed for it.
    let mut names: Vec<String> = std::fs::read_dir(&release)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "2.snapshot.json",
            "2.snapshot.json.tlog-proof",
            "2.targets.json",
            "2.targets.json.tlog-proof",
            "2.timestamp.json",
            "2.timestamp.json.tlog-proof",
        ]
    );
    assert_eq!(written.len(), 3);
    // The targets file is the one the workspace signed and pushed, byte for byte.
    assert_eq!(
        std::fs::read(release.join("2.targets.json")).unwrap(),
        std::fs::read(home.join("publish/example.com%2Fapp/metadata/targets.json")).unwrap()
    );
    let check = |proof: &Path, file: &Path| {
        run(&[
            "log",
            "verify",
            proof.to_str().unwrap(),
            "--metadata",
            file.to_str().unwrap(),
        ])
    };
    for role in ["targets", "snapshot", "timestamp"] {
        let file = release.join(format!("2.{role}.json"));
        let proof = release.join(format!("2.{role}.json.tlog-proof"));
        assert!(written.contains(&serde_json::json!(proof)));
        let out = ok(check(&proof, &file));
        assert!(out.contains(&format!("example.com/app {role} v2")), "{out}");
    }
    // A proof does not vouch for another of the files beside it.
    let crossed = check(
        &release.join("2.targets.json.tlog-proof"),
        &release.join("2.snapshot.json"),
    );
    assert_eq!(crossed.status.code(), Some(1));

    // A different file already under a version's name is kept, and the command
    // says the push went through but the proofs were not all written.
    std::fs::write(release.join("3.targets.json"), b"not what was logged").unwrap();
    std::fs::write(&artifact, b"release 2").unwrap();
    ok(run(&[
        "repo",
        "add",
        "example.com/app",
        artifact.to_str().unwrap(),
    ]));
    let refused = run(&[
        "repo",
        "publish",
        "example.com/app",
        "--proofs",
        release.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is published"), "{stderr}");
    assert!(stderr.contains("exists with other bytes"), "{stderr}");
    assert_eq!(
        std::fs::read(release.join("3.targets.json")).unwrap(),
        b"not what was logged"
    );
    assert!(!release.join("3.targets.json.tlog-proof").exists());
    // The push itself landed: version 3 proves online.
    ok(run(&["log", "prove", "example.com/app", "targets", "3"]));

    assert!(sigterm_and_wait(child).success());
}
