//! One behaviour suite, run against every implementation; the RocksDB store is also
//! reopened, and the PostgreSQL one's database killed and restarted, to show nothing
//! committed is lost. Then what only a shared database needs: the sequencer lease
//! and its fencing, against a sequencer that paused past its term.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;
use store::memory::MemoryStore;
use store::postgres::PgStore;
use store::rocks::RocksStore;
use store::{
    Batch, Blob, CosignedNote, Error, KvStore, LogState, LogStore, MetadataStore, RoleVersion,
    SequencerLease, VersionRecord,
};
use tlog::tree::{consistency_proof, inclusion_proof};
use tlog::verify::{verify_consistency, verify_inclusion};
use tlog::{leaf_hash, CompactRange};

fn entry(i: u64) -> Vec<u8> {
    format!("{{\"entry\":{i}}}").into_bytes()
}

/// Builds the batch that appends `n` entries after `range`, as the integrator will.
fn batch(range: &mut CompactRange, n: u64) -> Batch {
    let first = range.size();
    let mut nodes = Vec::new();
    let entries: Vec<Vec<u8>> = (first..first + n).map(entry).collect();
    for e in &entries {
        range
            .append(leaf_hash(e), |id, h| nodes.push((id, h)))
            .unwrap();
    }
    Batch {
        first_index: first,
        entries,
        nodes,
        state: Some(LogState {
            size: range.size(),
            frontier: range.frontier().to_vec(),
            checkpoint: format!("checkpoint at {}\n", range.size()).into_bytes(),
        }),
        blobs: vec![],
        versions: vec![],
    }
}

/// A staged batch is kept whole and invisible until committed, a stale one is
/// refused, and committing drops it. Leaves `store` with one batch staged after
/// `range`, which the caller may reopen and finish.
fn staging_behaves(store: &dyn LogStore, range: &mut CompactRange) -> Batch {
    assert_eq!(store.staged().unwrap(), None);
    let size = range.size();
    let mut first = batch(&mut range.clone(), 3);
    store.stage(&first).unwrap();
    let mut second = batch(&mut range.clone(), 5);
    store.stage(&second).unwrap();
    // The later staging replaces the earlier; nothing of either is readable.
    let staged = store.staged().unwrap().unwrap();
    if let Some(s) = second.state.as_mut() {
        s.checkpoint.clear();
    }
    assert_eq!(staged, second);
    assert_eq!(store.state().unwrap().map_or(0, |s| s.size), size);
    assert!(store.entries(size, size + 1).is_err());
    let mut stale = CompactRange::new();
    if size > 0 {
        assert!(matches!(
            store.stage(&batch(&mut stale, 1)),
            Err(Error::Conflict { .. })
        ));
    }
    // Committing what was staged drops it.
    first = batch(range, 5);
    store.commit(&first).unwrap();
    assert_eq!(store.staged().unwrap(), None);
    let next = batch(&mut range.clone(), 2);
    store.stage(&next).unwrap();
    next
}

/// The kept cosigned checkpoint only ever moves to a larger (or the same) size;
/// leaves size 360 kept.
fn cosigned_behaves(store: &dyn LogStore) {
    assert_eq!(store.cosigned().unwrap(), None);
    let kept = |size, note: &[u8]| CosignedNote {
        size,
        note: note.to_vec(),
    };
    store.put_cosigned(300, b"three hundred").unwrap();
    assert_eq!(store.cosigned().unwrap(), Some(kept(300, b"three hundred")));
    // A smaller one, from a sequencer that was late, changes nothing.
    store
        .put_cosigned(299, b"two hundred and ninety-nine")
        .unwrap();
    assert_eq!(store.cosigned().unwrap(), Some(kept(300, b"three hundred")));
    // The same size with more cosignatures replaces it, as does a larger size.
    store
        .put_cosigned(300, b"three hundred, two cosigners")
        .unwrap();
    assert_eq!(
        store.cosigned().unwrap(),
        Some(kept(300, b"three hundred, two cosigners"))
    );
    store.put_cosigned(360, b"three hundred and sixty").unwrap();
    let too_large = vec![b'x'; store::MAX_COSIGNED_NOTE_BYTES + 1];
    assert!(matches!(
        store.put_cosigned(400, &too_large),
        Err(Error::Invalid(_))
    ));
    assert_eq!(
        store.cosigned().unwrap(),
        Some(kept(360, b"three hundred and sixty"))
    );
}

fn log_behaves(store: &dyn LogStore) {
    assert_eq!(store.state().unwrap(), None);
    cosigned_behaves(store);
    assert!(store.entries(0, 0).unwrap().is_empty());
    assert!(store.entries(0, 1).is_err());

    let mut range = CompactRange::new();
    let mut roots = vec![];
    for n in [1u64, 7, 300, 45] {
        let b = batch(&mut range, n);
        store.commit(&b).unwrap();
        roots.push((range.size(), range.root()));
        let state = store.state().unwrap().unwrap();
        assert_eq!(state.size, range.size());
        assert_eq!(state.frontier, range.frontier());
    }
    let size = range.size();
    assert_eq!(size, 353);
    // Stored hashes serve proofs that verify against the roots the range computed.
    let root = range.root();
    for i in [0, 1, 100, 351, 352] {
        let p = inclusion_proof(i, size, &store).unwrap();
        verify_inclusion(&leaf_hash(&entry(i)), i, size, &p, &root).unwrap();
    }
    for (old, old_root) in &roots {
        let p = consistency_proof(*old, size, &store).unwrap();
        verify_consistency(*old, size, old_root, &root, &p).unwrap();
    }
    assert_eq!(
        CompactRange::from_reader(size, &store).unwrap().root(),
        root
    );
    assert_eq!(
        store.entries(100, 103).unwrap(),
        vec![entry(100), entry(101), entry(102)]
    );
    assert!(store.entries(300, 353 + 1).is_err());
    assert!(store.entries(0, 257).is_err());
    assert!(store.entries(5, 4).is_err());

    // A batch that does not start at the stored size changes nothing.
    let mut stale = CompactRange::new();
    let conflicting = batch(&mut stale, 3);
    assert!(matches!(
        store.commit(&conflicting),
        Err(Error::Conflict {
            expected: 353,
            got: 0
        })
    ));
    let mut inconsistent = batch(&mut range.clone(), 2);
    if let Some(s) = inconsistent.state.as_mut() {
        s.size += 1;
    }
    assert!(matches!(
        store.commit(&inconsistent),
        Err(Error::Invalid(_))
    ));
    assert_eq!(store.state().unwrap().unwrap().size, 353);
}

fn metadata_behaves(log: &dyn LogStore, meta: &dyn MetadataStore) {
    let size = log.state().unwrap().map_or(0, |s| s.size);
    let v = |repo: &str, version: u64, byte: u8, index: u64| RoleVersion {
        repo: repo.into(),
        role: "targets".into(),
        version,
        sha256: [byte; 32],
        index,
    };
    let record = |version: u64, byte: u8, index: u64| VersionRecord {
        version,
        sha256: [byte; 32],
        index,
    };
    let mut range = CompactRange::from_reader(size, &log).unwrap();
    let mut b = batch(&mut range, 2);
    let blob = |index: u64, byte: u8, bytes: &[u8]| Blob {
        index,
        sha256: [byte; 32],
        bytes: bytes.to_vec(),
    };
    b.blobs = vec![blob(size, 1, b"v1"), blob(size + 1, 2, b"v2")];
    b.versions = vec![
        v("example.com/app", 1, 1, size),
        v("example.com/app", 2, 2, size + 1),
    ];
    // A version recorded outside the batch's entries is refused, and nothing lands.
    let mut outside = b.clone();
    outside.versions[1].index = size + 2;
    assert!(matches!(log.commit(&outside), Err(Error::Invalid(_))));
    // So is a file beside an entry outside the batch.
    let mut outside = b.clone();
    outside.blobs[0].index = size + 2;
    assert!(matches!(log.commit(&outside), Err(Error::Invalid(_))));
    assert_eq!(meta.head("example.com/app", "targets").unwrap(), None);
    assert_eq!(meta.blob(&[1; 32]).unwrap(), None);
    log.commit(&b).unwrap();
    assert_eq!(
        meta.head("example.com/app", "targets").unwrap(),
        Some(record(2, 2, size + 1))
    );
    assert_eq!(
        meta.version("example.com/app", "targets", 1).unwrap(),
        Some(record(1, 1, size))
    );
    assert_eq!(meta.blob(&[2; 32]).unwrap().unwrap(), b"v2");
    assert_eq!(meta.blob(&[3; 32]).unwrap(), None);
    // Many at once: in the order asked, repeats and misses included.
    assert_eq!(
        meta.blobs(&[[2; 32], [3; 32], [1; 32], [2; 32]]).unwrap(),
        [
            Some(b"v2".to_vec()),
            None,
            Some(b"v1".to_vec()),
            Some(b"v2".to_vec())
        ]
    );
    assert_eq!(meta.blobs(&[]).unwrap(), Vec::<Option<Vec<u8>>>::new());
    // By entry, in log order; `None` beside an entry logged without a file.
    assert_eq!(
        meta.entry_blobs(size - 1, size + 2).unwrap(),
        [None, Some(b"v1".to_vec()), Some(b"v2".to_vec())]
    );
    assert!(meta.entry_blobs(size, size + 3).is_err(), "beyond the log");
    assert!(meta.entry_blobs(0, 257).is_err(), "more than a bundle");
    assert_eq!(meta.head("example.com/app", "root").unwrap(), None);
    // A head never moves back, even if a batch records an older version.
    let mut b = batch(&mut range, 3);
    // The same bytes logged again, beside a later entry: found by content and by
    // either entry.
    b.blobs = vec![blob(size + 4, 1, b"v1")];
    b.versions = vec![
        v("example.com/app", 1, 9, size + 2),
        v("a.org/x", 1, 3, size + 3),
        v("example.com/app-2", 1, 4, size + 4),
    ];
    log.commit(&b).unwrap();
    assert_eq!(
        meta.head("example.com/app", "targets").unwrap(),
        Some(record(2, 2, size + 1))
    );
    assert_eq!(meta.blob(&[1; 32]).unwrap().unwrap(), b"v1");
    assert_eq!(
        meta.entry_blobs(size, size + 5).unwrap(),
        [
            Some(b"v1".to_vec()),
            Some(b"v2".to_vec()),
            None,
            None,
            Some(b"v1".to_vec())
        ]
    );
    // Each repository once, in byte order, paged by `after`.
    assert_eq!(
        meta.repos(None, 10).unwrap(),
        ["a.org/x", "example.com/app", "example.com/app-2"]
    );
    assert_eq!(meta.repos(None, 1).unwrap(), ["a.org/x"]);
    assert_eq!(
        meta.repos(Some("a.org/x"), 10).unwrap(),
        ["example.com/app", "example.com/app-2"]
    );
    assert_eq!(
        meta.repos(Some("example.com/app-2"), 10).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn memory_store() {
    let s = MemoryStore::new();
    assert_eq!(s.size_on_disk().unwrap(), None);
    log_behaves(&s);
    metadata_behaves(&s, &s);
    let mut range = CompactRange::from_reader(s.state().unwrap().unwrap().size, &s).unwrap();
    staging_behaves(&s, &mut range);
}

/// The batch `staging_behaves` left staged is found as it was (its checkpoint not
/// yet signed); returned with a checkpoint, ready to commit.
fn staged_is_kept_whole(store: &dyn LogStore, staged: Batch) -> Batch {
    let mut found = store.staged().unwrap().unwrap();
    let mut expected = staged;
    if let Some(st) = expected.state.as_mut() {
        st.checkpoint.clear();
    }
    assert_eq!(found, expected);
    if let Some(st) = found.state.as_mut() {
        st.checkpoint = b"signed later".to_vec();
    }
    found
}

#[test]
fn a_batch_staged_in_rocksdb_survives_reopening_and_can_be_finished() {
    let dir = tempfile::tempdir().unwrap();
    let mut range = CompactRange::new();
    let staged = {
        let s = RocksStore::open(dir.path()).unwrap();
        staging_behaves(&s, &mut range)
    };
    let s = RocksStore::open(dir.path()).unwrap();
    let found = staged_is_kept_whole(&s, staged);
    s.commit(&found).unwrap();
    assert_eq!(s.staged().unwrap(), None);
    assert_eq!(s.state().unwrap().unwrap().size, range.size() + 2);
}

#[test]
fn rocks_store_and_reopening_it_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (state, root) = {
        let s = RocksStore::open(dir.path()).unwrap();
        log_behaves(&s);
        metadata_behaves(&s, &s);
        let state = s.state().unwrap().unwrap();
        let root = CompactRange::from_reader(state.size, &s).unwrap().root();
        (state, root)
    };
    let s = RocksStore::open(dir.path()).unwrap();
    assert_eq!(s.state().unwrap().unwrap(), state);
    assert_eq!(s.cosigned().unwrap().map(|c| c.size), Some(360));
    // At least the 353 entries' bytes are on disk.
    let on_disk = s.size_on_disk().unwrap().unwrap();
    assert!(on_disk > 353 * 10, "{on_disk}");
    assert_eq!(
        CompactRange::from_reader(state.size, &s).unwrap().root(),
        root
    );
    assert_eq!(
        s.head("example.com/app", "targets")
            .unwrap()
            .map(|r| r.version),
        Some(2)
    );
    let last = state.size - 1;
    let p = inclusion_proof(last, state.size, &s).unwrap();
    verify_inclusion(&leaf_hash(&entry(last)), last, state.size, &p, &root).unwrap();
}

fn kv_behaves(kv: &dyn KvStore) {
    assert_eq!(kv.get(b"w/a").unwrap(), None);
    kv.put_all(&[(b"w/a", b"1"), (b"w/b", b"2"), (b"x/a", b"3")])
        .unwrap();
    kv.put_all(&[(b"w/a", b"4")]).unwrap();
    assert_eq!(kv.get(b"w/a").unwrap().as_deref(), Some(&b"4"[..]));
    // One key twice in one call, out of key order: the later pair wins.
    kv.put_all(&[(b"y/b", b"5"), (b"y/a", b"6"), (b"y/b", b"7")])
        .unwrap();
    assert_eq!(kv.get(b"y/b").unwrap().as_deref(), Some(&b"7"[..]));
    assert_eq!(kv.get(b"y/a").unwrap().as_deref(), Some(&b"6"[..]));
    let all = kv.scan(b"w/", None, 10).unwrap();
    assert_eq!(
        all,
        vec![
            (b"w/a".to_vec(), b"4".to_vec()),
            (b"w/b".to_vec(), b"2".to_vec())
        ],
        "only the prefix, in key order"
    );
    assert_eq!(kv.scan(b"w/", Some(b"w/a"), 10).unwrap(), all[1..].to_vec());
    assert_eq!(kv.scan(b"w/", None, 1).unwrap(), all[..1].to_vec());
}

#[test]
fn memory_kv() {
    kv_behaves(&store::memory::MemoryKv::default());
}

#[test]
fn rocks_kv_and_reopening_it_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let kv = store::rocks::RocksKv::open(dir.path()).unwrap();
        kv_behaves(&kv);
        assert!(
            store::rocks::RocksKv::open(dir.path()).is_err(),
            "a second opener is locked out"
        );
    }
    let kv = store::rocks::RocksKv::open(dir.path()).unwrap();
    assert_eq!(kv.get(b"w/a").unwrap().as_deref(), Some(&b"4"[..]));
}

fn postgres_database() -> (testkit::postgres::Cluster, String) {
    let cluster = testkit::postgres::Cluster::start().unwrap();
    let url = cluster.create_database("tuflog").unwrap();
    (cluster, url)
}

/// A private cluster and a store on a fresh database in it, holding the sequencer
/// lease as the server's integrator would.
fn postgres() -> (testkit::postgres::Cluster, String, PgStore) {
    let (cluster, url) = postgres_database();
    let store = PgStore::open(&url).unwrap();
    assert!(store
        .take_lease("test", "127.0.0.1:1", Duration::from_secs(60))
        .unwrap()
        .is_some());
    (cluster, url, store)
}

#[test]
fn postgres_store_and_restarting_the_database_loses_nothing() {
    let (mut cluster, url, s) = postgres();
    log_behaves(&s);
    metadata_behaves(&s, &s);
    let state = s.state().unwrap().unwrap();
    let mut range = CompactRange::from_reader(state.size, &s).unwrap();
    let root = range.root();
    let staged = staging_behaves(&s, &mut range);
    let state = s.state().unwrap().unwrap();
    s.release_lease().unwrap();
    drop(s);
    // Killed, not shut down: what was committed is back after recovery.
    cluster.restart().unwrap();
    let s = PgStore::open(&url).unwrap();
    assert_eq!(s.state().unwrap().unwrap(), state);
    assert_eq!(s.cosigned().unwrap().map(|c| c.size), Some(360));
    let on_disk = s.size_on_disk().unwrap().unwrap();
    assert!(on_disk > 353 * 10, "{on_disk}");
    assert_eq!(
        s.head("example.com/app", "targets")
            .unwrap()
            .map(|r| r.version),
        Some(2)
    );
    let old = 353 + 5;
    let p = consistency_proof(old, state.size, &s).unwrap();
    verify_consistency(old, state.size, &root, &range.root(), &p).unwrap();
    // The staged batch is there to finish, by whoever holds the lease now.
    let found = staged_is_kept_whole(&s, staged);
    // A store that does not hold the lease writes nothing; the next term's does.
    assert!(matches!(s.commit(&found), Err(Error::Deposed(_))));
    assert_eq!(
        s.take_lease("after restart", "127.0.0.1:2", Duration::from_secs(60))
            .unwrap(),
        Some(2),
        "the first term's lease was given up before the restart"
    );
    s.commit(&found).unwrap();
    assert_eq!(s.staged().unwrap(), None);
    assert_eq!(s.state().unwrap().unwrap().size, state.size + 2);
}

#[test]
fn postgres_kv() {
    let (mut cluster, url, s) = postgres();
    kv_behaves(&s);
    drop(s);
    cluster.restart().unwrap();
    let kv = PgStore::open(&url).unwrap();
    assert_eq!(kv.get(b"w/a").unwrap().as_deref(), Some(&b"4"[..]));
}

#[test]
fn the_sequencer_lease_passes_only_when_free_and_each_term_has_a_larger_token() {
    let (_cluster, url) = postgres_database();
    let (a, b) = (PgStore::open(&url).unwrap(), PgStore::open(&url).unwrap());
    assert_eq!(a.lease_holder().unwrap(), None);
    let ttl = Duration::from_millis(400);
    assert_eq!(a.take_lease("a", "10.0.0.1:80", ttl).unwrap(), Some(1));
    assert_eq!(b.take_lease("b", "10.0.0.2:80", ttl).unwrap(), None);
    let holder = b.lease_holder().unwrap().unwrap();
    assert_eq!(
        (
            holder.holder.as_str(),
            holder.address.as_str(),
            holder.token
        ),
        ("a", "10.0.0.1:80", 1)
    );
    assert!(holder.expires_in.is_some_and(|d| d <= ttl));
    // Renewing keeps the term; giving it up lets the next holder in at once.
    assert_eq!(a.take_lease("a", "10.0.0.1:80", ttl).unwrap(), Some(1));
    a.release_lease().unwrap();
    assert_eq!(b.take_lease("b", "10.0.0.2:80", ttl).unwrap(), Some(2));
    assert_eq!(a.take_lease("a", "10.0.0.1:80", ttl).unwrap(), None);
    // Expired unrenewed, the lease goes to whoever asks next, in a new term.
    std::thread::sleep(ttl + Duration::from_millis(100));
    assert_eq!(b.lease_holder().unwrap().unwrap().expires_in, None);
    assert_eq!(a.take_lease("a", "10.0.0.1:80", ttl).unwrap(), Some(3));
    assert_eq!(
        b.take_lease("b", "10.0.0.2:80", ttl).unwrap(),
        None,
        "b's term ended when a took the lease"
    );
}

#[test]
fn attack_a_paused_sequencer_writes_nothing_once_another_took_the_lease() {
    let (_cluster, url, a) = postgres();
    let b = PgStore::open(&url).unwrap();
    let ttl = Duration::from_millis(300);
    a.take_lease("a", "a:1", ttl).unwrap().unwrap();
    let mut range = CompactRange::new();
    a.commit(&batch(&mut range, 4)).unwrap();
    // a builds its next batch, then pauses past its lease; b takes over from the
    // same stored tree.
    let from_a = batch(&mut range.clone(), 3);
    std::thread::sleep(ttl + Duration::from_millis(100));
    b.take_lease("b", "b:1", ttl).unwrap().unwrap();
    // a wakes up believing it is the sequencer: its batch starts at the stored size
    // and extends the stored tree, and is refused all the same.
    assert!(matches!(a.stage(&from_a), Err(Error::Deposed(_))));
    assert!(matches!(a.commit(&from_a), Err(Error::Deposed(_))));
    assert_eq!(a.state().unwrap().unwrap().size, 4);
    assert_eq!(a.staged().unwrap(), None);
    let from_b = batch(&mut range, 2);
    b.stage(&from_b).unwrap();
    b.commit(&from_b).unwrap();
    assert_eq!(b.state().unwrap().unwrap().size, 6);
    // Nor can a take the lease back while b's term lasts.
    assert_eq!(a.take_lease("a", "a:1", ttl).unwrap(), None);
}

#[test]
fn attack_a_batch_built_on_another_tree_is_refused_even_from_the_lease_holder() {
    let (_cluster, _url, s) = postgres();
    let mut range = CompactRange::new();
    s.commit(&batch(&mut range, 5)).unwrap();
    // A fork: five other entries, then two more. It starts at the stored size.
    let mut other = CompactRange::new();
    for i in 0..5u64 {
        other
            .append(leaf_hash(format!("other {i}").as_bytes()), |_, _| {})
            .unwrap();
    }
    let fork = batch(&mut other, 2);
    assert_eq!(fork.first_index, 5);
    assert!(matches!(s.stage(&fork), Err(Error::NotAnExtension(_))));
    assert!(matches!(s.commit(&fork), Err(Error::NotAnExtension(_))));
    // The right entries with another tree's nodes are refused too.
    let mut honest = batch(&mut range.clone(), 2);
    honest.nodes = fork.nodes.clone();
    assert!(matches!(s.commit(&honest), Err(Error::NotAnExtension(_))));
    assert_eq!(s.state().unwrap().unwrap().size, 5);
    s.commit(&batch(&mut range, 2)).unwrap();
}

#[test]
fn the_postgres_store_answers_from_inside_an_async_runtime() {
    let (_cluster, _url, s) = postgres();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let s = std::sync::Arc::new(s);
    let size = runtime.block_on({
        let s = s.clone();
        async move {
            tokio::spawn(async move {
                let mut range = CompactRange::new();
                s.commit(&batch(&mut range, 3)).unwrap();
                s.state().unwrap().unwrap().size
            })
            .await
            .unwrap()
        }
    });
    assert_eq!(size, 3);
    // Dropped on a runtime thread: no panic about blocking there.
    runtime.block_on(async move { drop(s) });
}

/// The store over TLS to a database that takes nothing else over TCP: the log
/// behaves as over a plain connection, and survives a restart of the database.
#[test]
fn postgres_over_verified_tls_keeps_the_log() {
    let mut cluster = testkit::postgres::Cluster::start_tls(&["127.0.0.1"]).unwrap();
    let url = cluster.create_database("tuflog").unwrap();
    // The database refuses a connection without TLS, so the store's was TLS.
    let plain = PgStore::open(&url)
        .err()
        .expect("a plain connection refused");
    assert!(
        plain.to_string().contains("no pg_hba.conf entry"),
        "{plain}"
    );
    let tls_url = format!(
        "{url}?sslmode=verify-full&sslrootcert={}",
        cluster.ca_cert().display()
    );
    let s = PgStore::open(&tls_url).unwrap();
    assert!(s
        .take_lease("test", "127.0.0.1:1", Duration::from_secs(60))
        .unwrap()
        .is_some());
    log_behaves(&s);
    let state = s.state().unwrap().unwrap();
    drop(s);
    cluster.restart().unwrap();
    assert_eq!(
        PgStore::open(&tls_url).unwrap().state().unwrap().unwrap(),
        state
    );
}

/// Someone between the server and its database answers with a certificate of
/// its own: one from a CA the URL does not name, one the URL's CA issued for
/// another host, or none at all (a database without TLS). Each is refused before
/// anything is read or written.
#[test]
fn attack_a_database_that_cannot_prove_it_is_the_one_named_is_refused() {
    let cluster = testkit::postgres::Cluster::start_tls(&["127.0.0.1"]).unwrap();
    let url = cluster.create_database("tuflog").unwrap();
    let elsewhere = testkit::postgres::Cluster::start_tls(&["db.example"]).unwrap();
    let refused = |url: String, wanted: &str| {
        let e = PgStore::open(&url).err().expect("refused");
        assert!(e.to_string().contains(wanted), "{url}: {e}");
    };
    // Another CA's certificate, and the Mozilla roots, which no test CA is in.
    refused(
        format!(
            "{url}?sslmode=verify-full&sslrootcert={}",
            elsewhere.ca_cert().display()
        ),
        "invalid peer certificate",
    );
    refused(format!("{url}?sslmode=require"), "invalid peer certificate");
    // The right CA, but a certificate for another host than the URL names.
    let other_host = elsewhere.create_database("tuflog").unwrap();
    refused(
        format!(
            "{other_host}?sslmode=verify-full&sslrootcert={}",
            elsewhere.ca_cert().display()
        ),
        "invalid peer certificate",
    );
    // A database without TLS, where TLS was asked for.
    let (_plain_cluster, plain) = postgres_database();
    refused(
        format!(
            "{plain}?sslmode=verify-full&sslrootcert={}",
            cluster.ca_cert().display()
        ),
        "TLS",
    );
}
