//! The proof bundles of the files an update accepted: where they come from, and
//! the ones requested but not yet checked.

use super::*;

/// Where proofs come from, and the log view they are checked against.
#[derive(Clone, Debug)]
pub struct Proofs {
    /// `{server}/repos/{repo}/proof`.
    pub proof_url: String,
    /// `{server}/log`, for a consistency proof between two served checkpoints.
    pub log_url: String,
    /// The repository name, as the log entries carry it.
    pub repo: String,
    /// The pinned log and the last checkpoint trusted.
    pub log: LogTrust,
    /// Where the trusted checkpoint is persisted.
    pub checkpoint_path: PathBuf,
}

/// A proof bundle on its way, for a file the TUF workflow accepted.
pub(super) struct PendingProof {
    pub(super) role: String,
    pub(super) version: u64,
    pub(super) bytes: Bytes,
    pub(super) file: String,
    pub(super) url: String,
    pub(super) body: BundleBody,
}

pub(super) enum BundleBody {
    /// To be taken from the update pack once it arrives, or fetched alone.
    InPack,
    Fetching(tokio::task::JoinHandle<Result<Option<Vec<u8>>>>),
    Arrived(Option<Vec<u8>>),
}

impl PendingProof {
    /// Starts fetching the bundle of `role` `version`, for `bytes` once they are
    /// known (see [`PendingProof::is_for`]).
    pub(super) fn start(http: &Http, proofs: &Proofs, role: &str, version: u64) -> Self {
        let file = format!("{version}.{}.json", encode_role_name(role));
        let url = bundle_url(proofs, &file);
        let (http, fetch) = (http.clone(), url.clone());
        let body = BundleBody::Fetching(tokio::spawn(async move {
            http.get(&fetch, MAX_BUNDLE_BYTES)
                .await
                .map_err(Error::from)
        }));
        PendingProof {
            role: role.into(),
            version,
            bytes: Bytes::new(),
            file,
            url,
            body,
        }
    }

    /// The bundle for `bytes`, from the update pack when it holds one, otherwise
    /// fetched alone.
    pub(super) fn from_pack_or_request(
        pack: &PackState,
        http: &Http,
        proofs: &Proofs,
        role: &str,
        version: u64,
        bytes: Bytes,
    ) -> Self {
        match pack.bundle_for(role, version, &bytes) {
            Some(bundle) => {
                let file = format!("{version}.{}.json", encode_role_name(role));
                PendingProof {
                    role: role.into(),
                    version,
                    bytes,
                    url: format!("{} (update pack)", bundle_url(proofs, &file)),
                    file,
                    body: BundleBody::Arrived(Some(bundle)),
                }
            }
            None => PendingProof {
                bytes,
                ..Self::start(http, proofs, role, version)
            },
        }
    }

    /// The bundle for `bytes`, to be taken from the update pack still on its way.
    pub(super) fn awaiting_pack(proofs: &Proofs, role: &str, version: u64, bytes: Bytes) -> Self {
        let file = format!("{version}.{}.json", encode_role_name(role));
        PendingProof {
            role: role.into(),
            version,
            bytes,
            url: bundle_url(proofs, &file),
            file,
            body: BundleBody::InPack,
        }
    }

    pub(super) fn is_for(&self, acc: &Accepted) -> bool {
        self.role == acc.role && self.version == acc.version
    }

    /// Waits for the reply if it has not arrived.
    pub(super) async fn arrive(&mut self) -> Result<()> {
        if let BundleBody::InPack = self.body {
            return Err(Error::Usage(format!(
                "{}: the proof bundle was never asked for",
                self.url
            )));
        }
        if let BundleBody::Fetching(fetching) = &mut self.body {
            let reply = fetching.await.map_err(|e| edge::Error::Transport {
                url: self.url.clone(),
                message: e.to_string(),
            })??;
            self.body = BundleBody::Arrived(reply);
        }
        Ok(())
    }

    /// The reply once arrived; `None` for a 404 (or before [`PendingProof::arrive`]).
    pub(super) fn arrived(&self) -> Option<&[u8]> {
        match &self.body {
            BundleBody::Arrived(reply) => reply.as_deref(),
            BundleBody::Fetching(_) | BundleBody::InPack => None,
        }
    }

    /// The reply if it has already arrived, without waiting for it: waiting for a
    /// bundle held back the targets check longer than staging its checkpoint at
    /// commit costs.
    pub(super) async fn arrived_already(&mut self) -> Result<Option<Vec<u8>>> {
        if let BundleBody::Fetching(fetching) = &self.body {
            if !fetching.is_finished() {
                return Ok(None);
            }
        }
        self.arrive().await?;
        Ok(self.arrived().map(<[u8]>::to_vec))
    }

    pub(super) fn abort(&self) {
        if let BundleBody::Fetching(fetching) = &self.body {
            fetching.abort();
        }
    }
}

/// Fetches the proof bundle for `file` (with a consistency proof from the trusted
/// size).
pub(crate) async fn fetch_bundle(http: &Http, proofs: &Proofs, file: &str) -> Result<ProofBundle> {
    let url = bundle_url(proofs, file);
    let body = http.get(&url, MAX_BUNDLE_BYTES).await?;
    parse_bundle(proofs, file, &url, body.as_deref())
}

/// The bundle in a reply to `url`; no reply (404) means the log has no such entry.
pub(super) fn parse_bundle(
    proofs: &Proofs,
    file: &str,
    url: &str,
    body: Option<&[u8]>,
) -> Result<ProofBundle> {
    let body = body.ok_or_else(|| Error::Log {
        file: file.into(),
        checkpoint: proofs
            .log
            .trusted()
            .map_or_else(|| "none yet".into(), crate::logtrust::describe),
        detail: format!("{url}: the log has no entry for this file"),
    })?;
    serde_json::from_slice(body).map_err(|e| Error::malformed(url, e))
}

/// The consistency proof between two tree sizes, from `{log_url}/proof/consistency`.
pub(crate) async fn fetch_consistency(
    http: &Http,
    log_url: &str,
    from: u64,
    size: u64,
) -> Result<Vec<String>> {
    let url = format!(
        "{}/proof/consistency?from={from}&size={size}",
        log_url.trim_end_matches('/')
    );
    let body = http
        .get(&url, MAX_BUNDLE_BYTES)
        .await?
        .ok_or_else(|| Error::malformed(&url, "not found"))?;
    Ok(wire::replies::ConsistencyReply::from_json(&body)
        .map_err(|e| Error::malformed(&url, e))?
        .proof)
}

/// The proof bundle URL for `file`, with a consistency proof from the trusted size.
pub(super) fn bundle_url(proofs: &Proofs, file: &str) -> String {
    let from = proofs.log.trusted_size();
    let mut url = format!("{}/{file}", proofs.proof_url.trim_end_matches('/'));
    if from > 0 {
        url.push_str(&format!("?from={from}"));
    }
    url
}
