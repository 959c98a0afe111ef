//! `tuflog-pushload`: pushes targets versions to the shipped `tuflog-server` from many
//! repositories at once, over gRPC or HTTP multipart, and reports pushes/s, log
//! entries/s, push latency (p50, p99, p999) and the server's resident memory.
//!
//! Two ways to load it:
//! - closed loop (the default): `--clients` clients, each owning a share of the
//!   repositories, each pushing its next version as soon as the last is acknowledged;
//!   this finds the most the server sustains;
//! - open loop (`--rate R`): pushes start at R per second whatever the replies, as
//!   independent publishers would; latency counts from when a push was due, so a
//!   server that falls behind shows it (no coordinated omission). Versions of one
//!   repository still go in order, each after the last was acknowledged.
//!
//! Every version is signed before the clock starts, so the generator's signing does
//! not compete with the server for the cores. The server is `tuflog-server` started
//! on `--data-dir` (a temporary directory by default), or `--server URL --token T`.
//! With `--signer`, it holds no key: a shipped `tuflog-signer` beside it does, over
//! mutual TLS on loopback, on the same two cores. With `--database-url`, its log is
//! in that PostgreSQL database (empty), on the same machine.
//!
//! `bench/run` runs it; `--help`-free flags: `[--transport grpc|http] [--rate R]
//! [--repos N] [--clients C] [--pushes P] [--files F] [--channels K]
//! [--data-dir DIR] [--server-bin PATH] [--server URL --token T] [--signer]
//! [--database-url URL] [--repo-prefix P] [--case-note TEXT]`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs
)]

use proto::repo::v1 as pb;
use proto::repo::v1::repository_client::RepositoryClient;
use rand_core::OsRng;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tuf::editor::{new_root, new_targets};
use tuf::keys::{Key, KeyKind, PrivateKey};
use tuf::metadata::{Expires, Metadata};
use tuflog_bench::shipped::ShippedServer;
use tuflog_bench::Latencies;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A push refused as "retry later" (the server's queue is full) is sent again after
/// this long, at most [`MAX_RETRIES`] times; its latency includes the wait.
const RETRY_AFTER: Duration = Duration::from_millis(50);
const MAX_RETRIES: u32 = 200;

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Grpc,
    Http,
}

struct Args {
    transport: Transport,
    rate: Option<f64>,
    repos: usize,
    clients: usize,
    pushes: usize,
    files: usize,
    channels: usize,
    data_dir: Option<PathBuf>,
    server_bin: Option<PathBuf>,
    server: Option<String>,
    token: Option<String>,
    signer: bool,
    database_url: Option<String>,
    /// Repositories are named this followed by their number.
    repo_prefix: String,
    /// Added to the case name of the figures (which server was pushed to, say).
    case_note: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        transport: Transport::Grpc,
        rate: None,
        repos: 512,
        clients: 64,
        pushes: 30_000,
        files: 1,
        channels: 8,
        data_dir: None,
        server_bin: None,
        server: None,
        token: None,
        signer: false,
        database_url: None,
        repo_prefix: "bench.example/repo-".into(),
        case_note: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--transport" => {
                a.transport = match value().as_str() {
                    "grpc" => Transport::Grpc,
                    "http" => Transport::Http,
                    other => panic!("--transport grpc|http, not {other}"),
                }
            }
            "--rate" => a.rate = Some(value().parse().unwrap()),
            "--repos" => a.repos = value().parse().unwrap(),
            "--clients" => a.clients = value().parse().unwrap(),
            "--pushes" => a.pushes = value().parse().unwrap(),
            "--files" => a.files = value().parse().unwrap(),
            "--channels" => a.channels = value().parse().unwrap(),
            "--data-dir" => a.data_dir = Some(value().into()),
            "--server-bin" => a.server_bin = Some(value().into()),
            "--server" => a.server = Some(value()),
            "--token" => a.token = Some(value()),
            "--signer" => a.signer = true,
            "--database-url" => a.database_url = Some(value()),
            "--repo-prefix" => a.repo_prefix = value(),
            "--case-note" => a.case_note = Some(value()),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        a.clients > 0 && a.clients <= a.repos,
        "need 0 < clients <= repos"
    );
    assert!(a.files > 0, "a targets document lists at least one file");
    assert!(
        a.server.is_some() == a.token.is_some(),
        "--server and --token go together"
    );
    a
}

fn expires() -> Expires {
    let t = (chrono::Utc::now() + chrono::Duration::days(30)).timestamp();
    Expires(chrono::DateTime::from_timestamp(t, 0).unwrap())
}

/// Targets version `version` listing `files` files, as a release pipeline would.
fn targets_doc(version: u64, files: usize, key: &PrivateKey, expires: Expires) -> Vec<u8> {
    let mut t = new_targets(expires);
    t.version = version;
    for f in 0..files {
        t.add_target(
            &format!("releases/app-{version}/part-{f}.tgz"),
            format!("release {version} part {f}").as_bytes(),
            None,
        )
        .unwrap();
    }
    Metadata::sign_new(t, &[key], &mut OsRng)
        .unwrap()
        .bytes()
        .to_vec()
}

/// One way of pushing, over one transport.
#[derive(Clone)]
enum Pusher {
    Grpc(Vec<RepositoryClient<Channel>>),
    Http(edge::Http, String),
}

enum Outcome {
    /// Logged: how many log entries the push added.
    Logged(usize),
    /// Refused for now (the server's queue is full); send it again.
    RetryLater,
}

impl Pusher {
    async fn push(&self, lane: usize, repo: &str, token: &str, files: &[(&str, &[u8])]) -> Outcome {
        match self {
            Pusher::Grpc(channels) => {
                let mut client = channels[lane % channels.len()].clone();
                let mut req = tonic::Request::new(pb::PushRequest {
                    repo: repo.into(),
                    files: files
                        .iter()
                        .map(|(role, content)| pb::MetadataPart {
                            role: (*role).into(),
                            content: content.to_vec(),
                        })
                        .collect(),
                });
                req.metadata_mut()
                    .insert("authorization", format!("Bearer {token}").parse().unwrap());
                match client.push(req).await {
                    Ok(reply) => Outcome::Logged(reply.into_inner().versions.len()),
                    Err(s) if s.code() == tonic::Code::Unavailable => Outcome::RetryLater,
                    Err(s) => panic!("push to {repo}: {s}"),
                }
            }
            Pusher::Http(http, url) => {
                let mut form = reqwest::multipart::Form::new();
                for (role, content) in files {
                    let name = format!("{role}.json");
                    form = form.part(
                        name.clone(),
                        reqwest::multipart::Part::bytes(content.to_vec())
                            .file_name(name)
                            .mime_str("application/json")
                            .unwrap(),
                    );
                }
                let url = format!("{url}/repos/{repo}/metadata");
                match http.post_multipart(&url, token, form, 1 << 20).await {
                    Ok(body) => {
                        Outcome::Logged(wire::PushReceipt::from_json(&body).unwrap().entries.len())
                    }
                    Err(edge::Error::Http { status: 503, .. }) => Outcome::RetryLater,
                    Err(e) => panic!("push to {repo}: {e}"),
                }
            }
        }
    }

    /// Pushes until logged, waiting [`RETRY_AFTER`] between refusals; returns the
    /// entries added and how many times it was refused first.
    async fn push_until_logged(
        &self,
        lane: usize,
        repo: &str,
        token: &str,
        files: &[(&str, &[u8])],
    ) -> (usize, u32) {
        for retries in 0..=MAX_RETRIES {
            if let Outcome::Logged(n) = self.push(lane, repo, token, files).await {
                return (n, retries);
            }
            tokio::time::sleep(RETRY_AFTER).await;
        }
        panic!("push to {repo} refused {MAX_RETRIES} times in a row");
    }
}

/// Creates `name` (root v1, targets v1) and returns its targets key.
async fn create(
    pusher: &Pusher,
    grpc: &mut RepositoryClient<Channel>,
    name: &str,
    token: &str,
) -> PrivateKey {
    let keys = grpc
        .get_keys(pb::GetKeysRequest {
            repo: name.into(),
            next: false,
        })
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
    let targets = targets_doc(1, 1, &targets_key, expires());
    pusher
        .push_until_logged(
            0,
            name,
            token,
            &[("root", root.bytes()), ("targets", &targets)],
        )
        .await;
    targets_key
}

/// Samples the server's resident memory every 100 ms while pushes run, and keeps
/// the largest reading with the number of log entries added by then.
fn sample_rss(
    pid: u32,
    entries: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<(u64, u64)>> {
    std::thread::spawn(move || {
        let mut samples = Vec::new();
        while !done.load(Ordering::Relaxed) {
            let (rss, _) = tuflog_bench::rss_kib(pid);
            samples.push((entries.load(Ordering::Relaxed), rss));
            std::thread::sleep(Duration::from_millis(100));
        }
        samples
    })
}

fn main() {
    let args = parse_args();
    let temp = tempfile::tempdir().unwrap();
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().join("server"));
    let mut signers = Vec::new();
    let (server, url, token) = match (&args.server, &args.token) {
        (Some(url), Some(token)) => (None, url.clone(), token.clone()),
        _ => {
            let bin = args
                .server_bin
                .clone()
                .unwrap_or_else(tuflog_bench::shipped::default_binary);
            let config = temp.path().join("tuflog.toml");
            if args.signer {
                let signer = tuflog_bench::shipped::ShippedSigner::start(&bin, temp.path());
                signer.server_config(&config);
                signers.push(signer);
            }
            if let Some(url) = &args.database_url {
                // Top-level keys go before any table.
                let tables = std::fs::read_to_string(&config).unwrap_or_default();
                std::fs::write(&config, format!("database_url = \"{url}\"\n{tables}")).unwrap();
            }
            let s = ShippedServer::start_with(&bin, &data_dir, config.exists().then_some(&*config));
            let url = format!("http://{}", s.addr);
            let token = s.token.clone();
            (Some(s), url, token)
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
        let pusher = match args.transport {
            Transport::Grpc => Pusher::Grpc(channels.clone()),
            Transport::Http => Pusher::Http(edge::Http::new(), url.clone()),
        };
        let started = Instant::now();
        let mut repos = Vec::new();
        for r in 0..args.repos {
            let name = format!("{}{r}", args.repo_prefix);
            let key = create(&pusher, &mut channels[r % args.channels], &name, &token).await;
            repos.push((name, key));
        }
        eprintln!(
            "created {} repositories in {:.1} s",
            args.repos,
            started.elapsed().as_secs_f64()
        );
        // Every version pushed, signed ahead: repository r gets versions 2, 3, ….
        let per_repo = args.pushes.div_ceil(args.repos);
        let exp = expires();
        let docs: Arc<Vec<Vec<Vec<u8>>>> = Arc::new(
            repos
                .iter()
                .map(|(_, key)| {
                    (0..per_repo)
                        .map(|i| targets_doc(i as u64 + 2, args.files, key, exp))
                        .collect()
                })
                .collect(),
        );
        let names: Arc<Vec<String>> = Arc::new(repos.iter().map(|(n, _)| n.clone()).collect());
        eprintln!("signed {} targets versions", per_repo * args.repos);

        let entries = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = server
            .as_ref()
            .map(|s| sample_rss(s.pid(), entries.clone(), done.clone()));
        let started = Instant::now();
        let mut tasks = Vec::new();
        // Closed loop: client c owns repositories c, c + clients, …. Open loop: one
        // lane per repository, so each repository's versions go in order.
        let lanes = if args.rate.is_some() {
            args.repos
        } else {
            args.clients
        };
        for lane in 0..lanes {
            let (docs, names, token, pusher, entries) = (
                docs.clone(),
                names.clone(),
                token.clone(),
                pusher.clone(),
                entries.clone(),
            );
            let rate = args.rate;
            let repos = args.repos;
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut retries = 0u32;
                let mine: Vec<usize> = (lane..names.len()).step_by(lanes).collect();
                for i in 0..per_repo {
                    for &r in &mine {
                        // Open loop: push k (k = i·repos + r) is due k/rate seconds in.
                        let due = match rate {
                            Some(rate) => {
                                let due = started
                                    + Duration::from_secs_f64((i * repos + r) as f64 / rate);
                                tokio::time::sleep_until(due.into()).await;
                                due
                            }
                            None => Instant::now(),
                        };
                        let (n, tries) = pusher
                            .push_until_logged(lane, &names[r], &token, &[("targets", &docs[r][i])])
                            .await;
                        latencies.push(due.elapsed());
                        retries += tries;
                        entries.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
                (latencies, retries)
            }));
        }
        let mut latencies = Vec::new();
        let mut retries = 0;
        for t in tasks {
            let (l, r) = t.await.unwrap();
            latencies.extend(l);
            retries += r;
        }
        let elapsed = started.elapsed().as_secs_f64();
        done.store(true, Ordering::Relaxed);
        let latencies = Latencies::new(latencies);
        let pushes = latencies.len();
        let logged = entries.load(Ordering::Relaxed);
        let transport = match (args.transport, args.signer) {
            (Transport::Grpc, false) => "gRPC",
            (Transport::Http, false) => "HTTP multipart",
            (Transport::Grpc, true) => "gRPC, keys in tuflog-signer",
            (Transport::Http, true) => "HTTP multipart, keys in tuflog-signer",
        };
        let transport = match args.database_url {
            Some(_) => format!("{transport}, log in PostgreSQL"),
            None => transport.to_string(),
        };
        let case = match args.rate {
            Some(rate) => format!(
                "{transport}, open loop at {rate:.0}/s, {} repos",
                args.repos
            ),
            None => format!(
                "{transport}, closed loop, {} clients, {} repos",
                args.clients, args.repos
            ),
        };
        let case = match &args.case_note {
            Some(note) => format!("{case}, {note}"),
            None => case,
        };
        println!(
            "{case}: {pushes} pushes in {elapsed:.1} s, {:.0} pushes/s, {:.0} entries/s, \
             p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms, {retries} refused and retried",
            pushes as f64 / elapsed,
            logged as f64 / elapsed,
            latencies.ms(0.5),
            latencies.ms(0.99),
            latencies.ms(0.999),
        );
        let mut fields = vec![
            ("pushes", pushes as f64),
            ("seconds", elapsed),
            ("pushes_per_second", pushes as f64 / elapsed),
            ("entries_per_second", logged as f64 / elapsed),
            ("p50_ms", latencies.ms(0.5)),
            ("p99_ms", latencies.ms(0.99)),
            ("p999_ms", latencies.ms(0.999)),
            ("retried", f64::from(retries)),
        ];
        if let (Some(sampler), Some(server)) = (sampler, &server) {
            let samples = sampler.join().unwrap();
            let (rss, peak) = server.rss_kib();
            let max_sampled = samples.iter().map(|(_, r)| *r).max().unwrap_or(0);
            println!(
                "server RSS: {} MiB at the end, {} MiB peak (VmHWM), {} MiB largest sample",
                rss / 1024,
                peak / 1024,
                max_sampled / 1024
            );
            for quarter in 1..=4u64 {
                let mark = logged * quarter / 4;
                if let Some((e, r)) = samples.iter().find(|(e, _)| *e >= mark) {
                    println!("  RSS {} MiB after {e} entries", r / 1024);
                }
            }
            let size = tuflog_bench::load::checkpoint_size(&url).await;
            println!("log size at the end: {size} entries");
            fields.extend([
                ("rss_end_mib", rss as f64 / 1024.0),
                ("rss_peak_mib", peak as f64 / 1024.0),
                ("log_size", size as f64),
            ]);
        }
        tuflog_bench::result("pushload", &case, &fields);
    });
    if let Some(s) = server {
        s.stop();
    }
}
