//! The server's own HTTPS: HTTP/1.1 and gRPC over TLS on its one port, with the
//! certificate an operator configures; clients trust a private CA by a PEM file.

use crate::util::{InProcess, ADMIN_TOKEN};
use client::publish::Workspace;
use client::{Client, ClientConfig, Http};
use proto::log::v1 as pb;
use proto::log::v1::log_client::LogClient;
use rand_core::OsRng;
use tuf::keys::{KeyKind, PrivateKey};

/// A server on `dir` that serves HTTPS with a certificate for 127.0.0.1 from a
/// new CA; the CA's PEM file.
async fn https_server(dir: &std::path::Path) -> (InProcess, std::path::PathBuf) {
    let files = testkit::pki::server_certificate(&["127.0.0.1"])
        .unwrap()
        .write(&dir.join("tls"))
        .unwrap();
    // One instance on its own store whatever the store switch says: instances
    // on a shared database do not serve TLS themselves.
    let srv = InProcess::start_config(server::Config {
        tls: Some(server::tls::TlsFiles {
            cert: files.cert,
            key: files.key,
        }),
        database: None,
        ..InProcess::config(&dir.join("server"))
    })
    .await;
    (srv, files.ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_certificate_publishes_updates_and_answers_grpc_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, ca) = https_server(dir.path()).await;
    let https = format!("https://{}", srv.addr);
    let http = Http::trusting(&ca).unwrap();

    // The whole workflow over HTTPS: create, publish, update.
    let ws = Workspace::open(&dir.path().join("owner"), &https, "example.com/app")
        .unwrap()
        .with_http(http.clone());
    let root = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    let targets = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    ws.init(
        &[("root", &root), ("targets", &targets)],
        1,
        1,
        ADMIN_TOKEN,
        &srv.vkey,
    )
    .await
    .unwrap();
    let artifact = dir.path().join("app.tgz");
    std::fs::write(&artifact, b"release").unwrap();
    ws.add(&artifact, "app.tgz", None).unwrap();
    ws.publish(&[&targets], ADMIN_TOKEN, &srv.vkey)
        .await
        .unwrap();
    let user = Client::new(ClientConfig {
        server: https.clone(),
        log_key: srv.vkey.clone(),
        witnesses: None,
        home: dir.path().join("user"),
        limits: tuf::updater::Limits::default(),
    })
    .with_http(http.clone());
    let report = user.update("example.com/app", None).await.unwrap();
    assert_eq!(report.versions.get("targets"), Some(&2));

    // A monitor follows the log over HTTPS with the CA, and replays what it saw.
    let mut config = monitor::Config::new(&https, srv.vkey.clone());
    config.ca_cert = Some(ca.clone());
    config.evidence_dir = dir.path().join("monitor/evidence");
    let watcher = crate::monitor::monitor_at(config, &dir.path().join("monitor"));
    watcher
        .follow_once(&monitor::follower::NoProgress)
        .await
        .unwrap();
    assert_eq!(watcher.size(), srv.log.latest().size());
    let mut blind = monitor::Config::new(&https, srv.vkey.clone());
    blind.evidence_dir = dir.path().join("blind/evidence");
    let blind = crate::monitor::monitor_at(blind, &dir.path().join("blind"));
    let err = blind
        .follow_once(&monitor::follower::NoProgress)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    // gRPC over TLS (HTTP/2 by ALPN) on the same port.
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(
            std::fs::read(&ca).unwrap(),
        ))
        .domain_name("127.0.0.1");
    let channel = tonic::transport::Channel::from_shared(https.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let cp = LogClient::new(channel)
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cp.size, srv.log.latest().size());

    // A client that does not trust the CA gets nothing; nor does cleartext.
    let err = Http::new()
        .get(&format!("{https}/log/checkpoint"), 4096)
        .await
        .unwrap_err();
    // The reason is in the message, not only "error sending request".
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    let cleartext = Http::new()
        .get(&format!("http://{}/log/checkpoint", srv.addr), 4096)
        .await;
    assert!(cleartext.is_err(), "{cleartext:?}");
    // Each refused handshake is counted.
    let metrics = http
        .get(&format!("{https}/metrics"), 1 << 20)
        .await
        .unwrap()
        .unwrap();
    let metrics = String::from_utf8(metrics).unwrap();
    let refused = metrics
        .lines()
        .find(|l| l.starts_with("tuflog_tls_handshake_failures_total{reason=\"refused\"}"))
        .unwrap();
    let count: u64 = refused.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 2, "{refused}");
    srv.stop().await;
}

/// A server whose certificate is for another name than clients connect to, or
/// that is not the one the client's CA issued: the client refuses it before
/// sending anything, so a push token never reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_server_with_another_certificate_gets_no_push_and_no_trust() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, ca) = https_server(dir.path()).await;
    let other = testkit::pki::server_certificate(&["127.0.0.1"])
        .unwrap()
        .write(&dir.path().join("other"))
        .unwrap();
    // Trusting another CA, and connecting by a name the certificate does not hold.
    let by_name = format!("https://localhost:{}", srv.addr.port());
    for (http, url) in [
        (
            Http::trusting(&other.ca).unwrap(),
            format!("https://{}", srv.addr),
        ),
        (Http::trusting(&ca).unwrap(), by_name),
    ] {
        let ws = Workspace::open(&dir.path().join("owner"), &url, "example.com/app")
            .unwrap()
            .with_http(http);
        let root = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
        let err = ws
            .init(
                &[("root", &root), ("targets", &root)],
                1,
                1,
                ADMIN_TOKEN,
                &srv.vkey,
            )
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("UnknownIssuer") || text.contains("not valid for name"),
            "{text}"
        );
    }
    // Nothing arrived: the log is empty.
    assert_eq!(srv.log.latest().size(), 0);
    srv.stop().await;
}

/// Connections that open and never send a TLS hello hold a handshake slot each
/// until their timeout, and nothing else: a client arriving after them is served
/// at once, well before the first of them times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_connections_that_never_finish_a_handshake_delay_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, ca) = https_server(dir.path()).await;
    let mut idle = Vec::new();
    for _ in 0..64 {
        idle.push(tokio::net::TcpStream::connect(srv.addr).await.unwrap());
    }
    // Half the handshake timeout: served only if no idle connection is waited on.
    let patient = std::time::Duration::from_secs(5);
    assert!(patient < server::tls::TLS_HANDSHAKE_TIMEOUT);
    let http = Http::trusting_with_timeouts(&ca, patient, patient).unwrap();
    let note = http
        .get(&format!("https://{}/log/checkpoint", srv.addr), 4096)
        .await
        .unwrap()
        .unwrap();
    assert!(note.starts_with(b"test.tuflog.dev/log\n"));
    drop(idle);
    srv.stop().await;
}
