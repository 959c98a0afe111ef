use super::*;
use crate::signing::LocalCheckpointSigner;
use store::memory::MemoryStore;
use tlog::note::{KeyName, SignatureType};
use tlog::SignerKey;

fn key() -> SignerKey {
    SignerKey::from_seed(
        KeyName::new("example.com/log").unwrap(),
        SignatureType::Ed25519,
        &[7; 32],
    )
}

fn open(store: Arc<MemoryStore>, config: Config) -> Log {
    Log::open(
        store,
        Arc::new(LocalCheckpointSigner::new(key())),
        config,
        Arc::new(Metrics::new().unwrap()),
    )
    .unwrap()
}

fn one(entry: &str) -> Append {
    Append {
        entries: vec![entry.as_bytes().to_vec()],
        ..Append::default()
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn metadata_bundles_carry_each_entrys_file_and_find_the_rest_by_content() {
    use sha2::{Digest, Sha256};
    use tuf::logentry::{parse_metadata_bundle, Bundled, LogEntry};
    let store = Arc::new(MemoryStore::new());
    let log = open(store.clone(), Config::default());
    let doc = |n: u8| format!("{{\"doc\":{n}}}").into_bytes();
    let entry = |n: u8| {
        LogEntry::new("example.com/app", "timestamp", u64::from(n), &doc(n))
            .to_bytes()
            .unwrap()
    };
    let beside = |index: u64, n: u8| Blob {
        index,
        sha256: Sha256::digest(doc(n)).into(),
        bytes: doc(n),
    };
    let append = |entries: Vec<Vec<u8>>, blobs: Vec<Blob>| Append {
        entries,
        blobs,
        versions: vec![],
    };
    block_on(async {
        log.append(append(vec![entry(1)], vec![beside(0, 1)]))
            .await
            .unwrap();
        // A file must name an entry of its own append.
        assert!(log
            .append(append(vec![entry(2)], vec![beside(1, 2)]))
            .await
            .is_err());
        // Entry 2 commits to the bytes entry 0 logged, and comes without them;
        // entry 3 commits to bytes the log never received.
        log.append(append(
            vec![entry(2), entry(1), entry(3)],
            vec![beside(0, 2)],
        ))
        .await
        .unwrap();
    });
    use store::MetadataStore;
    assert_eq!(
        store.entry_blobs(0, 4).unwrap(),
        [Some(doc(1)), Some(doc(2)), None, None],
        "each file is stored beside its entry's log index"
    );
    let bundle = log
        .metadata_bundle(&tlog::tile::Tile::new(0, 0, 4).unwrap())
        .unwrap();
    assert_eq!(
        parse_metadata_bundle(&bundle, 4).unwrap(),
        [
            Bundled::Bytes(doc(1)),
            Bundled::Bytes(doc(2)),
            Bundled::Bytes(doc(1)),
            Bundled::NotStored
        ]
    );
}

#[test]
fn a_new_log_publishes_a_signed_empty_checkpoint() {
    let log = open(Arc::new(MemoryStore::new()), Config::default());
    let latest = log.latest();
    assert_eq!(latest.size(), 0);
    let opened = checkpoint::open(&latest.note, log.verifier(), &[]).unwrap();
    assert_eq!(opened.checkpoint().root(), &tlog::EMPTY_ROOT);
}

#[test]
fn appends_get_consecutive_indices_and_a_checkpoint_covering_them() {
    let store = Arc::new(MemoryStore::new());
    let log = open(store.clone(), Config::default());
    let results = block_on(async {
        let mut out = Vec::new();
        for i in 0..5 {
            out.push(log.append(one(&format!("entry {i}"))).await.unwrap());
        }
        out
    });
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.first_index, i as u64);
        assert!(r.checkpoint.size() > i as u64);
    }
    assert_eq!(log.latest().size(), 5);
    let leaf = leaf_hash(b"entry 3");
    let proof = tlog::tree::inclusion_proof(3, 5, store.as_ref()).unwrap();
    tlog::verify::verify_inclusion(&leaf, 3, 5, &proof, log.latest().checkpoint.root()).unwrap();
}

#[test]
fn queued_appends_are_batched_and_an_append_is_never_split() {
    let store = Arc::new(MemoryStore::new());
    let config = Config {
        max_batch_entries: 3,
        max_batch_delay: Duration::from_millis(200),
        ..Config::default()
    };
    let log = open(store, config);
    let receivers: Vec<_> = (0..4)
        .map(|i| {
            log.submit(Append {
                entries: vec![format!("a{i}").into_bytes(), format!("b{i}").into_bytes()],
                ..Append::default()
            })
            .unwrap()
        })
        .collect();
    let results: Vec<Appended> = block_on(async { futures_join(receivers).await });
    let firsts: Vec<u64> = results.iter().map(|r| r.first_index).collect();
    assert_eq!(firsts, vec![0, 2, 4, 6]);
    // Two appends of two entries fill a batch of three.
    assert_eq!(results[0].checkpoint.size(), 4);
    assert_eq!(results[1].checkpoint.size(), 4);
    assert_eq!(results[3].checkpoint.size(), 8);
}

async fn futures_join(receivers: Vec<oneshot::Receiver<Result<Appended, Error>>>) -> Vec<Appended> {
    let mut out = Vec::new();
    for r in receivers {
        out.push(r.await.unwrap().unwrap());
    }
    out
}

#[test]
fn a_full_queue_refuses_with_overloaded_and_queues_nothing() {
    let config = Config {
        max_batch_entries: 1,
        max_batch_delay: Duration::from_millis(0),
        max_queued_entries: 2,
        ..Config::default()
    };
    let log = open(Arc::new(MemoryStore::new()), config);
    // Fill the queue faster than a synced batch drains it: at most the queue
    // plus the batch in flight can be accepted.
    let mut accepted = Vec::new();
    let mut refused = 0;
    for i in 0..200 {
        match log.submit(one(&format!("e{i}"))) {
            Ok(r) => accepted.push(r),
            Err(Error::Overloaded(msg)) => {
                assert!(msg.contains("queued"), "{msg}");
                refused += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(refused > 0, "200 appends never filled a queue of 2");
    let n = accepted.len() as u64;
    block_on(async {
        for r in accepted {
            r.await.unwrap().unwrap();
        }
    });
    assert_eq!(log.latest().size(), n);
}

#[test]
fn invalid_appends_are_refused_with_reasons() {
    let log = open(Arc::new(MemoryStore::new()), Config::default());
    let cases = [
        (Append::default(), "at least one"),
        (
            Append {
                entries: vec![vec![1]; MAX_ENTRIES_PER_APPEND + 1],
                ..Append::default()
            },
            "at most",
        ),
        (
            Append {
                entries: vec![Vec::new()],
                ..Append::default()
            },
            "entries are",
        ),
        (
            Append {
                entries: vec![vec![0; tlog::tile::MAX_ENTRY_BYTES + 1]],
                ..Append::default()
            },
            "entries are",
        ),
    ];
    for (append, why) in cases {
        match log.submit(append) {
            Err(Error::InvalidRequest(msg)) => assert!(msg.contains(why), "{msg}"),
            other => panic!("expected InvalidRequest, got {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(log.latest().size(), 0);
}

#[test]
fn reopening_recovers_the_state_and_keeps_growing_consistently() {
    let store = Arc::new(MemoryStore::new());
    let first = {
        let log = open(store.clone(), Config::default());
        block_on(async {
            for i in 0..10 {
                log.append(one(&format!("e{i}"))).await.unwrap();
            }
        });
        log.latest()
    };
    let log = open(store.clone(), Config::default());
    assert_eq!(log.latest().note, first.note);
    block_on(log.append(one("after"))).unwrap();
    let proof = tlog::tree::consistency_proof(10, 11, store.as_ref()).unwrap();
    tlog::verify::verify_consistency(
        10,
        11,
        first.checkpoint.root(),
        log.latest().checkpoint.root(),
        &proof,
    )
    .unwrap();
}

#[test]
fn opening_with_another_key_is_refused() {
    let store = Arc::new(MemoryStore::new());
    drop(open(store.clone(), Config::default()));
    let other = SignerKey::from_seed(
        KeyName::new("example.com/log").unwrap(),
        SignatureType::Ed25519,
        &[8; 32],
    );
    let err = Log::open(
        store,
        Arc::new(LocalCheckpointSigner::new(other)),
        Config::default(),
        Arc::new(Metrics::new().unwrap()),
    )
    .err()
    .unwrap();
    assert!(matches!(err, Error::Inconsistent(_)), "{err}");
}

#[test]
fn a_corrupted_stored_node_halts_the_log_before_signing() {
    // Regression guard for the pre-signing check: the integrator must refuse to
    // sign when stored nodes no longer agree with the last signed checkpoint.
    let store = Arc::new(MemoryStore::new());
    let log = open(store.clone(), Config::default());
    block_on(async {
        for i in 0..3 {
            log.append(one(&format!("e{i}"))).await.unwrap();
        }
    });
    let before = log.latest();
    // Leaf 2 is a stored node the consistency proof from 3 to 4 needs.
    store.dangerous_overwrite_node(NodeId::new(0, 2), Hash([9; 32]));
    let err = block_on(log.append(one("e3"))).err().unwrap();
    assert!(
        matches!(err, Error::Halted(ref m) if m.contains("inconsistent")),
        "{err}"
    );
    assert_eq!(log.latest().note, before.note);
    assert!(matches!(log.health(), Health::Halted(_)));
    assert!(matches!(log.submit(one("e4")), Err(Error::Halted(_))));
}

#[test]
fn shutdown_integrates_what_was_queued_then_refuses() {
    let log = open(Arc::new(MemoryStore::new()), Config::default());
    let pending: Vec<_> = (0..50)
        .map(|i| log.submit(one(&format!("e{i}"))).unwrap())
        .collect();
    log.shutdown();
    block_on(async {
        for r in pending {
            r.await.unwrap().unwrap();
        }
    });
    assert_eq!(log.latest().size(), 50);
    assert!(matches!(log.submit(one("late")), Err(Error::ShuttingDown)));
    assert_eq!(log.health(), Health::Stopped);
}

/// A checkpoint signer that remembers what it signed, as the separate signer does,
/// through the signer's own guard; it can be made unreachable, or made to sign and
/// then lose its reply (as when the network or the server fails right after).
struct Remembering {
    key: SignerKey,
    verifier: VerifierKey,
    guard: Arc<signer::guard::Guard>,
    down: std::sync::atomic::AtomicBool,
    lose_replies: std::sync::atomic::AtomicBool,
    /// While set, a request waits (a slow signer) until it is cleared.
    slow: std::sync::atomic::AtomicBool,
}

impl Remembering {
    fn new(guard: Arc<signer::guard::Guard>) -> Arc<Self> {
        Arc::new(Remembering {
            key: key(),
            verifier: key().verifier(),
            guard,
            down: Default::default(),
            lose_replies: Default::default(),
            slow: Default::default(),
        })
    }
}

impl CheckpointSigner for Remembering {
    fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }
    fn remembers(&self) -> bool {
        true
    }
    fn sign_checkpoint(&self, r: &CheckpointRequest<'_>) -> Result<Vec<u8>, Error> {
        while self.slow.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::SignerUnavailable("connection refused".into()));
        }
        let ask = signer::guard::CheckpointAsk {
            origin: r.origin,
            size: r.size,
            root: r.root,
            from_size: r.from_size,
            proof: r.proof,
        };
        let note = self
            .guard
            .checkpoint(&ask, || {
                let c = Checkpoint::new(r.origin, r.size, *r.root).unwrap();
                Ok(c.sign(&self.key).unwrap().to_string().into_bytes())
            })
            .map_err(|e| Error::SignerRefused(e.to_string()))?;
        if self.lose_replies.load(Ordering::SeqCst) {
            return Err(Error::SignerUnavailable("the reply was lost".into()));
        }
        Ok(note)
    }
}

fn guard() -> Arc<signer::guard::Guard> {
    Arc::new(signer::guard::Guard::new(
        Arc::new(store::memory::MemoryKv::default()),
        "example.com/log",
    ))
}

fn open_with(store: Arc<MemoryStore>, signer: Arc<Remembering>) -> Result<Log, Error> {
    Log::open(
        store,
        signer,
        Config::default(),
        Arc::new(Metrics::new().unwrap()),
    )
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn an_unreachable_signer_refuses_new_appends_keeps_reads_and_loses_nothing() {
    let store = Arc::new(MemoryStore::new());
    let signer = Remembering::new(guard());
    let log = open_with(store.clone(), signer.clone()).unwrap();
    block_on(log.append(one("first"))).unwrap();
    signer.down.store(true, Ordering::SeqCst);
    let waiting = log.submit(one("second")).unwrap();
    wait_for("the log to see the signer down", || {
        matches!(log.health(), Health::SignerUnavailable(_))
    });
    assert!(matches!(
        log.submit(one("third")),
        Err(Error::SignerUnavailable(_))
    ));
    // Readers still have the last published checkpoint and its proofs.
    assert_eq!(log.latest().size(), 1);
    // The waiting batch is staged, so a restart now would finish it.
    assert_eq!(
        store.staged().unwrap().unwrap().entries,
        vec![b"second".to_vec()]
    );
    signer.down.store(false, Ordering::SeqCst);
    let appended = block_on(waiting).unwrap().unwrap();
    assert_eq!(appended.first_index, 1);
    assert_eq!(log.health(), Health::Running);
    assert_eq!(log.latest().size(), 2);
    assert_eq!(store.staged().unwrap(), None);
    block_on(log.append(one("third"))).unwrap();
    assert_eq!(signer.guard.last_checkpoint().unwrap().0, 3);
}

#[test]
fn attack_a_restart_cannot_swap_a_batch_the_signer_already_signed() {
    let store = Arc::new(MemoryStore::new());
    let g = guard();
    let signer = Remembering::new(g.clone());
    let log = open_with(store.clone(), signer.clone()).unwrap();
    block_on(log.append(one("first"))).unwrap();
    // The signer signs "second" at size 2, and the reply never arrives.
    signer.lose_replies.store(true, Ordering::SeqCst);
    let waiting = log.submit(one("second")).unwrap();
    wait_for("the signer to sign size 2", || {
        g.last_checkpoint().unwrap().0 == 2
    });
    log.shutdown();
    assert!(matches!(
        block_on(waiting).unwrap(),
        Err(Error::SignerUnavailable(_))
    ));
    assert_eq!(store.state().unwrap().unwrap().size, 1);
    // What a server without the staged batch would have to ask for instead: another
    // tree of size 2. The signer refuses it, so without staging the log could
    // never grow again.
    let mut other = CompactRange::new();
    for e in ["first", "other"] {
        other.append(leaf_hash(e.as_bytes()), |_, _| {}).unwrap();
    }
    let mut first = CompactRange::new();
    first.append(leaf_hash(b"first"), |_, _| {}).unwrap();
    let refused = g.checkpoint(
        &signer::guard::CheckpointAsk {
            origin: "example.com/log",
            size: 2,
            root: &other.root(),
            from_size: 1,
            proof: &[leaf_hash(b"first")],
        },
        || Ok(()),
    );
    assert!(refused.is_err());
    // With the staged batch, the restarted log finishes exactly what was signed.
    let again = Remembering::new(g.clone());
    let log = open_with(store.clone(), again).unwrap();
    wait_for("the staged batch to be published", || {
        log.latest().size() == 2
    });
    assert_eq!(
        store.entries(0, 2).unwrap(),
        vec![b"first".to_vec(), b"second".to_vec()]
    );
    assert_eq!(store.staged().unwrap(), None);
    block_on(log.append(one("third"))).unwrap();
    assert_eq!(g.last_checkpoint().unwrap().0, 3);
}

#[test]
fn a_signer_answering_with_another_checkpoint_halts_the_log() {
    struct Liar(SignerKey, VerifierKey);
    impl CheckpointSigner for Liar {
        fn verifier(&self) -> &VerifierKey {
            &self.1
        }
        fn remembers(&self) -> bool {
            false
        }
        fn sign_checkpoint(&self, r: &CheckpointRequest<'_>) -> Result<Vec<u8>, Error> {
            // Signs a different root for sizes above zero.
            let root = if r.size == 0 { *r.root } else { Hash([9; 32]) };
            let c = Checkpoint::new(r.origin, r.size, root)?;
            Ok(c.sign(&self.0)?.to_string().into_bytes())
        }
    }
    let log = Log::open(
        Arc::new(MemoryStore::new()),
        Arc::new(Liar(key(), key().verifier())),
        Config::default(),
        Arc::new(Metrics::new().unwrap()),
    )
    .unwrap();
    let err = block_on(log.append(one("x"))).unwrap_err();
    assert!(matches!(err, Error::Halted(_)), "{err}");
    assert_eq!(log.latest().size(), 0);
}

#[test]
fn a_slow_signer_stalls_no_read() {
    let store = Arc::new(MemoryStore::new());
    let signer = Remembering::new(guard());
    let log = open_with(store.clone(), signer.clone()).unwrap();
    for e in ["a", "b", "c"] {
        block_on(log.append(one(e))).unwrap();
    }
    signer.slow.store(true, Ordering::SeqCst);
    let mut waiting = log.submit(one("d")).unwrap();
    wait_for("the batch to be staged", || {
        store.staged().unwrap().is_some()
    });
    // The integrator is inside the signer's request; every read still answers,
    // from the last published checkpoint.
    let latest = log.latest();
    assert_eq!(latest.size(), 3);
    log.inclusion_proof(1, 3).unwrap();
    log.consistency_proof(1, 3).unwrap();
    assert_eq!(store.entries(0, 3).unwrap().len(), 3);
    assert!(
        waiting.try_recv().is_err(),
        "the append must still be waiting for the signer while the reads were answered"
    );
    signer.slow.store(false, Ordering::SeqCst);
    assert_eq!(block_on(waiting).unwrap().unwrap().first_index, 3);
}

fn follow(store: Arc<MemoryStore>) -> Log {
    follow_with(store, Config::default())
}

/// Waits up to `within` for `log` to publish a checkpoint of `size`.
fn published(log: &Log, size: u64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while log.latest().size() != size {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// `log` proves `entry` at `index` in the checkpoint it publishes.
fn assert_proves(log: &Log, entry: &[u8], index: u64) {
    let latest = log.latest();
    let proof = log.inclusion_proof(index, latest.size()).unwrap();
    tlog::verify::verify_inclusion(
        &leaf_hash(entry),
        index,
        latest.size(),
        &proof.proof,
        latest.checkpoint.root(),
    )
    .unwrap();
}

#[test]
fn a_follower_publishes_what_the_sequencer_stores_refuses_appends_and_takes_over() {
    let store = Arc::new(MemoryStore::new());
    let sequencer = open(store.clone(), Config::default());
    block_on(sequencer.append(one("a"))).unwrap();
    let follower = follow(store.clone());
    assert_eq!(follower.health(), Health::Following);
    assert!(!follower.is_sequencer());
    assert!(matches!(
        block_on(follower.append(one("b"))),
        Err(Error::NotSequencer(_))
    ));
    for e in ["b", "c", "d"] {
        block_on(sequencer.append(one(e))).unwrap();
    }
    assert!(published(&follower, 4, Duration::from_secs(5)));
    assert_eq!(follower.latest().note, sequencer.latest().note);
    // Its proofs come from its node cache, kept up with what was stored.
    assert_proves(&follower, b"b", 1);
    sequencer.shutdown();
    drop(sequencer);
    follower.lead().unwrap();
    assert_eq!(follower.health(), Health::Running);
    let appended = block_on(follower.append(one("e"))).unwrap();
    assert_eq!(appended.first_index, 4);
}

#[test]
fn attack_a_rewritten_log_state_is_not_published_by_a_follower() {
    let store = Arc::new(MemoryStore::new());
    let sequencer = open(store.clone(), Config::default());
    for e in ["a", "b", "c", "d"] {
        block_on(sequencer.append(one(e))).unwrap();
    }
    let follower = follow(store.clone());
    assert!(published(&follower, 4, Duration::from_secs(5)));
    sequencer.shutdown();
    // The database is rewritten with another tree of six entries, its nodes and a
    // checkpoint signed with the log's own key: every part of it checks out alone.
    let mut fork = CompactRange::new();
    for e in ["w", "x", "y", "z", "u", "v"] {
        fork.append(leaf_hash(e.as_bytes()), |id, h| {
            store.dangerous_overwrite_node(id, h)
        })
        .unwrap();
    }
    let note = LocalCheckpointSigner::new(key())
        .sign_checkpoint(&CheckpointRequest {
            origin: "example.com/log",
            size: 6,
            root: &fork.root(),
            from_size: 0,
            proof: &[],
        })
        .unwrap();
    store.dangerous_replace_state(LogState {
        size: 6,
        frontier: fork.frontier().to_vec(),
        checkpoint: note,
    });
    // Not an extension of what the follower published: never published (ten
    // times the follower's reading interval).
    assert!(!published(&follower, 6, FOLLOW_EVERY * 10));
    assert_eq!(follower.latest().size(), 4);
    assert!(matches!(follower.health(), Health::Halted(r) if r.contains("size 4 to 6")));
}

fn witness_key(i: u8) -> SignerKey {
    SignerKey::from_seed(
        KeyName::new(format!("witness-{i}.example")).unwrap(),
        SignatureType::CosignatureV1,
        &[60 + i; 32],
    )
}

/// Two of two witnesses.
fn witnessed() -> Config {
    Config {
        witnesses: Some(WitnessPolicy::new(
            (0..2).map(|i| witness_key(i).verifier()).collect(),
            2,
        )),
        ..Config::default()
    }
}

fn follow_with(store: Arc<MemoryStore>, config: Config) -> Log {
    Log::follow(
        store,
        Arc::new(LocalCheckpointSigner::new(key())),
        config,
        Arc::new(Metrics::new().unwrap()),
    )
    .unwrap()
}

/// `signed`, with a cosignature line by each of `witnesses`.
fn cosigned_by(signed: &Published, witnesses: &[SignerKey]) -> Arc<Published> {
    let mut note = tlog::note::Note::parse(&signed.note).unwrap();
    let text = note.text().to_string();
    for w in witnesses {
        note.push_signature(tlog::cosignature::cosign(w, &text, 1_800_000_000).unwrap())
            .unwrap();
    }
    Arc::new(Published {
        checkpoint: signed.checkpoint.clone(),
        note: note.to_string().into_bytes(),
        edge: signed.edge.clone(),
        signed_at: signed.signed_at,
    })
}

/// Waits up to `within` for `log` to integrate (or, following, to check) size `size`.
fn integrated(log: &Log, size: u64, within: Duration) -> Arc<Published> {
    let deadline = Instant::now() + within;
    loop {
        let latest = log.integrated().borrow().clone();
        if latest.size() == size {
            return latest;
        }
        assert!(Instant::now() < deadline, "size {size} not integrated");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_follower_of_a_witnessed_log_serves_the_sequencers_cosigned_checkpoints_only() {
    let store = Arc::new(MemoryStore::new());
    let sequencer = open(store.clone(), witnessed());
    for e in ["a", "b", "c"] {
        block_on(sequencer.append(one(e))).unwrap();
    }
    let both = [witness_key(0), witness_key(1)];
    let three = cosigned_by(&integrated(&sequencer, 3, Duration::from_secs(5)), &both);
    sequencer.publish_cosigned(three.clone());
    assert_eq!(sequencer.latest().note, three.note);

    // Started after: readers see the kept cosigned checkpoint at once.
    let follower = follow_with(store.clone(), witnessed());
    assert_eq!(follower.latest().note, three.note);
    block_on(sequencer.append(one("d"))).unwrap();
    let four = integrated(&sequencer, 4, Duration::from_secs(5));
    integrated(&follower, 4, Duration::from_secs(5));
    // Checked, but not cosigned: readers keep size 3.
    assert!(!published(&follower, 4, FOLLOW_EVERY * 10));
    assert_eq!(follower.latest().note, three.note);

    sequencer.publish_cosigned(cosigned_by(&four, &both));
    assert!(published(&follower, 4, Duration::from_secs(5)));
    assert_eq!(follower.latest().note, sequencer.latest().note);
    // Its proofs are against the cosigned tree.
    assert_proves(&follower, b"d", 3);
    assert_eq!(follower.health(), Health::Following);
}

#[test]
fn a_witnessed_log_reopened_serves_its_kept_cosigned_checkpoint_at_once() {
    let store = Arc::new(MemoryStore::new());
    let sequencer = open(store.clone(), witnessed());
    for e in ["a", "b"] {
        block_on(sequencer.append(one(e))).unwrap();
    }
    let two = cosigned_by(
        &integrated(&sequencer, 2, Duration::from_secs(5)),
        &[witness_key(0), witness_key(1)],
    );
    sequencer.publish_cosigned(two.clone());
    block_on(sequencer.append(one("c"))).unwrap();
    integrated(&sequencer, 3, Duration::from_secs(5));
    sequencer.shutdown();
    drop(sequencer);
    // Not the size-3 checkpoint no witness saw: the cosigned one, until the next.
    let reopened = open(store, witnessed());
    assert_eq!(reopened.latest().note, two.note);
    assert_eq!(reopened.integrated().borrow().size(), 3);
}

#[test]
fn attack_a_checkpoint_kept_as_cosigned_without_its_witnesses_is_not_served_by_a_follower() {
    let store = Arc::new(MemoryStore::new());
    let sequencer = open(store.clone(), witnessed());
    block_on(sequencer.append(one("a"))).unwrap();
    let one_entry = cosigned_by(
        &integrated(&sequencer, 1, Duration::from_secs(5)),
        &[witness_key(0), witness_key(1)],
    );
    sequencer.publish_cosigned(one_entry.clone());
    let follower = follow_with(store.clone(), witnessed());
    assert_eq!(follower.latest().note, one_entry.note);
    block_on(sequencer.append(one("b"))).unwrap();
    let two = integrated(&sequencer, 2, Duration::from_secs(5));
    integrated(&follower, 2, Duration::from_secs(5));
    // The database holds the log key's checkpoint as "cosigned": with no witness
    // line, then with one of the two the policy asks for, then with that one's
    // line twice.
    store.put_cosigned(2, &two.note).unwrap();
    assert!(!published(&follower, 2, FOLLOW_EVERY * 10));
    store
        .put_cosigned(2, &cosigned_by(&two, &[witness_key(0)]).note)
        .unwrap();
    assert!(!published(&follower, 2, FOLLOW_EVERY * 10));
    store
        .put_cosigned(
            2,
            &cosigned_by(&two, &[witness_key(0), witness_key(0)]).note,
        )
        .unwrap();
    assert!(!published(&follower, 2, FOLLOW_EVERY * 10));
    assert_eq!(follower.latest().note, one_entry.note);
}

#[test]
fn attack_a_cosigned_checkpoint_of_another_tree_halts_a_follower() {
    let store = Arc::new(MemoryStore::new());
    let sequencer = open(store.clone(), witnessed());
    for e in ["a", "b", "c", "d"] {
        block_on(sequencer.append(one(e))).unwrap();
    }
    let follower = follow_with(store.clone(), witnessed());
    for e in ["e", "f"] {
        block_on(sequencer.append(one(e))).unwrap();
    }
    integrated(&follower, 6, Duration::from_secs(5));
    // A tree of five other entries, signed with the log's key and cosigned by
    // both witnesses (the strongest attacker: witness keys too), kept as the
    // latest cosigned checkpoint: it verifies and meets the policy, but it is
    // not a prefix of the tree of six the follower checked.
    let mut fork = CompactRange::new();
    for e in ["v", "w", "x", "y", "z"] {
        fork.append(leaf_hash(e.as_bytes()), |_, _| {}).unwrap();
    }
    let note = LocalCheckpointSigner::new(key())
        .sign_checkpoint(&CheckpointRequest {
            origin: "example.com/log",
            size: 5,
            root: &fork.root(),
            from_size: 0,
            proof: &[],
        })
        .unwrap();
    let forged = Published {
        checkpoint: checkpoint::open(&note, &key().verifier(), &[])
            .unwrap()
            .into_checkpoint(),
        note,
        edge: RightEdge::new(&fork),
        signed_at: SystemTime::now(),
    };
    store
        .put_cosigned(
            5,
            &cosigned_by(&forged, &[witness_key(0), witness_key(1)]).note,
        )
        .unwrap();
    assert!(!published(&follower, 5, FOLLOW_EVERY * 10));
    assert!(matches!(follower.health(), Health::Halted(r) if r.contains("not a prefix")));
    // And a follower started on that database refuses to start.
    assert!(Log::follow(
        store,
        Arc::new(LocalCheckpointSigner::new(key())),
        witnessed(),
        Arc::new(Metrics::new().unwrap()),
    )
    .is_err());
}
