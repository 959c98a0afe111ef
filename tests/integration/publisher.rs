//! A repository operator for tests: offline keys, signed documents, pushes over HTTP,
//! and a verifier for what the server sends back.

use crate::util::{hash_b64, hashes_b64, http, InProcess};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand_core::OsRng;
use tlog::{leaf_hash, Checkpoint, VerifierKey};
use tuf::editor::{new_root, new_targets};
use tuf::keys::{Key, KeyKind, PrivateKey};
use tuf::logentry::LogEntry;
use tuf::metadata::{Expires, Metadata, Role, Root, Targets};

/// `multipart/form-data` with one part per (name, bytes); returns the content type
/// and body.
pub fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "tuflog-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{name}\"\r\nContent-Type: application/json\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The reply to a push: status, and the JSON body.
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub async fn push_raw(
    base: &str,
    repo: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let mut req = http()
        .post(format!("{base}/repos/{repo}/metadata"))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::json!({ "raw": String::from_utf8_lossy(&bytes) }));
    Reply { status, body }
}

pub async fn push(base: &str, repo: &str, token: &str, parts: &[(&str, &[u8])]) -> Reply {
    let (ct, body) = multipart(parts);
    push_raw(base, repo, Some(token), &ct, body).await
}

pub fn gen() -> PrivateKey {
    PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap()
}

pub fn sign<T: Role>(signed: T, keys: &[&PrivateKey]) -> Vec<u8> {
    Metadata::sign_new(signed, keys, &mut OsRng)
        .unwrap()
        .bytes()
        .to_vec()
}

/// An operator of one repository, with its offline keys and the service's online
/// public keys.
pub struct Publisher {
    pub repo: String,
    pub root_key: PrivateKey,
    pub targets_key: PrivateKey,
    pub team_key: PrivateKey,
    pub snapshot_key: Key,
    pub timestamp_key: Key,
    pub now: DateTime<Utc>,
}

impl Publisher {
    /// Fetches `repo`'s online keys from the server.
    pub async fn new(base: &str, repo: &str, kind: KeyKind) -> Publisher {
        let keys = crate::util::get_json(&http(), &format!("{base}/repos/{repo}/keys")).await;
        let key =
            |role: &str| -> Key { serde_json::from_value(keys[role]["key"].clone()).unwrap() };
        let p = Publisher {
            repo: repo.into(),
            root_key: PrivateKey::generate(kind, &mut OsRng).unwrap(),
            targets_key: PrivateKey::generate(kind, &mut OsRng).unwrap(),
            team_key: PrivateKey::generate(kind, &mut OsRng).unwrap(),
            snapshot_key: key("snapshot"),
            timestamp_key: key("timestamp"),
            now: Utc::now(),
        };
        assert_eq!(
            p.snapshot_key.key_id().unwrap(),
            keys["snapshot"]["keyid"].as_str().unwrap()
        );
        p
    }

    pub fn expires(&self) -> Expires {
        let t = (self.now + chrono::Duration::days(30)).timestamp();
        Expires(DateTime::from_timestamp(t, 0).unwrap())
    }

    /// Root at `version` with this publisher's keys and the online keys.
    pub fn root(&self, version: u64) -> Root {
        let mut root = new_root(self.expires(), true);
        root.version = version;
        root.add_key("root", self.root_key.public()).unwrap();
        root.add_key("targets", self.targets_key.public()).unwrap();
        root.add_key("snapshot", &self.snapshot_key).unwrap();
        root.add_key("timestamp", &self.timestamp_key).unwrap();
        root
    }

    /// Targets at `version`, listing `app-v<version>.tgz`, delegating `team/*` to
    /// `team`.
    pub fn targets(&self, version: u64) -> Targets {
        let mut t = new_targets(self.expires());
        t.version = version;
        t.add_target(
            &format!("app-v{version}.tgz"),
            format!("app {version}").as_bytes(),
            None,
        )
        .unwrap();
        t.add_delegation(
            "team",
            &[self.team_key.public()],
            1,
            vec!["team/*".into()],
            false,
        )
        .unwrap();
        t
    }

    pub fn team(&self, version: u64, target: &str) -> Targets {
        let mut t = new_targets(self.expires());
        t.version = version;
        t.add_target(target, b"team file", None).unwrap();
        t
    }

    /// Pushes `targets` at `version`, signed by the targets key.
    pub async fn push_targets(&self, base: &str, token: &str, version: u64) -> Reply {
        let targets = sign(self.targets(version), &[&self.targets_key]);
        push(base, &self.repo, token, &[("targets.json", &targets)]).await
    }

    /// Creates the repository: root v1 and targets v1.
    pub async fn create(&self, base: &str, token: &str) -> Reply {
        let root = sign(self.root(1), &[&self.root_key]);
        let targets = sign(self.targets(1), &[&self.targets_key]);
        push(
            base,
            &self.repo,
            token,
            &[("root.json", &root), ("targets.json", &targets)],
        )
        .await
    }
}

/// Checks a push reply against the server: the checkpoint is signed by the log,
/// every entry is the one the pushed or served bytes give, and every inclusion proof
/// verifies. Returns the checkpoint.
pub async fn verify_receipt(srv: &InProcess, repo: &str, reply: &Reply) -> Checkpoint {
    assert_eq!(reply.status, 200, "push failed: {}", reply.body);
    let body = &reply.body;
    let note = body["checkpoint"].as_str().unwrap();
    let cp = tlog::checkpoint::open(note.as_bytes(), &srv.vkey, &[])
        .unwrap()
        .into_checkpoint();
    assert_eq!(cp.size(), body["size"].as_u64().unwrap());
    for e in body["entries"].as_array().unwrap() {
        let role = e["role"].as_str().unwrap();
        let version = e["version"].as_u64().unwrap();
        let served = crate::util::get_ok(
            &http(),
            &srv.url(&format!(
                "/repos/{repo}/metadata/{version}.{}.json",
                tuf::updater::encode_role_name(role)
            )),
        )
        .await;
        let entry = B64.decode(e["entry"].as_str().unwrap()).unwrap();
        assert_eq!(
            entry,
            LogEntry::new(repo, role, version, &served)
                .to_bytes()
                .unwrap(),
            "{role} v{version}: the entry is not the served bytes'"
        );
        let leaf = leaf_hash(&entry);
        assert_eq!(leaf, hash_b64(&e["leaf_hash"]));
        tlog::verify::verify_inclusion(
            &leaf,
            e["index"].as_u64().unwrap(),
            cp.size(),
            &hashes_b64(&e["inclusion"]),
            cp.root(),
        )
        .unwrap();
    }
    cp
}

/// Fetches the proof bundle of `role` `version` with a consistency proof from
/// `trusted`, and checks all of it against `metadata` (the bytes a client got).
/// Returns the bundle's checkpoint.
pub async fn verify_bundle(
    base: &str,
    vkey: &VerifierKey,
    repo: &str,
    role: &str,
    version: u64,
    metadata: &[u8],
    trusted: &Checkpoint,
) -> Checkpoint {
    let url = format!(
        "{base}/repos/{repo}/proof/{version}.{}.json?from={}",
        tuf::updater::encode_role_name(role),
        trusted.size()
    );
    let b = crate::util::get_json(&http(), &url).await;
    let entry = B64.decode(b["entry"].as_str().unwrap()).unwrap();
    let expected = LogEntry::new(repo, role, version, metadata)
        .to_bytes()
        .unwrap();
    assert_eq!(
        entry, expected,
        "{url}: entry does not describe the metadata"
    );
    let cp = tlog::checkpoint::open(b["checkpoint"].as_str().unwrap().as_bytes(), vkey, &[])
        .unwrap()
        .into_checkpoint();
    let index = b["index"].as_u64().unwrap();
    tlog::verify::verify_inclusion(
        &leaf_hash(&entry),
        index,
        cp.size(),
        &hashes_b64(&b["inclusion"]),
        cp.root(),
    )
    .unwrap();
    tlog::verify::verify_consistency(
        trusted.size(),
        cp.size(),
        trusted.root(),
        cp.root(),
        &hashes_b64(&b["consistency"]),
    )
    .unwrap();
    cp
}
