//! The log's HTTP reads after concurrent appends.

use crate::util::*;
use std::collections::BTreeMap;
use tlog::{leaf_hash, Hash};

const ENTRIES: u64 = 700;
const WRITERS: u64 = 14;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_then_every_served_proof_verifies_and_tiles_agree() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    let client = http();
    let base = format!("http://{}", srv.addr);

    // Appends from many tasks at once; each remembers where its entries landed and
    // the checkpoint that acknowledged them.
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let log = srv.log.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..ENTRIES / WRITERS {
                let entry = format!("writer {w} entry {i}").into_bytes();
                let done = log
                    .append(server::sequencer::Append {
                        entries: vec![entry.clone()],
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                acked.push((done.first_index, entry, done.checkpoint.note.clone()));
            }
            acked
        }));
    }
    let mut by_index = BTreeMap::new();
    let mut acknowledging_notes = Vec::new();
    for t in tasks {
        for (index, entry, note) in t.await.unwrap() {
            assert!(
                by_index.insert(index, entry).is_none(),
                "index {index} given twice"
            );
            acknowledging_notes.push(note);
        }
    }
    assert_eq!(by_index.len() as u64, ENTRIES);
    assert_eq!(*by_index.keys().last().unwrap(), ENTRIES - 1);

    let (cp, _) = checkpoint(&client, &base, &srv.vkey).await;
    assert_eq!(cp.size(), ENTRIES);
    let root = *cp.root();

    // Every inclusion proof the server gives verifies against its checkpoint, and is
    // the proof a client computes from the served tiles alone.
    let tiles = FetchedTiles(fetch_tiles(&client, &base, ENTRIES).await);
    let from_tiles = tlog::tile::TileHashReader::new(ENTRIES, &tiles);
    for (index, entry) in &by_index {
        let p = get_json(
            &client,
            &format!("{base}/log/proof/inclusion?index={index}&size={ENTRIES}"),
        )
        .await;
        let leaf = hash_b64(&p["leaf_hash"]);
        assert_eq!(leaf, leaf_hash(entry), "leaf hash at {index}");
        let proof = hashes_b64(&p["proof"]);
        tlog::verify::verify_inclusion(&leaf, *index, ENTRIES, &proof, &root).unwrap();
        let recomputed = tlog::tree::inclusion_proof(*index, ENTRIES, &from_tiles).unwrap();
        assert_eq!(
            proof, recomputed,
            "inclusion proof for {index} differs from tiles"
        );
    }

    // Every checkpoint that acknowledged an append is signed, and the final tree is
    // consistent with it; the served consistency proof equals the one from tiles.
    let mut seen: BTreeMap<u64, Hash> = BTreeMap::new();
    for note in &acknowledging_notes {
        let c = tlog::checkpoint::open(note, &srv.vkey, &[])
            .unwrap()
            .into_checkpoint();
        if let Some(prev) = seen.insert(c.size(), *c.root()) {
            assert_eq!(prev, *c.root(), "two roots for size {}", c.size());
        }
    }
    for (size, old_root) in &seen {
        let p = get_json(
            &client,
            &format!("{base}/log/proof/consistency?from={size}&size={ENTRIES}"),
        )
        .await;
        let proof = hashes_b64(&p["proof"]);
        tlog::verify::verify_consistency(*size, ENTRIES, old_root, &root, &proof).unwrap();
        let recomputed = tlog::tree::consistency_proof(*size, ENTRIES, &from_tiles).unwrap();
        assert_eq!(proof, recomputed);
    }
    assert!(
        seen.len() > 1,
        "every append landed in one batch; nothing was batched"
    );

    // Consistency between every pair of sizes the log was at, not only to the end.
    let sizes: Vec<u64> = seen.keys().copied().collect();
    for pair in sizes.windows(2) {
        let p = get_json(
            &client,
            &format!(
                "{base}/log/proof/consistency?from={}&size={}",
                pair[0], pair[1]
            ),
        )
        .await;
        tlog::verify::verify_consistency(
            pair[0],
            pair[1],
            &seen[&pair[0]],
            &seen[&pair[1]],
            &hashes_b64(&p["proof"]),
        )
        .unwrap();
    }

    // The entry bundles hold exactly the acknowledged entries at their indices.
    let served = fetch_entries(&client, &base, ENTRIES).await;
    assert_eq!(served, by_index.values().cloned().collect::<Vec<_>>());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_headers_and_etags_follow_mutability() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    for i in 0..300 {
        srv.append(format!("e{i}").as_bytes()).await;
    }
    let client = http();
    let get = |path: &str| client.get(srv.url(path)).send();

    let r = get("/log/checkpoint").await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    let cc = r.headers()["cache-control"].to_str().unwrap();
    assert!(cc.contains("max-age=1"), "checkpoint cache-control {cc}");

    let r = get("/log/tile/0/000").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let etag = r.headers()["etag"].clone();
    assert_eq!(r.bytes().await.unwrap().len(), 8192);
    let again = client
        .get(srv.url("/log/tile/0/000"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag);

    // The partial tile of the current size, and a narrower prefix of it.
    let partial = get_ok(&client, &srv.url("/log/tile/0/001.p/44")).await;
    let narrower = get_ok(&client, &srv.url("/log/tile/0/001.p/10")).await;
    assert_eq!(&partial[..320], &narrower[..]);
    // Wider than the tree, or the full tile before it exists: not found.
    assert_eq!(get("/log/tile/0/001.p/45").await.unwrap().status(), 404);
    assert_eq!(get("/log/tile/0/001").await.unwrap().status(), 404);
    assert_eq!(get("/log/tile/entries/002").await.unwrap().status(), 404);
    let level1 = get_ok(&client, &srv.url("/log/tile/1/000.p/1")).await;
    assert_eq!(level1.len(), 32);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_health_and_readiness_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    for i in 0..5 {
        srv.append(format!("e{i}").as_bytes()).await;
    }
    let client = http();
    get_ok(&client, &srv.url("/log/checkpoint")).await;
    let text = String::from_utf8(get_ok(&client, &srv.url("/metrics")).await).unwrap();
    for needle in [
        "tuflog_log_size 5",
        "tuflog_integrate_batch_entries_count",
        "tuflog_integrate_duration_seconds_bucket",
        "tuflog_checkpoint_age_seconds",
        "tuflog_http_requests_total{route=\"/log/checkpoint\",status=\"200\"} 1",
        "tuflog_http_request_duration_seconds_bucket{route=\"/log/checkpoint\"",
        "tuflog_appends_total{outcome=\"queued\"} 5",
        "tuflog_sequencer_integrating 1",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    // The store's files (or database) are measured: more than nothing.
    let stored = text
        .lines()
        .find_map(|l| l.strip_prefix("tuflog_store_size_bytes "))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(stored > 0, "tuflog_store_size_bytes:\n{text}");
    assert_eq!(get_ok(&client, &srv.url("/healthz")).await, b"ok\n");
    assert_eq!(get_ok(&client, &srv.url("/readyz")).await, b"ready\n");
    srv.stop().await;
}
