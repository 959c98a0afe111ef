//! The `tuflog witness` binary as an operator runs it next to a `tuflog server`.

use crate::server_process::{sigterm_and_wait, start, start_role};
use std::io::{Read, Write};

/// One HTTP/1.1 request on a fresh connection: (status, body).
pub(crate) fn request(url: &str, method: &str, body: &[u8]) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut tcp = std::net::TcpStream::connect(host).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).unwrap();
    tcp.write_all(body).unwrap();
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).unwrap();
    let status = reply[9..12].parse().unwrap();
    let body = reply.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[test]
fn the_witness_binary_cosigns_the_servers_checkpoint_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (server, log_vkey, server_url) = start(dir.path());
    let (witness, witness_vkey, add_url) = start_role(
        dir.path(),
        &["witness", "--listen", "127.0.0.1:0", "--log", &log_vkey],
        "add-checkpoint",
    );
    assert!(
        witness_vkey.starts_with("localhost/witness+"),
        "{witness_vkey}"
    );
    let key_file = dir.path().join("tuflog-witness-data/witness.key");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let (status, note) = request(&format!("{server_url}/log/checkpoint"), "GET", b"");
    assert_eq!(status, 200);
    let body = format!("old 0\n\n{note}");
    let (status, reply) = request(&add_url, "POST", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert!(reply.starts_with("— localhost/witness "), "{reply}");
    let other = note.replacen("localhost/tuflog", "other.example/log", 1);
    let (status, _) = request(&add_url, "POST", format!("old 0\n\n{other}").as_bytes());
    assert_eq!(status, 404, "a log it was not configured with");

    assert!(sigterm_and_wait(witness).success());
    assert!(sigterm_and_wait(server).success());
}
