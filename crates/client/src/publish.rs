//! The publisher's side: a local workspace per repository holding the metadata last
//! published, the changes staged since, and the target files named as clients fetch
//! them. Changes stay local until [`Workspace::publish`] signs and pushes them as one
//! atomic push.
//!
//! Layout under `<home>/publish/<repository>/`:
//! - `metadata/root.json`, `metadata/targets.json`: as last pushed (exact bytes);
//! - `staged.json`: the changes not yet published, in order;
//! - `targets/`: target files as `<sha256>.<name>` (TUF §5.7.3 with consistent
//!   snapshots), ready for any static file server.

use crate::keystore::Keystore;
use crate::logtrust::LogTrust;
use crate::{repo_component, Error, Result};
use chrono::{DateTime, Duration, Utc};
use edge::durable::{read_optional, write_atomic};
use edge::Http;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tlog::note::VerifierKey;
use tuf::editor::{bump, describe, new_root, new_targets};
use tuf::keys::{Key, PrivateKey};
use tuf::metadata::{Expires, Metadata, Root, TargetFile, Targets};
use wire::replies::OnlineKeys;
use wire::PushReceipt;

/// How long published root metadata stays valid.
pub const ROOT_EXPIRY_DAYS: i64 = 365;
/// How long published targets metadata stays valid.
pub const TARGETS_EXPIRY_DAYS: i64 = 90;
/// Largest target file `add` accepts.
pub const MAX_TARGET_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Most changes staged before a publish.
pub const MAX_STAGED_CHANGES: usize = 100_000;
/// Largest push reply read.
const MAX_RECEIPT_BYTES: u64 = 1024 * 1024;

/// One staged change.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Add or replace a target.
    AddTarget {
        /// Target path.
        path: String,
        /// Its description.
        file: TargetFile,
    },
    /// Remove a target.
    RemoveTarget {
        /// Target path.
        path: String,
    },
    /// Delegate target paths to a role.
    Delegate {
        /// The delegated role's name.
        role: String,
        /// Its keys.
        keys: Vec<Key>,
        /// Signatures it needs.
        threshold: u64,
        /// Path patterns it is trusted for.
        paths: Vec<String>,
        /// Whether a search stops at this role.
        terminating: bool,
    },
    /// Remove a delegation.
    Undelegate {
        /// The delegated role's name.
        role: String,
    },
}

/// A repository's local publishing workspace.
pub struct Workspace {
    repo: String,
    dir: PathBuf,
    server: String,
    http: Http,
}

/// What [`Workspace::status`] reports.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// Repository.
    pub repo: String,
    /// Published root version.
    pub root_version: u64,
    /// Published targets version.
    pub targets_version: u64,
    /// Targets published.
    pub targets: usize,
    /// Changes staged, not yet published.
    pub staged: Vec<Change>,
}

fn expires_in(now: DateTime<Utc>, days: i64) -> Result<Expires> {
    let t = now + Duration::days(days);
    DateTime::from_timestamp(t.timestamp(), 0)
        .map(Expires)
        .ok_or_else(|| Error::Usage("expiry out of range".into()))
}

fn tuf_err(file: &str) -> impl Fn(tuf::Error) -> Error + '_ {
    move |source| Error::Tuf {
        file: file.into(),
        source,
    }
}

impl Workspace {
    /// The workspace of `repo` under `home`, pushing to `server`.
    pub fn open(home: &Path, server: &str, repo: &str) -> Result<Self> {
        Ok(Workspace {
            repo: repo.to_string(),
            dir: home.join("publish").join(repo_component(repo)?),
            server: server.trim_end_matches('/').to_string(),
            http: Http::new(),
        })
    }

    /// Pushes and reads through `http` (e.g. [`Http::trusting`] a private CA)
    /// instead of the default client.
    pub fn with_http(mut self, http: Http) -> Self {
        self.http = http;
        self
    }

    /// Every repository with a workspace under `home`.
    pub fn list(home: &Path) -> Result<Vec<String>> {
        let dir = home.join("publish");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e.map_err(|err| Error::io(&dir, err))?;
            let name = e.file_name().to_string_lossy().to_string();
            if let Ok(repo) = percent_encoding::percent_decode_str(&name).decode_utf8() {
                out.push(repo.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// The directory clients' target URL should point at.
    pub fn targets_dir(&self) -> PathBuf {
        self.dir.join("targets")
    }

    /// Where `role`'s latest published metadata is kept: in the metadata
    /// directory whatever the role's name ([`tuf::updater::role_file_name`]).
    fn metadata_path(&self, role: &str) -> Result<PathBuf> {
        let file = tuf::updater::role_file_name(role).map_err(tuf_err(role))?;
        Ok(self.dir.join("metadata").join(file))
    }

    fn published<T: tuf::metadata::Role>(&self, role: &str) -> Result<Metadata<T>> {
        let path = self.metadata_path(role)?;
        let bytes = read_optional(&path)?.ok_or_else(|| {
            Error::Usage(format!(
                "{} has no published {role} here; run `tuflog repo init {}` first",
                self.repo, self.repo
            ))
        })?;
        Metadata::from_bytes(&bytes).map_err(tuf_err(role))
    }

    fn staged_path(&self) -> PathBuf {
        self.dir.join("staged.json")
    }

    /// The staged changes, oldest first.
    pub fn staged(&self) -> Result<Vec<Change>> {
        match read_optional(&self.staged_path())? {
            None => Ok(Vec::new()),
            Some(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::malformed(self.staged_path().display().to_string(), e)),
        }
    }

    fn stage(&self, change: Change) -> Result<()> {
        let mut staged = self.staged()?;
        if staged.len() >= MAX_STAGED_CHANGES {
            return Err(Error::Usage(format!(
                "{MAX_STAGED_CHANGES} changes staged already; publish first"
            )));
        }
        staged.push(change);
        let json = serde_json::to_vec_pretty(&staged)
            .map_err(|e| Error::malformed("staged changes", e))?;
        Ok(write_atomic(&self.staged_path(), &json)?)
    }

    /// The online snapshot and timestamp keys the server holds for this repository.
    pub async fn online_keys(&self) -> Result<(Key, Key)> {
        let keys = self.fetch_online_keys(false).await?;
        Ok((keys.snapshot.key, keys.timestamp.key))
    }

    /// The server's online keys for this repository: those that sign now, or
    /// (`next`) the generation a rotation moves to.
    pub async fn fetch_online_keys(&self, next: bool) -> Result<OnlineKeys> {
        let query = if next { "?next" } else { "" };
        let url = format!("{}/repos/{}/keys{query}", self.server, self.repo);
        let body = self
            .http
            .get(&url, 64 * 1024)
            .await?
            .ok_or_else(|| Error::Usage(format!("{url}: not found")))?;
        OnlineKeys::from_json(&body).map_err(|e| Error::malformed(&url, e))
    }

    /// Rotates the repository's online keys: a new root, signed by the root keys,
    /// in which the server's snapshot and timestamp keys are replaced by the next
    /// generation's (a snapshot key the owner holds offline stays). Once it is
    /// logged the server signs with the new keys and its signer never again with
    /// the old ones; clients accept the new keys through the root chain (TUF
    /// §5.3.4) and refuse the old ones from then on.
    ///
    /// The signed root is kept (`rotation.root.json`) until the server accepts or
    /// refuses it: the signer moves to the new keys at their first signature, so if
    /// the push fails after that (the log unavailable, the connection lost), the
    /// next run pushes the same root again rather than a rotation past it.
    pub async fn rotate_online(
        &self,
        root_keys: &[&PrivateKey],
        token: &str,
        log_key: &VerifierKey,
    ) -> Result<Rotation> {
        let pending = self.dir.join("rotation.root.json");
        if let Some(bytes) = read_optional(&pending)? {
            return self.push_rotation(&pending, &bytes, token, log_key).await;
        }
        let current = self.fetch_online_keys(false).await?;
        let next = self.fetch_online_keys(true).await?;
        if next.generation != current.generation.saturating_add(1) {
            return Err(Error::Usage(format!(
                "the server offered generation {} after {}",
                next.generation, current.generation
            )));
        }
        let old = self.published::<Root>("root")?;
        let mut root = old.signed().clone();
        let names = |root: &Root, role: &str, keyid: &str| {
            root.roles
                .get(role)
                .is_some_and(|r| r.keyids.iter().any(|k| k == keyid))
        };
        if !names(&root, "timestamp", &current.timestamp.keyid) {
            return Err(Error::Usage(format!(
                "{}'s published root does not name the server's current timestamp key {}; \
                 fetch the latest root first",
                self.repo, current.timestamp.keyid
            )));
        }
        for (role, from, to) in [
            ("timestamp", &current.timestamp, &next.timestamp),
            ("snapshot", &current.snapshot, &next.snapshot),
        ] {
            if names(&root, role, &from.keyid) {
                root.remove_key(role, &from.keyid)
                    .map_err(tuf_err("root"))?;
                root.add_key(role, &to.key).map_err(tuf_err("root"))?;
            }
        }
        bump(&mut root, expires_in(Utc::now(), ROOT_EXPIRY_DAYS)?);
        let root = Metadata::sign_new(root, root_keys, &mut OsRng).map_err(tuf_err("root"))?;
        write_atomic(&pending, root.bytes())?;
        self.push_rotation(&pending, root.bytes(), token, log_key)
            .await
    }

    async fn push_rotation(
        &self,
        pending: &Path,
        root: &[u8],
        token: &str,
        log_key: &VerifierKey,
    ) -> Result<Rotation> {
        let pushed = self.push(&[("root", root)], token, log_key).await;
        let receipt = match pushed {
            Ok(receipt) => Some(receipt),
            // The root may have been logged by an earlier run whose answer was lost:
            // then the rotation is done.
            Err(e) if self.latest_root().await.ok().as_deref() == Some(root) => {
                tracing::info!(error = %e, "the rotation root was logged already");
                None
            }
            // Refused: the root itself is wrong, and retrying it would not help.
            Err(
                e @ Error::Edge(edge::Error::Http {
                    status: 400..=499, ..
                }),
            ) => {
                remove_file_if_present(pending)?;
                return Err(e);
            }
            Err(e) => {
                return Err(Error::Usage(format!(
                    "{e}; the rotation root is kept in {}: run the rotation again to push it",
                    pending.display()
                )))
            }
        };
        write_atomic(&self.metadata_path("root")?, root)?;
        remove_file_if_present(pending)?;
        let generation = self.fetch_online_keys(false).await?.generation;
        Ok(Rotation {
            receipt,
            generation,
        })
    }

    /// The bytes of the latest root the server serves for this repository.
    async fn latest_root(&self) -> Result<Vec<u8>> {
        let url = format!("{}/repos/{}/metadata/root.json", self.server, self.repo);
        self.http
            .get(&url, tuf::updater::Limits::default().root_max_bytes)
            .await?
            .ok_or_else(|| Error::Usage(format!("{url}: not found")))
    }

    /// Creates the repository: root (listing `root_keys`, `targets_keys` and the
    /// server's online keys, each role at threshold 1 unless given) and an empty
    /// targets, signed and pushed.
    pub async fn init(
        &self,
        keys: &[(&str, &PrivateKey)],
        root_threshold: u64,
        targets_threshold: u64,
        token: &str,
        log_key: &VerifierKey,
    ) -> Result<PushReceipt> {
        if self.metadata_path("root")?.exists() {
            return Err(Error::Usage(format!(
                "{} already has a workspace at {}",
                self.repo,
                self.dir.display()
            )));
        }
        let (snapshot, timestamp) = self.online_keys().await?;
        let now = Utc::now();
        let mut root = new_root(expires_in(now, ROOT_EXPIRY_DAYS)?, true);
        for (role, key) in keys {
            root.add_key(role, key.public()).map_err(tuf_err("root"))?;
        }
        root.add_key("snapshot", &snapshot)
            .map_err(tuf_err("root"))?;
        root.add_key("timestamp", &timestamp)
            .map_err(tuf_err("root"))?;
        root.set_threshold("root", root_threshold)
            .map_err(tuf_err("root"))?;
        root.set_threshold("targets", targets_threshold)
            .map_err(tuf_err("root"))?;
        let signers = |role: &str| -> Vec<&PrivateKey> {
            keys.iter()
                .filter(|(r, _)| *r == role)
                .map(|(_, k)| *k)
                .collect()
        };
        let root =
            Metadata::sign_new(root, &signers("root"), &mut OsRng).map_err(tuf_err("root"))?;
        let targets = Metadata::sign_new(
            new_targets(expires_in(now, TARGETS_EXPIRY_DAYS)?),
            &signers("targets"),
            &mut OsRng,
        )
        .map_err(tuf_err("targets"))?;
        let files = [("root", root.bytes()), ("targets", targets.bytes())];
        let receipt = self.push(&files, token, log_key).await?;
        write_atomic(&self.metadata_path("root")?, root.bytes())?;
        write_atomic(&self.metadata_path("targets")?, targets.bytes())?;
        Ok(receipt)
    }

    /// Stages `file` as target `path`, copying it into the targets directory.
    pub fn add(
        &self,
        file: &Path,
        path: &str,
        custom: Option<serde_json::Value>,
    ) -> Result<TargetFile> {
        self.published::<Targets>("targets")?;
        let meta = std::fs::metadata(file).map_err(|e| Error::io(file, e))?;
        if meta.len() > MAX_TARGET_BYTES {
            return Err(Error::Usage(format!(
                "{}: larger than {MAX_TARGET_BYTES} bytes",
                file.display()
            )));
        }
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        let mut probe = new_targets(expires_in(Utc::now(), 1)?);
        probe
            .add_target(path, &bytes, custom.clone())
            .map_err(tuf_err("targets"))?;
        let (length, hashes) = describe(&bytes);
        let sha = hashes.get("sha256").cloned().unwrap_or_default();
        let stored = match path.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/{sha}.{name}"),
            None => format!("{sha}.{path}"),
        };
        if stored
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(Error::Usage(format!(
                "target path {path:?} is not a clean relative path"
            )));
        }
        write_atomic(&self.targets_dir().join(stored), &bytes)?;
        let described = TargetFile {
            length,
            hashes,
            custom,
            unknown: Default::default(),
        };
        self.stage(Change::AddTarget {
            path: path.to_string(),
            file: described.clone(),
        })?;
        Ok(described)
    }

    /// Stages the removal of target `path`.
    pub fn remove(&self, path: &str) -> Result<()> {
        let targets = self.published::<Targets>("targets")?;
        let staged = self.staged()?;
        let known = targets.signed().targets.contains_key(path)
            || staged
                .iter()
                .any(|c| matches!(c, Change::AddTarget { path: p, .. } if p == path));
        if !known {
            return Err(Error::Usage(format!(
                "{} has no target {path:?}",
                self.repo
            )));
        }
        self.stage(Change::RemoveTarget { path: path.into() })
    }

    /// Stages a delegation of `paths` to `role`, signed by `keys` at `threshold`.
    /// The delegation is checked now (names, threshold) so a bad one never waits
    /// for publish to fail.
    pub fn delegate(
        &self,
        role: &str,
        keys: Vec<Key>,
        threshold: u64,
        paths: Vec<String>,
        terminating: bool,
    ) -> Result<()> {
        let mut probe = self.published::<Targets>("targets")?.signed().clone();
        let change = Change::Delegate {
            role: role.into(),
            keys,
            threshold,
            paths,
            terminating,
        };
        apply(&mut probe, std::slice::from_ref(&change))?;
        self.stage(change)
    }

    /// Stages the removal of the delegation to `role`.
    pub fn undelegate(&self, role: &str) -> Result<()> {
        let mut probe = self.published::<Targets>("targets")?.signed().clone();
        apply(&mut probe, &self.staged()?)?;
        let change = Change::Undelegate { role: role.into() };
        apply(&mut probe, std::slice::from_ref(&change))?;
        self.stage(change)
    }

    /// Replaces the keys of `role` (`root` or `targets`) with `new_keys` at
    /// `threshold`, in a new root signed by the old root keys and, for a root
    /// rotation, the new ones (TUF §5.3.4: clients check both thresholds). A targets
    /// rotation re-signs targets with the new keys in the same push. Staged changes
    /// stay staged.
    pub async fn rotate(
        &self,
        role: &str,
        new_keys: &[&PrivateKey],
        threshold: u64,
        old_root_keys: &[&PrivateKey],
        token: &str,
        log_key: &VerifierKey,
    ) -> Result<PushReceipt> {
        if role != "root" && role != "targets" {
            return Err(Error::Usage(format!(
                "{role}: only root and targets keys are held offline; the server holds the {role} key"
            )));
        }
        let now = Utc::now();
        let old = self.published::<Root>("root")?;
        let mut root = old.signed().clone();
        let current: Vec<String> = root
            .roles
            .get(role)
            .map(|r| r.keyids.clone())
            .unwrap_or_default();
        for key in new_keys {
            root.add_key(role, key.public()).map_err(tuf_err("root"))?;
        }
        let new_ids: Vec<&str> = new_keys.iter().map(|k| k.key_id()).collect();
        for id in current.iter().filter(|id| !new_ids.contains(&id.as_str())) {
            root.remove_key(role, id).map_err(tuf_err("root"))?;
        }
        root.set_threshold(role, threshold)
            .map_err(tuf_err("root"))?;
        bump(&mut root, expires_in(now, ROOT_EXPIRY_DAYS)?);
        let mut signers: Vec<&PrivateKey> = old_root_keys.to_vec();
        if role == "root" {
            for k in new_keys {
                if !signers.iter().any(|s| s.key_id() == k.key_id()) {
                    signers.push(k);
                }
            }
        }
        let root = Metadata::sign_new(root, &signers, &mut OsRng).map_err(tuf_err("root"))?;
        let mut files: Vec<(&str, Vec<u8>)> = vec![("root", root.bytes().to_vec())];
        if role == "targets" {
            let mut targets = self.published::<Targets>("targets")?.signed().clone();
            bump(&mut targets, expires_in(now, TARGETS_EXPIRY_DAYS)?);
            let signed =
                Metadata::sign_new(targets, new_keys, &mut OsRng).map_err(tuf_err("targets"))?;
            files.push(("targets", signed.bytes().to_vec()));
        }
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(r, b)| (*r, b.as_slice())).collect();
        let receipt = self.push(&refs, token, log_key).await?;
        for (role, bytes) in &files {
            write_atomic(&self.metadata_path(role)?, bytes)?;
        }
        Ok(receipt)
    }

    /// Published versions and staged changes.
    pub fn status(&self) -> Result<Status> {
        let root = self.published::<Root>("root")?;
        let targets = self.published::<Targets>("targets")?;
        Ok(Status {
            repo: self.repo.clone(),
            root_version: root.version(),
            targets_version: targets.version(),
            targets: targets.signed().targets.len(),
            staged: self.staged()?,
        })
    }

    /// The targets as they will be after publishing: published plus staged.
    pub fn targets(&self) -> Result<tuf::metadata::TargetsMap> {
        let mut t = self.published::<Targets>("targets")?.signed().clone();
        apply(&mut t, &self.staged()?)?;
        Ok(t.targets)
    }

    /// The key IDs the published root authorises for `role` that `keystore` holds.
    pub fn signing_keyids(&self, role: &str, keystore: &Keystore) -> Result<Vec<String>> {
        let root = self.published::<Root>("root")?;
        let authorised = root
            .signed()
            .roles
            .get(role)
            .map(|r| r.keyids.clone())
            .unwrap_or_default();
        let held: Vec<String> = keystore.list()?.into_iter().map(|k| k.keyid).collect();
        Ok(authorised
            .into_iter()
            .filter(|id| held.contains(id))
            .collect())
    }

    /// Applies the staged changes to targets, bumps its version, signs it with
    /// `targets_keys`, and pushes it as one push. Clears the stage on success.
    pub async fn publish(
        &self,
        targets_keys: &[&PrivateKey],
        token: &str,
        log_key: &VerifierKey,
    ) -> Result<PushReceipt> {
        let staged = self.staged()?;
        if staged.is_empty() {
            return Err(Error::Usage(format!("{}: nothing staged", self.repo)));
        }
        let mut targets = self.published::<Targets>("targets")?.signed().clone();
        apply(&mut targets, &staged)?;
        bump(&mut targets, expires_in(Utc::now(), TARGETS_EXPIRY_DAYS)?);
        let signed =
            Metadata::sign_new(targets, targets_keys, &mut OsRng).map_err(tuf_err("targets"))?;
        let receipt = self
            .push(&[("targets", signed.bytes())], token, log_key)
            .await?;
        write_atomic(&self.metadata_path("targets")?, signed.bytes())?;
        std::fs::remove_file(self.staged_path()).map_err(|e| Error::io(&self.staged_path(), e))?;
        Ok(receipt)
    }

    /// One multipart push; the reply's inclusion proofs are checked against the
    /// pinned log key for every file pushed, so "published" means "provably logged".
    async fn push(
        &self,
        files: &[(&str, &[u8])],
        token: &str,
        log_key: &VerifierKey,
    ) -> Result<PushReceipt> {
        let url = format!("{}/repos/{}/metadata", self.server, self.repo);
        let mut form = reqwest::multipart::Form::new();
        for (role, bytes) in files {
            // Named as the server's routes name the file: the role quoted.
            let part = format!("{}.json", tuf::updater::encode_role_name(role));
            form = form.part(
                part.clone(),
                reqwest::multipart::Part::bytes(bytes.to_vec())
                    .file_name(part)
                    .mime_str("application/json")
                    .map_err(|e| Error::malformed("push", e))?,
            );
        }
        let body = self
            .http
            .post_multipart(&url, token, form, MAX_RECEIPT_BYTES)
            .await?;
        let receipt = PushReceipt::from_json(&body).map_err(|e| Error::malformed(&url, e))?;
        let trust = LogTrust::new(log_key.clone(), None);
        for (role, bytes) in files {
            let doc_version = version_of(bytes)?;
            let entry = receipt.entry(role, doc_version).ok_or_else(|| Error::Log {
                file: format!("{doc_version}.{role}.json"),
                checkpoint: format!("size {}", receipt.size),
                detail: "the push reply does not list this file".into(),
            })?;
            let bundle = receipt.bundle(entry);
            let file = format!("{doc_version}.{role}.json");
            trust.check_bundle(&bundle, &self.repo, role, doc_version, bytes, &file)?;
        }
        Ok(receipt)
    }
}

fn version_of(bytes: &[u8]) -> Result<u64> {
    #[derive(Deserialize)]
    struct Signed {
        version: u64,
    }
    #[derive(Deserialize)]
    struct Envelope {
        signed: Signed,
    }
    serde_json::from_slice::<Envelope>(bytes)
        .map(|e| e.signed.version)
        .map_err(|e| Error::malformed("pushed metadata", e))
}

fn apply(targets: &mut Targets, changes: &[Change]) -> Result<()> {
    for change in changes {
        match change {
            Change::AddTarget { path, file } => {
                targets.targets.insert(path.clone(), file.clone());
            }
            Change::RemoveTarget { path } => {
                targets.remove_target(path).map_err(tuf_err("targets"))?;
            }
            Change::Delegate {
                role,
                keys,
                threshold,
                paths,
                terminating,
            } => {
                let refs: Vec<&Key> = keys.iter().collect();
                targets
                    .add_delegation(role, &refs, *threshold, paths.clone(), *terminating)
                    .map_err(tuf_err("targets"))?;
            }
            Change::Undelegate { role } => {
                targets
                    .remove_delegation(role)
                    .map_err(tuf_err("targets"))?;
            }
        }
    }
    Ok(())
}

/// A finished rotation of a repository's online keys.
#[derive(Clone, Debug)]
pub struct Rotation {
    /// The push of the new root; none when an earlier run's push had logged it
    /// already and only its answer was lost.
    pub receipt: Option<PushReceipt>,
    /// The generation of the keys that sign now.
    pub generation: u32,
}

fn remove_file_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}
