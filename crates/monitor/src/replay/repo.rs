//! One repository's replay: each logged version judged against what was
//! legitimately logged for the repository before it.

use super::*;

impl RepoReplay {
    /// Judges the entry at `index` of this repository (see the module docs for
    /// the checks, in order).
    pub(super) fn judge(
        &mut self,
        index: u64,
        entry: LogEntry,
        entry_bytes: &[u8],
        metadata: &[u8],
    ) -> Judged {
        let at = |kind, detail: String| {
            alert(kind, index, &entry.repo, &entry.role, entry.version, detail)
        };
        // 1. The bytes are the ones the entry commits to.
        if !entry.describes(metadata) {
            let sha = hex::encode(Sha256::digest(metadata));
            return Judged::alert(at(
                AlertKind::ContentMismatch,
                format!(
                    "the entry commits to {} bytes with SHA-256 {}; the metadata served is {} bytes with SHA-256 {sha}",
                    entry.length, entry.sha256, metadata.len()
                ),
            ));
        }
        // 2. Each (repository, role, version) once; versions only go up.
        let logged = self.logged.get(&entry.role);
        if let Some(earlier) = logged.and_then(|l| l.get(&entry.version)) {
            return Judged::alert(if *earlier == entry.sha256 {
                at(
                    AlertKind::Duplicate,
                    "this version was logged before".into(),
                )
            } else {
                at(
                    AlertKind::Equivocation,
                    format!(
                        "version {} was logged before with SHA-256 {earlier}; now with {}",
                        entry.version, entry.sha256
                    ),
                )
            });
        }
        let latest = logged.and_then(|l| l.keys().next_back().copied());
        // The role's name is copied only for its first version.
        match self.logged.get_mut(&entry.role) {
            Some(l) => {
                l.insert(entry.version, entry.sha256.clone());
            }
            None => {
                let first = BTreeMap::from([(entry.version, entry.sha256.clone())]);
                self.logged.insert(entry.role.clone(), first);
            }
        }
        // Taken as logged from here on, legitimate or not; the entry itself becomes
        // the record once judged (no copies of its names per entry).
        let mut judged = Judged {
            findings: Vec::new(),
            logged: None,
            dirty: entry.role != "timestamp",
        };
        if let Some(latest) = latest.filter(|l| *l > entry.version) {
            judged.findings.push(at(
                AlertKind::VersionNotIncreasing,
                format!("version {latest} was logged before"),
            ));
            judged.logged = Some(entry.into());
            return judged;
        }
        // 3–6, by role.
        let repo = self;
        let findings = &mut judged.findings;
        match entry.role.as_str() {
            "root" => findings.extend(repo.root(index, &entry, metadata)),
            "timestamp" => {
                let (found, doc) =
                    repo.top_level::<Timestamp>(index, &entry, metadata, |r, new| {
                        r.timestamp.as_ref().map_or(Ok(()), |t| {
                            tuf::updater::check_snapshot_listing(t.signed(), new)
                        })
                    });
                findings.extend(found);
                if let Some(doc) = doc {
                    // Re-signed timestamps that list the same snapshot change nothing
                    // the next check needs: only a new listing is stored.
                    let listed =
                        |t: &Metadata<Timestamp>| t.signed().snapshot_meta().map(|m| m.version);
                    if repo.timestamp.as_ref().and_then(listed) != listed(&doc) {
                        judged.dirty = true;
                    }
                    repo.timestamp = Some(doc);
                }
            }
            "snapshot" => {
                let (found, doc) = repo.top_level::<Snapshot>(index, &entry, metadata, |r, new| {
                    r.snapshot.as_ref().map_or(Ok(()), |s| {
                        tuf::updater::check_targets_listing(s.signed(), new)
                    })
                });
                findings.extend(found);
                if doc.is_some() {
                    repo.snapshot = doc;
                }
                // Every push logs its snapshot after its targets roles: whatever
                // still waits for a delegator has none.
                findings.extend(repo.judge_pending(true));
            }
            "targets" => {
                if let Some(doc) = parse::<Targets>(index, &entry, metadata, findings) {
                    findings.extend(repo.authorise_top_level(index, &entry, doc));
                    findings.extend(repo.judge_pending(false));
                }
            }
            _ => {
                if let Some(doc) = parse::<Targets>(index, &entry, metadata, findings) {
                    repo.pending.push(Pending {
                        index,
                        entry: entry.clone(),
                        entry_bytes: entry_bytes.to_vec(),
                        doc,
                    });
                    let overflow = repo.pending.len() > MAX_PENDING_PER_REPO;
                    findings.extend(repo.judge_pending(overflow));
                }
            }
        }
        judged.logged = Some(entry.into());
        judged
    }

    pub(super) fn state(&self) -> RepoState {
        RepoState {
            root: self.root.as_ref().map(|r| r.bytes().to_vec()),
            targets: self
                .targets
                .iter()
                .map(|(role, doc)| (role.clone(), doc.bytes().to_vec()))
                .collect(),
            pending: self
                .pending
                .iter()
                .map(|p| (p.index, p.entry_bytes.clone(), p.doc.bytes().to_vec()))
                .collect(),
            timestamp: self.timestamp.as_ref().map(|t| t.bytes().to_vec()),
            snapshot: self.snapshot.as_ref().map(|s| s.bytes().to_vec()),
        }
    }

    pub(super) fn root(&mut self, index: u64, entry: &LogEntry, bytes: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        let Some(doc) = parse::<Root>(index, entry, bytes, &mut findings) else {
            return findings;
        };
        let fail = |kind, detail: String| vec![on_entry(kind, index, entry, detail)];
        let judged = match &self.root {
            // TUF §5.3.4, §5.3.5: the rule every judge of a new root applies.
            Some(trusted) => verify_next_root(trusted.signed(), &doc).map_err(|e| {
                let kind = match e {
                    tuf::Error::Rollback { .. } | tuf::Error::VersionMismatch { .. } => {
                        AlertKind::RootSkipped
                    }
                    _ => AlertKind::RootNotAuthorized,
                };
                (kind, format!("against root v{}: {e}", trusted.version()))
            }),
            None => authorised(doc.signed(), "root", &doc).map_err(|e| {
                (
                    AlertKind::RootNotAuthorized,
                    format!("not signed by its own threshold: {e}"),
                )
            }),
        };
        if let Err((kind, detail)) = judged {
            return fail(kind, detail);
        }
        findings.extend(self.new_version(index, entry, &doc));
        self.root = Some(doc);
        findings
    }

    /// A timestamp or snapshot: signed as the root in force says, and listing no
    /// less than the one before it (`listing`). Returns the document when it is
    /// legitimate.
    pub(super) fn top_level<T: Role>(
        &self,
        index: u64,
        entry: &LogEntry,
        bytes: &[u8],
        listing: impl FnOnce(&Self, &T) -> Result<(), tuf::Error>,
    ) -> (Vec<Finding>, Option<Metadata<T>>) {
        let mut findings = Vec::new();
        let Some(doc) = parse::<T>(index, entry, bytes, &mut findings) else {
            return (findings, None);
        };
        if let Err(detail) = self.check_top_level(entry, &doc) {
            findings.push(on_entry(AlertKind::Unauthorized, index, entry, detail));
            return (findings, None);
        }
        if let Err(e) = listing(self, doc.signed()) {
            findings.push(on_entry(
                AlertKind::MetaRollback,
                index,
                entry,
                format!("lists less than the {} logged before it: {e}", entry.role),
            ));
            return (findings, None);
        }
        findings.extend(self.new_version(index, entry, &doc));
        (findings, Some(doc))
    }

    pub(super) fn authorise_top_level(
        &mut self,
        index: u64,
        entry: &LogEntry,
        doc: Metadata<Targets>,
    ) -> Vec<Finding> {
        match self.check_top_level(entry, &doc) {
            Ok(()) => {
                let found = self.new_version(index, entry, &doc);
                self.targets.insert(entry.role.clone(), doc);
                found.into_iter().collect()
            }
            Err(detail) => vec![on_entry(AlertKind::Unauthorized, index, entry, detail)],
        }
    }

    /// TUF §5.4.2, §5.5.3, §5.6.3: signed by the threshold the root in force sets.
    pub(super) fn check_top_level<T: Role>(
        &self,
        entry: &LogEntry,
        doc: &Metadata<T>,
    ) -> Result<(), String> {
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| "no root of this repository was logged before it".to_string())?;
        authorised(root.signed(), &entry.role, doc).map_err(|e| {
            format!(
                "not signed by the keys root v{} authorises for {}: {e}",
                root.version(),
                entry.role
            )
        })
    }

    /// Takes every waiting delegated version some targets role in force now
    /// delegates to; with `final_say`, reports the rest as unauthorised.
    pub(super) fn judge_pending(&mut self, final_say: bool) -> Vec<Finding> {
        let mut findings = Vec::new();
        loop {
            let before = self.pending.len();
            let waiting = std::mem::take(&mut self.pending);
            for p in waiting {
                if self.delegated_by_one_in_force(&p) {
                    findings.extend(self.new_version(p.index, &p.entry, &p.doc));
                    self.targets.insert(p.entry.role.clone(), p.doc);
                } else {
                    self.pending.push(p);
                }
            }
            // A role taken may itself delegate to another that waits.
            if self.pending.len() == before {
                break;
            }
        }
        if final_say {
            for p in self.pending.drain(..) {
                findings.push(alert(
                    AlertKind::Unauthorized,
                    p.index,
                    &p.entry.repo,
                    &p.entry.role,
                    p.entry.version,
                    "no targets role in force delegates it to the keys that signed it".into(),
                ));
            }
        }
        findings
    }

    /// TUF §5.6.7.2: signed by the threshold of keys a delegator names for it.
    pub(super) fn delegated_by_one_in_force(&self, p: &Pending) -> bool {
        self.targets
            .iter()
            .filter(|(name, _)| **name != p.entry.role)
            .filter_map(|(_, delegator)| delegator.signed().delegations.as_ref())
            .any(|delegations| {
                Authorization::delegated(delegations, &p.entry.role)
                    .and_then(|auth| verify_threshold(&auth, &p.doc))
                    .is_ok()
            })
    }
}

pub(super) fn authorised<T: Role>(root: &Root, role: &str, doc: &Metadata<T>) -> tuf::Result<()> {
    verify_threshold(&Authorization::top_level(root, role)?, doc)
}

pub(super) fn malformed_entry(index: u64, e: &tuf::Error) -> Finding {
    alert(
        AlertKind::Malformed,
        index,
        "?",
        "?",
        0,
        format!("the entry does not parse: {e}"),
    )
}

impl Judged {
    pub(super) fn alert(finding: Finding) -> Judged {
        Judged {
            findings: vec![finding],
            ..Judged::default()
        }
    }
}

/// Parses `bytes` as `T` at the entry's version, or records why not; a document
/// parsed `ahead` (from the same bytes, at that version) is taken as it is.
pub(super) fn parse<T: Role>(
    index: u64,
    entry: &LogEntry,
    bytes: &[u8],
    findings: &mut Vec<Finding>,
) -> Option<Metadata<T>> {
    let problem = match Metadata::<T>::from_bytes(bytes) {
        Ok(doc) if doc.version() == entry.version => return Some(doc),
        Ok(doc) => format!("the document is version {}", doc.version()),
        Err(e) => format!("the document does not parse as {}: {e}", T::TYPE),
    };
    findings.push(on_entry(AlertKind::Malformed, index, entry, problem));
    None
}

pub(super) fn alert(
    kind: AlertKind,
    index: u64,
    repo: &str,
    role: &str,
    version: u64,
    detail: String,
) -> Finding {
    Finding::Alert(Alert {
        kind,
        index,
        repo: repo.into(),
        role: role.into(),
        version,
        detail,
    })
}

pub(super) fn on_entry(kind: AlertKind, index: u64, entry: &LogEntry, detail: String) -> Finding {
    alert(kind, index, &entry.repo, &entry.role, entry.version, detail)
}

impl RepoReplay {
    /// The report of a legitimate new version, when this repository is watched.
    pub(super) fn new_version<T: Role>(
        &self,
        index: u64,
        entry: &LogEntry,
        doc: &Metadata<T>,
    ) -> Option<Finding> {
        self.watched.then(|| new_version(index, entry, doc))
    }
}

pub(super) fn new_version<T: Role>(index: u64, entry: &LogEntry, doc: &Metadata<T>) -> Finding {
    Finding::NewVersion(NewVersion {
        index,
        repo: entry.repo.clone(),
        role: entry.role.clone(),
        version: entry.version,
        sha256: entry.sha256.clone(),
        keyids: doc
            .signatures()
            .iter()
            .filter(|s| !s.sig.is_empty())
            .map(|s| s.keyid.clone())
            .collect(),
    })
}
