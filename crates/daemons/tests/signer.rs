//! The server with its keys in a separate `tuflog-signer` process, both started as
//! an operator starts them: an embedded log moved into the signer, pushes and
//! verified updates across the move, a data directory with no private key left,
//! and a signer that goes away and comes back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use client::publish::Workspace;
use common::*;
use std::process::Command;
use tlog::VerifierKey;
use tuf::keys::{KeyKind, PrivateKey};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_log_moves_into_the_signer_and_the_server_keeps_no_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let embedded = dir.path().join("embedded.toml");
    std::fs::write(
        &embedded,
        format!(
            "listen = \"127.0.0.1:0\"\norigin = \"{ORIGIN}\"\ndata_dir = \"{}\"\n",
            data.display()
        ),
    )
    .unwrap();

    // An embedded server, as `tuflog server` runs with no signer, takes a first push.
    let mut first = server(&embedded);
    let vkey = VerifierKey::parse(&first.vkey()).unwrap();
    let url = format!("http://{}", first.addr("checkpoint"));
    let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let token = token.trim();
    let ws = Workspace::open(&dir.path().join("publisher"), &url, REPO).unwrap();
    let publisher = Publisher {
        root: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        targets: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        ws,
    };
    publisher.init(dir.path(), token, &vkey).await;
    let user = self::user(dir.path(), &url, &vkey);
    let before = user.update(REPO, None).await.unwrap();
    first.kill();

    // The keys move into the signer; the server's copies are deleted.
    let secrets: Vec<Vec<u8>> = ["log.key", "online.seed"]
        .iter()
        .map(|f| std::fs::read(data.join(f)).unwrap())
        .collect();
    let signer_data = dir.path().join("signer");
    let out = signer_cmd(&[
        "import",
        "--data-dir",
        signer_data.to_str().unwrap(),
        "--from",
        data.to_str().unwrap(),
    ]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        vkey.to_string()
    );
    std::fs::remove_file(data.join("log.key")).unwrap();
    std::fs::remove_file(data.join("online.seed")).unwrap();
    let pki = dir.path().join("pki");
    self::pki(&pki);
    use std::os::unix::fs::PermissionsExt;
    for key in ["signer.key", "server.key"] {
        let mode = std::fs::metadata(pki.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }

    let mut sig = signer(&signer_data, &pki, "127.0.0.1:0");
    assert_eq!(sig.vkey(), vkey.to_string());
    let signer_addr = sig.addr("listening");
    let with_signer = dir.path().join("with-signer.toml");
    std::fs::write(&with_signer, server_config(&data, signer_addr, &pki, &pki)).unwrap();
    let srv = server(&with_signer);
    assert_eq!(srv.vkey(), vkey.to_string());
    let url = format!("http://{}", srv.addr("checkpoint"));
    let publisher = Publisher {
        ws: Workspace::open(&dir.path().join("publisher"), &url, REPO).unwrap(),
        ..publisher
    };
    publisher
        .publish(dir.path(), "two.txt", token, &vkey)
        .await
        .unwrap();

    // The client that trusted the embedded log's checkpoint moves on, with a
    // consistency proof, to one the signer signed.
    let user = self::user(dir.path(), &url, &vkey);
    let after = user.update(REPO, None).await.unwrap();
    assert_eq!(after.versions["targets"], before.versions["targets"] + 1);
    assert!(after.checkpoint.unwrap().size > before.checkpoint.unwrap().size);

    // Nothing in the server's data directory holds a private key.
    assert!(!data.join("log.key").exists() && !data.join("online.seed").exists());
    for file in files_under(&data) {
        let bytes = std::fs::read(&file).unwrap();
        for secret in &secrets {
            let text = String::from_utf8(secret.clone()).unwrap();
            assert!(
                !contains(&bytes, text.trim().as_bytes()),
                "{}",
                file.display()
            );
        }
        assert!(!contains(&bytes, b"PRIVATE"), "{}", file.display());
    }

    // The signer goes away: pushes are refused as unavailable, reads go on, no
    // checkpoint is published.
    let http = reqwest::Client::new();
    let checkpoint = http
        .get(format!("{url}/log/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    sig.kill();
    let err = publisher
        .publish(dir.path(), "three.txt", token, &vkey)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    let read = http
        .get(format!("{url}/repos/{REPO}/metadata/timestamp.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let now = http
        .get(format!("{url}/log/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(now, checkpoint);
    let ready = http.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // Back on the same address, the server resumes by itself.
    let _sig = signer(&signer_data, &pki, &signer_addr.to_string());
    let mut pushed = Err(String::new());
    for _ in 0..50 {
        pushed = publisher
            .publish(dir.path(), "three.txt", token, &vkey)
            .await
            .map_err(|e| e.to_string());
        if pushed.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    pushed.unwrap();
    let last = user.update(REPO, None).await.unwrap();
    assert_eq!(last.versions["targets"], after.versions["targets"] + 1);
    drop(srv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_whose_keys_are_on_a_token_pushes_and_updates_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let conf = softhsm::config(dir.path());
    softhsm::init_token(&conf, "tuflog");
    let envs = [("SOFTHSM2_CONF", conf.as_path())];
    let module = softhsm::module();
    let signer_data = dir.path().join("signer");
    let out = signer_cmd_with(
        &[
            "init",
            "--data-dir",
            signer_data.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--pkcs11-module",
            module.to_str().unwrap(),
            "--token",
            "tuflog",
        ],
        &envs,
    );
    let vkey = VerifierKey::parse(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    // The keys are on the token: nothing private in the signer's directory either.
    assert!(signer_data.join("token.json").exists());
    assert!(!signer_data.join("keys.sealed").exists());
    for file in files_under(&signer_data) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, b"PRIVATE"), "{}", file.display());
    }
    let pki = dir.path().join("pki");
    self::pki(&pki);
    let sig = signer_with(&signer_data, &pki, "127.0.0.1:0", &envs);
    assert_eq!(sig.vkey(), vkey.to_string());
    let signer_addr = sig.addr("listening");

    // A server holding a client certificate from another CA is refused by the
    // signer, and so does not start.
    let foreign = dir.path().join("foreign-pki");
    self::pki(&foreign);
    let refused = dir.path().join("refused.toml");
    let refused_data = dir.path().join("refused");
    std::fs::write(
        &refused,
        server_config(&refused_data, signer_addr, &pki, &foreign),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tuflog-server"))
        .args(["--config", refused.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("signer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let data = dir.path().join("server");
    let config = dir.path().join("server.toml");
    std::fs::write(&config, server_config(&data, signer_addr, &pki, &pki)).unwrap();
    let srv = server(&config);
    assert_eq!(srv.vkey(), vkey.to_string());
    let url = format!("http://{}", srv.addr("checkpoint"));
    let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let token = token.trim();
    let publisher = Publisher {
        root: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        targets: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        ws: Workspace::open(&dir.path().join("publisher"), &url, REPO).unwrap(),
    };
    publisher.init(dir.path(), token, &vkey).await;
    let user = self::user(dir.path(), &url, &vkey);
    let first = user.update(REPO, None).await.unwrap();
    publisher
        .publish(dir.path(), "two.txt", token, &vkey)
        .await
        .unwrap();
    let second = user.update(REPO, None).await.unwrap();
    assert_eq!(second.versions["targets"], first.versions["targets"] + 1);
    assert!(second.checkpoint.unwrap().size > first.checkpoint.unwrap().size);
    assert!(!data.join("log.key").exists() && !data.join("online.seed").exists());
    for file in files_under(&data) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, b"PRIVATE"), "{}", file.display());
    }
    drop(srv);
}
