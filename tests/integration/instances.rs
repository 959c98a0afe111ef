//! Several server instances on one PostgreSQL database: the one holding the
//! sequencer lease integrates, the others follow it, serving the same reads and
//! forwarding pushes (HTTP and gRPC) to it, and one of them takes over when it
//! stops. With a witness policy, every instance serves only cosigned checkpoints.

use crate::grpc_repos::push_request;
use crate::publisher::{sign, verify_receipt, Publisher};
use crate::util::{get_ok, http, InProcess, ADMIN_TOKEN};
use crate::witness::{policy_of, Served};
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
    let integrating = |instance: &InProcess| {
        let url = instance.url("/metrics");
        async move {
            let text = String::from_utf8(get_ok(&http(), &url).await).unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix("tuflog_sequencer_integrating "))
                .map(str::to_string)
        }
    };
    assert_eq!(integrating(&sequencer).await.as_deref(), Some("1"));
    assert_eq!(integrating(&follower).await.as_deref(), Some("0"));

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
    assert_eq!(integrating(&follower).await.as_deref(), Some("1"));
    follower.stop().await;
}

/// Regression: a push that reached a follower while no instance held the lease
/// with an address (a sequencer just started, or the lease changing hands) was
/// refused at once with 503, though a sequencer was moments away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_push_to_a_follower_while_the_lease_changed_hands_was_refused() {
    let cluster = testkit::postgres::Cluster::start().unwrap();
    let url = cluster.create_database("tuflog").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sequencer = start(config(dir.path(), &url)).await;
    let follower = start(config(dir.path(), &url)).await;
    let repo = "example.com/app";
    let p = Publisher::new(&follower.url(""), repo, KeyKind::Ed25519).await;
    // Stopped: the lease is given up, and the follower asks for it only at its
    // next poll. The push waits for it rather than being refused.
    sequencer.stop().await;
    assert_eq!(follower.log.health(), Health::Following);
    let created = p.create(&follower.url(""), ADMIN_TOKEN).await;
    verify_receipt(&follower, repo, &created).await;
    assert_eq!(follower.log.health(), Health::Running);
    follower.stop().await;
}

/// The cosigned checkpoint `instance` serves once it covers `size`: opened with
/// the witnesses' keys, every line of theirs checked.
async fn cosigned_served(
    instance: &InProcess,
    keys: &[tlog::VerifierKey],
    size: u64,
) -> tlog::checkpoint::VerifiedCheckpoint {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let served = get_ok(&http(), &instance.url("/log/checkpoint")).await;
        let opened = tlog::checkpoint::open(&served, &instance.vkey, keys).unwrap();
        if opened.checkpoint().size() >= size {
            return opened;
        }
        assert!(Instant::now() < deadline, "size {size} never served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// With a witness policy, the follower serves the cosigned checkpoints the
/// sequencer gathered (each checked before it is served), a client holding the
/// policy updates from it, and after taking over it gathers cosignatures itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_of_a_witnessed_log_serves_cosigned_checkpoints_across_a_takeover() {
    let cluster = testkit::postgres::Cluster::start().unwrap();
    let url = cluster.create_database("tuflog").unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The log key exists before the witnesses start: they are told it.
    let log_key = store::keyfile::load_or_generate(
        &dir.path().join("log.key"),
        "test.tuflog.dev/log",
        tlog::note::SignatureType::Ed25519,
    )
    .unwrap();
    let mut witnesses = Vec::new();
    for i in 0..2 {
        let at = dir.path().join(format!("witness-{i}"));
        witnesses.push(Served::start(&at, vec![log_key.verifier()]).await);
    }
    let keys: Vec<tlog::VerifierKey> = witnesses.iter().map(|w| w.verifier.clone()).collect();
    let config = server::Config {
        witnesses: Some(policy_of(&witnesses, 2)),
        ..config(dir.path(), &url)
    };
    let sequencer = start(config.clone()).await;
    let follower = start(config).await;
    assert_eq!(follower.log.health(), Health::Following);

    // Pushed to the follower: acknowledged once the witnesses cosigned it.
    let repo = "example.com/app";
    let p = Publisher::new(&follower.url(""), repo, KeyKind::Ed25519).await;
    let created = p.create(&follower.url(""), ADMIN_TOKEN).await;
    let cp = verify_receipt(&follower, repo, &created).await;
    let receipt = created.body["checkpoint"].as_str().unwrap().as_bytes();
    let opened = tlog::checkpoint::open(receipt, &follower.vkey, &keys).unwrap();
    assert_eq!(opened.cosignatures().len(), 2);
    let served = cosigned_served(&follower, &keys, cp.size()).await;
    assert_eq!(served.cosignatures().len(), 2);

    let user = client::Client::new(client::ClientConfig {
        server: follower.url(""),
        log_key: follower.vkey.clone(),
        witnesses: Some(client::WitnessPolicy::new(keys.clone(), 2)),
        home: dir.path().join("user"),
        limits: tuf::updater::Limits::default(),
    });
    let report = user.update(repo, None).await.unwrap();
    assert!(report.checkpoint.unwrap().size >= cp.size());

    // The sequencer stops; the follower takes over and its own cosigner
    // gathers the next checkpoint's cosignatures.
    sequencer.stop().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while follower.log.health() != Health::Running {
        assert!(Instant::now() < deadline, "{:?}", follower.log.health());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pushed = p.push_targets(&follower.url(""), ADMIN_TOKEN, 2).await;
    let after = verify_receipt(&follower, repo, &pushed).await;
    assert!(after.size() > cp.size());
    let served = cosigned_served(&follower, &keys, after.size()).await;
    assert_eq!(served.cosignatures().len(), 2);
    let report = user.update(repo, None).await.unwrap();
    assert!(report.checkpoint.unwrap().size >= after.size());
    follower.stop().await;
    for w in witnesses {
        w.stop().await;
    }
}
