//! Starting servers and talking to them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tlog::tile::{Tile, TilePath};
use tlog::{Checkpoint, Hash, VerifierKey};

/// Bearer token allowed to write every repository on servers started here.
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// Bearer token allowed to write repositories under `example.com` only.
pub const EXAMPLE_TOKEN: &str = "test-example-token";

/// A log server running in this process on 127.0.0.1:0, over RocksDB in `dir`.
pub struct InProcess {
    pub addr: SocketAddr,
    pub log: Arc<server::sequencer::Log>,
    pub repos: Arc<server::repos::Repos>,
    pub vkey: VerifierKey,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), server::Error>>>,
}

impl InProcess {
    pub async fn start(dir: &Path) -> InProcess {
        Self::start_with(dir, server::sequencer::Config::default()).await
    }

    pub async fn start_with(dir: &Path, sequencer: server::sequencer::Config) -> InProcess {
        Self::start_config(server::Config {
            sequencer,
            ..Self::config(dir)
        })
        .await
    }

    /// The configuration of servers started here: data in `dir`, origin
    /// `test.tuflog.dev/log`, [`ADMIN_TOKEN`] and [`EXAMPLE_TOKEN`].
    pub fn config(dir: &Path) -> server::Config {
        server::Config {
            data_dir: dir.to_path_buf(),
            origin: "test.tuflog.dev/log".into(),
            tokens: vec![
                server::repos::auth::TokenRule::for_token("all", ADMIN_TOKEN, vec![String::new()]),
                server::repos::auth::TokenRule::for_token(
                    "example",
                    EXAMPLE_TOKEN,
                    vec!["example.com".into()],
                ),
            ],
            ..server::Config::default()
        }
    }

    pub async fn start_config(config: server::Config) -> InProcess {
        let srv = server::Server::open(&config).unwrap();
        let log = srv.log().clone();
        let repos = srv.repos().clone();
        let vkey = VerifierKey::parse(&srv.verifier_key()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(srv.run(listener, async move {
            let _ = stopped.await;
        }));
        InProcess {
            addr,
            log,
            repos,
            vkey,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Graceful shutdown; returns once the log is closed.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }

    pub async fn append(&self, entry: &[u8]) -> u64 {
        self.log
            .append(server::sequencer::Append {
                entries: vec![entry.to_vec()],
                ..Default::default()
            })
            .await
            .unwrap()
            .first_index
    }
}

/// The log server as a separate process (`tuflog-log-under-test`), for tests that
/// kill it.
pub struct Process {
    pub child: Child,
    pub addr: SocketAddr,
    pub vkey: VerifierKey,
}

impl Process {
    pub fn start(dir: &Path) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tuflog-log-under-test"))
            .arg("--data-dir")
            .arg(dir)
            .args(["--origin", "test.tuflog.dev/log"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut addr = None;
        let mut vkey = None;
        while addr.is_none() || vkey.is_none() {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(a) = line.strip_prefix("listening ") {
                addr = Some(a.parse().unwrap());
            } else if let Some(v) = line.strip_prefix("vkey ") {
                vkey = Some(VerifierKey::parse(v).unwrap());
            }
        }
        Process {
            child,
            addr: addr.unwrap(),
            vkey: vkey.unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

pub async fn get_ok(client: &reqwest::Client, url: &str) -> Vec<u8> {
    let r = client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {url}: {}", r.text().await.unwrap());
    r.bytes().await.unwrap().to_vec()
}

pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    serde_json::from_slice(&get_ok(client, url).await).unwrap()
}

/// GET /log/checkpoint, verified under `vkey`.
pub async fn checkpoint(
    client: &reqwest::Client,
    base: &str,
    vkey: &VerifierKey,
) -> (Checkpoint, Vec<u8>) {
    let note = get_ok(client, &format!("{base}/log/checkpoint")).await;
    let opened = tlog::checkpoint::open(&note, vkey, &[]).unwrap();
    (opened.checkpoint, note)
}

pub fn hash_b64(s: &serde_json::Value) -> Hash {
    let bytes = B64.decode(s.as_str().unwrap()).unwrap();
    Hash(bytes.try_into().unwrap())
}

pub fn hashes_b64(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash_b64).collect()
}

/// Every hash tile of the tree of `size` leaves, fetched over HTTP.
pub async fn fetch_tiles(
    client: &reqwest::Client,
    base: &str,
    size: u64,
) -> HashMap<Tile, Vec<u8>> {
    let mut tiles = HashMap::new();
    for level in 0u8..=7 {
        let mut index = 0;
        while let Some(tile) = Tile::for_tree_size(level, index, size) {
            let url = format!("{base}/log/{}", TilePath::Hashes(tile));
            tiles.insert(tile, get_ok(client, &url).await);
            index += 1;
        }
    }
    tiles
}

/// A tile source over tiles fetched beforehand.
pub struct FetchedTiles(pub HashMap<Tile, Vec<u8>>);

impl tlog::TileSource for FetchedTiles {
    fn read_tiles(&self, tiles: &[Tile]) -> tlog::Result<Vec<Vec<u8>>> {
        tiles
            .iter()
            .map(|t| {
                // A narrower partial tile is a prefix of the widest one fetched.
                let widest = self
                    .0
                    .iter()
                    .find(|(k, _)| k.level() == t.level() && k.index() == t.index())
                    .map(|(_, v)| v)
                    .ok_or(tlog::Error::MissingHash(tlog::NodeId::new(0, 0)))?;
                Ok(widest[..t.byte_len()].to_vec())
            })
            .collect()
    }
}

/// Every entry of the tree of `size` leaves, from the entry bundles.
pub async fn fetch_entries(client: &reqwest::Client, base: &str, size: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut index = 0;
    while let Some(tile) = Tile::for_tree_size(0, index, size) {
        let url = format!("{base}/log/{}", TilePath::Entries(tile));
        let body = get_ok(client, &url).await;
        out.extend(tlog::tile::parse_bundle_for(&tile, &body).unwrap());
        index += 1;
    }
    out
}
