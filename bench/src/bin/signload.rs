//! `tuflog-signload`: the signing rate the shipped `tuflog-signer` sustains over
//! mutual TLS, and beside it, in the same run, the same signatures made in-process
//! (what the embedded server does).
//!
//! - timestamps: `--clients` concurrent clients, each asking for the timestamps of its
//!   share of `--repos` repositories with increasing versions (each one checked,
//!   recorded with a synced write and signed by the signer);
//!   then the same in batches of 16 (`SignMetadataBatch`), as the server sends them;
//! - checkpoints: one client asking for `--checkpoints` checkpoints of a growing tree
//!   one after another, each with its consistency proof, as the sequencer asks.
//!
//! `bench/run signer` runs it; flags: `[--clients C] [--repos N] [--signatures S]
//! [--checkpoints K] [--server-bin PATH]` (the signer is found beside the server).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs
)]

use proto::signer::v1 as pb;
use proto::signer::v1::signer_client::SignerClient;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tlog::{CompactRange, Hash, HashReader, NodeId};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tuflog_bench::shipped::ShippedSigner;
use tuflog_bench::Latencies;

/// Requests in one `SignMetadataBatch` of the batched pass.
const BATCH: usize = 16;
/// The first version the batched pass signs.
const BATCHED_FROM: u64 = 1_000_000;

struct Args {
    clients: usize,
    repos: usize,
    signatures: usize,
    checkpoints: usize,
    server_bin: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut a = Args {
        clients: 64,
        repos: 512,
        signatures: 40_000,
        checkpoints: 2_000,
        server_bin: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--clients" => a.clients = value().parse().unwrap(),
            "--repos" => a.repos = value().parse().unwrap(),
            "--signatures" => a.signatures = value().parse().unwrap(),
            "--checkpoints" => a.checkpoints = value().parse().unwrap(),
            "--server-bin" => a.server_bin = Some(value().into()),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        a.clients > 0 && a.clients <= a.repos,
        "need 0 < clients <= repos"
    );
    a
}

/// The canonical `signed` of a timestamp, as the server sends it.
fn timestamp(version: u64) -> Vec<u8> {
    format!(
        r#"{{"_type":"timestamp","expires":"2030-01-01T00:00:00Z","meta":{{"snapshot.json":{{"version":{version}}}}},"spec_version":"1.0.31","version":{version}}}"#
    )
    .into_bytes()
}

struct Nodes(HashMap<NodeId, Hash>);

impl HashReader for Nodes {
    fn read_hashes(&self, ids: &[NodeId]) -> tlog::Result<Vec<Hash>> {
        ids.iter()
            .map(|id| self.0.get(id).copied().ok_or(tlog::Error::MissingHash(*id)))
            .collect()
    }
}

fn main() {
    let args = parse_args();
    let temp = tempfile::tempdir().unwrap();
    let bin = args
        .server_bin
        .clone()
        .unwrap_or_else(tuflog_bench::shipped::default_binary);
    let signer = ShippedSigner::start(&bin, temp.path());
    let tls = signer.tls.clone();
    let rt = tuflog_bench::two_core_runtime();
    rt.block_on(async {
        let read = |f: &str| std::fs::read(tls.join(f)).unwrap();
        let config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read("ca.pem")))
            .identity(Identity::from_pem(read("server.pem"), read("server.key")));
        let mut clients = Vec::new();
        for _ in 0..8 {
            let channel = Channel::from_shared(format!("https://{}", signer.addr))
                .unwrap()
                .tls_config(config.clone())
                .unwrap()
                .tcp_nodelay(true)
                .connect()
                .await
                .unwrap();
            clients.push(SignerClient::new(channel));
        }
        let info = clients[0]
            .get_log(pb::GetLogRequest {})
            .await
            .unwrap()
            .into_inner();
        let origin = info.verifier_key.split('+').next().unwrap().to_string();
        let repos: Vec<String> = (0..args.repos)
            .map(|r| format!("bench.example/repo-{r}"))
            .collect();
        let mut in_process = HashMap::new();
        let seed = tuf::online::OnlineSeed::from_bytes([7; 32]);
        let n = clients.len();
        for (i, r) in repos.iter().enumerate() {
            clients[i % n]
                .get_online_keys(pb::GetOnlineKeysRequest {
                    repo: r.clone(),
                    next: false,
                })
                .await
                .unwrap();
            in_process.insert(r.clone(), seed.derive("timestamp", r, 0).unwrap());
        }

        // Timestamps over mutual TLS, closed loop.
        let per_client = args.signatures.div_ceil(args.clients);
        let repos = Arc::new(repos);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..args.clients {
            let mut client = clients[c % clients.len()].clone();
            let repos = repos.clone();
            let clients_n = args.clients;
            tasks.push(tokio::spawn(async move {
                let mine: Vec<&String> = repos.iter().skip(c).step_by(clients_n).collect();
                let mut latencies = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let repo = mine[i % mine.len()];
                    let version = (i / mine.len()) as u64 + 1;
                    let t = Instant::now();
                    client
                        .sign_metadata(pb::SignMetadataRequest {
                            repo: repo.clone(),
                            role: "timestamp".into(),
                            signed: timestamp(version),
                            generation: 0,
                            timestamp_after: None,
                        })
                        .await
                        .unwrap();
                    latencies.push(t.elapsed());
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        let latencies = Latencies::new(latencies);
        let remote_rate = latencies.len() as f64 / elapsed;

        // The same documents signed in-process, on the same two cores.
        let docs: Vec<(String, Vec<u8>)> = (0..args.signatures)
            .map(|i| (repos[i % repos.len()].clone(), timestamp(i as u64 + 1)))
            .collect();
        let in_process = Arc::new(in_process);
        let docs = Arc::new(docs);
        let started = Instant::now();
        let mut threads = Vec::new();
        for part in 0..2 {
            let (keys, docs) = (in_process.clone(), docs.clone());
            threads.push(std::thread::spawn(move || {
                for (repo, doc) in docs.iter().skip(part).step_by(2) {
                    keys[repo]
                        .sign_envelope(doc, &mut rand_core::OsRng)
                        .unwrap();
                }
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        let local_rate = args.signatures as f64 / started.elapsed().as_secs_f64();
        println!(
            "timestamps over mutual TLS, {} clients: {:.0} signatures/s, p50 {:.2} ms, \
             p99 {:.2} ms; in-process, 2 threads: {local_rate:.0} signatures/s",
            args.clients,
            remote_rate,
            latencies.ms(0.5),
            latencies.ms(0.99),
        );
        tuflog_bench::result(
            "signload",
            "timestamps",
            &[
                ("clients", args.clients as f64),
                ("signatures_per_second", remote_rate),
                ("p50_ms", latencies.ms(0.5)),
                ("p99_ms", latencies.ms(0.99)),
                ("in_process_signatures_per_second", local_rate),
            ],
        );

        // The same kind of requests in batches, as the server sends them: each
        // client's batch holds the next versions of its repositories.
        let started = Instant::now();
        let mut tasks = Vec::new();
        let batches = per_client.div_ceil(BATCH);
        for c in 0..args.clients {
            let mut client = clients[c % clients.len()].clone();
            let repos = repos.clone();
            let clients_n = args.clients;
            tasks.push(tokio::spawn(async move {
                let mine: Vec<&String> = repos.iter().skip(c).step_by(clients_n).collect();
                let mut latencies = Vec::with_capacity(batches);
                for b in 0..batches {
                    let requests = (b * BATCH..(b + 1) * BATCH)
                        .map(|i| pb::SignMetadataRequest {
                            repo: mine[i % mine.len()].clone(),
                            role: "timestamp".into(),
                            // Above every version the first pass signed.
                            signed: timestamp(BATCHED_FROM + (i / mine.len()) as u64),
                            generation: 0,
                            timestamp_after: None,
                        })
                        .collect();
                    let t = Instant::now();
                    let results = client
                        .sign_metadata_batch(pb::SignMetadataBatchRequest { requests })
                        .await
                        .unwrap()
                        .into_inner()
                        .results;
                    assert!(results.iter().all(|r| matches!(
                        r.result,
                        Some(pb::metadata_result::Result::Signature(_))
                    )));
                    latencies.push(t.elapsed());
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        let batched = latencies.len() * BATCH;
        let batched_rate = batched as f64 / started.elapsed().as_secs_f64();
        let latencies = Latencies::new(latencies);
        println!(
            "timestamps over mutual TLS in batches of {BATCH}, {} clients: {batched_rate:.0} \
             signatures/s, batch p50 {:.2} ms, p99 {:.2} ms",
            args.clients,
            latencies.ms(0.5),
            latencies.ms(0.99),
        );
        tuflog_bench::result(
            "signload",
            "timestamps in batches",
            &[
                ("clients", args.clients as f64),
                ("batch", BATCH as f64),
                ("signatures_per_second", batched_rate),
                ("p50_ms", latencies.ms(0.5)),
                ("p99_ms", latencies.ms(0.99)),
            ],
        );

        // Checkpoints one after another, each extending the last by 64 leaves.
        let mut range = CompactRange::new();
        let mut nodes = Nodes(HashMap::new());
        let mut client = clients[0].clone();
        let mut last = 0u64;
        let mut latencies = Vec::with_capacity(args.checkpoints);
        let started = Instant::now();
        for k in 0..args.checkpoints {
            for i in 0..64u64 {
                let leaf = tlog::leaf_hash(format!("{k}/{i}").as_bytes());
                range
                    .append(leaf, |id, h| {
                        nodes.0.insert(id, h);
                    })
                    .unwrap();
            }
            let size = range.size();
            let proof = if last == 0 {
                Vec::new()
            } else {
                tlog::tree::consistency_proof(last, size, &nodes).unwrap()
            };
            let t = Instant::now();
            client
                .sign_checkpoint(pb::SignCheckpointRequest {
                    origin: origin.clone(),
                    size,
                    root: range.root().as_bytes().to_vec(),
                    from_size: last,
                    proof: proof.iter().map(|h| h.as_bytes().to_vec()).collect(),
                })
                .await
                .unwrap();
            latencies.push(t.elapsed());
            last = size;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let latencies = Latencies::new(latencies);
        let rate = latencies.len() as f64 / elapsed;
        println!(
            "checkpoints over mutual TLS, one at a time: {rate:.0} checkpoints/s, \
             p50 {:.2} ms, p99 {:.2} ms",
            latencies.ms(0.5),
            latencies.ms(0.99),
        );
        tuflog_bench::result(
            "signload",
            "checkpoints",
            &[
                ("checkpoints_per_second", rate),
                ("p50_ms", latencies.ms(0.5)),
                ("p99_ms", latencies.ms(0.99)),
            ],
        );
    });
    drop(signer);
}
