//! The repository service with a signer that remembers what it signed, as the
//! separate signer does (its own guard in front of the embedded keys).

use crate::publisher::{push, sign, Publisher};
use crate::util::{get_ok, http, InProcess, ADMIN_TOKEN};
use server::repos::name::RepoName;
use server::repos::signer::{
    LocalSigner, OnlineKeys, OnlineRole, SignFuture, Signer, SnapshotSignatures, TimestampAfter,
};
use signer::guard::Guard;
use std::path::Path;
use std::sync::Arc;
use tuf::keys::{KeyKind, Signature};
use tuf::metadata::{Metadata, Snapshot, Timestamp};

/// The embedded online keys behind the signer's guard.
struct Guarded {
    keys: LocalSigner,
    guard: Arc<Guard>,
}

fn role(r: OnlineRole) -> signer::guard::OnlineRole {
    match r {
        OnlineRole::Snapshot => signer::guard::OnlineRole::Snapshot,
        OnlineRole::Timestamp => signer::guard::OnlineRole::Timestamp,
    }
}

impl Signer for Guarded {
    fn keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys> {
        Box::pin(async move {
            let mut keys = self.keys.keys(repo).await?;
            self.guard.register(repo.as_str()).unwrap();
            keys.snapshot_signed = self
                .guard
                .last_signed(repo.as_str(), signer::guard::OnlineRole::Snapshot)
                .unwrap();
            keys.timestamp_signed = self
                .guard
                .last_signed(repo.as_str(), signer::guard::OnlineRole::Timestamp)
                .unwrap();
            Ok(keys)
        })
    }

    fn next_keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys> {
        self.keys.next_keys(repo)
    }

    fn sign<'a>(
        &'a self,
        repo: &'a RepoName,
        r: OnlineRole,
        generation: u32,
        message: &'a [u8],
    ) -> SignFuture<'a, Signature> {
        Box::pin(async move {
            self.guard
                .metadata(repo.as_str(), role(r), generation, message, || Ok(()))
                .map_err(|e| server::Error::SignerRefused(e.to_string()))?;
            self.keys.sign(repo, r, generation, message).await
        })
    }
}

fn guarded_server(dir: &Path, guard: Arc<Guard>) -> server::Server {
    let online = LocalSigner::load_or_generate(&InProcess::config(dir).online_seed_path());
    server_signing_with(
        dir,
        Arc::new(Guarded {
            keys: online.unwrap(),
            guard,
        }),
    )
}

fn server_signing_with(dir: &Path, online: Arc<dyn Signer>) -> server::Server {
    let config = InProcess::config(dir);
    std::fs::create_dir_all(dir).unwrap();
    let key = server::logkey::load_or_generate(&config.log_key_path(), &config.origin).unwrap();
    let store = Arc::new(store::rocks::RocksStore::open(&config.db_path()).unwrap());
    server::Server::with_store(
        store,
        Arc::new(server::signing::LocalCheckpointSigner::new(key)),
        online,
        &config,
    )
    .unwrap()
}

/// A signer that signs the snapshot it is asked for and, as the timestamp that
/// follows it, a timestamp of its own.
struct OtherTimestamp(LocalSigner);

impl Signer for OtherTimestamp {
    fn keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys> {
        self.0.keys(repo)
    }

    fn next_keys<'a>(&'a self, repo: &'a RepoName) -> SignFuture<'a, OnlineKeys> {
        self.0.next_keys(repo)
    }

    fn sign<'a>(
        &'a self,
        repo: &'a RepoName,
        role: OnlineRole,
        generation: u32,
        message: &'a [u8],
    ) -> SignFuture<'a, Signature> {
        self.0.sign(repo, role, generation, message)
    }

    fn sign_snapshot_then_timestamp<'a>(
        &'a self,
        repo: &'a RepoName,
        generation: u32,
        snapshot: &'a [u8],
        after: &'a TimestampAfter,
    ) -> SignFuture<'a, SnapshotSignatures> {
        Box::pin(async move {
            let snapshot = self
                .0
                .sign(repo, OnlineRole::Snapshot, generation, snapshot)
                .await?;
            let other = format!(
                r#"{{"_type":"timestamp","expires":"2099-01-01T00:00:00Z","meta":{{"snapshot.json":{{"version":1}}}},"spec_version":"1.0.31","version":{}}}"#,
                after.version
            )
            .into_bytes();
            let timestamp = self
                .0
                .sign(repo, OnlineRole::Timestamp, generation, &other)
                .await?;
            Ok(SnapshotSignatures {
                snapshot,
                timestamp: Some((timestamp, other)),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_signer_that_signs_another_timestamp_gets_nothing_logged() {
    let dir = tempfile::tempdir().unwrap();
    let online = LocalSigner::load_or_generate(&InProcess::config(dir.path()).online_seed_path());
    let srv = InProcess::start_server(server_signing_with(
        dir.path(),
        Arc::new(OtherTimestamp(online.unwrap())),
    ))
    .await;
    let base = srv.url("");
    let repo = "example.com/other-timestamp";
    let p = Publisher::new(&base, repo, KeyKind::Ed25519).await;
    let refused = p.create(&base, ADMIN_TOKEN).await;
    assert_eq!(refused.status, 500, "{:?}", refused.body);
    assert!(
        refused.body.to_string().contains("another timestamp"),
        "{:?}",
        refused.body
    );
    let reply = http()
        .get(srv.url(&format!("/repos/{repo}/metadata/timestamp.json")))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);
    assert_eq!(srv.log.latest().size(), 0, "nothing of the push was logged");
    srv.stop().await;
}

async fn latest<T: tuf::metadata::Role>(srv: &InProcess, repo: &str, file: &str) -> Metadata<T> {
    let bytes = get_ok(&http(), &srv.url(&format!("/repos/{repo}/metadata/{file}"))).await;
    Metadata::from_bytes(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_version_signed_for_a_push_that_was_not_logged_is_not_signed_again() {
    let dir = tempfile::tempdir().unwrap();
    let guard = Arc::new(Guard::new(
        Arc::new(store::memory::MemoryKv::default()),
        "test.tuflog.dev/log",
    ));
    let repo = "example.com/app";
    let srv = InProcess::start_server(guarded_server(dir.path(), guard.clone())).await;
    let base = srv.url("");
    let p = Publisher::new(&base, repo, KeyKind::Ed25519).await;
    assert_eq!(p.create(&base, ADMIN_TOKEN).await.status, 200);

    // The log stops taking appends after the signer signed snapshot and timestamp
    // v2 for this push: it is refused, and nothing of it is logged.
    srv.log.shutdown();
    let refused = push(
        &base,
        repo,
        ADMIN_TOKEN,
        &[("targets.json", &sign(p.targets(2), &[&p.targets_key]))],
    )
    .await;
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert_eq!(
        guard
            .last_signed(repo, signer::guard::OnlineRole::Timestamp)
            .unwrap(),
        Some(2)
    );
    srv.stop().await;

    // After a restart, another targets v2 needs a new snapshot and timestamp. The
    // signer would refuse a second, different v2 of either; the service takes v3.
    let srv = InProcess::start_server(guarded_server(dir.path(), guard.clone())).await;
    let mut other = p.targets(2);
    other
        .add_target("other.tgz", b"other content", None)
        .unwrap();
    let reply = push(
        &srv.url(""),
        repo,
        ADMIN_TOKEN,
        &[("targets.json", &sign(other, &[&p.targets_key]))],
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let timestamp: Metadata<Timestamp> = latest(&srv, repo, "timestamp.json").await;
    let snapshot: Metadata<Snapshot> = latest(&srv, repo, "snapshot.json").await;
    assert_eq!((timestamp.version(), snapshot.version()), (3, 3));
    assert_eq!(timestamp.signed().meta["snapshot.json"].version, 3);
    srv.stop().await;
}
