//! Where findings go: structured log events, Prometheus counters, an optional
//! webhook, and a short in-memory list served at `GET /alerts`.

use crate::metrics::Metrics;
use crate::replay::{Alert, AlertKind, NewVersion};
use edge::Http;
use serde::Serialize;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Alerts kept in memory for `GET /alerts`; older ones are in the logs.
pub const MAX_RECENT_ALERTS: usize = 1000;

/// Distinct alerts remembered to avoid raising one twice (a fork is seen again at
/// every poll).
pub const MAX_REMEMBERED_ALERTS: usize = 100_000;

/// How long a webhook delivery may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// One alert, as logged, served and posted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertRecord {
    /// [`AlertKind::as_str`].
    pub kind: String,
    /// Specifics, for people.
    pub detail: String,
    /// The entry's index, for alerts about one entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Repository, role and version, for alerts about one version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The evidence file written for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl AlertRecord {
    /// An alert about the log as a whole.
    pub fn log(kind: AlertKind, detail: String, evidence: Option<String>) -> Self {
        AlertRecord {
            kind: kind.as_str().into(),
            detail,
            index: None,
            repo: None,
            role: None,
            version: None,
            evidence,
        }
    }
}

impl From<&Alert> for AlertRecord {
    fn from(a: &Alert) -> Self {
        AlertRecord {
            kind: a.kind.as_str().into(),
            detail: a.detail.clone(),
            index: Some(a.index),
            repo: Some(a.repo.clone()),
            role: Some(a.role.clone()),
            version: Some(a.version),
            evidence: None,
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Posted<'a> {
    Alert(&'a AlertRecord),
    NewVersion {
        index: u64,
        repo: &'a str,
        role: &'a str,
        version: u64,
        sha256: &'a str,
        keyids: &'a [String],
    },
}

/// The monitor's alert sink.
pub struct Alerts {
    metrics: Arc<Metrics>,
    webhook: Option<String>,
    http: Http,
    recent: Mutex<VecDeque<AlertRecord>>,
    raised: Mutex<HashSet<String>>,
}

impl Alerts {
    /// A sink that posts to `webhook` when given.
    pub fn new(metrics: Arc<Metrics>, webhook: Option<String>, http: Http) -> Self {
        Alerts {
            metrics,
            webhook,
            http,
            recent: Mutex::new(VecDeque::new()),
            raised: Mutex::new(HashSet::new()),
        }
    }

    /// Raises `record` unless an alert with the same `dedupe` key was raised
    /// before. Returns whether it was raised.
    pub fn raise(&self, record: AlertRecord, dedupe: Option<String>) -> bool {
        if let Some(key) = dedupe {
            let mut raised = self.raised.lock().unwrap_or_else(|p| p.into_inner());
            if raised.len() >= MAX_REMEMBERED_ALERTS {
                raised.clear();
            }
            if !raised.insert(key) {
                return false;
            }
        }
        tracing::warn!(
            target: "monitor::alert",
            kind = %record.kind,
            index = ?record.index,
            repo = ?record.repo,
            role = ?record.role,
            version = ?record.version,
            evidence = ?record.evidence,
            detail = %record.detail,
            "alert"
        );
        self.metrics
            .alerts_total
            .with_label_values(&[&record.kind])
            .inc();
        self.post(&Posted::Alert(&record));
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() >= MAX_RECENT_ALERTS {
            recent.pop_front();
        }
        recent.push_back(record);
        true
    }

    /// Reports a legitimate new version of a watched repository.
    pub fn watched_version(&self, v: &NewVersion) {
        tracing::info!(
            target: "monitor::watch",
            index = v.index,
            repo = %v.repo,
            role = %v.role,
            version = v.version,
            sha256 = %v.sha256,
            keyids = ?v.keyids,
            "new version"
        );
        self.metrics
            .watched_versions_total
            .with_label_values(&[&v.repo])
            .inc();
        self.post(&Posted::NewVersion {
            index: v.index,
            repo: &v.repo,
            role: &v.role,
            version: v.version,
            sha256: &v.sha256,
            keyids: &v.keyids,
        });
    }

    /// The latest alerts, oldest first.
    pub fn recent(&self) -> Vec<AlertRecord> {
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Posts `event` to the webhook in the background; a failed delivery is
    /// logged, never retried into the follow loop's way.
    fn post(&self, event: &Posted<'_>) {
        let Some(url) = self.webhook.clone() else {
            return;
        };
        let Ok(body) = serde_json::to_vec(event) else {
            return;
        };
        let client = self.http.inner().clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let sent = client
                .post(&url)
                .header("content-type", "application/json")
                .timeout(WEBHOOK_TIMEOUT)
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::warn!(url, status = r.status().as_u16(), "webhook refused"),
                Err(e) => tracing::warn!(url, error = %e, "webhook failed"),
            }
        });
    }
}
