//! Spans exported over OTLP: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, a server's
//! push, its integration, the checkpoint and metadata signatures and the proofs
//! reach a collector; without it, nothing is sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{signal, user, Daemon, Publisher, REPO};
use prost::Message;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tuf::keys::{KeyKind, PrivateKey};

/// An OTLP/HTTP collector on `address` that keeps the name of every span it is sent.
async fn collector(address: &str) -> (String, Arc<Mutex<Vec<String>>>) {
    let names = Arc::new(Mutex::new(Vec::new()));
    let kept = names.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let request = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(body)
                    .expect("an OTLP trace export");
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            kept.lock().unwrap().push(span.name);
                        }
                    }
                }
                ([(axum::http::header::CONTENT_TYPE, "application/x-protobuf")], Vec::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .unwrap_or_else(|e| panic!("a collector on {address}: {e}"));
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, names)
}

/// A server in `dir`, exporting to `endpoint` when given; a repository pushed to
/// it and updated from it, then the server stopped (which flushes its spans).
async fn push_and_update(dir: &Path, endpoint: Option<&str>) {
    let data = dir.join("data");
    let mut envs: Vec<(&str, &Path)> = vec![("OTEL_BSP_SCHEDULE_DELAY", Path::new("100"))];
    if let Some(endpoint) = endpoint {
        envs.push(("OTEL_EXPORTER_OTLP_ENDPOINT", Path::new(endpoint)));
    }
    let mut server = Daemon::start(
        env!("CARGO_BIN_EXE_tuflog-server"),
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &envs,
        "gRPC",
    );
    let url = format!("http://{}", server.addr("checkpoint"));
    let vkey = tlog::VerifierKey::parse(&server.vkey()).unwrap();
    let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let publisher = Publisher {
        root: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        targets: PrivateKey::generate(KeyKind::Ed25519, &mut rand_core::OsRng).unwrap(),
        ws: client::publish::Workspace::open(&dir.join("publisher"), &url, REPO).unwrap(),
    };
    publisher.init(dir, token.trim(), &vkey).await;
    user(dir, &url, &vkey).update(REPO, None).await.unwrap();
    signal(&server, "TERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_collector_receives_the_spans_of_a_push_its_signatures_and_proofs() {
    let (endpoint, names) = collector("127.0.0.1:0").await;
    let dir = tempfile::tempdir().unwrap();
    push_and_update(dir.path(), Some(&endpoint)).await;
    let names = names.lock().unwrap().clone();
    for span in [
        "push",
        "integrate",
        "sign_checkpoint",
        "sign_metadata",
        "inclusion_proof",
        "http",
    ] {
        assert!(
            names.iter().any(|n| n == span),
            "no {span} span among {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_collector_configured_nothing_is_exported() {
    // A collector where an exporter sends by default (OTLP/HTTP on localhost),
    // which the server is not told of.
    let (_, names) = collector("127.0.0.1:4318").await;
    let dir = tempfile::tempdir().unwrap();
    push_and_update(dir.path(), None).await;
    assert!(names.lock().unwrap().is_empty());
}
