//! The sequencer: appends are queued, integrated in batches, and each batch becomes
//! one durable write and one signed checkpoint.
//!
//! One integrator thread owns the tree's right edge. It takes the first queued
//! append, then keeps taking appends until the batch holds
//! [`Config::max_batch_entries`] or [`Config::max_batch_delay`] has passed since the
//! first. For the batch it
//!
//! 1. appends every leaf to a copy of the right edge, collecting the nodes completed;
//! 2. reads the stored state and checks, with an RFC 9162 consistency proof built
//!    from stored nodes plus the batch's new ones, that the new tree extends the
//!    last signed checkpoint (refusing to ask for a signature otherwise);
//! 3. when the [`CheckpointSigner`] remembers what it signed (a separate signer),
//!    stages the batch durably, so a restart finishes this batch and no other;
//! 4. asks the signer for the checkpoint, with the consistency proof, and checks
//!    the signed note it returns under the log's verifier key;
//! 5. commits entries, nodes, state and checkpoint as one synced write;
//! 6. publishes the checkpoint and answers every append in the batch.
//!
//! An append is acknowledged only after step 5, so an acknowledged entry is durable
//! at the index it was given. A storage failure or failed check halts the log: the
//! in-memory edge may no longer match the disk, and a restart recovers from what is
//! durably stored ([`Log::open`]). An unreachable signer does not: the batch waits
//! and is asked for again with backoff, new appends are refused as unavailable
//! meanwhile, and reads go on from the last published checkpoint.
//!
//! Callers hash their own leaves before queueing, so that work spreads over every
//! core instead of the integrator's.

use crate::metrics::Metrics;
use crate::nodecache::{NodeCache, NODE_CACHE_MAX_HASHES};
use crate::signing::{CheckpointRequest, CheckpointSigner};
use crate::Error;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};
use store::{Batch, Blob, CosignedNote, LogState, LogStore, RoleVersion};
use tlog::witness_policy::WitnessPolicy;
use tlog::{checkpoint, leaf_hash, Checkpoint, CompactRange, Hash, HashReader, NodeId};
use tlog::{RightEdge, VerifierKey};
use tokio::sync::{oneshot, watch};

/// Most entries one append may carry; all of them land in one batch.
pub const MAX_ENTRIES_PER_APPEND: usize = 1024;

/// The first wait before asking an unreachable signer again; it doubles on each
/// failure up to [`SIGNER_RETRY_MAX`].
const SIGNER_RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest wait between two requests to an unreachable signer.
const SIGNER_RETRY_MAX: Duration = Duration::from_secs(2);

/// How batches close and how much may wait.
#[derive(Clone, Debug)]
pub struct Config {
    /// A batch closes once it holds this many entries (an append is never split, so
    /// a batch may exceed it by one append's entries).
    pub max_batch_entries: usize,
    /// A batch closes this long after its first append arrived, full or not.
    pub max_batch_delay: Duration,
    /// Entries queued and not yet integrated, beyond which appends are refused.
    pub max_queued_entries: usize,
    /// Bytes (entries and metadata blobs) queued, beyond which appends are refused.
    pub max_queued_bytes: usize,
    /// When set, readers see a checkpoint only once this policy's threshold of
    /// witnesses cosigned it ([`Log::publish_cosigned`]).
    pub witnesses: Option<WitnessPolicy>,
}

impl Default for Config {
    /// Defaults from `cargo bench -p tuflog-bench --bench sequencer` (bench/RESULTS.md):
    /// batches of up to 1024 entries closing after 1 ms integrate as fast as larger,
    /// slower ones with a quarter of their latency.
    fn default() -> Self {
        Config {
            max_batch_entries: 1024,
            max_batch_delay: Duration::from_millis(1),
            max_queued_entries: 262_144,
            max_queued_bytes: 64 << 20,
            witnesses: None,
        }
    }
}

/// What one append adds to the log.
#[derive(Clone, Debug, Default)]
pub struct Append {
    /// Entries, in order; they get consecutive indices.
    pub entries: Vec<Vec<u8>>,
    /// Metadata files the entries commit to. Here each `index` is the position of
    /// the file's entry within `entries`; the sequencer makes it the log index.
    pub blobs: Vec<Blob>,
    /// Role versions the append records. Here each `index` is the position of the
    /// version's entry within `entries`; the sequencer makes it the log index.
    pub versions: Vec<RoleVersion>,
}

/// An append that is durably stored and covered by a signed checkpoint.
#[derive(Clone, Debug)]
pub struct Appended {
    /// Index of the append's first entry.
    pub first_index: u64,
    /// The checkpoint of the batch the append landed in.
    pub checkpoint: Arc<Published>,
}

/// A signed checkpoint and what serving proofs against it needs.
#[derive(Debug)]
pub struct Published {
    /// The checkpoint body.
    pub checkpoint: Checkpoint,
    /// The signed note, exactly as served.
    pub note: Vec<u8>,
    /// Right-edge range hashes of this tree, for fast proofs at its size.
    pub edge: RightEdge,
    /// When it was signed.
    pub signed_at: SystemTime,
}

impl Published {
    /// Tree size.
    pub fn size(&self) -> u64 {
        self.checkpoint.size()
    }
}

/// Whether the log takes appends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Integrating.
    Running,
    /// Following the sequencer another instance runs on the same store: reads are
    /// served, appends go to that instance.
    Following,
    /// The signer cannot be reached: a batch waits for its checkpoint, new appends
    /// are refused as unavailable, reads go on. Running again once it answers.
    SignerUnavailable(String),
    /// Stopped after a failure; the reason is logged and given to every append.
    Halted(String),
    /// Shut down on request.
    Stopped,
}

struct Job {
    entries: Vec<(Vec<u8>, Hash)>,
    blobs: Vec<Blob>,
    versions: Vec<RoleVersion>,
    bytes: usize,
    reply: oneshot::Sender<Result<Appended, Error>>,
}

/// Queue accounting shared by appenders (who add) and the integrator (who removes).
#[derive(Default)]
struct Queued {
    entries: AtomicUsize,
    bytes: AtomicUsize,
}

/// Storage the log needs: the log itself, and metadata blobs it may carry.
pub trait Storage: LogStore + store::MetadataStore {}
impl<T: LogStore + store::MetadataStore> Storage for T {}

/// The log: a handle for appending and reading, backed by the integrator thread.
pub struct Log {
    store: Arc<dyn Storage>,
    signer: Arc<dyn CheckpointSigner>,
    verifier: VerifierKey,
    config: Config,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    queued: Arc<Queued>,
    /// What readers see: each checkpoint as signed or, when witnessed, once its
    /// cosignatures met the policy.
    published: watch::Receiver<Arc<Published>>,
    /// Each checkpoint as the integrator signed it.
    integrated: watch::Receiver<Arc<Published>>,
    /// Where cosigned checkpoints are published, when witnessed.
    cosigned: Option<watch::Sender<Arc<Published>>>,
    /// Whether this log integrates (true from the moment its integrator starts).
    sequencing: watch::Sender<bool>,
    health: Arc<Mutex<Health>>,
    integrator: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// While following another instance: the follower thread (which hands the
    /// publishing end back when it ends) and what tells it to stop.
    following: Mutex<Option<(Arc<AtomicBool>, FollowerThread)>>,
    /// Tells an integrator waiting for the signer to give up.
    stopping: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    nodes: Arc<RwLock<NodeCache>>,
}

impl Log {
    /// Opens the log in `store`, recovering its state, and starts the integrator.
    ///
    /// A store never written gets a signed checkpoint of the empty tree. Otherwise the
    /// stored checkpoint must verify under the signer's verifier key and match the
    /// stored right edge and nodes, or opening fails: a log that cannot prove its own
    /// state must not sign more. A staged batch is finished first, before any new
    /// append.
    pub fn open(
        store: Arc<dyn Storage>,
        signer: Arc<dyn CheckpointSigner>,
        config: Config,
        metrics: Arc<Metrics>,
    ) -> Result<Log, Error> {
        let verifier = signer.verifier().clone();
        let (range, published) = recover(store.as_ref(), signer.as_ref(), &verifier)?;
        let (log, published_tx) = Log::assemble(store, signer, config, metrics, published)?;
        log.start_integrator(range, published_tx)?;
        Ok(log)
    }

    /// Opens a log that another instance integrates into the same store: it serves
    /// reads, refuses appends ([`Error::NotSequencer`]), and publishes each
    /// checkpoint it finds stored once it has checked it, until [`Log::lead`].
    ///
    /// The stored checkpoint must exist and verify, as in [`Log::open`]. Each later
    /// one is published only if it verifies under the log's key and an RFC 9162
    /// consistency proof from the stored nodes shows it extends the last one
    /// published; otherwise the follower stops publishing and says why.
    ///
    /// With a witness policy, readers see the cosigned checkpoint the sequencer
    /// keeps in the store ([`LogStore::cosigned`]) once this instance has checked
    /// it as a client would: it verifies under the log's key, this policy's
    /// threshold of witnesses cosigned it, and it is a tree this instance has
    /// checked ([`check_cosigned`]).
    pub fn follow(
        store: Arc<dyn Storage>,
        signer: Arc<dyn CheckpointSigner>,
        config: Config,
        metrics: Arc<Metrics>,
    ) -> Result<Log, Error> {
        let verifier = signer.verifier().clone();
        let state = store
            .state()?
            .ok_or_else(|| Error::NotSequencer("the log does not exist yet".into()))?;
        let (_, published) = verify_stored(store.as_ref(), &verifier, state)?;
        let (log, published_tx) = Log::assemble(store, signer, config, metrics, published)?;
        *log.health.lock().unwrap_or_else(|p| p.into_inner()) = Health::Following;
        let cosigned = log.cosigned.clone().zip(log.config.witnesses.clone());
        let follower = Follower {
            store: log.store.clone(),
            verifier: log.verifier.clone(),
            published: published_tx,
            cosigned,
            short_of_threshold: std::cell::Cell::new(None),
            nodes: log.nodes.clone(),
            metrics: log.metrics.clone(),
            health: log.health.clone(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let stop = follower.stop.clone();
        let thread = std::thread::Builder::new()
            .name("tuflog-follower".into())
            .spawn(move || follower.run())?;
        *log.following.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, thread));
        Ok(log)
    }

    /// Turns a following log into the sequencer: call only while holding the
    /// sequencer lease. Recovers from the store as [`Log::open`] does (the previous
    /// sequencer's staged batch, if any, is finished before any new append) and
    /// starts the integrator. A no-op on a log that already integrates.
    pub fn lead(&self) -> Result<(), Error> {
        let Some((stop, thread)) = self
            .following
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return Ok(());
        };
        stop.store(true, Ordering::Release);
        let published_tx = thread
            .join()
            .map_err(|_| Error::Halted("the follower thread panicked".into()))?;
        let (range, published) =
            recover(self.store.as_ref(), self.signer.as_ref(), &self.verifier)?;
        crate::nodecache::catch_up(&self.nodes, published.size(), self.store.as_ref())?;
        if published.size() > published_tx.borrow().size() {
            published_tx.send_replace(Arc::new(published));
        }
        *self.health.lock().unwrap_or_else(|p| p.into_inner()) = Health::Running;
        self.start_integrator(range, published_tx)?;
        tracing::info!(size = self.latest().size(), "integrating as the sequencer");
        Ok(())
    }

    /// Whether this log integrates appends (rather than following another's).
    pub fn is_sequencer(&self) -> bool {
        self.sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The log's state around `published`, with no thread started yet; returns the
    /// sender the integrator or the follower publishes through.
    fn assemble(
        store: Arc<dyn Storage>,
        signer: Arc<dyn CheckpointSigner>,
        config: Config,
        metrics: Arc<Metrics>,
        published: Published,
    ) -> Result<(Log, watch::Sender<Arc<Published>>), Error> {
        if config.max_batch_entries == 0 || config.max_queued_entries == 0 {
            return Err(Error::invalid("batch and queue sizes must be positive"));
        }
        let verifier = signer.verifier().clone();
        metrics.checkpoint_signed(published.size(), published.signed_at);
        let nodes = Arc::new(RwLock::new(NodeCache::load(
            published.size(),
            store.as_ref(),
            NODE_CACHE_MAX_HASHES,
        )?));
        let published = Arc::new(published);
        let (published_tx, integrated) = watch::channel(published.clone());
        let (published_rx, cosigned) = match &config.witnesses {
            Some(rule) => {
                // Readers see the kept cosigned checkpoint, once checked; with none
                // usable, the recovered one until cosignatures are gathered for a
                // later one (a client with a witness policy waits that long).
                let first = match store.cosigned()? {
                    Some(kept) => {
                        match check_cosigned(store.as_ref(), &verifier, rule, &kept, &published)? {
                            CosignedCheck::Usable(cosigned) => Arc::new(cosigned),
                            _ => published,
                        }
                    }
                    None => published,
                };
                let (tx, rx) = watch::channel(first);
                (rx, Some(tx))
            }
            None => (integrated.clone(), None),
        };
        metrics.signer_available.set(1);
        let log = Log {
            store,
            signer,
            verifier,
            config,
            sender: Mutex::new(None),
            queued: Arc::new(Queued::default()),
            published: published_rx,
            integrated,
            cosigned,
            sequencing: watch::Sender::new(false),
            health: Arc::new(Mutex::new(Health::Running)),
            integrator: Mutex::new(None),
            following: Mutex::new(None),
            stopping: Arc::new(AtomicBool::new(false)),
            metrics,
            nodes,
        };
        Ok((log, published_tx))
    }

    fn start_integrator(
        &self,
        range: CompactRange,
        published: watch::Sender<Arc<Published>>,
    ) -> Result<(), Error> {
        let staged = self.store.staged()?;
        let (sender, receiver) = mpsc::channel();
        let mut integrator = Integrator {
            store: self.store.clone(),
            signer: self.signer.clone(),
            verifier: self.verifier.clone(),
            staged,
            stopping: self.stopping.clone(),
            range,
            config: self.config.clone(),
            receiver,
            queued: self.queued.clone(),
            published,
            health: self.health.clone(),
            metrics: self.metrics.clone(),
            nodes: self.nodes.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("tuflog-integrator".into())
            .spawn(move || integrator.run())?;
        *self.integrator.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        *self.sender.lock().unwrap_or_else(|p| p.into_inner()) = Some(sender);
        self.sequencing.send_replace(true);
        self.metrics.sequencer_integrating.set(1);
        Ok(())
    }

    /// The log's checkpoint verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The store the log reads from.
    pub fn store(&self) -> &dyn Storage {
        self.store.as_ref()
    }

    /// Reads tree nodes from the node cache, then the store.
    pub(crate) fn reader(&self) -> Reader<'_> {
        Reader {
            store: self.store.as_ref(),
            cache: Some(&self.nodes),
        }
    }

    /// Every checkpoint the integrator signs, before any witness saw it (what the
    /// cosigner submits).
    pub fn integrated(&self) -> watch::Receiver<Arc<Published>> {
        self.integrated.clone()
    }

    /// Turns true once this log integrates: what runs only on the sequencer (the
    /// cosigner) waits for it.
    pub fn sequencing(&self) -> watch::Receiver<bool> {
        self.sequencing.subscribe()
    }

    /// Publishes `cosigned` (a signed checkpoint whose note carries the witness
    /// cosignatures the policy asks for) to readers, unless a larger one already
    /// is, and keeps it in the store for the instances that follow this one and
    /// for a restart. A no-op when the log is not witnessed.
    pub fn publish_cosigned(&self, cosigned: Arc<Published>) {
        let Some(tx) = &self.cosigned else { return };
        if publish_if_newer(tx, cosigned.clone()) {
            if let Err(e) = self.store.put_cosigned(cosigned.size(), &cosigned.note) {
                // Readers here see it; the other instances see it with the next one.
                tracing::warn!(size = cosigned.size(), error = %e, "keeping the cosigned checkpoint in the store failed");
            }
        }
    }

    /// The latest published checkpoint.
    pub fn latest(&self) -> Arc<Published> {
        self.published.borrow().clone()
    }

    /// A receiver that sees every checkpoint published from now on (possibly
    /// skipping some when it lags; each value seen is the latest).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Published>> {
        self.published.clone()
    }

    /// Whether the log takes appends.
    pub fn health(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Appends and waits until the append is durable and checkpointed.
    pub async fn append(&self, append: Append) -> Result<Appended, Error> {
        let reply = self.submit(append)?;
        reply.await.unwrap_or(Err(Error::ShuttingDown))
    }

    /// Queues an append and returns where its result will arrive, or refuses it at
    /// once when it is invalid or the queue is full (nothing is queued then).
    pub fn submit(
        &self,
        append: Append,
    ) -> Result<oneshot::Receiver<Result<Appended, Error>>, Error> {
        let result = self.try_submit(append);
        let outcome = match &result {
            Ok(_) => "queued",
            Err(Error::Overloaded(_)) => "overloaded",
            Err(Error::InvalidRequest(_)) => "invalid",
            Err(_) => "failed",
        };
        self.metrics
            .appends_total
            .with_label_values(&[outcome])
            .inc();
        result
    }

    fn try_submit(
        &self,
        append: Append,
    ) -> Result<oneshot::Receiver<Result<Appended, Error>>, Error> {
        match self.health() {
            Health::Halted(reason) => return Err(Error::Halted(reason)),
            Health::SignerUnavailable(reason) => return Err(Error::SignerUnavailable(reason)),
            Health::Following => {
                return Err(Error::NotSequencer(
                    "this instance follows the sequencer".into(),
                ))
            }
            Health::Running | Health::Stopped => {}
        }
        let count = append.entries.len();
        if count == 0 {
            return Err(Error::invalid("an append must carry at least one entry"));
        }
        if count > MAX_ENTRIES_PER_APPEND {
            return Err(Error::invalid(format!(
                "{count} entries in one append; at most {MAX_ENTRIES_PER_APPEND}"
            )));
        }
        if let Some(v) = append.versions.iter().find(|v| v.index >= count as u64) {
            return Err(Error::invalid(format!(
                "{} {} v{} names entry {} of an append of {count}",
                v.repo, v.role, v.version, v.index
            )));
        }
        let mut bytes = 0usize;
        for e in &append.entries {
            if e.is_empty() || e.len() > tlog::tile::MAX_ENTRY_BYTES {
                return Err(Error::invalid(format!(
                    "an entry of {} bytes; entries are 1..={} bytes",
                    e.len(),
                    tlog::tile::MAX_ENTRY_BYTES
                )));
            }
            bytes += e.len();
        }
        if let Some(b) = append.blobs.iter().find(|b| b.index >= count as u64) {
            return Err(Error::invalid(format!(
                "a metadata file names entry {} of an append of {count}",
                b.index
            )));
        }
        bytes += append.blobs.iter().map(|b| b.bytes.len()).sum::<usize>();
        self.reserve(count, bytes)?;
        let entries = append
            .entries
            .into_iter()
            .map(|e| {
                let h = leaf_hash(&e);
                (e, h)
            })
            .collect();
        let (reply, receiver) = oneshot::channel();
        let job = Job {
            entries,
            blobs: append.blobs,
            versions: append.versions,
            bytes,
            reply,
        };
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        let sent = match sender.as_ref() {
            Some(s) => s.send(job).is_ok(),
            None => false,
        };
        if !sent {
            self.release(count, bytes);
            return Err(Error::ShuttingDown);
        }
        Ok(receiver)
    }

    fn reserve(&self, count: usize, bytes: usize) -> Result<(), Error> {
        let entries = self.queued.entries.fetch_add(count, Ordering::AcqRel) + count;
        let total_bytes = self.queued.bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        // One append larger than the whole byte budget is still taken when the queue
        // is empty, so a large push is slow rather than impossible.
        let alone = entries == count && total_bytes == bytes;
        if !alone
            && (entries > self.config.max_queued_entries
                || total_bytes > self.config.max_queued_bytes)
        {
            self.release(count, bytes);
            return Err(Error::Overloaded(format!(
                "{} entries / {} bytes already queued",
                entries - count,
                total_bytes - bytes
            )));
        }
        Ok(())
    }

    fn release(&self, count: usize, bytes: usize) {
        self.queued.entries.fetch_sub(count, Ordering::AcqRel);
        self.queued.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Stops taking appends, integrates everything already queued, and waits for the
    /// integrator to finish. Later appends get [`Error::ShuttingDown`].
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        let following = self
            .following
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((stop, thread)) = following {
            stop.store(true, Ordering::Release);
            let _ = thread.join();
        }
        drop(self.sender.lock().unwrap_or_else(|p| p.into_inner()).take());
        let handle = self
            .integrator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle {
            if h.join().is_err() {
                tracing::error!("the integrator thread panicked");
            }
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Reads the stored state, proves it is ours and self-consistent, and rebuilds the
/// right edge; signs and stores the empty tree's checkpoint for a new log.
fn recover(
    store: &dyn Storage,
    signer: &dyn CheckpointSigner,
    verifier: &VerifierKey,
) -> Result<(CompactRange, Published), Error> {
    let origin = verifier.name().as_str();
    let Some(state) = store.state()? else {
        let range = CompactRange::new();
        let root = range.root();
        let note = signer.sign_checkpoint(&CheckpointRequest {
            origin,
            size: 0,
            root: &root,
            from_size: 0,
            proof: &[],
        })?;
        let checkpoint = open_signed(&note, verifier, 0, &root)?;
        store.commit(&Batch {
            first_index: 0,
            state: Some(LogState {
                size: 0,
                frontier: Vec::new(),
                checkpoint: note.clone(),
            }),
            ..Batch::default()
        })?;
        tracing::info!(origin, "created a new log");
        let edge = RightEdge::new(&range);
        return Ok((
            range,
            Published {
                checkpoint,
                note,
                edge,
                signed_at: SystemTime::now(),
            },
        ));
    };
    let recovered = verify_stored(store, verifier, state)?;
    tracing::info!(origin, size = recovered.1.size(), "recovered the log");
    Ok(recovered)
}

/// Proves the stored state is this log's and self-consistent: the checkpoint
/// verifies under `verifier` and is for the stored size, and both the stored right
/// edge and the stored nodes hash to its root. Returns the right edge.
fn verify_stored(
    store: &dyn Storage,
    verifier: &VerifierKey,
    state: LogState,
) -> Result<(CompactRange, Published), Error> {
    let opened = checkpoint::open(&state.checkpoint, verifier, &[]).map_err(|e| {
        Error::Inconsistent(format!(
            "the stored checkpoint does not verify under this log key ({e}); \
             is this the key the log was created with?"
        ))
    })?;
    let cp = opened.into_checkpoint();
    if cp.size() != state.size {
        return Err(Error::Inconsistent(format!(
            "stored size {} but the stored checkpoint is for {}",
            state.size,
            cp.size()
        )));
    }
    let range = CompactRange::from_parts(state.size, state.frontier)?;
    if &range.root() != cp.root() {
        return Err(Error::Inconsistent(
            "the stored right edge does not hash to the stored checkpoint's root".into(),
        ));
    }
    let from_nodes = CompactRange::from_reader(state.size, &Reader::store_only(store))?;
    if from_nodes.root() != range.root() {
        return Err(Error::Inconsistent(
            "the stored nodes do not hash to the stored checkpoint's root".into(),
        ));
    }
    let edge = RightEdge::new(&range);
    Ok((
        range,
        Published {
            checkpoint: cp,
            note: state.checkpoint,
            edge,
            signed_at: SystemTime::now(),
        },
    ))
}

/// Publishes `cosigned` to readers unless what they see is larger, or the same
/// note; true when it did.
fn publish_if_newer(tx: &watch::Sender<Arc<Published>>, cosigned: Arc<Published>) -> bool {
    tx.send_if_modified(|current| {
        let newer = cosigned.size() > current.size()
            || (cosigned.size() == current.size() && cosigned.note != current.note);
        if newer {
            *current = cosigned.clone();
        }
        newer
    })
}

/// What [`check_cosigned`] found of a kept cosigned checkpoint.
enum CosignedCheck {
    /// It can be served.
    Usable(Published),
    /// Beyond the tree checked so far: the follower looks again once it has
    /// checked that far.
    Ahead,
    /// Fewer witnesses cosigned it than this instance's policy asks for (its
    /// policy is not the sequencer's, or is being changed): not served.
    ShortOfThreshold(usize),
}

/// Checks `kept`, a cosigned checkpoint read from the store, against `tree`, a
/// checkpoint of this log already checked against the stored state: the note
/// verifies under the log's key, `rule`'s threshold of distinct witness keys
/// cosigned it (the count a client makes), and its tree is `tree` or, by an
/// RFC 9162 §2.1.4.2 consistency proof from the stored nodes, a prefix of it.
/// A cosigned note that fails any of these but the count is not this log's
/// history: [`Error::Inconsistent`].
fn check_cosigned(
    store: &dyn Storage,
    verifier: &VerifierKey,
    rule: &WitnessPolicy,
    kept: &CosignedNote,
    tree: &Published,
) -> Result<CosignedCheck, Error> {
    if kept.size > tree.size() {
        return Ok(CosignedCheck::Ahead);
    }
    let refused = |why: String| {
        Error::Inconsistent(format!(
            "the stored cosigned checkpoint of size {}: {why}",
            kept.size
        ))
    };
    let opened = checkpoint::open(&kept.note, verifier, &rule.witnesses)
        .map_err(|e| refused(format!("it does not verify ({e})")))?;
    let cosigners = rule.cosigners(&opened, None);
    if cosigners < rule.threshold {
        return Ok(CosignedCheck::ShortOfThreshold(cosigners));
    }
    let cp = opened.into_checkpoint();
    if cp.size() != kept.size {
        return Err(refused(format!("its note is for size {}", cp.size())));
    }
    if cp.size() == tree.size() {
        if cp.root() != tree.checkpoint.root() {
            return Err(refused("another tree of the same size".into()));
        }
    } else if cp.size() > 0 {
        let proof =
            tlog::tree::consistency_proof(cp.size(), tree.size(), &Reader::store_only(store))?;
        tlog::verify::verify_consistency(
            cp.size(),
            tree.size(),
            cp.root(),
            tree.checkpoint.root(),
            &proof,
        )
        .map_err(|e| refused(format!("not a prefix of size {} ({e})", tree.size())))?;
    }
    let range = CompactRange::from_reader(cp.size(), &Reader::store_only(store))?;
    if &range.root() != cp.root() {
        return Err(refused("the stored nodes give another root".into()));
    }
    Ok(CosignedCheck::Usable(Published {
        checkpoint: cp,
        note: kept.note.clone(),
        edge: RightEdge::new(&range),
        signed_at: SystemTime::now(),
    }))
}

/// The checkpoint of a note the signer returned, once it verifies under the log's
/// key and is the one asked for: a signer answering with another tree would
/// otherwise have it published.
fn open_signed(
    note: &[u8],
    verifier: &VerifierKey,
    size: u64,
    root: &Hash,
) -> Result<Checkpoint, Error> {
    let checkpoint = checkpoint::open(note, verifier, &[])
        .map_err(|e| Error::SignerRefused(format!("the signer's checkpoint does not verify: {e}")))?
        .into_checkpoint();
    if checkpoint.size() != size || checkpoint.root() != root {
        return Err(Error::SignerRefused(format!(
            "asked to sign size {size}, the signer returned a checkpoint of size {} with another root",
            checkpoint.size()
        )));
    }
    Ok(checkpoint)
}

/// A `HashReader` over a `dyn Storage` (trait objects cannot be passed where
/// `impl HashReader` is expected), taking what it can from the node cache.
pub(crate) struct Reader<'a> {
    pub(crate) store: &'a dyn Storage,
    pub(crate) cache: Option<&'a RwLock<NodeCache>>,
}

impl<'a> Reader<'a> {
    /// Reads from the store alone: what recovery and the pre-signing check trust.
    pub(crate) fn store_only(store: &'a dyn Storage) -> Self {
        Reader { store, cache: None }
    }
}

impl HashReader for Reader<'_> {
    fn read_hashes(&self, ids: &[NodeId]) -> tlog::Result<Vec<Hash>> {
        let Some(cache) = self.cache else {
            return self.store.read_hashes(ids);
        };
        let cached: Vec<Option<Hash>> = {
            let cache = cache.read().unwrap_or_else(|p| p.into_inner());
            ids.iter().map(|id| cache.get(*id)).collect()
        };
        let missing: Vec<NodeId> = ids
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(id, _)| *id)
            .collect();
        if missing.is_empty() {
            return Ok(cached.into_iter().flatten().collect());
        }
        let mut stored = self.store.read_hashes(&missing)?.into_iter();
        ids.iter()
            .zip(cached)
            .map(|(id, c)| match c {
                Some(h) => Ok(h),
                None => stored.next().ok_or(tlog::Error::MissingHash(*id)),
            })
            .collect()
    }
}

/// Stored nodes plus the nodes a batch is about to store.
struct Overlay<'a> {
    store: &'a dyn Storage,
    new: HashMap<NodeId, Hash>,
}

impl HashReader for Overlay<'_> {
    fn read_hashes(&self, ids: &[NodeId]) -> tlog::Result<Vec<Hash>> {
        let missing: Vec<NodeId> = ids
            .iter()
            .filter(|id| !self.new.contains_key(id))
            .copied()
            .collect();
        let mut stored = self.store.read_hashes(&missing)?.into_iter();
        ids.iter()
            .map(|id| match self.new.get(id) {
                Some(h) => Ok(*h),
                None => stored.next().ok_or(tlog::Error::MissingHash(*id)),
            })
            .collect()
    }
}

/// The follower thread, which hands the publishing end back when it ends.
type FollowerThread = std::thread::JoinHandle<watch::Sender<Arc<Published>>>;

/// How often a following log reads the stored state for a new checkpoint.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(50);

/// Publishes, on an instance that is not the sequencer, each checkpoint the
/// sequencer stores, once checked.
struct Follower {
    store: Arc<dyn Storage>,
    verifier: VerifierKey,
    published: watch::Sender<Arc<Published>>,
    /// With a witness policy: where readers' checkpoints are published, and the
    /// policy they are checked against.
    cosigned: Option<(watch::Sender<Arc<Published>>, WitnessPolicy)>,
    /// The size of the kept cosigned checkpoint last found short of the
    /// threshold, so that it is said once.
    short_of_threshold: std::cell::Cell<Option<u64>>,
    nodes: Arc<RwLock<NodeCache>>,
    metrics: Arc<Metrics>,
    health: Arc<Mutex<Health>>,
    stop: Arc<AtomicBool>,
}

impl Follower {
    fn run(self) -> watch::Sender<Arc<Published>> {
        let mut refused = false;
        // Said once when reading starts failing and once when it works again, not
        // every 50 ms while the database is away.
        let mut failing = false;
        while !self.stop.load(Ordering::Acquire) {
            if !refused {
                match self.step() {
                    Ok(()) if failing => {
                        tracing::info!("reading the stored log state works again");
                        failing = false;
                    }
                    Ok(()) => {}
                    Err(Error::Inconsistent(reason)) => {
                        // Nothing more is published from a store that showed a fork;
                        // what was published stays served, and readiness says why.
                        tracing::error!(error = %reason, "the stored log does not extend what this instance published");
                        *self.health.lock().unwrap_or_else(|p| p.into_inner()) =
                            Health::Halted(reason);
                        refused = true;
                    }
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "reading the stored log state failed; trying again");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
            std::thread::sleep(FOLLOW_EVERY);
        }
        self.published
    }

    fn step(&self) -> Result<(), Error> {
        self.follow_state()?;
        if let Some((readers, rule)) = &self.cosigned {
            self.follow_cosigned(readers, rule)?;
        }
        Ok(())
    }

    /// Publishes the kept cosigned checkpoint to readers once it is larger than
    /// theirs and checked against the tree this follower has checked.
    fn follow_cosigned(
        &self,
        readers: &watch::Sender<Arc<Published>>,
        rule: &WitnessPolicy,
    ) -> Result<(), Error> {
        let Some(kept) = self.store.cosigned()? else {
            return Ok(());
        };
        if kept.size <= readers.borrow().size() {
            return Ok(());
        }
        let tree = self.published.borrow().clone();
        match check_cosigned(self.store.as_ref(), &self.verifier, rule, &kept, &tree)? {
            CosignedCheck::Usable(cosigned) => {
                publish_if_newer(readers, Arc::new(cosigned));
            }
            CosignedCheck::Ahead => {}
            CosignedCheck::ShortOfThreshold(cosigners) => {
                if self.short_of_threshold.replace(Some(kept.size)) != Some(kept.size) {
                    tracing::warn!(
                        size = kept.size,
                        cosigners,
                        threshold = rule.threshold,
                        "the sequencer's cosigned checkpoint is short of this instance's witness \
                         threshold; readers keep the previous one (do all instances have the same \
                         witness policy?)"
                    );
                }
            }
        }
        Ok(())
    }

    /// Publishes the stored checkpoint (as signed, before any witness) once it is
    /// checked.
    fn follow_state(&self) -> Result<(), Error> {
        let Some(state) = self.store.state()? else {
            return Ok(());
        };
        let current = self.published.borrow().clone();
        if state.size <= current.size() {
            return Ok(());
        }
        // The same checks as at start: the checkpoint is this log's, and it is the
        // stored right edge's and the stored nodes' tree.
        let size = state.size;
        let (_, published) = verify_stored(self.store.as_ref(), &self.verifier, state)?;
        if current.size() > 0 {
            // RFC 9162 §2.1.4.2: publish only a tree that extends the one published,
            // proven from the stored nodes.
            let proof = tlog::tree::consistency_proof(
                current.size(),
                size,
                &Reader::store_only(self.store.as_ref()),
            )?;
            tlog::verify::verify_consistency(
                current.size(),
                size,
                current.checkpoint.root(),
                published.checkpoint.root(),
                &proof,
            )
            .map_err(|e| Error::Inconsistent(format!("size {} to {size}: {e}", current.size())))?;
        }
        crate::nodecache::catch_up(&self.nodes, size, self.store.as_ref())?;
        self.metrics
            .checkpoint_signed(published.size(), published.signed_at);
        self.published.send_replace(Arc::new(published));
        Ok(())
    }
}

struct Integrator {
    store: Arc<dyn Storage>,
    signer: Arc<dyn CheckpointSigner>,
    verifier: VerifierKey,
    /// A batch staged before a restart, finished before any new one.
    staged: Option<Batch>,
    stopping: Arc<AtomicBool>,
    range: CompactRange,
    config: Config,
    receiver: mpsc::Receiver<Job>,
    queued: Arc<Queued>,
    published: watch::Sender<Arc<Published>>,
    health: Arc<Mutex<Health>>,
    metrics: Arc<Metrics>,
    nodes: Arc<RwLock<NodeCache>>,
}

impl Integrator {
    fn run(&mut self) {
        if let Some(staged) = self.staged.take() {
            self.finish_staged(staged);
        }
        while let Some(jobs) = self.next_batch() {
            let halted = self
                .health
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Health::Halted(reason) = halted {
                for job in jobs {
                    let _ = job.reply.send(Err(Error::Halted(reason.clone())));
                }
                continue;
            }
            self.integrate(jobs);
        }
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if *health == Health::Running {
            *health = Health::Stopped;
        }
    }

    /// Blocks for the first job, then gathers more until the batch is full or its
    /// delay has passed. `None` once every sender is gone and the queue is drained.
    fn next_batch(&mut self) -> Option<Vec<Job>> {
        let first = self.receiver.recv().ok()?;
        let deadline = Instant::now() + self.config.max_batch_delay;
        let mut count = first.entries.len();
        let mut jobs = vec![first];
        while count < self.config.max_batch_entries {
            let job = match self.receiver.try_recv() {
                Ok(job) => job,
                Err(mpsc::TryRecvError::Disconnected) => break,
                Err(mpsc::TryRecvError::Empty) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    match self.receiver.recv_timeout(deadline - now) {
                        Ok(job) => job,
                        Err(_) => break,
                    }
                }
            };
            count += job.entries.len();
            jobs.push(job);
        }
        let bytes: usize = jobs.iter().map(|j| j.bytes).sum();
        self.queued.entries.fetch_sub(count, Ordering::AcqRel);
        self.queued.bytes.fetch_sub(bytes, Ordering::AcqRel);
        Some(jobs)
    }

    fn integrate(&mut self, jobs: Vec<Job>) {
        let started = Instant::now();
        let first_index = self.range.size();
        let span = tracing::info_span!("integrate", first_index, entries = tracing::field::Empty);
        let _entered = span.enter();
        let mut replies = Vec::with_capacity(jobs.len());
        let mut batch = Batch {
            first_index,
            ..Batch::default()
        };
        // Work on a copy: if anything fails, the edge still matches the disk.
        let mut range = self.range.clone();
        let mut failure = None;
        for job in jobs {
            let job_first = range.size();
            replies.push((job_first, job.reply));
            for (entry, leaf) in job.entries {
                if let Err(e) = range.append(leaf, |id, h| batch.nodes.push((id, h))) {
                    failure.get_or_insert(Error::from(e));
                }
                batch.entries.push(entry);
            }
            batch.blobs.extend(job.blobs.into_iter().map(|b| Blob {
                index: job_first + b.index,
                ..b
            }));
            batch
                .versions
                .extend(job.versions.into_iter().map(|v| RoleVersion {
                    index: job_first + v.index,
                    ..v
                }));
        }
        span.record("entries", batch.entries.len());
        let result = match failure {
            Some(e) => Err(e),
            None => self.check_sign_commit(&range, &mut batch),
        };
        self.conclude(started, first_index, range, batch, result, replies);
    }

    /// Finishes the batch a previous run staged: the same entries at the same
    /// indices, so the signer is asked for the checkpoint it may already have
    /// signed. Nobody waits for it; its appends were never acknowledged.
    fn finish_staged(&mut self, mut batch: Batch) {
        let started = Instant::now();
        let first_index = self.range.size();
        let mut range = self.range.clone();
        let mut nodes = Vec::with_capacity(batch.nodes.len());
        let mut result = Ok(());
        if batch.first_index != first_index {
            result = Err(Error::Inconsistent(format!(
                "the staged batch starts at {} but the log holds {first_index} entries",
                batch.first_index
            )));
        }
        for entry in &batch.entries {
            if let Err(e) = range.append(leaf_hash(entry), |id, h| nodes.push((id, h))) {
                result = Err(e.into());
            }
        }
        if result.is_ok() && nodes != batch.nodes {
            result = Err(Error::Inconsistent(
                "the staged batch's nodes are not those of its entries".into(),
            ));
        }
        tracing::info!(
            first_index,
            entries = batch.entries.len(),
            "finishing the batch staged before the restart"
        );
        let result = result.and_then(|()| self.check_sign_commit(&range, &mut batch));
        self.conclude(started, first_index, range, batch, result, Vec::new());
    }

    fn conclude(
        &mut self,
        started: Instant,
        first_index: u64,
        range: CompactRange,
        batch: Batch,
        result: Result<Published, Error>,
        replies: Vec<(u64, oneshot::Sender<Result<Appended, Error>>)>,
    ) {
        match result {
            Ok(published) => {
                self.range = range;
                self.nodes
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(&batch.nodes);
                let published = Arc::new(published);
                self.metrics
                    .checkpoint_signed(published.size(), published.signed_at);
                self.metrics
                    .integrate_batch_entries
                    .observe((published.size() - first_index) as f64);
                self.metrics
                    .integrate_duration_seconds
                    .observe(started.elapsed().as_secs_f64());
                self.published.send_replace(published.clone());
                for (first_index, reply) in replies {
                    let _ = reply.send(Ok(Appended {
                        first_index,
                        checkpoint: published.clone(),
                    }));
                }
            }
            Err(Error::SignerUnavailable(reason)) => {
                // Only when shutting down: the batch stays staged for the next start.
                let reason = format!(
                    "shut down while the signer was unavailable ({reason}); \
                     the staged batch is finished at the next start"
                );
                tracing::warn!(error = %reason, "batch left staged");
                *self.health.lock().unwrap_or_else(|p| p.into_inner()) =
                    Health::Halted(reason.clone());
                for (_, reply) in replies {
                    let _ = reply.send(Err(Error::SignerUnavailable(reason.clone())));
                }
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(error = %reason, "batch failed; the log is halted until restart");
                *self.health.lock().unwrap_or_else(|p| p.into_inner()) =
                    Health::Halted(reason.clone());
                for (_, reply) in replies {
                    let _ = reply.send(Err(Error::Halted(reason.clone())));
                }
            }
        }
    }

    fn check_sign_commit(
        &self,
        range: &CompactRange,
        batch: &mut Batch,
    ) -> Result<Published, Error> {
        let (old_size, new_size, new_root) = (self.range.size(), range.size(), range.root());
        let stored = self
            .store
            .state()?
            .ok_or_else(|| Error::Inconsistent("the stored log state is gone".into()))?;
        let last = checkpoint::open(&stored.checkpoint, &self.verifier, &[])
            .map_err(|e| Error::Inconsistent(format!("the stored checkpoint: {e}")))?
            .into_checkpoint();
        if last.size() != old_size {
            return Err(Error::Inconsistent(format!(
                "the stored checkpoint is for size {} but the integrator is at {old_size}",
                last.size()
            )));
        }
        let mut proof = Vec::new();
        if old_size > 0 {
            // RFC 9162 §2.1.4: the new tree must be an extension of the one the last
            // checkpoint signed. The proof is built from what is stored plus what this
            // batch adds, and verified against the stored checkpoint's root.
            let overlay = Overlay {
                store: self.store.as_ref(),
                new: batch.nodes.iter().copied().collect(),
            };
            proof = tlog::tree::consistency_proof(old_size, new_size, &overlay)?;
            tlog::verify::verify_consistency(old_size, new_size, last.root(), &new_root, &proof)
                .map_err(|e| Error::Inconsistent(format!("size {old_size} to {new_size}: {e}")))?;
        }
        batch.state = Some(LogState {
            size: new_size,
            frontier: range.frontier().to_vec(),
            checkpoint: Vec::new(),
        });
        if self.signer.remembers() {
            self.store.stage(batch)?;
        }
        let note = self.sign_until_answered(&CheckpointRequest {
            origin: self.verifier.name().as_str(),
            size: new_size,
            root: &new_root,
            from_size: old_size,
            proof: &proof,
        })?;
        let checkpoint = open_signed(&note, &self.verifier, new_size, &new_root)?;
        if let Some(state) = batch.state.as_mut() {
            state.checkpoint = note.clone();
        }
        self.store.commit(batch)?;
        Ok(Published {
            checkpoint,
            note,
            edge: RightEdge::new(range),
            signed_at: SystemTime::now(),
        })
    }
}

impl Integrator {
    /// Asks the signer until it answers: an unreachable signer is asked again with
    /// backoff, and meanwhile the log refuses new appends as unavailable. Gives up
    /// only when the log is shutting down.
    fn sign_until_answered(&self, request: &CheckpointRequest<'_>) -> Result<Vec<u8>, Error> {
        let _span = tracing::info_span!("sign_checkpoint", size = request.size).entered();
        let mut wait = SIGNER_RETRY_FIRST;
        loop {
            match self.signer.sign_checkpoint(request) {
                Ok(note) => {
                    let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
                    if matches!(*health, Health::SignerUnavailable(_)) {
                        *health = Health::Running;
                        self.metrics.signer_available.set(1);
                        tracing::info!(size = request.size, "the signer answers again");
                    }
                    return Ok(note);
                }
                Err(Error::SignerUnavailable(reason)) => {
                    {
                        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
                        if *health == Health::Running {
                            tracing::warn!(
                                error = %reason,
                                size = request.size,
                                "the signer is unavailable; appends are refused until it answers"
                            );
                        }
                        if matches!(*health, Health::Running | Health::SignerUnavailable(_)) {
                            *health = Health::SignerUnavailable(reason.clone());
                        }
                    }
                    self.metrics.signer_available.set(0);
                    let deadline = Instant::now() + wait;
                    while Instant::now() < deadline {
                        if self.stopping.load(Ordering::Acquire) {
                            return Err(Error::SignerUnavailable(reason));
                        }
                        std::thread::sleep(Duration::from_millis(20).min(wait));
                    }
                    wait = (wait * 2).min(SIGNER_RETRY_MAX);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests;
