//! Several server instances on one PostgreSQL database: the one holding the
//! sequencer lease integrates, the others follow it, serving the same reads and
//! forwarding pushes (HTTP and gRPC) to it, and one of them takes over when it
//! stops.

use crate::grpc_repos::push_request;
use crate::publisher::{sign, verify_receipt, Publisher};
use crate::util::{get_ok, http, InProcess, ADMIN_TOKEN};
use proto::repo::v1::repository_client::RepositoryClient;
use server::sequencer::Health;
use std::path::Path;
use std::time::{Duration, Instant};
use tuf::keys::KeyKind;

/// The configuration of every instance: the same keys and tokens, one database.
fn config(dir: &Path, url: &str) -> server::Config {
    server::Config {
        database: Some(server::DatabaseConfig {
            url: zeroize::Zeroizing::new(url.to_string()),
            advertise: String::new(),
        }),
        ..InProcess::config_with_keys_here(dir)
    }
}

async fn start(config: server::Config) -> InProcess {
    let srv = tokio::task::spawn_blocking(move || server::Server::open(&config).unwrap())
        .await
        .unwrap();
    InProcess::start_server(srv).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_serves_reads_forwards_pushes_and_takes_over_from_the_sequencer() {
    let cluster = testkit::postgres::Cluster::start().unwrap();
    let url = cluster.create_database("tuflog").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sequencer = start(config(dir.path(), &url)).await;
    let follower = start(config(dir.path(), &url)).await;
    assert_eq!(sequencer.log.health(), Health::Running);
    assert_eq!(follower.log.health(), Health::Following);
    assert_eq!(follower.vkey, sequencer.vkey);
    let ready = get_ok(&http(), &follower.url("/readyz")).await;
    assert!(String::from_utf8_lossy(&ready).contains("following"));

    // A push to the follower is integrated by the sequencer and acknowledged with
    // its receipt; the follower then serves what was pushed, proven.
    let repo = "example.com/app";
    let p = Publisher::new(&follower.url(""), repo, KeyKind::Ed25519).await;
    let created = p.create(&follower.url(""), ADMIN_TOKEN).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let cp = verify_receipt(&follower, repo, &created).await;
    assert!(sequencer.log.latest().size() >= cp.size());
    let deadline = Instant::now() + Duration::from_secs(5);
    while follower.log.latest().size() < cp.size() {
        assert!(
            Instant::now() < deadline,
            "the follower never publishes the push"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let path = format!("/repos/{repo}/metadata/1.targets.json");
    let served = get_ok(&http(), &follower.url(&path)).await;
    assert_eq!(served, get_ok(&http(), &sequencer.url(&path)).await);
    assert!(!served.is_empty());

    // Over gRPC too, trailers and all.
    let mut grpc = RepositoryClient::connect(follower.url("")).await.unwrap();
    let targets = sign(p.targets(2), &[&p.targets_key]);
    let receipt = grpc
        .push(push_request(
            repo,
            Some(ADMIN_TOKEN),
            &[("targets", targets.clone())],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(receipt
        .versions
        .iter()
        .any(|v| v.role == "targets" && v.version == 2));
    let refused = grpc
        .push(push_request(
            repo,
            Some("not a token"),
            &[("targets", targets)],
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused}");

    // The sequencer stops; the follower takes the lease and integrates.
    let stopped = Instant::now();
    sequencer.stop().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while follower.log.health() != Health::Running {
        assert!(Instant::now() < deadline, "{:?}", follower.log.health());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "the follower integrates {:?} after the sequencer stopped",
        stopped.elapsed()
    );
    let pushed = p.push_targets(&follower.url(""), ADMIN_TOKEN, 3).await;
    let after = verify_receipt(&follower, repo, &pushed).await;
    assert!(after.size() > cp.size());
    follower.stop().await;
}
