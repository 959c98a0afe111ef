//! Crash safety: SIGKILL the server during a concurrent append load, repeatedly.
//! Every acknowledged append must be present at its index afterwards, and every
//! checkpoint ever served must belong to one consistent chain.

use crate::util::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tlog::Hash;

/// Kill-restart rounds, and how long each runs under load before the kill.
const ROUNDS: u64 = 5;
const LOAD_MILLIS: [u64; 5] = [150, 400, 250, 600, 50];
const WRITERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_concurrent_appends_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let client = http();
    let acked: Arc<Mutex<BTreeMap<u64, Vec<u8>>>> = Arc::default();
    let notes: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let mut vkey = None;

    for round in 0..ROUNDS {
        let srv = Process::start(dir.path());
        if let Some(v) = &vkey {
            assert_eq!(&srv.vkey, v, "the log key changed after a crash");
        }
        vkey = Some(srv.vkey.clone());
        let base = srv.url("");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (client, base, acked, stop) =
                (client.clone(), base.clone(), acked.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let entry = format!("round {round} writer {w} entry {i}").into_bytes();
                    i += 1;
                    let Ok(r) = client
                        .post(format!("{base}/test/append"))
                        .body(entry.clone())
                        .send()
                        .await
                    else {
                        break; // killed mid-request: not acknowledged
                    };
                    if r.status() != 200 {
                        continue;
                    }
                    let Ok(body) = r.bytes().await else { break };
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    let index = v["index"].as_u64().unwrap();
                    let previous = acked.lock().unwrap().insert(index, entry);
                    assert!(previous.is_none(), "index {index} acknowledged twice");
                }
            }));
        }
        {
            let (client, base, notes, stop) =
                (client.clone(), base.clone(), notes.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(r) = client.get(format!("{base}/log/checkpoint")).send().await else {
                        break;
                    };
                    let Ok(body) = r.bytes().await else { break };
                    notes.lock().unwrap().push(body.to_vec());
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(LOAD_MILLIS[round as usize])).await;
        srv.kill();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
    }

    let srv = Process::start(dir.path());
    let vkey = vkey.unwrap();
    let base = srv.url("");
    let (last, last_note) = checkpoint(&client, &base, &vkey).await;
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "only {} appends acknowledged; the load did not run",
        acked.len()
    );

    // Every acknowledged append is there, at the index it was given.
    let entries = fetch_entries(&client, &base, last.size()).await;
    for (index, entry) in &acked {
        assert!(
            *index < last.size(),
            "acknowledged index {index} beyond size {}",
            last.size()
        );
        assert_eq!(&entries[*index as usize], entry, "entry at {index}");
    }

    // Every checkpoint served, in any round, is signed by the log and consistent
    // with the final one: one chain, no fork.
    let mut chain: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut notes = notes.lock().unwrap().clone();
    notes.push(last_note);
    for note in &notes {
        let c = tlog::checkpoint::open(note, &vkey, &[])
            .unwrap()
            .into_checkpoint();
        if let Some(prev) = chain.insert(c.size(), *c.root()) {
            assert_eq!(prev, *c.root(), "two roots served for size {}", c.size());
        }
    }
    for (size, root) in chain.iter().filter(|(s, _)| **s > 0) {
        let p = get_json(
            &client,
            &format!(
                "{base}/log/proof/consistency?from={size}&size={}",
                last.size()
            ),
        )
        .await;
        tlog::verify::verify_consistency(
            *size,
            last.size(),
            root,
            last.root(),
            &hashes_b64(&p["proof"]),
        )
        .unwrap_or_else(|e| panic!("checkpoint of size {size} is not in the chain: {e}"));
    }
    srv.kill();
}
