//! The monitor proper: follows one log, keeps its own copy of the tree, replays
//! every entry, and judges every checkpoint it meets (from the log or from
//! gossip) against that tree.
//!
//! A follow step:
//! 1. fetches the log's checkpoint and verifies the log key's signature;
//! 2. if it is no larger than the monitor's tree, checks the monitor's own root
//!    at that size: a different root is a split view, proven from the monitor's
//!    tree;
//! 3. otherwise fetches the new entries, recomputes the root from them and the
//!    tree so far (RFC 9162 §2.1.1), and requires the signed one. A different root
//!    means the log rewrote history (proven, when the log's tiles show it, by an
//!    evidence file) or served entries that are not in its tree;
//! 4. replays the new entries against TUF rules ([`crate::replay`]), fetching
//!    each one's metadata by content, and stores the leaves, the replay's changes
//!    and, at the end, the new checkpoint, one synced batch at a time.

use crate::alerts::{AlertRecord, Alerts};
use crate::fetch::{LogClient, Served};
use crate::metrics::Metrics;
use crate::replay::{AlertKind, Finding, Replay, Watched};
use crate::state::{HeardRecord, State};
use crate::Error;
use edge::Http;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use store::KvStore;
use tlog::tile::MAX_BUNDLE_ENTRIES;
use tlog::tree::{consistency_proof, tree_root};
use tlog::{leaf_hash, Checkpoint, CompactRange, Hash, MemoryHashStore, Tile, VerifierKey};
use tuf::logentry::{Bundled, LogEntry};
use wire::evidence::Evidence;

mod fetcher;
mod heard;

use fetcher::*;

/// Entry bundles kept in memory between verifying a catch-up and replaying it;
/// beyond this they are fetched again (and checked against the verified leaves).
pub const MAX_CACHED_BUNDLE_BYTES: usize = 256 << 20;

/// Signed checkpoints ahead of the monitor's tree kept at once. Only the log key
/// signs them, so more than this is itself a sign of a log gone wrong: an alert,
/// and the checkpoint is still never vouched for.
pub const MAX_HEARD_CHECKPOINTS: usize = 64;

/// What a monitor needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The log's base URL.
    pub log_url: String,
    /// The log's verifier key (its name is the log's origin).
    pub log_key: VerifierKey,
    /// Peer monitors whose checkpoints are polled.
    pub peers: Vec<String>,
    /// Repositories whose every new version is reported.
    pub watch: Vec<String>,
    /// Where alerts are posted, as JSON.
    pub webhook: Option<String>,
    /// Where evidence files are written.
    pub evidence_dir: PathBuf,
    /// Time between follow steps and peer polls.
    pub interval: Duration,
    /// Entries replayed per stored batch.
    pub batch_entries: u64,
    /// Metadata fetches in flight.
    pub fetch_window: usize,
    /// Threads judging each batch, each taking whole repositories.
    pub replay_threads: usize,
    /// Fetch metadata by the bundle (`GET /metadata/bundle/…`) where the log serves
    /// it; otherwise, and for logs that do not, one document at a time.
    pub metadata_bundles: bool,
    /// The witness policy the log's clients apply. A checkpoint the log serves
    /// that falls short of it is an alert.
    pub witnesses: Option<tlog::witness_policy::WitnessPolicy>,
    /// Witnesses whose latest cosigned checkpoint of this log is read every
    /// interval (`GET {url}/checkpoint?origin=…`) and judged like gossip.
    pub witness_urls: Vec<String>,
    /// How long an answer to gossip may wait while the monitor follows the log to
    /// the size of a checkpoint it heard.
    pub gossip_wait: Duration,
    /// A heard checkpoint the monitor's verified tree has not reached after this
    /// long raises `checkpoint_frozen`.
    pub heard_deadline: Duration,
    /// The newest verified checkpoint older than this (since the monitor first
    /// verified a tree of its size) raises `checkpoint_stale`. A live tuflog log
    /// grows at least as often as its timestamps are re-signed.
    pub max_checkpoint_age: Option<Duration>,
    /// CA certificates (PEM) trusted for `https://` URLs (the log, peers,
    /// witnesses, the webhook) besides the public roots: a log whose certificate
    /// a private CA issued.
    pub ca_cert: Option<PathBuf>,
}

impl Config {
    /// Defaults for following `log_url` signed by `log_key`.
    pub fn new(log_url: &str, log_key: VerifierKey) -> Self {
        Config {
            log_url: log_url.into(),
            log_key,
            peers: Vec::new(),
            watch: Vec::new(),
            webhook: None,
            evidence_dir: PathBuf::from("evidence"),
            interval: Duration::from_secs(5),
            batch_entries: 16384,
            fetch_window: 32,
            metadata_bundles: true,
            replay_threads: std::thread::available_parallelism().map_or(1, usize::from),
            witnesses: None,
            witness_urls: Vec::new(),
            gossip_wait: Duration::from_secs(10),
            heard_deadline: Duration::from_secs(300),
            max_checkpoint_age: Some(Duration::from_secs(25 * 3600)),
            ca_cert: None,
        }
    }
}

/// Told how a catch-up advances (the CLI draws a progress bar).
pub trait Progress: Send + Sync {
    /// A phase over `total` entries starts.
    fn start(&self, phase: &str, total: u64);
    /// `n` more entries done.
    fn advance(&self, n: u64);
    /// The phase ended.
    fn finish(&self);
}

/// Progress nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// What a follow step found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing new (or an older checkpoint, consistent with the tree).
    UpToDate,
    /// Entries `from..to` were verified and replayed.
    Advanced {
        /// First new entry.
        from: u64,
        /// New tree size.
        to: u64,
    },
    /// The log's checkpoint does not match the monitor's tree; an alert was
    /// raised.
    Diverged,
}

/// How a heard checkpoint compares with the monitor's view: the wire type the
/// client reads.
pub use wire::Verdict;

/// Why a checkpoint larger than the monitor's verified view is judged from the
/// log's tiles.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The entries the log served for it (served or heard) did not hash to its
    /// root.
    Entries,
    /// It is no larger than the leaves replayed but larger than the latest
    /// verified checkpoint (after a restart mid-catch-up).
    Tiles,
    /// It was heard (from a client, a peer or a witness), and the log did not
    /// serve the monitor its entries.
    Heard,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Entries => "the entries the log serves",
            Source::Tiles => "the log's tiles",
            Source::Heard => "a heard checkpoint's entries",
        }
    }
}

/// A checkpoint signed by the log, with its note as signed.
#[derive(Clone)]
struct Signed {
    note: String,
    checkpoint: Checkpoint,
}

struct View {
    tree: MemoryHashStore,
    /// The latest checkpoint verified against `tree`.
    latest: Option<Signed>,
}

/// Checkpoints heard ahead of the tree, as stored, and when a catch-up to each
/// last failed (so repeated gossip of one checkpoint does not make the monitor
/// hammer the log).
#[derive(Default)]
struct Heard {
    kept: Vec<HeardRecord>,
    failed: HashMap<String, Instant>,
}

/// A monitor of one log.
pub struct Monitor {
    config: Config,
    log: LogClient,
    http: Http,
    state: State,
    view: RwLock<View>,
    /// When a tree of the latest verified checkpoint's size was first verified.
    verified_at: AtomicU64,
    heard: Mutex<Heard>,
    replay: Mutex<Replay>,
    stepping: tokio::sync::Mutex<()>,
    alerts: Alerts,
    metrics: Arc<Metrics>,
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Monitor {
    /// Opens the monitor's state in `kv` (resuming where it stopped).
    pub fn open(config: Config, kv: Arc<dyn KvStore>) -> Result<Self, Error> {
        let state = State::new(kv);
        let stored = state.load(&config.log_key.to_string())?;
        let latest = match stored.checkpoint {
            Some(note) => {
                let checkpoint = tlog::checkpoint::open(note.as_bytes(), &config.log_key, &[])?
                    .into_checkpoint();
                let own = tree_root(checkpoint.size(), &stored.tree)?;
                if checkpoint.size() > stored.tree.size() || own != *checkpoint.root() {
                    return Err(Error::Damaged(
                        "the stored checkpoint does not match the stored tree".into(),
                    ));
                }
                Some(Signed { note, checkpoint })
            }
            None => None,
        };
        let metrics =
            Arc::new(Metrics::new().map_err(|e| Error::Damaged(format!("metrics: {e}")))?);
        if let Some(l) = &latest {
            metrics.set_verified_size(l.checkpoint.size());
        }
        if let Some(policy) = &config.witnesses {
            policy
                .check(&config.log_key)
                .map_err(|e| Error::Damaged(format!("witness policy: {e}")))?;
        }
        let http = match &config.ca_cert {
            Some(ca) => Http::trusting(ca).map_err(|e| Error::Config(format!("ca_cert: {e}")))?,
            None => Http::new(),
        };
        let mut replay = stored.replay;
        replay.watch(Watched::from_names(&config.watch));
        metrics.set_heard_pending(stored.heard.len());
        Ok(Monitor {
            log: LogClient::new(&config.log_url, http.clone()),
            alerts: Alerts::new(metrics.clone(), config.webhook.clone(), http.clone()),
            http,
            config,
            state,
            view: RwLock::new(View {
                tree: stored.tree,
                latest,
            }),
            verified_at: AtomicU64::new(stored.checkpoint_at.unwrap_or_else(unix_now)),
            heard: Mutex::new(Heard {
                kept: stored.heard,
                failed: HashMap::new(),
            }),
            replay: Mutex::new(replay),
            stepping: tokio::sync::Mutex::new(()),
            metrics,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The alert sink.
    pub fn alerts(&self) -> &Alerts {
        &self.alerts
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The latest checkpoint verified against the monitor's tree, as signed.
    pub fn latest_note(&self) -> Option<String> {
        self.read_view().latest.as_ref().map(|l| l.note.clone())
    }

    /// Leaves replayed so far.
    pub fn size(&self) -> u64 {
        self.read_view().tree.size()
    }

    fn read_view(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_view(&self) -> std::sync::RwLockWriteGuard<'_, View> {
        self.view.write().unwrap_or_else(|p| p.into_inner())
    }

    fn open_note(&self, bytes: &[u8]) -> Result<Signed, Error> {
        let verified = tlog::checkpoint::open(bytes, &self.config.log_key, &[])?;
        let note = String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::Log(tlog::Error::MalformedNote("not UTF-8".into())))?;
        Ok(Signed {
            note,
            checkpoint: verified.into_checkpoint(),
        })
    }

    /// One follow step (see the module docs), then the checkpoints heard ahead of
    /// the tree: each is followed as far as the log allows, and judged once the
    /// tree passes its size. Last, the freshness checks.
    pub async fn follow_once(&self, progress: &dyn Progress) -> Result<Step, Error> {
        let started = Instant::now();
        let result = self.step(progress).await;
        self.metrics
            .follow_step_duration_seconds
            .observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            self.metrics.follow_errors_total.inc();
        }
        self.pursue_heard(progress).await;
        self.check_freshness();
        result
    }

    async fn step(&self, progress: &dyn Progress) -> Result<Step, Error> {
        let _one_at_a_time = self.stepping.lock().await;
        // Taken before the log is asked, so that a checkpoint heard while it
        // answers is not held against it.
        let known = self.known_size();
        let bytes = self.log.checkpoint().await?;
        let served = self.open_note(&bytes)?;
        self.check_served(&served, &bytes, known);
        Ok(self.advance_to(&served, Source::Entries, progress).await?.0)
    }

    /// The largest size the log signed that the monitor verified or heard, and
    /// whether it was only heard.
    fn known_size(&self) -> (u64, bool) {
        let verified = self
            .read_view()
            .latest
            .as_ref()
            .map_or(0, |l| l.checkpoint.size());
        let heard = self
            .lock_heard()
            .kept
            .iter()
            .filter_map(|h| note_size(&h.note))
            .max()
            .unwrap_or(0);
        if heard > verified {
            (heard, true)
        } else {
            (verified, false)
        }
    }

    /// The checks on the checkpoint the log serves the monitor: it may not go back
    /// from a size the log signed before (a rollback, or a freeze once the monitor
    /// has verified past it through a checkpoint someone else was shown), and it
    /// must meet the witness policy the log's clients apply.
    fn check_served(&self, served: &Signed, bytes: &[u8], (known, only_heard): (u64, bool)) {
        let size = served.checkpoint.size();
        if size < known {
            let how = if only_heard {
                "heard (signed by the log)"
            } else {
                "verified"
            };
            self.alerts.raise(
                AlertRecord::log(
                    AlertKind::CheckpointRollback,
                    format!(
                        "the log at {} serves checkpoint {size}, smaller than checkpoint {known} the monitor {how}: it went back, or shows the monitor a frozen view",
                        self.config.log_url
                    ),
                    None,
                ),
                Some(format!("rollback/{known}/{}", served.note)),
            );
        }
        if let Some(policy) = &self.config.witnesses {
            let cosigned = tlog::checkpoint::open(bytes, &self.config.log_key, &policy.witnesses)
                .map(|v| policy.cosigners(&v, Some(unix_now())))
                .unwrap_or(0);
            if cosigned < policy.threshold {
                self.alerts.raise(
                    AlertRecord::log(
                        AlertKind::WitnessPolicy,
                        format!(
                            "the log serves checkpoint {size} with {cosigned} of the {} witness cosignatures its clients require: clients with the policy refuse it",
                            policy.threshold
                        ),
                        None,
                    ),
                    Some(format!("witness-policy/{}", served.note)),
                );
            }
        }
    }

    /// Takes the monitor's tree to `heard`'s size (the caller holds `stepping`):
    /// fetches the new entries, requires them to hash to the signed root, and
    /// replays them. A checkpoint within the tree is judged against it. Then the
    /// heard checkpoints the tree now passes are judged.
    async fn advance_to(
        &self,
        heard: &Signed,
        source: Source,
        progress: &dyn Progress,
    ) -> Result<(Step, Verdict), Error> {
        let size = self.size();
        let new_size = heard.checkpoint.size();
        if new_size <= size {
            return Ok(match self.judge_within(heard).await? {
                Verdict::Consistent => (Step::UpToDate, Verdict::Consistent),
                v => (Step::Diverged, v),
            });
        }
        // The new leaves, verified against the signed root before any is replayed.
        let (leaves, cached) = self.fetch_leaves(size, new_size, progress).await?;
        let root = {
            let view = self.read_view();
            let mut range = CompactRange::from_reader(size, &view.tree)?;
            for leaf in &leaves {
                range.append(*leaf, |_, _| {})?;
            }
            range.root()
        };
        if root != *heard.checkpoint.root() {
            let verdict = self.diverged(heard, source).await?;
            return Ok((Step::Diverged, verdict));
        }
        self.replay_range(size, &leaves, cached, heard, progress)
            .await?;
        self.settle_heard().await;
        Ok((
            Step::Advanced {
                from: size,
                to: new_size,
            },
            Verdict::Consistent,
        ))
    }

    /// Fetches the entry bundles of `from..to` and hashes their leaves; keeps the
    /// bundles while they fit in [`MAX_CACHED_BUNDLE_BYTES`].
    async fn fetch_leaves(
        &self,
        from: u64,
        to: u64,
        progress: &dyn Progress,
    ) -> Result<(Vec<Hash>, Vec<Option<Vec<Vec<u8>>>>), Error> {
        let per_tile = MAX_BUNDLE_ENTRIES as u64;
        let tiles = (from / per_tile..to.div_ceil(per_tile))
            .map(|t| bundle_tile(t, to))
            .collect::<Result<Vec<_>, _>>()?;
        let mut leaves = Vec::with_capacity(usize::try_from(to - from).unwrap_or(0));
        let mut cached = Vec::with_capacity(tiles.len());
        let mut cached_bytes = 0usize;
        progress.start("verifying the tree", to - from);
        // Collected first: a lazy iterator would hold `&self` across the awaits.
        let jobs: Vec<_> = tiles
            .into_iter()
            .map(|tile| {
                let log = self.log.clone();
                async move { Ok((tile, log.bundle(tile).await?)) }
            })
            .collect();
        in_order(
            &self.log,
            self.config.fetch_window,
            jobs,
            |(tile, entries)| {
                let first = tile.index() * per_tile;
                let skip = usize::try_from(from.saturating_sub(first)).unwrap_or(0);
                let before = leaves.len();
                leaves.extend(entries.iter().skip(skip).map(|e| leaf_hash(e)));
                progress.advance((leaves.len() - before) as u64);
                let bytes: usize = entries.iter().map(Vec::len).sum();
                if cached_bytes + bytes <= MAX_CACHED_BUNDLE_BYTES {
                    cached_bytes += bytes;
                    cached.push(Some(entries));
                } else {
                    cached.push(None);
                }
                Ok(())
            },
        )
        .await?;
        progress.finish();
        Ok((leaves, cached))
    }

    /// Replays the verified leaves `from..` (`leaves`), batch by batch, storing
    /// each batch; the last one stores `heard` as the latest checkpoint.
    async fn replay_range(
        &self,
        from: u64,
        leaves: &[Hash],
        mut cached: Vec<Option<Vec<Vec<u8>>>>,
        heard: &Signed,
        progress: &dyn Progress,
    ) -> Result<(), Error> {
        let per_tile = MAX_BUNDLE_ENTRIES as u64;
        let to = from + leaves.len() as u64;
        let first_tile = from / per_tile;
        let batch_tiles = (self.config.batch_entries / per_tile).max(1);
        let fetcher = Fetcher {
            log: self.log.clone(),
            window: self.config.fetch_window,
            metadata_bundles: self.config.metadata_bundles,
        };
        // Each batch is fetched while the one before it is judged and stored.
        let fetch = |tile: u64, cached: &mut Vec<Option<Vec<Vec<u8>>>>| {
            let last_tile = (tile + batch_tiles).min(to.div_ceil(per_tile));
            let bundles = (tile..last_tile)
                .map(|t| {
                    cached
                        .get_mut(usize::try_from(t - first_tile).unwrap_or(usize::MAX))
                        .and_then(Option::take)
                })
                .collect();
            let batch_from = (tile * per_tile).max(from);
            let batch_to = (last_tile * per_tile).min(to);
            let verified = leaves[usize::try_from(batch_from - from).unwrap_or(0)
                ..usize::try_from(batch_to - from).unwrap_or(0)]
                .to_vec();
            FetchAhead(tokio::spawn(fetcher.clone().batch(
                tile..last_tile,
                batch_from..batch_to,
                to,
                bundles,
                verified,
            )))
        };
        progress.start("replaying", to - from);
        let mut ahead = Some(fetch(first_tile, &mut cached));
        let mut unsaved: Option<Unsaved> = None;
        while let Some(mut fetching) = ahead.take() {
            let fetched = (&mut fetching.0)
                .await
                .map_err(|e| Error::fetch(self.log.base(), e))??;
            let FetchedBatch {
                tiles,
                entries,
                metadata,
            } = match fetched {
                Fetched::Batch(b) => b,
                Fetched::EntryChanged(index) => {
                    self.alerts.raise(
                        AlertRecord::log(
                            AlertKind::BadEntries,
                            format!("entry {index} changed between two reads of its bundle"),
                            None,
                        ),
                        Some(format!("bad-entries/{index}")),
                    );
                    return Err(Error::fetch(self.log.base(), "entries changed while read"));
                }
            };
            if tiles.end * per_tile < to {
                ahead = Some(fetch(tiles.end, &mut cached));
            }
            let batch_from = (tiles.start * per_tile).max(from);
            let batch_to = (tiles.end * per_tile).min(to);
            // Judged in order, while the batch before is stored; nothing of a batch
            // is stored until the whole batch is judged.
            let stored = unsaved.take();
            let (findings, changes, saved) = std::thread::scope(|scope| {
                // Only the write leaves this thread: alerts are raised where the
                // runtime is (a webhook post is a task on it).
                let saving = stored
                    .as_ref()
                    .map(|u| scope.spawn(|| self.store_batch(u, heard)));
                let mut replay = self.replay.lock().unwrap_or_else(|p| p.into_inner());
                let mut findings = Vec::new();
                let mut run: Vec<(u64, &[u8], &[u8])> = Vec::with_capacity(entries.len());
                for ((index, entry), served) in entries.iter().zip(&metadata) {
                    match served {
                        Served::Bytes(bytes) => run.push((*index, entry, bytes)),
                        // The entry commits to more bytes than it says: judged as
                        // bytes that do not match.
                        Served::Oversized => run.push((*index, entry, &[])),
                        Served::NotServed => {
                            findings.extend(replay.entries(&run, self.config.replay_threads));
                            run.clear();
                            findings.push(unavailable(*index, entry));
                        }
                    }
                }
                findings.extend(replay.entries(&run, self.config.replay_threads));
                let saved = saving.map_or(Ok(()), |s| {
                    s.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
                });
                (findings, replay.take_changes(), saved)
            });
            let done = batch_to == to;
            // The tree takes the batch the replay took, even when storing the one
            // before failed: a later step starts after both.
            {
                let mut view = self.write_view();
                for leaf in &leaves[usize::try_from(batch_from - from).unwrap_or(0)
                    ..usize::try_from(batch_to - from).unwrap_or(0)]
                {
                    view.tree.append_leaf_hash(*leaf);
                }
                if done {
                    view.latest = Some(heard.clone());
                }
            }
            saved?;
            if let Some(u) = stored {
                self.batch_stored(u, progress);
            }
            unsaved = Some(Unsaved {
                from: batch_from,
                to: batch_to,
                done,
                changes,
                findings,
            });
        }
        if let Some(u) = unsaved {
            self.store_batch(&u, heard)?;
            self.batch_stored(u, progress);
        }
        progress.finish();
        Ok(())
    }

    /// Stores a judged batch, with `heard` when it is the last (and the time, as
    /// when a tree of its size was first verified).
    fn store_batch(&self, u: &Unsaved, heard: &Signed) -> Result<(), Error> {
        let view = self.read_view();
        self.state.save(
            &view.tree,
            u.from,
            &u.changes,
            u.done.then(|| (heard.note.as_str(), unix_now())),
        )
    }

    /// Counts a stored batch and reports what it found.
    fn batch_stored(&self, u: Unsaved, progress: &dyn Progress) {
        self.metrics.entries_replayed_total.inc_by(u.to - u.from);
        if u.done {
            self.metrics.set_verified_size(u.to);
            self.verified_at.store(unix_now(), Ordering::Relaxed);
        }
        self.report(&u.findings);
        progress.advance(u.to - u.from);
    }

    fn report(&self, findings: &[Finding]) {
        for f in findings {
            match f {
                Finding::Alert(a) => {
                    self.alerts.raise(AlertRecord::from(a), None);
                }
                // Only watched repositories' versions are reported (`Replay::watch`).
                Finding::NewVersion(v) => self.alerts.watched_version(v),
            }
        }
    }
}

/// The checkpoint in a kept note, parsed but not verified again (it was verified
/// when it was kept).
fn kept_checkpoint(note: &str) -> Option<Checkpoint> {
    Checkpoint::parse(tlog::Note::parse(note.as_bytes()).ok()?.text()).ok()
}

/// The size a kept checkpoint note claims.
fn note_size(note: &str) -> Option<u64> {
    kept_checkpoint(note).map(|c| c.size())
}
