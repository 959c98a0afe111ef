//! The `tuflog monitor` binary beside a `tuflog server`: it follows the log, a
//! client gossips its checkpoint to it, and a checkpoint forged with the stolen log
//! key becomes an evidence file that `tuflog log verify-evidence` accepts.

use crate::server_process::{sigterm_and_wait, start, start_labelled};
use crate::witness_process::request;
use crate::{init_example_repo, ok, tuflog_as};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const PASSPHRASE: &str = "monitor test passphrase";

fn tuflog(home: &Path, server: &str, vkey: &str, token: &str, args: &[&str]) -> Output {
    tuflog_as(home, server, vkey, (PASSPHRASE, token), args)
}

#[test]
fn the_monitor_binary_follows_hears_gossip_and_writes_evidence_the_cli_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (server, vkey, server_url) = start(dir.path());
    let token = std::fs::read_to_string(dir.path().join("tuflog-data/admin.token")).unwrap();
    let home = dir.path().join("home");
    let run = |args: &[&str]| tuflog(&home, &server_url, &vkey, token.trim(), args);
    init_example_repo(run);

    let (monitor, found) = start_labelled(
        dir.path(),
        &[
            "monitor",
            "--log",
            &server_url,
            "--log-key",
            &vkey,
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "100ms",
            "--watch",
            "example.com/app",
        ],
        &["gossip"],
    );
    let monitor_url = found[0].trim_end_matches("/gossip/checkpoints").to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let honest = loop {
        let (status, body) = request(&format!("{monitor_url}/gossip/checkpoints"), "GET", b"");
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if let Some(note) = v["checkpoints"][0]["note"].as_str() {
            if note.lines().nth(1) == Some("4") {
                break note.to_string();
            }
        }
        assert!(Instant::now() < deadline, "the monitor caught up: {body}");
        std::thread::sleep(Duration::from_millis(50));
    };

    // A client tells the monitor what it trusts after updating.
    let root_file = home.join("publish/example.com%2Fapp/metadata/root.json");
    let user = dir.path().join("user");
    let out = tuflog(
        &user,
        &server_url,
        &vkey,
        "",
        &[
            "update",
            "example.com/app",
            "--root",
            root_file.to_str().unwrap(),
            "--gossip",
            &monitor_url,
        ],
    );
    let said = ok(out);
    assert!(
        said.contains(&format!("monitor {monitor_url}: consistent")),
        "{said}"
    );
    // Without --root, a first update says on stderr that it trusts the logged
    // root version 1 on first use; a second one has nothing to announce.
    let newcomer = dir.path().join("newcomer");
    for first in [true, false] {
        let out = tuflog(
            &newcomer,
            &server_url,
            &vkey,
            "",
            &["update", "example.com/app"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        ok(out);
        assert_eq!(stderr.contains("trust on first use"), first, "{stderr}");
    }

    // Whoever holds the log key signs another tree of the same size.
    let stolen = tlog::SignerKey::parse(
        std::fs::read_to_string(dir.path().join("tuflog-data/log.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let forged = tlog::Checkpoint::new("localhost/tuflog", 4, tlog::Hash([7; 32]))
        .unwrap()
        .sign(&stolen)
        .unwrap()
        .to_string();
    let (status, reply) = request(
        &format!("{monitor_url}/gossip/checkpoint"),
        "POST",
        forged.as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("\"split_view\""), "{reply}");
    let (_, alerts) = request(&format!("{monitor_url}/alerts"), "GET", b"");
    let alerts: serde_json::Value = serde_json::from_str(&alerts).unwrap();
    assert_eq!(alerts[0]["kind"], "split_view", "{alerts}");
    let evidence = alerts[0]["evidence"].as_str().unwrap().to_string();
    let evidence = dir.path().join(evidence);
    let (_, metrics) = request(&format!("{monitor_url}/metrics"), "GET", b"");
    assert!(
        metrics.contains("tuflog_monitor_alerts_total{kind=\"split_view\"} 1"),
        "{metrics}"
    );

    // Anyone can check the file, offline, with the log key alone.
    let verify = |file: &Path| {
        Command::new(env!("CARGO_BIN_EXE_tuflog"))
            .args(["log", "verify-evidence", file.to_str().unwrap()])
            .env("TUFLOG_HOME", dir.path().join("nobody"))
            .env("TUFLOG_LOG_KEY", &vkey)
            .output()
            .unwrap()
    };
    let said = ok(verify(&evidence));
    assert!(said.contains("split view proven"), "{said}");
    // The honest checkpoint twice proves nothing; a tampered note is refused.
    let text = std::fs::read_to_string(&evidence).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut same = file.clone();
    same["smaller"] = serde_json::Value::String(honest.clone());
    same["larger"] = serde_json::Value::String(honest.clone());
    let same_file = dir.path().join("same.json");
    std::fs::write(&same_file, same.to_string()).unwrap();
    assert!(!verify(&same_file).status.success());
    let tampered = text.replacen("localhost/tuflog\\n4\\n", "localhost/tuflog\\n5\\n", 1);
    assert_ne!(tampered, text);
    let tampered_file = dir.path().join("tampered.json");
    std::fs::write(&tampered_file, tampered).unwrap();
    let out = verify(&tampered_file);
    assert!(!out.status.success());

    assert!(sigterm_and_wait(monitor).success());
    assert!(sigterm_and_wait(server).success());
}
