//! Gathering witness cosignatures (C2SP tlog-witness, the log's side): every
//! checkpoint the integrator signs is submitted to each configured witness with a
//! consistency proof from the size that witness last cosigned; once the policy's
//! threshold of valid cosignatures is in, the checkpoint with them is what readers
//! see ([`Log::publish_cosigned`]).

use crate::sequencer::{Log, Published};
use std::sync::Arc;
use std::time::Duration;
use tlog::witness_policy::WitnessPolicy;
use tlog::VerifierKey;
use tokio::sync::watch;

/// Longest a witness may take to answer one request.
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest witness reply read (a few cosignature lines).
pub const MAX_WITNESS_REPLY_BYTES: usize = 16 << 10;

/// Most witnesses a log may be configured with.
pub const MAX_WITNESSES: usize = 64;

/// Pause before a checkpoint short of its threshold is submitted again.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// A witness the log submits to.
#[derive(Clone, Debug)]
pub struct Witness {
    /// Its base URL (`POST {url}/add-checkpoint`).
    pub url: String,
    /// Its cosignature/v1 verifier key.
    pub key: VerifierKey,
}

/// Which witnesses, and how many must cosign before readers see a checkpoint.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The witnesses.
    pub witnesses: Vec<Witness>,
    /// How many distinct witnesses must cosign.
    pub threshold: usize,
}

impl Policy {
    /// How cosignatures are counted: the rule clients and monitors apply to what
    /// this log publishes.
    pub fn rule(&self) -> WitnessPolicy {
        WitnessPolicy::new(
            self.witnesses.iter().map(|w| w.key.clone()).collect(),
            self.threshold,
        )
    }

    /// Checks the policy can be met at all by the log `log_key`.
    pub fn check(&self, log_key: &VerifierKey) -> Result<(), crate::Error> {
        if self.witnesses.len() > MAX_WITNESSES {
            return Err(crate::Error::invalid(format!(
                "at most {MAX_WITNESSES} witnesses"
            )));
        }
        self.rule().check(log_key).map_err(crate::Error::invalid)
    }
}

/// What the log knows of one witness.
struct Tracked {
    witness: Witness,
    /// The size it last cosigned, as far as the log knows.
    size: u64,
}

/// Submits every checkpoint the log signs until `stopping`. An instance that
/// follows another's sequencer submits nothing until it integrates itself: the
/// sequencer's cosigned checkpoints reach it through the database.
pub async fn run(log: Arc<Log>, policy: Policy, mut stopping: watch::Receiver<bool>) {
    let mut sequencing = log.sequencing();
    tokio::select! {
        s = sequencing.wait_for(|s| *s) => if s.is_err() { return },
        _ = stopping.wait_for(|s| *s) => return,
    }
    let http = reqwest::Client::builder()
        .user_agent(concat!("tuflog-server/", env!("CARGO_PKG_VERSION")))
        .timeout(WITNESS_TIMEOUT)
        .build()
        .unwrap_or_default();
    let mut tracked: Vec<Tracked> = policy
        .witnesses
        .iter()
        .map(|w| Tracked {
            witness: w.clone(),
            size: 0,
        })
        .collect();
    let mut integrated = log.integrated();
    loop {
        let latest = integrated.borrow_and_update().clone();
        let met = gather(&http, &log, &mut tracked, &latest, &policy.rule()).await;
        tokio::select! {
            changed = integrated.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(RETRY_AFTER), if !met => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

/// Submits `latest` to every witness at once; publishes it with the cosignatures
/// when they meet `rule`. Returns whether they did.
async fn gather(
    http: &reqwest::Client,
    log: &Arc<Log>,
    tracked: &mut [Tracked],
    latest: &Arc<Published>,
    rule: &WitnessPolicy,
) -> bool {
    let mut asks = tokio::task::JoinSet::new();
    for (i, t) in tracked.iter().enumerate() {
        let (http, log, latest, witness, size) = (
            http.clone(),
            log.clone(),
            latest.clone(),
            t.witness.clone(),
            t.size,
        );
        asks.spawn(async move {
            // A witness ahead of what the log knew (after a restart) says its size
            // with a 409; the request is made again from there at once.
            let mut old = size;
            let mut tries = 0;
            loop {
                tries += 1;
                match submit(&http, &log, &latest, &witness, old).await {
                    Err(Refused::Behind(at)) if tries < 3 && at != old && at <= latest.size() => {
                        old = at;
                    }
                    result => return (i, result),
                }
            }
        });
    }
    let mut lines = Vec::new();
    while let Some(done) = asks.join_next().await {
        let Ok((i, result)) = done else { continue };
        match result {
            Ok(line) => {
                tracked[i].size = latest.size();
                lines.push(line);
            }
            Err(Refused::Behind(size)) => tracked[i].size = size,
            Err(Refused::Other(reason)) => {
                tracing::warn!(
                    witness = %tracked[i].witness.url,
                    size = latest.size(),
                    reason,
                    "the witness did not cosign"
                );
            }
        }
    }
    let mut note = latest.note.clone();
    for line in &lines {
        note.extend_from_slice(line.as_bytes());
    }
    // Counted as a client counts them: distinct witness keys.
    let cosigners = tlog::checkpoint::open(&note, log.verifier(), &rule.witnesses)
        .map_or(0, |opened| rule.cosigners(&opened, None));
    if cosigners < rule.threshold {
        tracing::warn!(
            size = latest.size(),
            cosigners,
            threshold = rule.threshold,
            "the checkpoint is short of its witness threshold; readers keep the previous one"
        );
        return false;
    }
    log.publish_cosigned(Arc::new(Published {
        checkpoint: latest.checkpoint.clone(),
        note,
        edge: latest.edge.clone(),
        signed_at: latest.signed_at,
    }));
    true
}

enum Refused {
    /// 409: the witness has cosigned this size (it is ahead of what the log knew).
    Behind(u64),
    Other(String),
}

/// One `add-checkpoint` request; the cosignature line, verified, on success.
async fn submit(
    http: &reqwest::Client,
    log: &Log,
    latest: &Published,
    witness: &Witness,
    old: u64,
) -> Result<String, Refused> {
    let other = |e: &dyn std::fmt::Display| Refused::Other(e.to_string());
    let new = latest.size();
    if old > new {
        return Err(Refused::Other(format!(
            "it cosigned size {old}, beyond this log's {new}"
        )));
    }
    let proof = if old > 0 && old < new {
        log.consistency_proof_to_integrated(old, new)
            .map_err(|e| other(&e))?
            .proof
    } else {
        Vec::new()
    };
    let body = tlog::witness_protocol::AddCheckpoint {
        old_size: old,
        proof,
        note: latest.note.clone(),
    }
    .to_body();
    let url = format!("{}/add-checkpoint", witness.url.trim_end_matches('/'));
    let resp = http
        .post(&url)
        .body(body)
        .send()
        .await
        .map_err(|e| other(&e))?;
    let status = resp.status();
    let reply = read_reply(resp).await?;
    let text = String::from_utf8_lossy(&reply);
    if status == reqwest::StatusCode::CONFLICT {
        // "409 Conflict ... the tree size of the latest cosigned checkpoint."
        return match text.trim().parse() {
            Ok(size) => Err(Refused::Behind(size)),
            Err(_) => Err(Refused::Other(format!("409 with body {text:?}"))),
        };
    }
    if !status.is_success() {
        return Err(Refused::Other(format!("{status}: {}", text.trim())));
    }
    // Only a line that verifies as this witness's cosignature of this checkpoint
    // counts toward the threshold.
    let mut cosigned = latest.note.clone();
    cosigned.extend_from_slice(&reply);
    let opened = tlog::checkpoint::open(
        &cosigned,
        log.verifier(),
        std::slice::from_ref(&witness.key),
    )
    .map_err(|e| other(&e))?;
    if opened.cosignatures().len() != 1 {
        return Err(Refused::Other(
            "no cosignature by its key in the reply".into(),
        ));
    }
    let prefix = format!("— {} ", witness.key.name());
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .ok_or_else(|| Refused::Other("no cosignature line".into()))?;
    Ok(format!("{line}\n"))
}

/// A witness's reply, read no further than [`MAX_WITNESS_REPLY_BYTES`]: a witness
/// (or whatever answers at its address) cannot make the server buffer more.
async fn read_reply(mut resp: reqwest::Response) -> Result<Vec<u8>, Refused> {
    let too_large = |n: u64| Refused::Other(format!("a reply of more than {n} bytes"));
    let limit = MAX_WITNESS_REPLY_BYTES as u64;
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let mut reply = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Refused::Other(e.to_string()))?
    {
        if reply.len() + chunk.len() > MAX_WITNESS_REPLY_BYTES {
            return Err(too_large(limit));
        }
        reply.extend_from_slice(&chunk);
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Regression: a witness reply was read whole before its size was checked,
    /// so whatever answered at a witness's address could make the server buffer
    /// an endless body.
    #[tokio::test]
    async fn an_endless_witness_reply_is_read_only_to_its_limit() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = conn.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
            if conn.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = [format!("{:x}\r\n", 4096).as_bytes(), &[b'x'; 4096], b"\r\n"].concat();
            while conn.write_all(&chunk).await.is_ok() {}
        });
        let resp = reqwest::Client::new()
            .post(format!("http://{addr}/add-checkpoint"))
            .send()
            .await
            .unwrap();
        let read = tokio::time::timeout(std::time::Duration::from_secs(20), read_reply(resp))
            .await
            .expect("reading stops at the limit");
        match read {
            Err(Refused::Other(m)) => assert!(m.contains("more than"), "{m}"),
            Err(Refused::Behind(n)) => panic!("behind {n}"),
            Ok(r) => panic!("read {} bytes", r.len()),
        }
    }

    #[test]
    fn a_policy_counts_distinct_keys_and_never_the_logs_own() {
        use tlog::note::{KeyName, SignatureType, SignerKey};
        let key = |name: &str, seed: u8| {
            SignerKey::from_seed(
                KeyName::new(name).unwrap(),
                SignatureType::Ed25519,
                &[seed; 32],
            )
            .verifier()
        };
        let log_key = key("example.com/log", 1);
        let witness = |url: &str, key| Witness {
            url: url.into(),
            key,
        };
        let (a, a_again, b) = (key("w1", 2), key("w1-renamed", 2), key("w2", 3));
        let policy = |witnesses: Vec<Witness>, threshold| Policy {
            witnesses,
            threshold,
        };
        policy(
            vec![
                witness("http://a", a.clone()),
                witness("http://b", b.clone()),
            ],
            2,
        )
        .check(&log_key)
        .unwrap();
        // One key under two names is one witness.
        assert!(policy(
            vec![witness("http://a", a), witness("http://c", a_again)],
            2
        )
        .check(&log_key)
        .is_err());
        assert!(policy(vec![witness("http://b", b.clone())], 0)
            .check(&log_key)
            .is_err());
        // The log's own key cosigning for itself.
        assert!(policy(
            vec![witness("http://b", b), witness("http://l", log_key.clone())],
            1
        )
        .check(&log_key)
        .is_err());
    }
}
