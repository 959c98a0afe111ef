//! Restarts keep everything, and the log grows on consistently.

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_everything_and_the_next_checkpoint_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let client = http();
    let srv = InProcess::start(dir.path()).await;
    for i in 0..100 {
        assert_eq!(srv.append(format!("before {i}").as_bytes()).await, i);
    }
    let base = format!("http://{}", srv.addr);
    let (before, before_note) = checkpoint(&client, &base, &srv.vkey).await;
    let entries_before = fetch_entries(&client, &base, 100).await;
    let vkey = srv.vkey.clone();
    srv.stop().await;

    let srv = InProcess::start(dir.path()).await;
    assert_eq!(srv.vkey, vkey, "the log key changed across a restart");
    let base = format!("http://{}", srv.addr);
    let (after, after_note) = checkpoint(&client, &base, &vkey).await;
    assert_eq!(
        after_note, before_note,
        "the restarted log serves another checkpoint"
    );
    assert_eq!(fetch_entries(&client, &base, 100).await, entries_before);

    assert_eq!(srv.append(b"after restart").await, 100);
    let (grown, _) = checkpoint(&client, &base, &vkey).await;
    assert_eq!(grown.size(), 101);
    let p = get_json(
        &client,
        &format!("{base}/log/proof/consistency?from=100&size=101"),
    )
    .await;
    tlog::verify::verify_consistency(
        100,
        101,
        before.root(),
        grown.root(),
        &hashes_b64(&p["proof"]),
    )
    .unwrap();
    assert_eq!(after.root(), before.root());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_key_for_another_origin_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    InProcess::start(dir.path()).await.stop().await;
    let config = server::Config {
        data_dir: dir.path().to_path_buf(),
        origin: "test.tuflog.dev/renamed".into(),
        ..server::Config::default()
    };
    let err = server::Server::open(&config).err().unwrap();
    assert!(err.to_string().contains("origin"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_server_without_a_sequencer_lease_kept_serving_for_no_time() {
    // The watch for a lost lease ended at once when there was no lease to keep,
    // which read as "lost" and began the shutdown as soon as the server started.
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let checkpoint = crate::util::get_ok(&crate::util::http(), &srv.url("/log/checkpoint")).await;
    assert!(!checkpoint.is_empty());
    srv.stop().await;
}
