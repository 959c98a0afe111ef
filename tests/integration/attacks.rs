//! The compromised-server attack suite: a server that has stolen
//! everything it holds — its database, the online snapshot and timestamp keys, the
//! log key — but not the owners' offline root and targets keys, nor any witness's
//! key. Each scenario is one test that runs real clients and monitors against it
//! and asserts who detects the attack and how.
//!
//! The attacker's tools are the server's own: raw appends into its log (entries,
//! metadata by content, and role versions, so the honest HTTP routes serve what it
//! logged as the repository's latest), the online keys derived from its seed, and
//! its log key.

use crate::monitor::Served as ServedMonitor;
use crate::util::{
    files_with_bytes_under, get_json, get_ok, hashes_b64, http, rewriting_notes, Answer, Front,
    InProcess, NoteRewrite, Packs, ADMIN_TOKEN,
};
use crate::witness::Served as ServedWitness;
use client::publish::Workspace;
use client::{Client, ClientConfig, WitnessPolicy};
use monitor::follower::NoProgress;
use rand_core::OsRng;
use server::repos::name::RepoName;
use server::repos::signer::{LocalSigner, OnlineRole, Signer};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::RoleVersion;
use tlog::note::{KeyName, Note, SignatureType};
use tlog::SignerKey;
use tuf::editor::{next_snapshot, next_timestamp};
use tuf::keys::{KeyKind, PrivateKey};
use tuf::logentry::LogEntry;
use tuf::metadata::{Expires, Metadata, Role, Snapshot, Targets, Timestamp};

const REPO: &str = "example.com/app";

/// An honest history, then the server in the attacker's hands.
struct Compromised {
    dir: tempfile::TempDir,
    server: InProcess,
    /// The witnesses the server submits its checkpoints to, if any.
    witnesses: Option<server::cosign::Policy>,
    /// The stolen online-key seed.
    online: LocalSigner,
    /// The owner's offline targets key: stolen only where a scenario says so.
    targets_key: PrivateKey,
}

impl Compromised {
    /// A repository initialised and one target published, by its owner.
    async fn new() -> Self {
        Self::start(None).await
    }

    /// [`Compromised::new`] on a server that submits each checkpoint to `n`
    /// witnesses and serves only those `threshold` of them cosigned.
    async fn with_witnesses(n: usize, threshold: usize) -> (Self, Vec<ServedWitness>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("server")).unwrap();
        // The log key exists before the server starts: its witnesses are told it.
        let log_key = store::keyfile::load_or_generate(
            &dir.path().join("server/log.key"),
            "test.tuflog.dev/log",
            SignatureType::Ed25519,
        )
        .unwrap();
        let mut witnesses = Vec::new();
        for i in 0..n {
            let at = dir.path().join(format!("witness-{i}"));
            witnesses.push(ServedWitness::start(&at, vec![log_key.verifier()]).await);
        }
        let policy = crate::witness::policy_of(&witnesses, threshold);
        (Self::start_in(dir, Some(policy)).await, witnesses)
    }

    async fn start(witnesses: Option<server::cosign::Policy>) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), witnesses).await
    }

    async fn start_in(dir: tempfile::TempDir, witnesses: Option<server::cosign::Policy>) -> Self {
        let server = Self::serve(&dir.path().join("server"), witnesses.clone()).await;
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
        let online = LocalSigner::load_or_generate(&dir.path().join("server/online.seed")).unwrap();
        drop(root_key);
        let attack = Compromised {
            dir,
            server,
            witnesses,
            online,
            targets_key,
        };
        attack
            .owner_publishes("app-1.0.tgz", b"the real release")
            .await;
        attack
    }

    async fn serve(dir: &Path, witnesses: Option<server::cosign::Policy>) -> InProcess {
        // The attacker holds the server's keys: they are files here, whatever the
        // harness switch says (a separate signer would refuse what it signs).
        InProcess::start_config(server::Config {
            witnesses,
            ..InProcess::config_with_keys_here(dir)
        })
        .await
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The owner publishes `content` as target `name`, with the targets key.
    async fn owner_publishes(&self, name: &str, content: &[u8]) {
        let ws = Workspace::open(&self.path("owner"), &self.server.url(""), REPO).unwrap();
        let file = self.path(name);
        std::fs::write(&file, content).unwrap();
        ws.add(&file, name, None).unwrap();
        ws.publish(&[&self.targets_key], ADMIN_TOKEN, &self.server.vkey)
            .await
            .unwrap();
    }

    /// The owner's targets key, in the attacker's hands.
    fn steal_targets_key(&self) -> &PrivateKey {
        &self.targets_key
    }

    /// Copies the server's whole database to `name` (the server stops for the copy
    /// and comes back on a new port): history the attacker can fork from later.
    async fn copy_database(self, name: &str) -> Self {
        let Compromised {
            dir,
            server,
            witnesses,
            online,
            targets_key,
        } = self;
        server.stop().await;
        copy_dir(&dir.path().join("server"), &dir.path().join(name));
        crate::store_switch::copy(&dir.path().join("server"), &dir.path().join(name));
        let server = Self::serve(&dir.path().join("server"), witnesses.clone()).await;
        Compromised {
            dir,
            server,
            witnesses,
            online,
            targets_key,
        }
    }

    /// A second server over the database copied to `name`, with the stolen keys: the
    /// attacker's fork, sharing history up to the copy. It gathers no cosignatures.
    async fn fork(&self, name: &str) -> InProcess {
        let fork = Self::serve(&self.path(name), None).await;
        assert_eq!(
            fork.vkey, self.server.vkey,
            "the fork signs with the log key"
        );
        fork
    }

    /// A user of the repository through `server_url`, pinned to the log key, home in
    /// `name`.
    fn user_at(&self, server_url: &str, name: &str) -> ClientConfig {
        ClientConfig {
            server: server_url.to_string(),
            log_key: self.server.vkey.clone(),
            witnesses: None,
            home: self.path(name),
            limits: tuf::updater::Limits::default(),
        }
    }

    /// A user of the honest server, home in `name`.
    fn user(&self, name: &str) -> Client {
        Client::new(self.user_at(&self.server.url(""), name))
    }

    /// The owner's monitor of `log`, watching the repository, state in `monitor/`.
    fn owner_monitor_of(&self, log: &InProcess, webhook: Option<String>) -> monitor::Monitor {
        let mut config = monitor::Config::new(&log.url(""), log.vkey.clone());
        config.webhook = webhook;
        config.evidence_dir = self.path("monitor/evidence");
        config.watch = vec![REPO.into()];
        config.interval = std::time::Duration::from_secs(3600);
        crate::monitor::monitor_at(config, &self.path("monitor"))
    }

    /// The owner's monitor of the honest server.
    fn owner_monitor(&self) -> monitor::Monitor {
        self.owner_monitor_of(&self.server, None)
    }

    /// `doc` signed with the stolen online key of `role`.
    async fn online_signed<T: Role>(&self, doc: T, role: OnlineRole) -> Metadata<T> {
        let mut m = Metadata::unsigned(doc).unwrap();
        let repo = RepoName::new(REPO).unwrap();
        let sig = self
            .online
            .sign(&repo, role, 0, m.canonical_signed())
            .await
            .unwrap();
        m.add_signature(sig).unwrap();
        m
    }

    /// A snapshot and timestamp that follow `on`'s latest and commit to `targets`,
    /// signed with the stolen online keys.
    async fn online_snapshot_and_timestamp(
        &self,
        on: &InProcess,
        targets: &Metadata<Targets>,
    ) -> (Metadata<Snapshot>, Metadata<Timestamp>) {
        let expires = Expires::parse("2040-01-01T00:00:00Z").unwrap();
        let snapshot = latest::<Snapshot>(on, "snapshot").await;
        let snapshot = self
            .online_signed(
                next_snapshot(Some(snapshot.signed()), &[("targets", targets)], expires),
                OnlineRole::Snapshot,
            )
            .await;
        let timestamp = latest::<Timestamp>(on, "timestamp").await;
        let timestamp = self
            .online_signed(
                next_timestamp(Some(timestamp.signed()), &snapshot, expires),
                OnlineRole::Timestamp,
            )
            .await;
        (snapshot, timestamp)
    }

    /// Logs `targets` on `on` as the repository's latest, with a snapshot and a
    /// timestamp that commit to it, signed with the stolen online keys: a push,
    /// without the push's validation.
    async fn publish_with_online_keys(&self, on: &InProcess, targets: &Metadata<Targets>) {
        let (snapshot, timestamp) = self.online_snapshot_and_timestamp(on, targets).await;
        log_as_latest(
            on,
            &[
                ("targets", targets.bytes()),
                ("snapshot", snapshot.bytes()),
                ("timestamp", timestamp.bytes()),
            ],
        )
        .await;
    }

    /// The latest targets with `path` pointing at `content`, as the next version,
    /// signed by `key`.
    async fn malicious_targets(
        &self,
        on: &InProcess,
        key: &PrivateKey,
        content: &[u8],
    ) -> Metadata<Targets> {
        let mut targets = latest::<Targets>(on, "targets").await.signed().clone();
        targets.version += 1;
        targets.add_target("app-1.0.tgz", content, None).unwrap();
        Metadata::sign_new(targets, &[key], &mut OsRng).unwrap()
    }
}

/// `server`'s latest `role` of the repository, as it serves it.
async fn latest<T: Role>(server: &InProcess, role: &str) -> Metadata<T> {
    Metadata::from_bytes(&metadata(server, &format!("{role}.json")).await).unwrap()
}

/// The repository's metadata file `file` as `server` serves it.
async fn metadata(server: &InProcess, file: &str) -> Vec<u8> {
    get_ok(
        &http(),
        &server.url(&format!("/repos/{REPO}/metadata/{file}")),
    )
    .await
}

/// Logs `docs` (role, bytes) straight into `server`'s log as the repository's new
/// versions: the honest routes then serve them as its latest.
async fn log_as_latest(server: &InProcess, docs: &[(&str, &[u8])]) {
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
        append.blobs.push(store::Blob {
            index: i as u64,
            sha256,
            bytes: bytes.to_vec(),
        });
        append.versions.push(RoleVersion {
            repo: REPO.into(),
            role: (*role).into(),
            version,
            sha256,
            index: i as u64,
        });
    }
    server.log.append(append).await.unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// `m` follows the log, and then holds exactly one alert: `kind` on `role`
/// version `version`.
async fn assert_only_alert(m: &monitor::Monitor, kind: &str, role: &str, version: u64) {
    m.follow_once(&NoProgress).await.unwrap();
    let alerts = m.alerts().recent();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(
        (a.kind.as_str(), a.role.as_deref(), a.version),
        (kind, Some(role), Some(version)),
        "{a:#?}"
    );
}

/// The one alert `m` holds is a split view whose evidence file verifies with
/// `log_key` alone; the two tree sizes it proves cannot both be true.
fn split_view_proven(m: &monitor::Monitor, log_key: &tlog::VerifierKey) -> (u64, u64) {
    let alerts = m.alerts().recent();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let (smaller, larger, _) = split_view_evidence(m, log_key);
    (smaller, larger)
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
    let trusted = files_with_bytes_under(&attack.path("user"));

    let mut targets = latest::<Targets>(&attack.server, "targets")
        .await
        .signed()
        .clone();
    targets.version += 1;
    targets
        .add_target("app-1.0.tgz", b"a backdoored release", None)
        .unwrap();
    let targets = attack.online_signed(targets, OnlineRole::Timestamp).await;
    attack
        .publish_with_online_keys(&attack.server, &targets)
        .await;

    // The client: refused, naming the file, and nothing of the update kept.
    let err = user.update(REPO, None).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, client::Error::Tuf { file, source: tuf::Error::ThresholdNotMet { .. } } if file.contains("targets")),
        "{text}"
    );
    assert_eq!(files_with_bytes_under(&attack.path("user")), trusted);

    // The owner's monitor: the version is in the log, and unauthorised.
    let m = attack.owner_monitor();
    assert_only_alert(&m, "unauthorized", "targets", targets.version()).await;
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
    let attack = Compromised::new().await;
    let stolen = attack.steal_targets_key();
    let hook = Webhook::start().await;
    let m = attack.owner_monitor_of(&attack.server, Some(hook.url.clone()));
    m.follow_once(&NoProgress).await.unwrap();
    let user = attack.user("user");
    user.update(REPO, None).await.unwrap();

    let targets = attack
        .malicious_targets(&attack.server, stolen, b"a backdoored release")
        .await;
    attack
        .publish_with_online_keys(&attack.server, &targets)
        .await;

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

/// `path` with its prefix `from` replaced by `to`, the rest (a query) kept.
fn swap_prefix(path: &str, from: &str, to: &str) -> Option<String> {
    path.strip_prefix(from).map(|rest| format!("{to}{rest}"))
}

/// The repository's path on the server for `kind` (`metadata` or `proof`) of
/// `file`.
fn repo_path(kind: &str, file: &str) -> String {
    format!("/repos/{REPO}/{kind}/{file}")
}

/// The client's error unless it is a log error whose text has `wanted`.
fn assert_log_error(err: &client::Error, wanted: &str) {
    assert!(
        matches!(err, client::Error::Log { .. }) && err.to_string().contains(wanted),
        "wanted a log error with {wanted:?}, got: {err}"
    );
}

/// With the targets key stolen too, the server signs a valid malicious targets
/// version, with a snapshot and a timestamp that commit to it, and serves them to
/// a client without logging them. Prevented: nothing proves those bytes are in
/// the log; the best the server can send is the proof of the versions it did log,
/// which describe other bytes, and the client keeps nothing of the update. As
/// nothing reached the log, monitors have nothing to see — and no client accepted
/// anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_served_but_never_logged_is_refused() {
    let attack = Compromised::new().await;
    attack.user("user").update(REPO, None).await.unwrap();
    let trusted = files_with_bytes_under(&attack.path("user"));

    let honest = &attack.server;
    let targets = attack
        .malicious_targets(honest, attack.steal_targets_key(), b"a backdoored release")
        .await;
    let (snapshot, timestamp) = attack.online_snapshot_and_timestamp(honest, &targets).await;
    let mut served: Vec<(String, Vec<u8>)> = vec![(
        repo_path("metadata", "timestamp.json"),
        timestamp.bytes().to_vec(),
    )];
    // For each unlogged version, its bytes, and for its proof the proof of the
    // version before it.
    let mut proofs = Vec::new();
    for (role, version, bytes) in [
        ("timestamp", timestamp.version(), timestamp.bytes()),
        ("snapshot", snapshot.version(), snapshot.bytes()),
        ("targets", targets.version(), targets.bytes()),
    ] {
        let file = format!("{version}.{role}.json");
        served.push((repo_path("metadata", &file), bytes.to_vec()));
        proofs.push((
            repo_path("proof", &file),
            repo_path("proof", &format!("{}.{role}.json", version - 1)),
        ));
    }
    let upstream = honest.url("");
    let front = Front::start(move |path| {
        if let Some((_, bytes)) = served.iter().find(|(p, _)| p == path) {
            return Answer::Serve(bytes.clone());
        }
        for (asked, given) in &proofs {
            if let Some(p) = swap_prefix(path, asked, given) {
                return Answer::Proxy(format!("{upstream}{p}"));
            }
        }
        Answer::Proxy(format!("{upstream}{path}"))
    })
    .await;

    let victim = Client::new(attack.user_at(&front.url, "user"));
    let err = victim.update(REPO, None).await.unwrap_err();
    assert_log_error(&err, "the log entry does not describe these bytes");
    assert_eq!(files_with_bytes_under(&attack.path("user")), trusted);

    let m = attack.owner_monitor();
    m.follow_once(&NoProgress).await.unwrap();
    assert!(m.alerts().recent().is_empty());
    attack.server.stop().await;
}

/// The server forks its log: the fork extends everything anyone has seen and holds
/// a malicious targets version (signed with a stolen targets key); one client is
/// shown the fork, everyone else the honest log, which grows as well.
/// Not preventable for the victim alone: the fork is consistent with all it saw,
/// and it accepts. Prevented for a client that shows each checkpoint to a monitor
/// before trusting it: the owner's monitor holds the honest tree at the same size,
/// refuses to square the two, and writes evidence that the log key signed both,
/// which anyone can check with the log key alone. The victim that accepted is
/// caught at its next update from the honest log, which cannot extend its fork.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_shown_to_one_client_is_refused_through_gossip_and_proven_by_evidence() {
    let attack = Compromised::new().await;
    for home in ["victim", "careful", "bystander"] {
        attack.user(home).update(REPO, None).await.unwrap();
    }
    let attack = attack.copy_database("fork").await;
    let fork = attack.fork("fork").await;
    let targets = attack
        .malicious_targets(&fork, attack.steal_targets_key(), b"a backdoored release")
        .await;
    attack.publish_with_online_keys(&fork, &targets).await;
    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    let size = attack.server.log.latest().size();
    assert_eq!(fork.log.latest().size(), size, "two trees of one size");

    let watching = ServedMonitor::start(attack.owner_monitor()).await;
    // The served loop's first step may race this one.
    let _ = watching.monitor.follow_once(&NoProgress).await;
    assert_eq!(watching.monitor.size(), size);
    let gossiping = |c: ClientConfig| Client::new(c).with_monitors(vec![watching.url.clone()]);

    // Alone, the victim takes the fork.
    let victim = Client::new(attack.user_at(&fork.url(""), "victim"));
    let report = victim.update(REPO, None).await.unwrap();
    assert_eq!(report.versions["targets"], targets.version());

    // A client that gossips first is refused, and keeps what it had.
    let before = files_with_bytes_under(&attack.path("careful"));
    let err = gossiping(attack.user_at(&fork.url(""), "careful"))
        .update(REPO, None)
        .await
        .unwrap_err();
    assert_log_error(&err, "cannot square it with its own view of the log");
    assert_eq!(files_with_bytes_under(&attack.path("careful")), before);
    assert_eq!(
        split_view_proven(&watching.monitor, &attack.server.vkey),
        (size, size)
    );

    // Everyone else: the honest log, squared by the monitor.
    let report = gossiping(attack.user_at(&attack.server.url(""), "bystander"))
        .update(REPO, None)
        .await
        .unwrap();
    assert_eq!(report.monitors[0].verdict, monitor::Verdict::Consistent);
    assert!(report.versions["targets"] < targets.version() + 1);

    // The victim meets the honest log again: its fork cannot be extended.
    let err = attack.user("victim").checkpoint().await.unwrap_err();
    assert_log_error(&err, "not consistent with the trusted checkpoint");
    watching.stop().await;
    fork.stop().await;
    attack.server.stop().await;
}

/// The server serves a client the repository's older timestamp with a proof that
/// is valid: that timestamp is in the log, and the log still proves it against
/// its latest checkpoint. Prevented: the proof holds, and the TUF rollback check
/// against the trusted timestamp refuses it (§5.4.3.1). An older checkpoint of the
/// log itself is refused too: a client never goes back from the size it trusts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_version_with_its_valid_proof_is_refused_as_a_rollback() {
    let attack = Compromised::new().await;
    let old_timestamp = metadata(&attack.server, "timestamp.json").await;
    let old_checkpoint = get_ok(&http(), &attack.server.url("/log/checkpoint")).await;
    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    attack.user("user").update(REPO, None).await.unwrap();
    let trusted = files_with_bytes_under(&attack.path("user"));

    let upstream = attack.server.url("");
    let front = Front::start(move |path| match path {
        p if p == repo_path("metadata", "timestamp.json") => Answer::Serve(old_timestamp.clone()),
        "/log/checkpoint" => Answer::Serve(old_checkpoint.clone()),
        _ => Answer::Proxy(format!("{upstream}{path}")),
    })
    .await;
    let victim = Client::new(attack.user_at(&front.url, "user"));
    let err = victim.update(REPO, None).await.unwrap_err();
    assert!(
        matches!(&err, client::Error::Tuf { file, source: tuf::Error::Rollback { .. } } if file.contains("timestamp")),
        "{err}"
    );
    let err = victim.checkpoint().await.unwrap_err();
    assert_log_error(&err, "the log went back");
    assert_eq!(files_with_bytes_under(&attack.path("user")), trusted);

    let m = attack.owner_monitor();
    m.follow_once(&NoProgress).await.unwrap();
    assert!(m.alerts().recent().is_empty(), "nothing was logged");
    attack.server.stop().await;
}

/// With the stolen timestamp key the server signs a fresh timestamp that lists the
/// old snapshot, hiding a newer release, and logs it (a client takes nothing
/// unlogged). Not preventable for a client that never saw the newer snapshot: it
/// is frozen on the old release. A client that saw it refuses (§5.4.3.2), and
/// the owner's monitor raises `meta_rollback`: the log holds a timestamp that
/// lists an older snapshot than the one before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_frozen_on_a_re_signed_stale_timestamp_is_caught_by_monitors() {
    let attack = Compromised::new().await;
    let frozen_report = attack.user("frozen").update(REPO, None).await.unwrap();
    let stale = latest::<Snapshot>(&attack.server, "snapshot").await;
    attack
        .owner_publishes("app-1.1.tgz", b"a security fix")
        .await;
    attack.user("current").update(REPO, None).await.unwrap();

    let timestamp = latest::<Timestamp>(&attack.server, "timestamp").await;
    let expires = Expires::parse("2040-01-01T00:00:00Z").unwrap();
    let resigned = attack
        .online_signed(
            next_timestamp(Some(timestamp.signed()), &stale, expires),
            OnlineRole::Timestamp,
        )
        .await;
    log_as_latest(&attack.server, &[("timestamp", resigned.bytes())]).await;

    // Not preventable: a fresh, validly signed timestamp, for a client that never
    // saw the newer snapshot. It stays on the old release.
    let report = attack.user("frozen").update(REPO, None).await.unwrap();
    assert_eq!(report.versions["timestamp"], resigned.version());
    for role in ["snapshot", "targets"] {
        assert_eq!(
            report.versions[role], frozen_report.versions[role],
            "{role}"
        );
    }
    // A client that saw the newer snapshot refuses.
    let err = attack.user("current").update(REPO, None).await.unwrap_err();
    assert!(
        matches!(&err, client::Error::Tuf { file, source: tuf::Error::Rollback { .. } } if file.contains("timestamp")),
        "{err}"
    );
    let m = attack.owner_monitor();
    assert_only_alert(&m, "meta_rollback", "timestamp", resigned.version()).await;
    attack.server.stop().await;
}

/// With the targets key stolen, the server logs a second, different targets
/// document under the version already published, with a snapshot and timestamp
/// that list it. Not preventable for a client: each document alone is valid TUF,
/// and one that never saw the other accepts it. Detected: the log holds both, and
/// the owner's monitor raises `equivocation`, on its webhook too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_documents_for_one_version_are_caught_as_equivocation() {
    let attack = Compromised::new().await;
    let hook = Webhook::start().await;
    let m = attack.owner_monitor_of(&attack.server, Some(hook.url.clone()));
    m.follow_once(&NoProgress).await.unwrap();
    let honest = latest::<Targets>(&attack.server, "targets").await;
    let mut twin = honest.signed().clone();
    twin.add_target("app-1.0.tgz", b"a backdoored release", None)
        .unwrap();
    let twin = Metadata::sign_new(twin, &[attack.steal_targets_key()], &mut OsRng).unwrap();
    assert_eq!(twin.version(), honest.version());
    attack.publish_with_online_keys(&attack.server, &twin).await;

    let newcomer = attack.user("newcomer");
    let report = newcomer.update(REPO, None).await.unwrap();
    assert_eq!(report.versions["targets"], honest.version());
    let kept = std::fs::read(newcomer.metadata_dir(REPO).unwrap().join("targets.json")).unwrap();
    assert_eq!(kept, twin.bytes(), "the newcomer holds the twin");

    assert_only_alert(&m, "equivocation", "targets", honest.version()).await;
    hook.wait_for(|v| v["event"] == "alert" && v["kind"] == "equivocation")
        .await;
    attack.server.stop().await;
}

/// After a client and a monitor saw the log at some size, the server rewrites it:
/// it restarts from an older copy of its database (a truncation), then grows a
/// different history past that size. Prevented: the client refuses the shorter log
/// (it never goes back) and the longer one (not consistent with the checkpoint it
/// trusts). Detected: the monitor proves the rewrite from the log's own tiles, in
/// an evidence file anyone can check with the log key alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_truncated_or_rewritten_after_clients_saw_it_is_refused_and_proven() {
    let attack = Compromised::new().await.copy_database("older").await;
    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    attack.user("user").update(REPO, None).await.unwrap();
    let seen = attack.server.log.latest().size();
    let m = attack.owner_monitor();
    m.follow_once(&NoProgress).await.unwrap();
    drop(m);
    let trusted = files_with_bytes_under(&attack.path("user"));

    let rewritten = attack.fork("older").await;
    assert!(rewritten.log.latest().size() < seen);
    let victim = Client::new(attack.user_at(&rewritten.url(""), "user"));
    let err = victim.checkpoint().await.unwrap_err();
    assert_log_error(&err, "the log went back");
    for release in [&b"backdoor one"[..], b"backdoor two"] {
        let targets = attack
            .malicious_targets(&rewritten, attack.steal_targets_key(), release)
            .await;
        attack.publish_with_online_keys(&rewritten, &targets).await;
    }
    assert!(rewritten.log.latest().size() > seen);
    let err = victim.update(REPO, None).await.unwrap_err();
    assert_log_error(&err, "not consistent with the trusted checkpoint");
    assert_eq!(files_with_bytes_under(&attack.path("user")), trusted);

    let m = attack.owner_monitor_of(&rewritten, None);
    assert_eq!(
        m.follow_once(&NoProgress).await.unwrap(),
        monitor::Step::Diverged
    );
    assert_eq!(
        split_view_proven(&m, &attack.server.vkey),
        (seen, rewritten.log.latest().size())
    );
    rewritten.stop().await;
    attack.server.stop().await;
}

/// The server holds the log key but no witness key, and its clients require two of
/// three witnesses. After the witnesses cosigned the honest log, it forks it (with
/// a malicious targets version signed by a stolen targets key) and tries every way
/// to get the fork accepted: without cosignatures; through the real witnesses,
/// which refuse a checkpoint that does not extend the one they cosigned (409 for
/// a stale size, 422 for a proof that fails); with cosignatures it makes itself
/// under the witnesses' names (not counted: no witness key made them); with the
/// honest checkpoint's real cosignatures copied onto the fork's (refused outright:
/// a witness key's signature that does not verify); and with a checkpoint signed
/// by a log key of its own. Prevented: the client refuses each, and keeps what it
/// had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_can_be_neither_cosigned_nor_signed_with_another_key() {
    let (attack, witnesses) = Compromised::with_witnesses(3, 2).await;
    let policy = WitnessPolicy::new(witnesses.iter().map(|w| w.verifier.clone()).collect(), 2);
    let victim_at = |attack: &Compromised, url: &str| {
        Client::new(ClientConfig {
            witnesses: Some(policy.clone()),
            ..attack.user_at(url, "victim")
        })
    };
    victim_at(&attack, &attack.server.url(""))
        .update(REPO, None)
        .await
        .unwrap();
    let attack = attack.copy_database("fork").await;
    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    let cosigned = attack.server.log.latest().size();
    let honest_note =
        String::from_utf8(get_ok(&http(), &attack.server.url("/log/checkpoint")).await).unwrap();
    let fork = attack.fork("fork").await;
    let forked_at = fork.log.latest().size();
    for release in [&b"backdoor one"[..], b"backdoor two"] {
        let targets = attack
            .malicious_targets(&fork, attack.steal_targets_key(), release)
            .await;
        attack.publish_with_online_keys(&fork, &targets).await;
    }
    let trusted = files_with_bytes_under(&attack.path("victim"));
    let refused = |err: client::Error, wanted: &str| {
        assert_log_error(&err, wanted);
        assert_eq!(files_with_bytes_under(&attack.path("victim")), trusted);
    };

    // No cosignatures.
    let err = victim_at(&attack, &fork.url(""))
        .update(REPO, None)
        .await
        .unwrap_err();
    refused(err, "witness policy not met: 0 of the required 2");

    // The real witnesses refuse the fork's checkpoint.
    let fork_note = get_ok(&http(), &fork.url("/log/checkpoint")).await;
    let fork_size = fork.log.latest().size();
    let proof_from = |from: u64| {
        let url = fork.url(&format!(
            "/log/proof/consistency?from={from}&size={fork_size}"
        ));
        async move { hashes_b64(&get_json(&http(), &url).await["proof"]) }
    };
    let (status, _, body) = witnesses[0]
        .add(forked_at, &proof_from(forked_at).await, &fork_note)
        .await;
    assert_eq!((status, body.trim()), (409, cosigned.to_string().as_str()));
    let (status, _, _) = witnesses[0]
        .add(cosigned, &proof_from(cosigned).await, &fork_note)
        .await;
    assert_eq!(status, 422);

    // Cosignatures it signs itself, under the witnesses' names.
    let forged: NoteRewrite = Arc::new(|note: &str| {
        let mut note = Note::parse(note.as_bytes()).unwrap();
        let text = note.text().to_string();
        for seed in 0..3u8 {
            let impostor = SignerKey::from_seed(
                KeyName::new("witness.test/w1").unwrap(),
                SignatureType::CosignatureV1,
                &[seed; 32],
            );
            note.push_signature(
                tlog::cosignature::cosign(&impostor, &text, 1_790_000_000).unwrap(),
            )
            .unwrap();
        }
        note.to_string()
    });
    // The honest checkpoint's real cosignatures, copied onto the fork's.
    let log_key_id = attack.server.vkey.key_id();
    let replayed: NoteRewrite = Arc::new(move |note: &str| {
        let mut note = Note::parse(note.as_bytes()).unwrap();
        let honest = Note::parse(honest_note.as_bytes()).unwrap();
        for sig in honest
            .signatures()
            .iter()
            .filter(|s| s.key_id != log_key_id)
        {
            note.push_signature(sig.clone()).unwrap();
        }
        note.to_string()
    });
    // A log key of its own, under the log's name.
    let other_key: NoteRewrite = Arc::new(|note: &str| {
        let text = Note::parse(note.as_bytes()).unwrap().text().to_string();
        let mut note = Note::new(text).unwrap();
        note.sign(&SignerKey::from_seed(
            KeyName::new("test.tuflog.dev/log").unwrap(),
            SignatureType::Ed25519,
            &[9; 32],
        ))
        .unwrap();
        note.to_string()
    });
    for (rewrite, wanted) in [
        (forged, "witness policy not met: 0 of the required 2"),
        (replayed, "invalid signature by known key witness.test/w1"),
        (other_key, "not signed by the pinned log key"),
    ] {
        let front = rewriting_notes(fork.url(""), rewrite).await;
        let err = victim_at(&attack, &front.url)
            .update(REPO, None)
            .await
            .unwrap_err();
        refused(err, wanted);
    }

    // The honest log, cosigned, is still accepted.
    victim_at(&attack, &attack.server.url(""))
        .update(REPO, None)
        .await
        .unwrap();
    fork.stop().await;
    attack.server.stop().await;
    for w in witnesses {
        w.stop().await;
    }
}

/// An offline proof travels without the log: whoever checks a `.tlog-proof`
/// beside a release sees neither monitors nor the log's history, only the pinned
/// log key and a witness policy. The attacker, with the stolen log key and
/// targets key, forks the log and hands out a proof of a malicious targets
/// version from its fork. Under the pinned key alone that proof verifies (the
/// key is stolen); the witness policy refuses it, whether it comes bare, with the
/// honest checkpoint's cosignatures grafted on, or with cosignatures of its own
/// under the witnesses' names. The honest proof of the same version meets the
/// policy, and a policy that asks for a witness it never went to is not met.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_an_offline_proof_from_a_fork_signed_with_the_stolen_log_key_fails_the_witness_policy(
) {
    use client::offline::verify_tlog_proof;
    use tlog::tlog_proof::TlogProof;
    let (attack, witnesses) = Compromised::with_witnesses(2, 2).await;
    let keys: Vec<_> = witnesses.iter().map(|w| w.verifier.clone()).collect();
    let policy = WitnessPolicy::new(keys.clone(), 2);
    let now = client::unix_now();
    let attack = attack.copy_database("fork").await;
    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    let fork = attack.fork("fork").await;
    let targets = attack
        .malicious_targets(&fork, attack.steal_targets_key(), b"backdoor")
        .await;
    attack.publish_with_online_keys(&fork, &targets).await;
    let version = targets.signed().version;
    let fetch = |server: &InProcess, kind: &str, suffix: &str| {
        let url = server.url(&format!("/repos/{REPO}/{kind}/{version}.targets.{suffix}"));
        async move { get_ok(&http(), &url).await }
    };
    let honest_file = fetch(&attack.server, "metadata", "json").await;
    let honest_proof = fetch(&attack.server, "proof", "tlog-proof").await;
    let forked_file = fetch(&fork, "metadata", "json").await;
    let forked_proof = fetch(&fork, "proof", "tlog-proof").await;
    assert_eq!(
        forked_file,
        targets.bytes(),
        "the fork serves its own version"
    );
    assert_ne!(
        forked_file, honest_file,
        "one version number, two documents"
    );

    // The honest proof meets the policy: both witnesses cosigned its checkpoint.
    let proven = verify_tlog_proof(
        &honest_proof,
        &honest_file,
        &attack.server.vkey,
        Some(&policy),
        now,
    )
    .unwrap();
    assert_eq!((proven.version, proven.cosigners), (version, 2));
    // A policy asking for a third witness the log never went to is not met.
    let absent = SignerKey::from_seed(
        KeyName::new("witness.test/absent").unwrap(),
        SignatureType::CosignatureV1,
        &[7; 32],
    );
    let mut wider = keys.clone();
    wider.push(absent.verifier());
    let err = verify_tlog_proof(
        &honest_proof,
        &honest_file,
        &attack.server.vkey,
        Some(&WitnessPolicy::new(wider, 3)),
        now,
    )
    .unwrap_err();
    assert_log_error(&err, "cosigned by 2 of the 3 witnesses the policy asks for");

    // Without a witness policy the stolen log key is all it takes: this is the
    // attack the policy is there for.
    let unwitnessed =
        verify_tlog_proof(&forked_proof, &forked_file, &attack.server.vkey, None, now).unwrap();
    assert_eq!(unwitnessed.version, version);
    // With it, refused, in every form the attacker can give the fork's checkpoint.
    let err = verify_tlog_proof(
        &forked_proof,
        &forked_file,
        &attack.server.vkey,
        Some(&policy),
        now,
    )
    .unwrap_err();
    assert_log_error(&err, "cosigned by 0 of the 2 witnesses the policy asks for");
    let rewritten = |rewrite: &dyn Fn(&mut Note)| {
        let mut proof = TlogProof::parse(&forked_proof).unwrap();
        let mut note = Note::parse(&proof.checkpoint).unwrap();
        rewrite(&mut note);
        proof.checkpoint = note.to_string().into_bytes();
        proof.to_text()
    };
    let honest_cosignatures: Vec<_> =
        Note::parse(&TlogProof::parse(&honest_proof).unwrap().checkpoint)
            .unwrap()
            .signatures()
            .iter()
            .filter(|s| s.key_id != attack.server.vkey.key_id())
            .cloned()
            .collect();
    assert_eq!(honest_cosignatures.len(), 2);
    let grafted = rewritten(&|note| {
        for sig in &honest_cosignatures {
            note.push_signature(sig.clone()).unwrap();
        }
    });
    let impostors = rewritten(&|note| {
        let text = note.text().to_string();
        for (seed, w) in witnesses.iter().enumerate() {
            let impostor = SignerKey::from_seed(
                KeyName::new(w.verifier.name().as_str()).unwrap(),
                SignatureType::CosignatureV1,
                &[seed as u8 + 1; 32],
            );
            note.push_signature(tlog::cosignature::cosign(&impostor, &text, now).unwrap())
                .unwrap();
        }
    });
    for (proof, wanted) in [
        (grafted, "invalid signature by known key"),
        (
            impostors,
            "cosigned by 0 of the 2 witnesses the policy asks for",
        ),
    ] {
        let err = verify_tlog_proof(
            &proof,
            &forked_file,
            &attack.server.vkey,
            Some(&policy),
            now,
        )
        .unwrap_err();
        assert_log_error(&err, wanted);
    }
    // Nor does the honest proof vouch for the fork's document.
    assert!(verify_tlog_proof(
        &honest_proof,
        &forked_file,
        &attack.server.vkey,
        Some(&policy),
        now
    )
    .is_err());

    fork.stop().await;
    attack.server.stop().await;
    for w in witnesses {
        w.stop().await;
    }
}

/// The server serves a client the current timestamp and snapshot with an older
/// targets version, each with a valid proof. Prevented: the targets file must have
/// the hashes the snapshot lists (§5.6.2). With the stolen snapshot key it then
/// signs and logs a snapshot that lists the older targets: a client that trusted
/// the newer one refuses it (§5.5.5); one on its first update takes it — not
/// preventable for it — and the owner's monitor raises `meta_rollback`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_mixed_from_different_snapshots_is_refused() {
    let attack = Compromised::new().await;
    let older = latest::<Targets>(&attack.server, "targets").await;
    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    attack.user("user").update(REPO, None).await.unwrap();
    let newer = latest::<Targets>(&attack.server, "targets").await;

    // The older targets, under the newer one's name and as the latest, with its
    // own proof.
    let upstream = attack.server.url("");
    let (asked, given) = (
        format!("{}.targets.json", newer.version()),
        format!("{}.targets.json", older.version()),
    );
    let unversioned = repo_path("metadata", "targets.json");
    let front = Front::start(move |path| {
        if path == unversioned {
            return Answer::Proxy(format!("{upstream}{}", repo_path("metadata", &given)));
        }
        for kind in ["metadata", "proof"] {
            if let Some(p) = swap_prefix(path, &repo_path(kind, &asked), &repo_path(kind, &given)) {
                return Answer::Proxy(format!("{upstream}{p}"));
            }
        }
        Answer::Proxy(format!("{upstream}{path}"))
    })
    .await;
    let err = Client::new(attack.user_at(&front.url, "newcomer"))
        .update(REPO, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, client::Error::Tuf { file, source: tuf::Error::HashMismatch { .. } } if file.contains("targets")),
        "{err}"
    );
    assert_eq!(
        files_with_bytes_under(&attack.path("newcomer")),
        vec![],
        "nothing trusted"
    );

    // A snapshot, signed with the stolen key, that lists the older targets.
    let expires = Expires::parse("2040-01-01T00:00:00Z").unwrap();
    let snapshot = latest::<Snapshot>(&attack.server, "snapshot").await;
    let snapshot = attack
        .online_signed(
            next_snapshot(Some(snapshot.signed()), &[("targets", &older)], expires),
            OnlineRole::Snapshot,
        )
        .await;
    let timestamp = latest::<Timestamp>(&attack.server, "timestamp").await;
    let timestamp = attack
        .online_signed(
            next_timestamp(Some(timestamp.signed()), &snapshot, expires),
            OnlineRole::Timestamp,
        )
        .await;
    log_as_latest(
        &attack.server,
        &[
            ("snapshot", snapshot.bytes()),
            ("timestamp", timestamp.bytes()),
        ],
    )
    .await;
    let err = attack.user("user").update(REPO, None).await.unwrap_err();
    assert!(
        matches!(&err, client::Error::Tuf { file, source: tuf::Error::Rollback { role, .. } } if file.contains("snapshot") && role == "targets"),
        "{err}"
    );
    let report = attack.user("first-use").update(REPO, None).await.unwrap();
    assert_eq!(report.versions["targets"], older.version());

    let m = attack.owner_monitor();
    assert_only_alert(&m, "meta_rollback", "snapshot", snapshot.version()).await;
    attack.server.stop().await;
}

/// The owner's monitor of the log served at `url` (a front the attacker may stand
/// behind), watching the repository, state in `name/`. It takes every step the
/// test drives, and answers gossip at once when it cannot follow.
fn monitor_behind(
    attack: &Compromised,
    url: &str,
    name: &str,
    webhook: Option<String>,
) -> monitor::Config {
    let mut config = monitor::Config::new(url, attack.server.vkey.clone());
    config.webhook = webhook;
    config.evidence_dir = attack.path(&format!("{name}/evidence"));
    config.watch = vec![REPO.into()];
    config.interval = std::time::Duration::from_secs(3600);
    config.gossip_wait = std::time::Duration::from_secs(20);
    config
}

/// `m`'s alert kinds, in the order raised.
fn alert_kinds(m: &monitor::Monitor) -> Vec<String> {
    crate::monitor::kinds(&m.alerts().recent())
}

/// The split-view evidence behind `m`'s `split_view` alert, verified with the log
/// key alone: the two checkpoints' sizes and notes.
fn split_view_evidence(
    m: &monitor::Monitor,
    log_key: &tlog::VerifierKey,
) -> (u64, u64, wire::evidence::Evidence) {
    let alert = m
        .alerts()
        .recent()
        .into_iter()
        .find(|a| a.kind == "split_view")
        .unwrap_or_else(|| panic!("no split view: {:#?}", m.alerts().recent()));
    let bytes = std::fs::read(alert.evidence.as_ref().unwrap()).unwrap();
    let evidence = wire::evidence::Evidence::parse(&bytes).unwrap();
    let verdict = evidence.verify(Some(log_key)).unwrap();
    (verdict.smaller_size, verdict.larger_size, evidence)
}

/// The checkpoint size `home`'s client persisted as trusted.
fn trusted_size(attack: &Compromised, home: &str) -> u64 {
    attack.user(home).log_trust().unwrap().trusted_size()
}

/// Freeze: the attacker shows the owner's monitor one saved checkpoint forever
/// and passes everything else through; the owner then publishes. Detected, by the
/// monitor: a client that gossips the new checkpoint makes it follow the log to
/// that size from the tiles before it answers, so it vouches only for entries it
/// replayed itself (the new version is reported on its webhook), and at its next
/// step the frozen checkpoint it is served is smaller than one it verified:
/// `checkpoint_rollback`. Prevented, for a client: when the attacker also hides
/// the new tiles from the monitor, the monitor cannot verify the checkpoint, says
/// so, and the client trusts nothing; the heard checkpoint not reached in time
/// raises `checkpoint_frozen`. Without the defence the monitor answered `ahead`
/// for a checkpoint it had not verified, and raised nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_shown_a_frozen_checkpoint_vouches_only_for_what_it_verified() {
    let attack = Compromised::new().await;
    let frozen = get_ok(&http(), &attack.server.url("/log/checkpoint")).await;
    let frozen_size = attack.server.log.latest().size();
    let front = frozen_front(&attack.server, &frozen, None).await;
    // A second front that also hides every tile and bundle past the frozen size.
    let hiding = frozen_front(&attack.server, &frozen, Some(frozen_size)).await;
    let hook = Webhook::start().await;
    let watching = ServedMonitor::start(crate::monitor::monitor_at(
        monitor_behind(&attack, &front.url, "monitor", Some(hook.url.clone())),
        &attack.path("monitor"),
    ))
    .await;
    let mut blind = monitor_behind(&attack, &hiding.url, "blind", None);
    blind.heard_deadline = std::time::Duration::ZERO;
    let blinded =
        ServedMonitor::start(crate::monitor::monitor_at(blind, &attack.path("blind"))).await;
    for m in [&watching.monitor, &blinded.monitor] {
        let _ = m.follow_once(&NoProgress).await;
        assert_eq!(m.size(), frozen_size);
    }

    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    let new_size = attack.server.log.latest().size();
    let targets = latest::<Targets>(&attack.server, "targets").await;

    // The client's gossip takes the monitor to the new size first.
    let report = attack
        .user("user")
        .with_monitors(vec![watching.url.clone()])
        .update(REPO, None)
        .await
        .unwrap();
    assert_eq!(report.monitors[0].verdict, monitor::Verdict::Consistent);
    assert_eq!(report.versions["targets"], targets.version());
    assert_eq!(watching.monitor.size(), new_size);
    hook.wait_for(|v| {
        v["event"] == "new_version" && v["role"] == "targets" && v["version"] == targets.version()
    })
    .await;
    watching.monitor.follow_once(&NoProgress).await.unwrap();
    assert_eq!(alert_kinds(&watching.monitor), vec!["checkpoint_rollback"]);

    // Blinded as well: nothing verified, nothing trusted.
    let err = attack
        .user("careful")
        .with_monitors(vec![blinded.url.clone()])
        .update(REPO, None)
        .await
        .unwrap_err();
    assert_log_error(&err, "the monitor at");
    assert_eq!(files_with_bytes_under(&attack.path("careful")), vec![]);
    assert_eq!(blinded.monitor.size(), frozen_size);
    assert_eq!(blinded.monitor.heard_pending(), 1);
    let _ = blinded.monitor.follow_once(&NoProgress).await;
    let kinds = alert_kinds(&blinded.monitor);
    assert!(
        kinds.contains(&"checkpoint_frozen".to_string()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"checkpoint_rollback".to_string()),
        "{kinds:?}"
    );
    watching.stop().await;
    blinded.stop().await;
    attack.server.stop().await;
}

/// The attacker's front for a monitor of `server`: it serves the saved checkpoint
/// `frozen` forever and passes the rest through, except, with `hide_past`, every
/// tile and bundle that covers a leaf past that size (404).
async fn frozen_front(server: &InProcess, frozen: &[u8], hide_past: Option<u64>) -> Front {
    let (upstream, frozen) = (server.url(""), frozen.to_vec());
    Front::with_packs(Packs::Passed, move |path| {
        let tiles = path.starts_with("/log/tile/") || path.starts_with("/metadata/bundle/");
        match (path, hide_past) {
            ("/log/checkpoint", _) => Answer::Serve(frozen.clone()),
            (_, Some(size)) if tiles && !tile_within(path, size) => Answer::NotFound,
            _ => Answer::Proxy(format!("{upstream}{path}")),
        }
    })
    .await
}

/// Whether the tile or bundle `path` asks for covers no leaf past `size`.
fn tile_within(path: &str, size: u64) -> bool {
    let path = match path.strip_prefix("/metadata/bundle/") {
        Some(rest) => format!("tile/entries/{rest}"),
        None => path.trim_start_matches("/log/").to_string(),
    };
    match tlog::tile::TilePath::parse(&path) {
        Ok(tlog::tile::TilePath::Entries(t) | tlog::tile::TilePath::Hashes(t)) => {
            let last = u128::from(t.index() * 256 + u64::from(t.width()));
            last << (8 * u32::from(t.level())) <= u128::from(size)
        }
        Err(_) => false,
    }
}

/// Fork ahead of the monitor, with a stolen targets key: the attacker runs a
/// second server on a copy of the database and publishes a malicious version
/// there; the owner's monitor is shown the honest checkpoint, but the fork's tiles
/// (identical up to the fork point) while a victim on the fork gossips. Not
/// preventable for that victim: the fork extends all the monitor saw, and the
/// monitor follows it. Detected, by the monitor: it replayed the malicious
/// version (reported on its webhook with the stolen key's ID), kept the fork's
/// checkpoint as verified, and when the honest log moves on it proves the split
/// view with evidence that needs only the log key. Without the defence it
/// answered `ahead` without keeping the checkpoint, and never wrote evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_shown_to_a_monitor_through_one_client_is_kept_and_proven() {
    let attack = Compromised::new().await;
    attack.user("victim").update(REPO, None).await.unwrap();
    let attack = attack.copy_database("fork").await;
    let fork = attack.fork("fork").await;
    let targets = attack
        .malicious_targets(&fork, attack.steal_targets_key(), b"a backdoored release")
        .await;
    attack.publish_with_online_keys(&fork, &targets).await;
    let forked_size = fork.log.latest().size();

    let show_fork = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let front = {
        let (honest, forked, show_fork) = (attack.server.url(""), fork.url(""), show_fork.clone());
        Front::with_packs(Packs::Passed, move |path| {
            let fork_now = show_fork.load(std::sync::atomic::Ordering::SeqCst);
            if path != "/log/checkpoint" && fork_now {
                Answer::Proxy(format!("{forked}{path}"))
            } else {
                Answer::Proxy(format!("{honest}{path}"))
            }
        })
        .await
    };
    let hook = Webhook::start().await;
    let watching = ServedMonitor::start(crate::monitor::monitor_at(
        monitor_behind(&attack, &front.url, "monitor", Some(hook.url.clone())),
        &attack.path("monitor"),
    ))
    .await;
    let _ = watching.monitor.follow_once(&NoProgress).await;
    assert!(watching.monitor.size() < forked_size);

    show_fork.store(true, std::sync::atomic::Ordering::SeqCst);
    let report = Client::new(attack.user_at(&fork.url(""), "victim"))
        .with_monitors(vec![watching.url.clone()])
        .update(REPO, None)
        .await
        .unwrap();
    assert_eq!(report.versions["targets"], targets.version());
    assert_eq!(watching.monitor.size(), forked_size);
    let stolen_keyid = attack.steal_targets_key().key_id().to_string();
    hook.wait_for(|v| {
        v["event"] == "new_version"
            && v["role"] == "targets"
            && v["version"] == targets.version()
            && v["keyids"][0] == stolen_keyid.as_str()
    })
    .await;
    show_fork.store(false, std::sync::atomic::Ordering::SeqCst);

    // The honest log moves on; the monitor meets it, and proves the fork.
    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    attack
        .owner_publishes("app-1.2.tgz", b"and the one after")
        .await;
    let honest_size = attack.server.log.latest().size();
    assert_eq!(
        watching.monitor.follow_once(&NoProgress).await.unwrap(),
        monitor::Step::Diverged
    );
    let (smaller, larger, evidence) = split_view_evidence(&watching.monitor, &attack.server.vkey);
    assert_eq!((smaller, larger), (forked_size, honest_size));
    let fork_note = String::from_utf8(get_ok(&http(), &fork.url("/log/checkpoint")).await).unwrap();
    assert_eq!(
        evidence.smaller, fork_note,
        "the fork's checkpoint was kept"
    );
    watching.stop().await;
    fork.stop().await;
    attack.server.stop().await;
}

/// Witnesses first: the attacker submits its fork's checkpoints to the witnesses
/// before the honest log does, and they cosign (the fork extends what they last
/// saw); the honest log's checkpoints go uncosigned. Not preventable for a client
/// with a witness policy that does not gossip: it accepts the fork. Prevented for
/// one that gossips: the monitor, which takes the same witness policy, reads each
/// witness's latest checkpoint, cannot verify the fork's from the log, and says
/// so. Detected, by the monitor: the log serves checkpoints short of the policy
/// (`witness_policy`), and the fork's checkpoint, kept, is proven a split view
/// as soon as the honest log passes its size. Without the defence the monitor
/// ignored cosignatures and witnesses, and followed the honest branch in silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witnesses_that_cosigned_a_fork_first_are_heard_by_the_monitor() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("server")).unwrap();
    let log_key = store::keyfile::load_or_generate(
        &dir.path().join("server/log.key"),
        "test.tuflog.dev/log",
        SignatureType::Ed25519,
    )
    .unwrap();
    let mut witnesses = Vec::new();
    for i in 0..3 {
        let at = dir.path().join(format!("witness-{i}"));
        witnesses.push(ServedWitness::start(&at, vec![log_key.verifier()]).await);
    }
    let submitting = crate::witness::policy_of(&witnesses, 2);
    let policy = WitnessPolicy::new(witnesses.iter().map(|w| w.verifier.clone()).collect(), 2);
    // The honest log does not reach its witnesses (the attacker stands between).
    let attack = Compromised::start_in(dir, None)
        .await
        .copy_database("fork")
        .await;
    let fork = Compromised::serve(&attack.path("fork"), Some(submitting)).await;
    let targets = attack
        .malicious_targets(&fork, attack.steal_targets_key(), b"a backdoored release")
        .await;
    attack.publish_with_online_keys(&fork, &targets).await;
    // Served once the witnesses cosigned it.
    let forked_size = fork.log.integrated().borrow().size();
    let fork_note = wait_for_cosigned(&fork, forked_size, 2).await;

    let mut config = monitor_behind(&attack, &attack.server.url(""), "monitor", None);
    config.witnesses = Some(policy.clone());
    config.witness_urls = witnesses.iter().map(|w| w.url.clone()).collect();
    let watching =
        ServedMonitor::start(crate::monitor::monitor_at(config, &attack.path("monitor"))).await;
    let _ = watching.monitor.follow_once(&NoProgress).await;
    assert!(alert_kinds(&watching.monitor).contains(&"witness_policy".to_string()));

    // Alone, a client with the policy takes the fork.
    let with_policy = |home: &str| {
        Client::new(ClientConfig {
            witnesses: Some(policy.clone()),
            ..attack.user_at(&fork.url(""), home)
        })
    };
    let report = with_policy("victim").update(REPO, None).await.unwrap();
    assert_eq!(report.versions["targets"], targets.version());

    // The monitor hears the fork from the witnesses, and cannot verify it.
    watching.monitor.poll_witnesses().await;
    assert_eq!(watching.monitor.heard_pending(), 1);
    let err = with_policy("careful")
        .with_monitors(vec![watching.url.clone()])
        .update(REPO, None)
        .await
        .unwrap_err();
    assert_log_error(&err, "the monitor at");
    assert_eq!(files_with_bytes_under(&attack.path("careful")), vec![]);

    // The honest log reaches the fork's size: the kept checkpoint is judged.
    while attack.server.log.latest().size() < forked_size {
        attack
            .owner_publishes("app-1.1.tgz", b"the next real release")
            .await;
    }
    watching.monitor.follow_once(&NoProgress).await.unwrap();
    let (smaller, _, evidence) = split_view_evidence(&watching.monitor, &attack.server.vkey);
    assert_eq!(smaller, forked_size);
    // The fork's checkpoint as a witness holds it: its cosignature included.
    let fork_text = Note::parse(fork_note.as_bytes())
        .unwrap()
        .text()
        .to_string();
    let kept = [&evidence.smaller, &evidence.larger]
        .into_iter()
        .find(|n| Note::parse(n.as_bytes()).unwrap().text() == fork_text)
        .expect("the fork's checkpoint is in the evidence");
    let witness_keys: Vec<_> = witnesses.iter().map(|w| w.verifier.clone()).collect();
    let opened =
        tlog::checkpoint::open(kept.as_bytes(), &attack.server.vkey, &witness_keys).unwrap();
    assert!(!opened.cosignatures().is_empty(), "{kept}");
    assert_eq!(watching.monitor.heard_pending(), 0);
    watching.stop().await;
    fork.stop().await;
    attack.server.stop().await;
    for w in witnesses {
        w.stop().await;
    }
}

/// `server`'s checkpoint once it has `size` entries and `n` cosignatures.
async fn wait_for_cosigned(server: &InProcess, size: u64, n: usize) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let note =
            String::from_utf8(get_ok(&http(), &server.url("/log/checkpoint")).await).unwrap();
        let parsed = Note::parse(note.as_bytes()).unwrap();
        let cp = tlog::Checkpoint::parse(parsed.text()).unwrap();
        if cp.size() == size && parsed.signatures().len() > n {
            return note;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never cosigned: {note}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Two checkpoints of one size, both ahead of the monitor: the attacker keeps the
/// monitor from following the log (a frozen checkpoint, no tiles past it), and
/// shows one client the honest log and another a fork of the same size. Detected,
/// by the monitor, at once: both are kept, and two signed checkpoints of one size
/// with different roots are a split view, with evidence, before the monitor has
/// verified either. Prevented for both clients: the monitor vouches for neither.
/// Without the defence neither checkpoint was kept and the monitor could only
/// call each unproven.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_checkpoints_of_one_size_ahead_of_the_monitor_are_a_split_view_at_once() {
    let attack = Compromised::new().await;
    let frozen = get_ok(&http(), &attack.server.url("/log/checkpoint")).await;
    let frozen_size = attack.server.log.latest().size();
    let front = frozen_front(&attack.server, &frozen, Some(frozen_size)).await;
    let mut config = monitor_behind(&attack, &front.url, "monitor", None);
    config.gossip_wait = std::time::Duration::from_secs(5);
    let watching =
        ServedMonitor::start(crate::monitor::monitor_at(config, &attack.path("monitor"))).await;
    let _ = watching.monitor.follow_once(&NoProgress).await;
    assert_eq!(watching.monitor.size(), frozen_size);

    let attack = attack.copy_database("fork").await;
    let fork = attack.fork("fork").await;
    let targets = attack
        .malicious_targets(&fork, attack.steal_targets_key(), b"a backdoored release")
        .await;
    attack.publish_with_online_keys(&fork, &targets).await;
    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    let size = attack.server.log.latest().size();
    assert_eq!(fork.log.latest().size(), size, "two trees of one size");

    let gossiping = |url: &str, home: &str| {
        Client::new(attack.user_at(url, home)).with_monitors(vec![watching.url.clone()])
    };
    let err = gossiping(&attack.server.url(""), "bystander")
        .update(REPO, None)
        .await
        .unwrap_err();
    assert_log_error(&err, "the monitor at");
    assert_eq!(watching.monitor.heard_pending(), 1);
    let err = gossiping(&fork.url(""), "victim")
        .update(REPO, None)
        .await
        .unwrap_err();
    assert_log_error(
        &err,
        "cannot square it with its own view of the log (split_view)",
    );
    let (smaller, larger, _) = split_view_evidence(&watching.monitor, &attack.server.vkey);
    assert_eq!((smaller, larger), (size, size));
    assert!(watching.monitor.size() < size, "verified neither");
    for home in ["bystander", "victim"] {
        assert_eq!(files_with_bytes_under(&attack.path(home)), vec![], "{home}");
    }
    watching.stop().await;
    fork.stop().await;
    attack.server.stop().await;
}

/// Two `tuflog update` runs at once on one home: the attacker answers the first
/// slowly with a stale but valid view of the log (an older copy of its database,
/// still newer than what the client trusts), and the second quickly with the
/// current one. Prevented: the runs take the home's lock in turn, so the slow one
/// cannot commit its older checkpoint and metadata over what the quick one
/// trusted. Without the lock, both start from the same trusted state, the last to
/// commit wins, and the client's trust goes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_updates_at_once_never_move_trust_backwards() {
    let attack = Compromised::new().await;
    attack.user("user").update(REPO, None).await.unwrap();
    attack
        .owner_publishes("app-1.1.tgz", b"the next real release")
        .await;
    let attack = attack.copy_database("older").await;
    attack
        .owner_publishes("app-1.2.tgz", b"the release after")
        .await;
    let current_size = attack.server.log.latest().size();
    let current_targets = metadata(&attack.server, "targets.json").await;
    let older = attack.fork("older").await;
    assert!(older.log.latest().size() < current_size);
    let stale = {
        let upstream = older.url("");
        Front::with_packs(Packs::Passed, move |path| {
            Answer::Slow(
                std::time::Duration::from_millis(700),
                format!("{upstream}{path}"),
            )
        })
        .await
    };

    let slow_run = Client::new(attack.user_at(&stale.url, "user"));
    let quick_run = attack.user("user");
    let (slow, quick) = tokio::join!(slow_run.update(REPO, None), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        quick_run.update(REPO, None).await
    });
    quick.unwrap();
    slow.unwrap();
    assert_eq!(trusted_size(&attack, "user"), current_size);
    let kept = std::fs::read(
        attack
            .user("user")
            .metadata_dir(REPO)
            .unwrap()
            .join("targets.json"),
    )
    .unwrap();
    assert_eq!(kept, current_targets, "the newer targets stay trusted");
    older.stop().await;
    attack.server.stop().await;
}
