//! Fetching entries for the follower: batches of entry bundles and the metadata
//! each entry names, fetched ahead while the batch before is judged.

use super::*;

/// What fetching a batch takes, owned, so that the fetch runs on the runtime while
/// the batch before it is judged.
#[derive(Clone)]
pub(super) struct Fetcher {
    pub(super) log: LogClient,
    pub(super) window: usize,
    pub(super) metadata_bundles: bool,
}

/// A judged batch, stored while the next one is judged.
pub(super) struct Unsaved {
    pub(super) from: u64,
    pub(super) to: u64,
    /// The last batch of the step: stored with the checkpoint.
    pub(super) done: bool,
    pub(super) changes: crate::replay::Changes,
    pub(super) findings: Vec<Finding>,
}

/// A batch ready to judge: its entries and the metadata each commits to.
pub(super) struct FetchedBatch {
    pub(super) tiles: std::ops::Range<u64>,
    pub(super) entries: Vec<(u64, Vec<u8>)>,
    pub(super) metadata: Vec<Served>,
}

pub(super) enum Fetched {
    Batch(FetchedBatch),
    /// A bundle fetched again no longer holds the entry whose leaf was verified.
    EntryChanged(u64),
}

/// A batch being fetched ahead; dropped unawaited (the step failed), it stops.
pub(super) struct FetchAhead(pub(super) tokio::task::JoinHandle<Result<Fetched, Error>>);

impl Drop for FetchAhead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Fetcher {
    /// The entries `range` (in bundles `tiles`; `cached` holds those kept from
    /// verifying the tree) and their metadata. A bundle fetched again must hold
    /// the entries whose leaves (`verified`) were checked against the signed root.
    pub(super) async fn batch(
        self,
        tiles: std::ops::Range<u64>,
        range: std::ops::Range<u64>,
        size: u64,
        cached: Vec<Option<Vec<Vec<u8>>>>,
        verified: Vec<Hash>,
    ) -> Result<Fetched, Error> {
        let per_tile = MAX_BUNDLE_ENTRIES as u64;
        let mut entries = Vec::with_capacity(verified.len());
        for (t, slot) in tiles.clone().zip(cached) {
            let (bundle, refetched) = match slot {
                Some(b) => (b, false),
                None => (self.log.bundle(bundle_tile(t, size)?).await?, true),
            };
            let first = t * per_tile;
            for (i, e) in bundle.into_iter().enumerate() {
                let index = first + i as u64;
                if !range.contains(&index) {
                    continue;
                }
                if refetched
                    && verified.get(usize::try_from(index - range.start).unwrap_or(usize::MAX))
                        != Some(&leaf_hash(&e))
                {
                    return Ok(Fetched::EntryChanged(index));
                }
                entries.push((index, e));
            }
        }
        let metadata = self.metadata(&entries, tiles.clone(), size).await?;
        Ok(Fetched::Batch(FetchedBatch {
            tiles,
            entries,
            metadata,
        }))
    }

    /// Each entry's metadata, in entry order: from the metadata bundles of `tiles`
    /// (all of them in flight at once) when the log serves them, otherwise (and for
    /// documents left out of a bundle) fetched by content, `fetch_window` requests
    /// in flight.
    pub(super) async fn metadata(
        &self,
        entries: &[(u64, Vec<u8>)],
        tiles: std::ops::Range<u64>,
        size: u64,
    ) -> Result<Vec<Served>, Error> {
        let per_tile = MAX_BUNDLE_ENTRIES as u64;
        let wanted = if self.metadata_bundles {
            tiles
                .clone()
                .map(|t| bundle_tile(t, size))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        let mut bundled: Vec<Option<Vec<Bundled>>> = Vec::with_capacity(wanted.len());
        let jobs: Vec<_> = wanted
            .iter()
            .map(|&tile| {
                let log = self.log.clone();
                async move { log.metadata_bundle(tile).await }
            })
            .collect();
        in_order(&self.log, wanted.len(), jobs, |b| {
            bundled.push(b);
            Ok(())
        })
        .await?;
        let mut out: Vec<Option<Served>> = Vec::with_capacity(entries.len());
        for (index, _) in entries {
            let slot = usize::try_from(index / per_tile - tiles.start)
                .ok()
                .and_then(|t| bundled.get_mut(t)?.as_mut())
                .and_then(|b| b.get_mut(usize::try_from(index % per_tile).ok()?));
            out.push(match slot.map(|s| std::mem::replace(s, Bundled::LeftOut)) {
                Some(Bundled::Bytes(bytes)) => Some(Served::Bytes(bytes)),
                Some(Bundled::NotStored) => Some(Served::NotServed),
                Some(Bundled::LeftOut) | None => None,
            });
        }
        // An entry that does not parse commits to nothing; the replay says so.
        let missing: Vec<(usize, Option<(String, u64)>)> = entries
            .iter()
            .zip(&out)
            .enumerate()
            .filter(|(_, (_, o))| o.is_none())
            .map(|(i, ((_, e), _))| {
                (
                    i,
                    LogEntry::from_bytes(e).ok().map(|e| (e.sha256, e.length)),
                )
            })
            .collect();
        let jobs: Vec<_> = missing
            .into_iter()
            .map(|(i, wanted)| {
                let log = self.log.clone();
                async move {
                    let served = match wanted {
                        Some((sha, length)) => log.metadata(&sha, length).await?,
                        None => Served::Bytes(Vec::new()),
                    };
                    Ok((i, served))
                }
            })
            .collect();
        in_order(&self.log, self.window, jobs, |(i, served)| {
            out[i] = Some(served);
            Ok(())
        })
        .await?;
        Ok(out
            .into_iter()
            .map(|o| o.unwrap_or(Served::NotServed))
            .collect())
    }
}

/// Runs `jobs` on the runtime, at most `window` at once, handing each result to
/// `each` in the order the jobs were given.
pub(super) async fn in_order<T, J>(
    log: &LogClient,
    window: usize,
    jobs: impl IntoIterator<Item = J>,
    mut each: impl FnMut(T) -> Result<(), Error>,
) -> Result<(), Error>
where
    T: Send + 'static,
    J: std::future::Future<Output = Result<T, Error>> + Send + 'static,
{
    let mut in_flight = VecDeque::new();
    let mut jobs = jobs.into_iter();
    loop {
        while in_flight.len() < window.max(1) {
            let Some(job) = jobs.next() else { break };
            in_flight.push_back(tokio::spawn(job));
        }
        let Some(running) = in_flight.pop_front() else {
            return Ok(());
        };
        each(running.await.map_err(|e| Error::fetch(log.base(), e))??)?;
    }
}

/// The level-0 tile `t` as a tree of `size` has it.
pub(super) fn bundle_tile(t: u64, size: u64) -> Result<Tile, Error> {
    Tile::for_tree_size(0, t, size)
        .ok_or_else(|| Error::Damaged(format!("no entry bundle {t} in a tree of {size}")))
}

pub(super) fn unavailable(index: u64, entry: &[u8]) -> Finding {
    let (repo, role, version, sha) = match LogEntry::from_bytes(entry) {
        Ok(e) => (e.repo, e.role, e.version, e.sha256),
        Err(_) => ("?".into(), "?".into(), 0, "?".into()),
    };
    Finding::Alert(crate::replay::Alert {
        kind: AlertKind::MetadataUnavailable,
        index,
        repo,
        role,
        version,
        detail: format!(
            "the log does not serve the metadata with SHA-256 {sha} that this entry commits to"
        ),
    })
}
