//! Malformed, out-of-range and oversized requests get a 4xx (or a gRPC error) with a
//! message saying what was wrong, and change nothing.

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_http_request_gets_a_4xx_with_a_clear_message_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::start(dir.path()).await;
    for i in 0..10 {
        srv.append(format!("e{i}").as_bytes()).await;
    }
    let client = http();
    let before = get_ok(&client, &srv.url("/log/checkpoint")).await;
    let long = "9".repeat(300);
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "/log/proof/inclusion".into(),
            400,
            "missing query parameter index",
        ),
        (
            "/log/proof/inclusion?index=1".into(),
            400,
            "missing query parameter size",
        ),
        (
            "/log/proof/inclusion?index=a&size=10".into(),
            400,
            "index must be a decimal",
        ),
        (
            "/log/proof/inclusion?index=-1&size=10".into(),
            400,
            "index must be a decimal",
        ),
        (
            "/log/proof/inclusion?index=01&size=10".into(),
            400,
            "leading zeros",
        ),
        (
            "/log/proof/inclusion?index=1&size=99999999999999999999".into(),
            400,
            "below 2^64",
        ),
        (
            "/log/proof/inclusion?index=1&index=2&size=10".into(),
            400,
            "given twice",
        ),
        (
            "/log/proof/inclusion?index=1&size=10&extra=1".into(),
            400,
            "unknown query parameter",
        ),
        (
            "/log/proof/inclusion?index=1&size".into(),
            400,
            "has no value",
        ),
        (
            "/log/proof/inclusion?index=10&size=10".into(),
            400,
            "not below size",
        ),
        (
            "/log/proof/inclusion?index=0&size=0".into(),
            400,
            "size must be at least 1",
        ),
        (
            "/log/proof/inclusion?index=0&size=11".into(),
            404,
            "beyond the latest checkpoint",
        ),
        (
            "/log/proof/consistency?from=0&size=10".into(),
            400,
            "from must be in 1..=size",
        ),
        (
            "/log/proof/consistency?from=5&size=4".into(),
            400,
            "from must be in 1..=size",
        ),
        (
            "/log/proof/consistency?from=5&size=11".into(),
            404,
            "beyond the latest checkpoint",
        ),
        (
            "/log/proof/consistency?index=5&size=10".into(),
            400,
            "unknown query parameter",
        ),
        ("/log/tile/0/00".into(), 400, "three digits"),
        ("/log/tile/0/0001".into(), 400, "three digits"),
        ("/log/tile/64/000".into(), 400, "level"),
        ("/log/tile/00/000".into(), 400, "level"),
        ("/log/tile/0/000.p/0".into(), 400, "partial width"),
        ("/log/tile/0/000.p/256".into(), 400, "partial width"),
        ("/log/tile/0/x000/001".into(), 400, "leading zero group"),
        (
            "/log/tile/0/001".into(),
            404,
            "not covered by the latest checkpoint",
        ),
        (
            "/log/tile/0/000.p/11".into(),
            404,
            "not covered by the latest checkpoint",
        ),
        (
            "/log/tile/entries/000".into(),
            404,
            "not covered by the latest checkpoint",
        ),
        (
            "/log/tile/entries/000.p/11".into(),
            404,
            "not covered by the latest checkpoint",
        ),
        (
            "/log/tile/3/x999/x999/x999/x999/x999/x999/999".into(),
            400,
            "overflows",
        ),
        (
            format!("/log/proof/inclusion?index=1&size={long}"),
            414,
            "at most",
        ),
        (
            format!("/log/tile/0/{}", "x123/".repeat(120)),
            414,
            "at most",
        ),
        ("/log/nothing".into(), 404, "no route for GET /log/nothing"),
    ];
    for (path, status, message) in &cases {
        let r = client.get(srv.url(path)).send().await.unwrap();
        let got = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(got, *status, "GET {path}: {body}");
        assert!(
            body.contains(message),
            "GET {path}: {body:?} lacks {message:?}"
        );
    }
    // Writes to read-only routes are refused.
    let r = client
        .post(srv.url("/log/checkpoint"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(get_ok(&client, &srv.url("/log/checkpoint")).await, before);
    assert_eq!(srv.log.latest().size(), 10);
    srv.stop().await;
}
