//! Judging checkpoints against the monitor's tree: those the log serves beyond
//! it, those heard through gossip, from peers and from witnesses, and the age of
//! the newest one verified.

use super::*;

impl Monitor {
    /// Judges a checkpoint no larger than the monitor's tree against it.
    pub(super) async fn judge_within(&self, heard: &Signed) -> Result<Verdict, Error> {
        let m = heard.checkpoint.size();
        let judged = {
            let view = self.read_view();
            let own = if m == 0 {
                tlog::EMPTY_ROOT
            } else {
                tree_root(m, &view.tree)?
            };
            if own == *heard.checkpoint.root() {
                None
            } else {
                // Proven from the monitor's own tree when a checkpoint it verified
                // covers size m.
                match &view.latest {
                    Some(l) if l.checkpoint.size() >= m && m > 0 => {
                        let n = l.checkpoint.size();
                        let consistency = if m < n {
                            Some((own, consistency_proof(m, n, &view.tree)?))
                        } else {
                            None
                        };
                        Some(Some((l.note.clone(), consistency)))
                    }
                    _ => Some(None),
                }
            }
        };
        match judged {
            None => {
                let newer = {
                    let view = self.read_view();
                    view.latest.as_ref().is_none_or(|l| l.checkpoint.size() < m)
                };
                if newer {
                    // A checkpoint for leaves already replayed (after a restart
                    // mid-catch-up): it becomes the latest verified.
                    let now = unix_now();
                    self.state.save_checkpoint(&heard.note, now)?;
                    self.write_view().latest = Some(heard.clone());
                    self.metrics.set_verified_size(m);
                    self.verified_at.store(now, Ordering::Relaxed);
                }
                Ok(Verdict::Consistent)
            }
            Some(Some((ours, consistency))) => {
                let evidence = Evidence::new(
                    &self.config.log_key,
                    &heard.note,
                    &ours,
                    consistency,
                    format!(
                        "the monitor's tree (from {}) at size {m} has another root",
                        self.config.log_url
                    ),
                )?;
                self.split_view(&evidence)?;
                Ok(Verdict::SplitView)
            }
            Some(None) => {
                // Leaves replayed beyond the latest verified checkpoint: the log's
                // tiles must settle it.
                self.diverged(heard, Source::Tiles).await
            }
        }
    }

    /// Judges `heard`, signed by the log and larger than the monitor's latest
    /// verified checkpoint, from the log's own tiles: one they prove inconsistent
    /// is a split view, with evidence; one they cannot prove either way is
    /// unproven. One they prove consistent was served with the wrong entries
    /// (`Entries`, `Tiles`), or is still `Behind` (`Heard`: the monitor could not
    /// fetch its entries, so it vouches for nothing).
    pub(super) async fn diverged(&self, heard: &Signed, source: Source) -> Result<Verdict, Error> {
        // Every tree extends the empty one: only a non-empty view can be forked.
        let ours = self
            .read_view()
            .latest
            .clone()
            .filter(|l| l.checkpoint.size() > 0);
        let Some(ours) = ours else {
            if source == Source::Heard {
                return Ok(Verdict::Behind);
            }
            self.alerts.raise(
                AlertRecord::log(
                    AlertKind::BadEntries,
                    format!(
                        "{} do not hash to the root of checkpoint {}",
                        source.as_str(),
                        heard.checkpoint.size()
                    ),
                    None,
                ),
                Some(format!("bad-entries/{}", heard.note)),
            );
            return Ok(Verdict::Unproven);
        };
        let (m, n) = (ours.checkpoint.size(), heard.checkpoint.size());
        let proven = if m < n {
            self.log
                .with_tiles(n, |reader| {
                    Ok((tree_root(m, reader)?, consistency_proof(m, n, reader)?))
                })
                .await
                .and_then(|(old, proof)| {
                    tlog::verify::verify_consistency(m, n, &old, heard.checkpoint.root(), &proof)?;
                    Ok((old, proof))
                })
        } else {
            Err(Error::Evidence("the heard checkpoint is not larger".into()))
        };
        match proven {
            Ok((old, _)) if old == *ours.checkpoint.root() && source == Source::Heard => {
                Ok(Verdict::Behind)
            }
            Ok((old, _)) if old == *ours.checkpoint.root() => {
                // The log's tree extends the monitor's: the entries it served were
                // not the ones in that tree.
                self.alerts.raise(
                    AlertRecord::log(
                        AlertKind::BadEntries,
                        format!(
                            "{} do not hash to the root of checkpoint {n}, which its tiles prove consistent with checkpoint {m}",
                            source.as_str()
                        ),
                        None,
                    ),
                    Some(format!("bad-entries/{}", heard.note)),
                );
                Ok(Verdict::Unproven)
            }
            Ok((old, proof)) => {
                let evidence = Evidence::new(
                    &self.config.log_key,
                    &ours.note,
                    &heard.note,
                    Some((old, proof)),
                    format!(
                        "the log at {} proved, from its own tiles, that its tree of size {n} does not begin with the tree of size {m} the monitor verified",
                        self.config.log_url
                    ),
                )?;
                self.split_view(&evidence)?;
                Ok(Verdict::SplitView)
            }
            Err(e) => {
                self.alerts.raise(
                    AlertRecord::log(
                        AlertKind::UnprovenCheckpoint,
                        format!(
                            "checkpoint {n} (root {}) is signed by the log, which cannot prove it consistent with checkpoint {m} (root {}): {e}",
                            heard.checkpoint.root().to_base64(),
                            ours.checkpoint.root().to_base64()
                        ),
                        None,
                    ),
                    Some(format!("unproven/{}/{}", ours.note, heard.note)),
                );
                Ok(Verdict::Unproven)
            }
        }
    }

    /// Writes `evidence` and raises the alert (once per pair of checkpoints).
    pub(super) fn split_view(&self, evidence: &Evidence) -> Result<(), Error> {
        let key = format!("split/{}/{}", evidence.smaller, evidence.larger);
        let name = {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(key.as_bytes());
            format!("split-view-{}.json", &hex::encode(digest)[..16])
        };
        let path = self.config.evidence_dir.join(name);
        let verdict = evidence.verify(Some(&self.config.log_key))?;
        if !path.exists() {
            edge::durable::write_atomic(&path, &evidence.to_json()).map_err(|e| Error::Io {
                path: path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
        }
        self.alerts.raise(
            AlertRecord::log(
                AlertKind::SplitView,
                format!("{}: {}", evidence.detail, verdict.reason),
                Some(path.display().to_string()),
            ),
            Some(key),
        );
        Ok(())
    }

    /// Judges a checkpoint heard from `from` (a client, a peer, a witness). One
    /// ahead of the tree is kept durably until the tree passes it, and the monitor
    /// follows the log to its size first, waiting at most `gossip_wait`: only a
    /// checkpoint whose every entry the monitor has fetched, hashed into its own
    /// tree and replayed is [`Verdict::Consistent`].
    pub async fn hear(self: &Arc<Self>, note: &[u8], from: &str) -> Result<Verdict, Error> {
        let heard = self.open_note(note)?;
        let verdict = self.judge_heard(heard, from).await?;
        self.metrics
            .gossip_checkpoints_total
            .with_label_values(&[verdict.as_str()])
            .inc();
        Ok(verdict)
    }

    pub(super) async fn judge_heard(
        self: &Arc<Self>,
        heard: Signed,
        from: &str,
    ) -> Result<Verdict, Error> {
        if heard.checkpoint.size() <= self.size() {
            return self.judge_within(&heard).await;
        }
        if let Some(verdict) = self.keep_heard(&heard, from)? {
            return Ok(verdict);
        }
        if !self.failed_lately(&heard.note) {
            // In a task of its own: a catch-up cut short by the wait would leave a
            // batch judged but not stored. Past the wait it goes on, and the
            // checkpoint is judged when the tree passes it.
            let monitor = self.clone();
            let target = heard.clone();
            let task = tokio::spawn(async move { monitor.catch_up_to(&target).await });
            match tokio::time::timeout(self.config.gossip_wait, task).await {
                Err(_) => return Ok(Verdict::Behind),
                Ok(Ok(Ok(Some(verdict)))) => return Ok(verdict),
                Ok(Ok(Ok(None))) => {}
                Ok(Ok(Err(e))) => {
                    tracing::info!(from, error = %e, "could not follow the log to a heard checkpoint");
                    self.catch_up_failed(&heard.note);
                }
                Ok(Err(e)) => {
                    tracing::warn!(from, error = %e, "a catch-up task failed");
                    self.catch_up_failed(&heard.note);
                }
            }
        }
        if heard.checkpoint.size() <= self.size() {
            return self.judge_within(&heard).await;
        }
        // The log would not take the monitor there; its own tiles may still prove
        // the checkpoint a fork.
        self.diverged(&heard, Source::Heard).await
    }

    /// Follows the log to `heard`'s size from its tiles; `Some` verdict when its
    /// entries do not lead there.
    pub(super) async fn catch_up_to(&self, heard: &Signed) -> Result<Option<Verdict>, Error> {
        let _one_at_a_time = self.stepping.lock().await;
        if self.size() >= heard.checkpoint.size() {
            return Ok(None);
        }
        Ok(
            match self.advance_to(heard, Source::Entries, &NoProgress).await? {
                (Step::Diverged, v) => Some(v),
                _ => None,
            },
        )
    }

    pub(super) fn lock_heard(&self) -> std::sync::MutexGuard<'_, Heard> {
        self.heard.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn failed_lately(&self, note: &str) -> bool {
        let pause = self.config.interval.min(Duration::from_secs(60));
        self.lock_heard()
            .failed
            .get(note)
            .is_some_and(|at| at.elapsed() < pause)
    }

    pub(super) fn catch_up_failed(&self, note: &str) {
        let mut heard = self.lock_heard();
        if heard.failed.len() >= MAX_HEARD_CHECKPOINTS {
            heard.failed.clear();
        }
        heard.failed.insert(note.to_string(), Instant::now());
    }

    /// Keeps `heard` (ahead of the tree) durably. `Some` verdict when that
    /// already settles it: another signed checkpoint of the same size with another
    /// root (a split view, evidence at once), or no room left.
    pub(super) fn keep_heard(&self, heard: &Signed, from: &str) -> Result<Option<Verdict>, Error> {
        let mut kept = self.lock_heard();
        let size = heard.checkpoint.size();
        let mut twin = None;
        for record in &kept.kept {
            if record.note == heard.note {
                return Ok(None);
            }
            // Verified when it was kept: only its size and root are read here,
            // on every heard checkpoint, so no signature is checked again.
            if let Some(other) = kept_checkpoint(&record.note) {
                if other.size() == size && other.root() == heard.checkpoint.root() {
                    return Ok(None);
                }
                if other.size() == size {
                    twin = Some(record.note.clone());
                }
            }
        }
        if let Some(other) = twin {
            drop(kept);
            let evidence = Evidence::new(
                &self.config.log_key,
                &other,
                &heard.note,
                None,
                format!(
                    "two checkpoints of size {size}, both signed by the log, with different roots (the second heard from {from})"
                ),
            )?;
            self.split_view(&evidence)?;
            return Ok(Some(Verdict::SplitView));
        }
        if kept.kept.len() >= MAX_HEARD_CHECKPOINTS {
            drop(kept);
            self.alerts.raise(
                AlertRecord::log(
                    AlertKind::UnprovenCheckpoint,
                    format!(
                        "more than {MAX_HEARD_CHECKPOINTS} checkpoints signed by the log are ahead of the monitor's tree; checkpoint {size} heard from {from} was not kept"
                    ),
                    None,
                ),
                Some(format!("heard-overflow/{}", heard.note)),
            );
            return Ok(Some(Verdict::Unproven));
        }
        kept.kept.push(HeardRecord {
            note: heard.note.clone(),
            heard_at: unix_now(),
            from: from.to_string(),
        });
        self.state.save_heard(&kept.kept)?;
        self.metrics.set_heard_pending(kept.kept.len());
        Ok(None)
    }

    /// Judges every kept checkpoint the tree now covers, and forgets it.
    pub(super) async fn settle_heard(&self) {
        let size = self.size();
        let due: Vec<HeardRecord> = self
            .lock_heard()
            .kept
            .iter()
            .filter(|h| note_size(&h.note).is_none_or(|s| s <= size))
            .cloned()
            .collect();
        if due.is_empty() {
            return;
        }
        for record in &due {
            match self.open_note(record.note.as_bytes()) {
                Ok(heard) => match self.judge_within(&heard).await {
                    Ok(verdict) => tracing::info!(
                        size = heard.checkpoint.size(),
                        from = %record.from,
                        %verdict,
                        "a heard checkpoint judged"
                    ),
                    Err(e) => tracing::warn!(error = %e, "a heard checkpoint could not be judged"),
                },
                Err(e) => tracing::warn!(error = %e, "a kept checkpoint no longer verifies"),
            }
        }
        let mut kept = self.lock_heard();
        kept.kept.retain(|h| !due.contains(h));
        if let Err(e) = self.state.save_heard(&kept.kept) {
            tracing::warn!(error = %e, "storing the heard checkpoints failed");
        }
        self.metrics.set_heard_pending(kept.kept.len());
    }

    /// Tries to follow the log to each kept checkpoint it has not reached, the
    /// smallest first (at most once per interval each).
    pub(super) async fn pursue_heard(&self, progress: &dyn Progress) {
        let mut ahead: Vec<Signed> = {
            let kept = self.lock_heard();
            kept.kept
                .iter()
                .filter_map(|h| self.open_note(h.note.as_bytes()).ok())
                .collect()
        };
        ahead.sort_by_key(|h| h.checkpoint.size());
        for heard in ahead {
            if heard.checkpoint.size() <= self.size() || self.failed_lately(&heard.note) {
                continue;
            }
            let _one_at_a_time = self.stepping.lock().await;
            let outcome = self.advance_to(&heard, Source::Entries, progress).await;
            if !matches!(outcome, Ok((Step::Advanced { .. }, _))) {
                self.catch_up_failed(&heard.note);
            }
        }
        self.settle_heard().await;
    }

    /// Freshness: the newest verified checkpoint may not be older than
    /// `max_checkpoint_age`, and a heard size must be reached within
    /// `heard_deadline`.
    pub(super) fn check_freshness(&self) {
        let now = unix_now();
        let age = self.refresh_age_metric(now);
        let latest = self.read_view().latest.clone();
        if let (Some(max), Some(latest)) = (self.config.max_checkpoint_age, latest) {
            if age > max.as_secs() {
                self.alerts.raise(
                    AlertRecord::log(
                        AlertKind::CheckpointStale,
                        format!(
                            "the newest checkpoint verified, of size {}, was first verified {age} s ago (more than {} s): the log stopped growing, or shows the monitor a frozen view",
                            latest.checkpoint.size(),
                            max.as_secs()
                        ),
                        None,
                    ),
                    Some(format!("stale/{}", latest.note)),
                );
            }
        }
        let size = self.size();
        let overdue: Vec<HeardRecord> = self
            .lock_heard()
            .kept
            .iter()
            .filter(|h| {
                note_size(&h.note).is_some_and(|s| s > size)
                    && h.heard_at
                        .saturating_add(self.config.heard_deadline.as_secs())
                        <= now
            })
            .cloned()
            .collect();
        for h in overdue {
            self.alerts.raise(
                AlertRecord::log(
                    AlertKind::CheckpointFrozen,
                    format!(
                        "checkpoint {} signed by the log, heard from {} {} s ago, is still ahead of everything the log let the monitor verify (size {size})",
                        note_size(&h.note).unwrap_or(0),
                        h.from,
                        now.saturating_sub(h.heard_at)
                    ),
                    None,
                ),
                Some(format!("frozen/{}", h.note)),
            );
        }
    }

    /// Sets the age gauge; returns the age in seconds.
    pub(super) fn refresh_age_metric(&self, now: u64) -> u64 {
        let age = now.saturating_sub(self.verified_at.load(Ordering::Relaxed));
        if self.read_view().latest.is_some() {
            self.metrics.set_checkpoint_age(age);
        }
        age
    }

    /// The metrics, with the checkpoint age as of now.
    pub fn render_metrics(&self) -> String {
        self.refresh_age_metric(unix_now());
        self.metrics.render()
    }

    /// Polls every peer's `GET /gossip/checkpoints` and judges what it reports.
    pub async fn poll_peers(self: &Arc<Self>) {
        for peer in &self.config.peers {
            match crate::http::fetch_peer(&self.http, peer).await {
                Ok(notes) => {
                    for note in notes {
                        if let Err(e) = self.hear(note.as_bytes(), &format!("peer {peer}")).await {
                            tracing::debug!(peer, error = %e, "a peer's checkpoint was not judged");
                        }
                    }
                }
                Err(e) => tracing::info!(peer, error = %e, "peer poll failed"),
            }
        }
    }

    /// Reads every configured witness's latest cosigned checkpoint of the log
    /// (`GET {url}/checkpoint?origin=…`) and judges it like gossip: a witness
    /// that cosigned a fork first is how the monitor hears of it.
    pub async fn poll_witnesses(self: &Arc<Self>) {
        for url in &self.config.witness_urls {
            match crate::http::fetch_witness(&self.http, url, self.config.log_key.name().as_str())
                .await
            {
                Ok(Some(note)) => {
                    if let Err(e) = self.hear(&note, &format!("witness {url}")).await {
                        tracing::info!(witness = %url, error = %e, "a witness's checkpoint was not judged");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::info!(witness = %url, error = %e, "witness poll failed"),
            }
        }
    }

    /// Signed checkpoints heard ahead of the tree, not yet judged.
    pub fn heard_pending(&self) -> usize {
        self.lock_heard().kept.len()
    }
}
