//! `tuflog-server migrate`: a log on the embedded RocksDB moved into PostgreSQL by
//! the shipped binary, then served from there with the same checkpoint, followed by
//! the clients that trusted it before.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use client::publish::Workspace;
use common::*;
use std::path::Path;
use std::process::Command;
use tlog::VerifierKey;
use tuf::keys::{KeyKind, PrivateKey};

const TOKEN: &str = "migration-test-token";

fn migrate(config: &Path, db: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tuflog-server"))
        .args([
            "migrate",
            "--config",
            config.to_str().unwrap(),
            "--database-url",
            db,
        ])
        .output()
        .unwrap()
}

async fn checkpoint(url: &str) -> String {
    reqwest::get(format!("{url}/log/checkpoint"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_moved_into_postgres_serves_the_same_checkpoint_and_clients_follow() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = testkit::postgres::Cluster::start().unwrap();
    let db = cluster.create_database("tuflog").unwrap();
    let config = dir.path().join("tuflog.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\norigin = \"{ORIGIN}\"\ndata_dir = \"{}\"\n\
             [[tokens]]\nname = \"ci\"\ntoken = \"{TOKEN}\"\nprefixes = [\"\"]\n",
            dir.path().join("server").display()
        ),
    )
    .unwrap();

    // Nothing to move yet, and no database named: both refused by name.
    let out = migrate(&config, &db);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no RocksDB log"));

    let embedded = server(&config);
    let vkey = VerifierKey::parse(&embedded.vkey()).unwrap();
    let url = format!("http://{}", embedded.addr("checkpoint"));
    let publisher = Publisher {
        root: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        targets: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        ws: Workspace::open(&dir.path().join("publisher"), &url, REPO).unwrap(),
    };
    publisher.init(dir.path(), TOKEN, &vkey).await;
    for name in ["two.txt", "three.txt"] {
        publisher
            .publish(dir.path(), name, TOKEN, &vkey)
            .await
            .unwrap();
    }
    let user = user(dir.path(), &url, &vkey);
    let before = user.update(REPO, None).await.unwrap();
    let last = checkpoint(&url).await;
    // A running server's database is refused (RocksDB's lock), as is a
    // configuration without a database.
    let out = migrate(&config, &db);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut embedded = embedded;
    signal(&embedded, "TERM");
    assert!(embedded.child.wait().unwrap().success());
    let out = Command::new(env!("CARGO_BIN_EXE_tuflog-server"))
        .args(["migrate", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("database_url"));

    let out = migrate(&config, &db);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("moved"), "{said}");
    // Moving again into the same database is refused: it is not empty.
    let again = migrate(&config, &db);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a log"));

    // Served from PostgreSQL: the very checkpoint served before the move.
    let on_db = dir.path().join("on-db.toml");
    std::fs::write(
        &on_db,
        std::fs::read_to_string(&config).unwrap().replacen(
            "listen",
            &format!("database_url = \"{db}\"\nlisten"),
            1,
        ),
    )
    .unwrap();
    let moved = server(&on_db);
    assert_eq!(moved.vkey(), vkey.to_string());
    let url = format!("http://{}", moved.addr("checkpoint"));
    assert_eq!(checkpoint(&url).await, last);
    let user = self::user(dir.path(), &url, &vkey);
    assert_eq!(
        user.update(REPO, None).await.unwrap().versions,
        before.versions
    );
    // And it grows on: a push, and the client that trusted the old checkpoint
    // follows to the new one.
    let publisher = Publisher {
        ws: Workspace::open(&dir.path().join("publisher"), &url, REPO).unwrap(),
        ..publisher
    };
    publisher
        .publish(dir.path(), "four.txt", TOKEN, &vkey)
        .await
        .unwrap();
    let after = user.update(REPO, None).await.unwrap();
    assert_eq!(after.versions["targets"], before.versions["targets"] + 1);
    drop(moved);
}
