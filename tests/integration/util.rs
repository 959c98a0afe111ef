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

    /// A server whose keys are files in `dir` whatever `TUFLOG_TEST_SIGNER` says:
    /// for tests whose attacker holds the server's keys to sign a fork or a second
    /// document, which a separate signer refuses (its own tests show that).
    pub async fn start_with_keys_here(dir: &Path) -> InProcess {
        Self::start_config(Self::config_with_keys_here(dir)).await
    }

    pub async fn start_with(dir: &Path, sequencer: server::sequencer::Config) -> InProcess {
        Self::start_config(server::Config {
            sequencer,
            ..Self::config(dir)
        })
        .await
    }

    /// The configuration of servers started here: data in `dir`, origin
    /// `test.tuflog.dev/log`, [`ADMIN_TOKEN`] and [`EXAMPLE_TOKEN`]. With
    /// `TUFLOG_TEST_SIGNER=remote`, the keys are held by a separate signer
    /// ([`crate::remote::signer_for`]) and the server keeps none; with
    /// `TUFLOG_TEST_STORE=postgres`, the log is in PostgreSQL
    /// ([`crate::store_switch::database_for`]).
    pub fn config(dir: &Path) -> server::Config {
        server::Config {
            signer: crate::remote::signer_for(dir, "test.tuflog.dev/log"),
            ..Self::config_with_keys_here(dir)
        }
    }

    /// [`InProcess::config`] with the keys in the data directory whatever the
    /// switch says: for tests whose attacker holds the server's keys (a signer
    /// would refuse to sign what they need), or that are about the key files.
    pub fn config_with_keys_here(dir: &Path) -> server::Config {
        server::Config {
            data_dir: dir.to_path_buf(),
            database: crate::store_switch::database_for(dir),
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
        if config.signer.is_some() {
            // The switch is really on: this server keeps no key of its own.
            assert!(!config.log_key_path().exists() && !config.online_seed_path().exists());
        }
        Self::start_server(srv).await
    }

    /// Serves an already built server.
    pub async fn start_server(srv: server::Server) -> InProcess {
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
    (opened.into_checkpoint(), note)
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

/// Every file below `dir`, relative to it and sorted, with its bytes (none when
/// `dir` does not exist): what a client home holds, to compare before and after.
/// A client home's lock file (`client/lock`, always empty) holds no trust and is
/// left out.
pub fn files_with_bytes_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                if name == "client/lock" {
                    continue;
                }
                found.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

/// The names of [`files_with_bytes_under`].
pub fn files_under(dir: &Path) -> Vec<String> {
    files_with_bytes_under(dir)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// What a [`Front`] answers for a request path.
pub enum Answer {
    /// What this URL answers.
    Proxy(String),
    /// What this URL answers, rewritten.
    Rewrite(String, Arc<dyn Fn(Vec<u8>) -> Vec<u8> + Send + Sync>),
    /// These bytes.
    Serve(Vec<u8>),
    /// What this URL answers, after a pause (a slow server, or one that makes a
    /// client wait while it answers another).
    Slow(std::time::Duration, String),
    /// Nothing (404).
    NotFound,
}

/// A lying server's HTTP front: it decides per request path what each client
/// sees, in front of honest servers.
pub struct Front {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

type Route = Arc<dyn Fn(&str) -> Answer + Send + Sync>;

/// What a [`Front`] does with a request for an update pack
/// (`/repos/{repo}/update?…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packs {
    /// Builds the pack from its own answers for each file and each proof bundle,
    /// so a lie told file by file is told in the pack too (a server that lies
    /// would lie in both): the parts the upstream pack has, each file as the
    /// route answers its unversioned name (a root its versioned one), each bundle
    /// as the route answers the proof of the version that file declares.
    Rebuilt,
    /// Answers the pack request as the route says, like any other path.
    Passed,
    /// Has no packs (404): the client fetches file by file.
    Refused,
}

impl Front {
    pub async fn start(route: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Front {
        Front::with_packs(Packs::Rebuilt, route).await
    }

    pub async fn with_packs(
        packs: Packs,
        route: impl Fn(&str) -> Answer + Send + Sync + 'static,
    ) -> Front {
        let route: Route = Arc::new(route);
        let client = http();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (route, client) = (route.clone(), client.clone());
            async move {
                let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
                match (pack_request(&path), packs) {
                    (Some(_), Packs::Refused) => {
                        (axum::http::StatusCode::NOT_FOUND, b"no packs here".to_vec())
                    }
                    (Some((repo, from)), Packs::Rebuilt) => {
                        rebuilt_pack(&route, &client, &path, repo, from).await
                    }
                    _ => answer(&route, &client, &path).await,
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Front { url, task }
    }
}

/// `(/repos/{repo}, from)` when `path` asks for an update pack.
fn pack_request(path: &str) -> Option<(&str, Option<&str>)> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let repo = path.strip_prefix("/repos/")?.strip_suffix("/update")?;
    let repo = &path[.."/repos/".len() + repo.len()];
    let from = query.split('&').find_map(|p| p.strip_prefix("from="));
    Some((repo, from))
}

async fn answer(
    route: &Route,
    client: &reqwest::Client,
    path: &str,
) -> (axum::http::StatusCode, Vec<u8>) {
    let (url, rewrite) = match route(path) {
        Answer::Serve(body) => return (axum::http::StatusCode::OK, body),
        Answer::NotFound => return (axum::http::StatusCode::NOT_FOUND, Vec::new()),
        Answer::Slow(pause, url) => {
            tokio::time::sleep(pause).await;
            (url, None)
        }
        Answer::Proxy(url) => (url, None),
        Answer::Rewrite(url, rewrite) => (url, Some(rewrite)),
    };
    let resp = client.get(url).send().await.unwrap();
    let status = axum::http::StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let body = resp.bytes().await.unwrap().to_vec();
    match rewrite {
        Some(rewrite) if status.is_success() => (status, rewrite(body)),
        _ => (status, body),
    }
}

/// See [`Packs::Rebuilt`].
async fn rebuilt_pack(
    route: &Route,
    client: &reqwest::Client,
    path: &str,
    repo: &str,
    from: Option<&str>,
) -> (axum::http::StatusCode, Vec<u8>) {
    let (status, upstream) = answer(route, client, path).await;
    if !status.is_success() {
        return (status, upstream);
    }
    let pack = wire::pack::decode(&upstream).unwrap();
    let mut parts = Vec::new();
    for part in &pack.parts {
        let file = match part.role.as_str() {
            "root" => format!("{}.root.json", part.version),
            role => format!("{role}.json"),
        };
        let (status, metadata) = answer(route, client, &format!("{repo}/metadata/{file}")).await;
        if !status.is_success() {
            continue;
        }
        let version = serde_json::from_slice::<serde_json::Value>(&metadata)
            .ok()
            .and_then(|v| v["signed"]["version"].as_u64())
            .unwrap_or(part.version);
        let mut proof = format!("{repo}/proof/{version}.{}.json", part.role);
        if let Some(from) = from {
            proof.push_str(&format!("?from={from}"));
        }
        let (status, bundle) = answer(route, client, &proof).await;
        if status.is_success() {
            parts.push((part.role.clone(), version, metadata, bundle));
        }
    }
    let files: Vec<wire::pack::PackFile<'_>> = parts
        .iter()
        .map(|(role, version, metadata, bundle)| wire::pack::PackFile {
            role,
            version: *version,
            metadata,
            bundle,
        })
        .collect();
    (
        axum::http::StatusCode::OK,
        wire::pack::encode(pack.latest_root, &files).unwrap(),
    )
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A rewrite of checkpoint notes.
pub type NoteRewrite = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// A front for `upstream` that passes every checkpoint note it serves, alone or
/// inside a proof bundle, through `rewrite`.
pub async fn rewriting_notes(upstream: String, rewrite: NoteRewrite) -> Front {
    Front::start(move |path| {
        let url = format!("{upstream}{path}");
        let rewrite = rewrite.clone();
        if path == "/log/checkpoint" {
            return Answer::Rewrite(
                url,
                Arc::new(move |body| rewrite(std::str::from_utf8(&body).unwrap()).into_bytes()),
            );
        }
        if path.starts_with("/repos/") && path.contains("/proof/") {
            return Answer::Rewrite(
                url,
                Arc::new(move |body| {
                    let mut bundle: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    bundle["checkpoint"] = rewrite(bundle["checkpoint"].as_str().unwrap()).into();
                    bundle.to_string().into_bytes()
                }),
            );
        }
        Answer::Proxy(url)
    })
    .await
}
