//! `tuflog-pushload`: pushes targets versions over gRPC from many concurrent clients
//! across many repositories, and reports pushes/s, log entries/s and push latency.
//!
//! By default it starts the server itself (this binary re-executed with
//! `--serve DIR`, RocksDB in a temporary directory), creates the repositories, signs
//! every targets version it will push before the clock starts (so the generator's
//! signing does not compete with the server for the two cores), then pushes them
//! from `--clients` concurrent clients, each owning a set of repositories, so every
//! push is a valid next version. `--server URL --token T` drives a running server
//! instead.
//!
//! Run: `cargo run --release -p tuflog-bench --bin tuflog-pushload -- [--repos N]
//! [--clients C] [--pushes P] [--channels K]`. Figures go to `bench/RESULTS.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use proto::repo::v1 as pb;
use proto::repo::v1::repository_client::RepositoryClient;
use rand_core::OsRng;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use tonic::transport::Channel;
use tuf::editor::{new_root, new_targets};
use tuf::keys::{Key, KeyKind, PrivateKey};
use tuf::metadata::{Expires, Metadata};
use tuflog_bench::percentile;

const TOKEN: &str = "pushload-token";

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    repos: usize,
    clients: usize,
    pushes: usize,
    channels: usize,
    server: Option<String>,
    token: String,
    serve: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        repos: 512,
        clients: 256,
        pushes: 30_000,
        channels: 8,
        server: None,
        token: TOKEN.into(),
        serve: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--repos" => a.repos = value().parse().unwrap(),
            "--clients" => a.clients = value().parse().unwrap(),
            "--pushes" => a.pushes = value().parse().unwrap(),
            "--channels" => a.channels = value().parse().unwrap(),
            "--server" => a.server = Some(value()),
            "--token" => a.token = value(),
            "--serve" => a.serve = Some(value()),
            // cargo bench passes --bench; ignore harness flags.
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        a.clients > 0 && a.clients <= a.repos,
        "need 0 < clients <= repos"
    );
    a
}

/// The child: the server on its defaults in `dir`, with one token for everything.
fn serve(dir: &str) {
    let rt = tuflog_bench::runtime(None);
    rt.block_on(async {
        let config = server::Config {
            data_dir: dir.into(),
            origin: "bench.tuflog.dev/log".into(),
            tokens: vec![server::repos::auth::TokenRule::for_token(
                "bench",
                TOKEN,
                vec![String::new()],
            )],
            ..server::Config::default()
        };
        let srv = server::Server::open(&config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening {}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        srv.run(listener, std::future::pending()).await.unwrap();
    });
}

fn expires() -> Expires {
    let t = (chrono::Utc::now() + chrono::Duration::days(30)).timestamp();
    Expires(chrono::DateTime::from_timestamp(t, 0).unwrap())
}

fn targets_doc(version: u64, key: &PrivateKey, expires: Expires) -> Vec<u8> {
    let mut t = new_targets(expires);
    t.version = version;
    t.add_target(
        &format!("app-{version}.tgz"),
        format!("release {version}").as_bytes(),
        None,
    )
    .unwrap();
    Metadata::sign_new(t, &[key], &mut OsRng)
        .unwrap()
        .bytes()
        .to_vec()
}

fn request(
    repo: &str,
    token: &str,
    files: Vec<(&str, Vec<u8>)>,
) -> tonic::Request<pb::PushRequest> {
    let mut req = tonic::Request::new(pb::PushRequest {
        repo: repo.into(),
        files: files
            .into_iter()
            .map(|(role, content)| pb::MetadataPart {
                role: role.into(),
                content,
            })
            .collect(),
    });
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

/// Creates `name` (root v1, targets v1) and returns its targets key.
async fn create(client: &mut RepositoryClient<Channel>, name: &str, token: &str) -> PrivateKey {
    let keys = client
        .get_keys(pb::GetKeysRequest { repo: name.into() })
        .await
        .unwrap()
        .into_inner();
    let snapshot: Key = serde_json::from_str(&keys.snapshot_key).unwrap();
    let timestamp: Key = serde_json::from_str(&keys.timestamp_key).unwrap();
    let root_key = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    let targets_key = PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap();
    let mut root = new_root(expires(), true);
    root.add_key("root", root_key.public()).unwrap();
    root.add_key("targets", targets_key.public()).unwrap();
    root.add_key("snapshot", &snapshot).unwrap();
    root.add_key("timestamp", &timestamp).unwrap();
    let root = Metadata::sign_new(root, &[&root_key], &mut OsRng).unwrap();
    client
        .push(request(
            name,
            token,
            vec![
                ("root", root.bytes().to_vec()),
                ("targets", targets_doc(1, &targets_key, expires())),
            ],
        ))
        .await
        .unwrap();
    targets_key
}

fn main() {
    let args = parse_args();
    if let Some(dir) = &args.serve {
        serve(dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = None;
    let url = match &args.server {
        Some(u) => u.clone(),
        None => {
            let (c, addr) = tuflog_bench::serve_in_child(dir.path());
            child = Some(c);
            format!("http://{addr}")
        }
    };
    let rt = tuflog_bench::two_core_runtime();
    rt.block_on(async {
        let mut channels = Vec::new();
        for _ in 0..args.channels {
            channels.push(RepositoryClient::new(
                Channel::from_shared(url.clone())
                    .unwrap()
                    .connect()
                    .await
                    .unwrap(),
            ));
        }
        let token = args.token.clone();
        let started = Instant::now();
        let mut repos = Vec::new();
        for r in 0..args.repos {
            let name = format!("bench.example/repo-{r}");
            let n = channels.len();
            let key = create(&mut channels[r % n], &name, &token).await;
            repos.push((name, key));
        }
        println!(
            "created {} repositories in {:.1} s",
            args.repos,
            started.elapsed().as_secs_f64()
        );
        // Every version pushed, signed ahead: repository r gets versions 2, 3, ….
        let per_repo = args.pushes.div_ceil(args.repos);
        let exp = expires();
        let docs: Vec<Vec<Vec<u8>>> = repos
            .iter()
            .map(|(_, key)| {
                (0..per_repo)
                    .map(|i| targets_doc(i as u64 + 2, key, exp))
                    .collect()
            })
            .collect();
        let docs = Arc::new(docs);
        let names: Arc<Vec<String>> = Arc::new(repos.iter().map(|(n, _)| n.clone()).collect());

        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..args.clients {
            let mut client = channels[c % channels.len()].clone();
            let (docs, names, token) = (docs.clone(), names.clone(), token.clone());
            let clients = args.clients;
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut entries = 0usize;
                // This client owns repositories c, c + clients, …, and pushes each
                // one's versions in order, round robin over them.
                let mine: Vec<usize> = (c..names.len()).step_by(clients).collect();
                for i in 0..per_repo {
                    for &r in &mine {
                        let t = Instant::now();
                        let reply = client
                            .push(request(
                                &names[r],
                                &token,
                                vec![("targets", docs[r][i].clone())],
                            ))
                            .await
                            .unwrap()
                            .into_inner();
                        latencies.push(t.elapsed());
                        entries += reply.versions.len();
                    }
                }
                (latencies, entries)
            }));
        }
        let mut latencies = Vec::new();
        let mut entries = 0;
        for t in tasks {
            let (l, e) = t.await.unwrap();
            latencies.extend(l);
            entries += e;
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort();
        let pushes = latencies.len();
        println!(
            "| {} repos, {} clients, {} channels | {pushes} | {:.0} | {:.0} | {:.2?} | {:.2?} |",
            args.repos,
            args.clients,
            args.channels,
            pushes as f64 / elapsed,
            entries as f64 / elapsed,
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
        );
    });
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
    }
}
