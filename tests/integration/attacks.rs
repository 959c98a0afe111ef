//! The compromised-server attack suite (issue [7]): a server that has stolen
//! everything it holds — its database, the online snapshot and timestamp keys, the
//! log key — but not the owners' offline root and targets keys, nor any witness's
//! key. Each scenario is one test that runs real clients and monitors against it
//! and asserts who detects the attack and how.
//!
//! The attacker's tools are the server's own: raw appends into its log (entries,
//! metadata by content, and role versions, so the honest HTTP routes serve what it
//! logged as the repository's latest), the online keys derived from its seed, and
//! its log key.

use crate::util::{InProcess, ADMIN_TOKEN};
use client::publish::Workspace;
use client::{Client, ClientConfig};
use monitor::follower::NoProgress;
use rand_core::OsRng;
use server::repos::name::RepoName;
use server::repos::signer::{LocalSigner, OnlineRole, Signer};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::RoleVersion;
use tuf::editor::{next_snapshot, next_timestamp};
use tuf::keys::{KeyKind, PrivateKey};
use tuf::logentry::LogEntry;
use tuf::metadata::{Expires, Metadata, Role, Snapshot, Targets, Timestamp};

const REPO: &str = "example.com/app";

/// An honest history, then the server in the attacker's hands.
struct Compromised {
    dir: tempfile::TempDir,
    server: InProcess,
    /// The stolen online-key seed.
    online: LocalSigner,
}

impl Compromised {
    /// A repository initialised and one target published, by its owner.
    async fn new() -> Self {
        Self::with_owner_keys().await.0
    }

    /// [`Compromised::new`], with the owner's offline targets key, for scenarios in
    /// which that key is stolen too.
    async fn with_owner_keys() -> (Self, PrivateKey) {
        let dir = tempfile::tempdir().unwrap();
        let server = InProcess::start(&dir.path().join("server")).await;
        let root_key = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
        let targets_key = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
        let ws = Workspace::open(&dir.path().join("owner"), &server.url(""), REPO).unwrap();
        ws.init(
            &[("root", &root_key), ("targets", &targets_key)],
            1,
            1,
            ADMIN_TOKEN,
            &server.vkey,
        )
        .await
        .unwrap();
        let file = dir.path().join("app-1.0.tgz");
        std::fs::write(&file, b"the real release").unwrap();
        ws.add(&file, "app-1.0.tgz", None).unwrap();
        ws.publish(&[&targets_key], ADMIN_TOKEN, &server.vkey)
            .await
            .unwrap();
        let online = LocalSigner::load_or_generate(&dir.path().join("server/online.seed")).unwrap();
        drop(root_key);
        (
            Compromised {
                dir,
                server,
                online,
            },
            targets_key,
        )
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A user of the repository, pinned to the log key, home in `name`.
    fn user(&self, name: &str) -> Client {
        Client::new(ClientConfig {
            server: self.server.url(""),
            log_key: self.server.vkey.clone(),
            witnesses: None,
            home: self.path(name),
            limits: tuf::client::Limits::default(),
        })
    }

    /// The repository owner's monitor, watching the repository.
    fn owner_monitor(&self) -> monitor::Monitor {
        self.owner_monitor_posting_to(None)
    }

    /// The owner's monitor, posting alerts and new versions to `webhook`.
    fn owner_monitor_posting_to(&self, webhook: Option<String>) -> monitor::Monitor {
        let mut config = monitor::Config::new(&self.server.url(""), self.server.vkey.clone());
        config.webhook = webhook;
        config.evidence_dir = self.path("monitor/evidence");
        config.watch = vec![REPO.into()];
        let kv = store::rocks::RocksKv::open(&self.path("monitor/db")).unwrap();
        monitor::Monitor::open(config, Arc::new(kv)).unwrap()
    }

    /// The repository's latest `role` as the server serves it.
    async fn latest<T: Role>(&self, role: &str) -> Metadata<T> {
        let url = self
            .server
            .url(&format!("/repos/{REPO}/metadata/{role}.json"));
        let bytes = crate::util::get_ok(&crate::util::http(), &url).await;
        Metadata::from_bytes(&bytes).unwrap()
    }

    /// `doc` signed with the stolen online key of `role`.
    async fn online_signed<T: Role>(&self, doc: T, role: OnlineRole) -> Metadata<T> {
        let mut m = Metadata::unsigned(doc).unwrap();
        let repo = RepoName::new(REPO).unwrap();
        let sig = self
            .online
            .sign(&repo, role, m.canonical_signed())
            .await
            .unwrap();
        m.add_signature(sig).unwrap();
        m
    }

    /// Logs `targets` as the repository's latest, with a snapshot and a timestamp
    /// that commit to it, signed with the stolen online keys: a push, without the
    /// push's validation.
    async fn publish_with_online_keys(&self, targets: &Metadata<Targets>) {
        let expires = Expires::parse("2040-01-01T00:00:00Z").unwrap();
        let snapshot = self.latest::<Snapshot>("snapshot").await;
        let snapshot = self
            .online_signed(
                next_snapshot(Some(snapshot.signed()), &[("targets", targets)], expires),
                OnlineRole::Snapshot,
            )
            .await;
        let timestamp = self.latest::<Timestamp>("timestamp").await;
        let timestamp = self
            .online_signed(
                next_timestamp(Some(timestamp.signed()), &snapshot, expires),
                OnlineRole::Timestamp,
            )
            .await;
        self.log_as_latest(&[
            ("targets", targets.bytes()),
            ("snapshot", snapshot.bytes()),
            ("timestamp", timestamp.bytes()),
        ])
        .await;
    }

    /// Logs `docs` (role, bytes) straight into the log as the repository's new
    /// versions: the honest routes then serve them as its latest.
    async fn log_as_latest(&self, docs: &[(&str, &[u8])]) {
        let mut append = server::sequencer::Append::default();
        for (i, (role, bytes)) in docs.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let version = v["signed"]["version"].as_u64().unwrap();
            let sha256: [u8; 32] = Sha256::digest(bytes).into();
            append.entries.push(
                LogEntry::new(REPO, role, version, bytes)
                    .to_bytes()
                    .unwrap(),
            );
            append.blobs.push((sha256, bytes.to_vec()));
            append.versions.push(RoleVersion {
                repo: REPO.into(),
                role: (*role).into(),
                version,
                sha256,
                index: i as u64,
            });
        }
        self.server.log.append(append).await.unwrap();
    }
}

/// Every file below `dir`, with its bytes.
fn snapshot_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// With the online keys alone the server signs a targets version listing a
/// malicious file, with a snapshot and timestamp that commit to it, and logs all
/// three. Prevented: clients refuse the targets version, which no key root
/// authorises for targets signed (TUF §5.6.3). Detected: the owner's monitor
/// raises `unauthorized` for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_targets_signed_with_stolen_online_keys_only() {
    let attack = Compromised::new().await;
    let user = attack.user("user");
    user.update(REPO, None).await.unwrap();
    let trusted = snapshot_of(&attack.path("user"));

    let mut targets = attack.latest::<Targets>("targets").await.signed().clone();
    targets.version += 1;
    targets
        .add_target("app-1.0.tgz", b"a backdoored release", None)
        .unwrap();
    let targets = attack.online_signed(targets, OnlineRole::Timestamp).await;
    attack.publish_with_online_keys(&targets).await;

    // The client: refused, naming the file, and nothing of the update kept.
    let err = user.update(REPO, None).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, client::Error::Tuf { file, source: tuf::Error::ThresholdNotMet { .. } } if file.contains("targets")),
        "{text}"
    );
    assert_eq!(snapshot_of(&attack.path("user")), trusted);

    // The owner's monitor: the version is in the log, and unauthorised.
    let m = attack.owner_monitor();
    m.follow_once(&NoProgress).await.unwrap();
    let alerts = m.alerts().recent();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        (
            alerts[0].kind.as_str(),
            alerts[0].role.as_deref(),
            alerts[0].version
        ),
        ("unauthorized", Some("targets"), Some(targets.version()))
    );
    attack.server.stop().await;
}

/// A webhook receiver on a loopback port: every JSON body posted to it.
struct Webhook {
    url: String,
    received: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl Webhook {
    async fn start() -> Webhook {
        let received: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
        let sink = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    if let Ok(v) = serde_json::from_slice(&body) {
                        sink.lock().unwrap().push(v);
                    }
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Webhook { url, received }
    }

    /// Waits (at most 10 s) until a posted body satisfies `wanted`.
    async fn wait_for(&self, wanted: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(v) = self.received.lock().unwrap().iter().find(|v| wanted(v)) {
                return v.clone();
            }
            assert!(std::time::Instant::now() < deadline, "never posted");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// The targets key stolen as well: the server signs a malicious targets version
/// that is valid TUF. Not preventable: clients accept it. Detected: it is in the
/// log like every version, and the owner's monitor, watching the repository,
/// reports it the moment it is logged (a `new_version` on the owner's webhook,
/// with the key IDs that signed it) — a version the owner never signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_targets_key_signs_a_valid_malicious_version() {
    let (attack, stolen) = Compromised::with_owner_keys().await;
    let hook = Webhook::start().await;
    let m = attack.owner_monitor_posting_to(Some(hook.url.clone()));
    m.follow_once(&NoProgress).await.unwrap();
    let user = attack.user("user");
    user.update(REPO, None).await.unwrap();

    let mut targets = attack.latest::<Targets>("targets").await.signed().clone();
    targets.version += 1;
    targets
        .add_target("app-1.0.tgz", b"a backdoored release", None)
        .unwrap();
    let targets = Metadata::sign_new(targets, &[&stolen], &mut OsRng).unwrap();
    attack.publish_with_online_keys(&targets).await;

    // Not preventable: the client takes it, as TUF says it must.
    let report = user.update(REPO, None).await.unwrap();
    assert_eq!(report.versions["targets"], targets.version());

    // Detected: the owner hears of a targets version it never signed.
    m.follow_once(&NoProgress).await.unwrap();
    let posted = hook
        .wait_for(|v| {
            v["event"] == "new_version"
                && v["role"] == "targets"
                && v["version"] == targets.version()
        })
        .await;
    assert_eq!(posted["repo"], REPO);
    assert_eq!(
        posted["keyids"],
        serde_json::json!([stolen.public().key_id().unwrap()])
    );
    assert!(m.alerts().recent().is_empty(), "valid TUF raises no alert");
    attack.server.stop().await;
}
