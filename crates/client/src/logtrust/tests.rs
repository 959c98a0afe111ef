use super::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use tlog::memory::MemoryHashStore;
use tlog::note::{KeyName, SignatureType, SignerKey};

const ORIGIN: &str = "example.com/log";

fn log_key(seed: u8) -> SignerKey {
    SignerKey::from_seed(
        KeyName::new(ORIGIN).unwrap(),
        SignatureType::Ed25519,
        &[seed; 32],
    )
}

/// A log of `n` entries, the first of which describes `doc` as targets v1 of
/// `example.com/app`.
struct TestLog {
    store: MemoryHashStore,
    key: SignerKey,
    entry: Vec<u8>,
}

impl TestLog {
    fn new(doc: &[u8], n: u64) -> Self {
        let entry = LogEntry::new("example.com/app", "targets", 1, doc)
            .to_bytes()
            .unwrap();
        let mut store = MemoryHashStore::new();
        store.append_leaf(&entry);
        for i in 1..n {
            store.append_leaf(format!("other {i}").as_bytes());
        }
        TestLog {
            store,
            key: log_key(1),
            entry,
        }
    }

    fn note(&self) -> String {
        let cp = Checkpoint::new(ORIGIN, self.store.size(), self.store.root()).unwrap();
        cp.sign(&self.key).unwrap().to_string()
    }

    fn bundle(&self, from: Option<u64>) -> ProofBundle {
        let size = self.store.size();
        let inclusion = tlog::tree::inclusion_proof(0, size, &self.store).unwrap();
        let consistency = from.map(|m| {
            if m == size {
                Vec::new()
            } else {
                tlog::tree::consistency_proof(m, size, &self.store).unwrap()
            }
        });
        let b64 = |v: Vec<Hash>| v.iter().map(Hash::to_base64).collect();
        ProofBundle {
            entry: B64.encode(&self.entry),
            index: 0,
            checkpoint: self.note(),
            inclusion: b64(inclusion),
            consistency: consistency.map(b64),
        }
    }
}

fn trust() -> LogTrust {
    LogTrust::new(log_key(1).verifier(), None)
}

#[test]
fn a_bundle_for_the_downloaded_bytes_is_accepted_and_trust_advances() {
    let log = TestLog::new(b"doc", 5);
    let mut t = trust();
    let opened = t
        .check_bundle(
            &log.bundle(None),
            "example.com/app",
            "targets",
            1,
            b"doc",
            "1.targets.json",
        )
        .unwrap();
    t.advance(opened).unwrap();
    assert_eq!(t.trusted_size(), 5);
    let mut grown = log;
    for i in 0..7 {
        grown.store.append_leaf(format!("later {i}").as_bytes());
    }
    let cp = t
        .check_bundle(
            &grown.bundle(Some(5)),
            "example.com/app",
            "targets",
            1,
            b"doc",
            "f",
        )
        .unwrap();
    assert_eq!(cp.checkpoint().size(), 12);
}

#[test]
fn a_bundle_for_other_bytes_or_another_version_is_refused() {
    let log = TestLog::new(b"doc", 3);
    let t = trust();
    let b = log.bundle(None);
    for (role, version, bytes) in [
        ("targets", 1, &b"other doc"[..]),
        ("targets", 2, &b"doc"[..]),
        ("snapshot", 1, &b"doc"[..]),
    ] {
        let err = t
            .check_bundle(&b, "example.com/app", role, version, bytes, "x.json")
            .unwrap_err();
        assert!(
            err.to_string().contains("does not describe these bytes"),
            "{err}"
        );
    }
    let err = t
        .check_bundle(&b, "example.com/other", "targets", 1, b"doc", "x.json")
        .unwrap_err();
    assert!(err.to_string().contains("does not describe"), "{err}");
}

#[test]
fn a_checkpoint_signed_by_another_key_is_refused() {
    let log = TestLog::new(b"doc", 3);
    let t = LogTrust::new(log_key(2).verifier(), None);
    let err = t
        .check_bundle(
            &log.bundle(None),
            "example.com/app",
            "targets",
            1,
            b"doc",
            "1.targets.json",
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("not signed by the pinned log key"),
        "{err}"
    );
}

#[test]
fn every_corruption_of_the_proofs_is_refused() {
    let log = TestLog::new(b"doc", 13);
    let mut t = trust();
    let early = TestLog::new(b"doc", 6);
    let opened = t.open_checkpoint(&early.note(), "f").unwrap();
    t.advance(opened).unwrap();
    let good = log.bundle(Some(6));
    t.check_bundle(&good, "example.com/app", "targets", 1, b"doc", "f")
        .unwrap();
    let flip = |h: &String| {
        let mut raw = B64.decode(h).unwrap();
        raw[0] ^= 1;
        B64.encode(raw)
    };
    let mut corrupted = Vec::new();
    for i in 0..good.inclusion.len() {
        let mut b = good.clone();
        b.inclusion[i] = flip(&b.inclusion[i]);
        corrupted.push(b);
        let mut b = good.clone();
        b.inclusion.remove(i);
        corrupted.push(b);
    }
    let consistency = good.consistency.clone().unwrap();
    for i in 0..consistency.len() {
        let mut b = good.clone();
        let mut c = consistency.clone();
        c[i] = flip(&c[i]);
        b.consistency = Some(c);
        corrupted.push(b);
        let mut b = good.clone();
        let mut c = consistency.clone();
        c.remove(i);
        b.consistency = Some(c);
        corrupted.push(b);
    }
    let mut b = good.clone();
    b.inclusion.push(good.inclusion[0].clone());
    corrupted.push(b);
    let mut b = good.clone();
    b.index = 1;
    corrupted.push(b);
    let mut b = good.clone();
    b.consistency = None;
    corrupted.push(b);
    let mut b = good.clone();
    b.checkpoint = b.checkpoint.replacen("13\n", "14\n", 1);
    corrupted.push(b);
    assert!(corrupted.len() > 10);
    for (i, b) in corrupted.iter().enumerate() {
        assert!(
            t.check_bundle(b, "example.com/app", "targets", 1, b"doc", "f")
                .is_err(),
            "corruption {i} accepted"
        );
    }
}

#[test]
fn a_fork_or_a_shorter_log_is_refused_against_the_trusted_checkpoint() {
    let honest = TestLog::new(b"doc", 8);
    let mut t = trust();
    let opened = t.open_checkpoint(&honest.note(), "f").unwrap();
    t.advance(opened).unwrap();
    // The same first entry, then a different history: a fork.
    let mut fork = TestLog::new(b"doc", 1);
    for i in 0..10 {
        fork.store.append_leaf(format!("forked {i}").as_bytes());
    }
    // A consistency proof of the fork's own history cannot link it to ours.
    let mut b = fork.bundle(None);
    b.consistency = Some(
        tlog::tree::consistency_proof(8, 11, &fork.store)
            .unwrap()
            .iter()
            .map(Hash::to_base64)
            .collect(),
    );
    let err = t
        .check_bundle(
            &b,
            "example.com/app",
            "targets",
            1,
            b"doc",
            "1.targets.json",
        )
        .unwrap_err();
    assert!(err.to_string().contains("not consistent"), "{err}");
    let short = TestLog::new(b"doc", 4);
    let err = t
        .check_bundle(
            &short.bundle(Some(4)),
            "example.com/app",
            "targets",
            1,
            b"doc",
            "f",
        )
        .unwrap_err();
    assert!(err.to_string().contains("went back"), "{err}");
}

/// Regression: a client that had trusted the checkpoint of an empty log (a new
/// server) refused every later checkpoint: "consistency with the empty tree
/// proves nothing", and bundles served without a proof from size 0.
#[test]
fn regression_a_trusted_empty_log_does_not_block_later_checkpoints() {
    let key = log_key(1);
    let empty = Checkpoint::new(ORIGIN, 0, tlog::EMPTY_ROOT).unwrap();
    let mut t = trust();
    let note = empty.sign(&key).unwrap().to_string();
    let again = t.check_checkpoint(&note, &[]).unwrap();
    t.advance(again).unwrap();
    assert!(
        t.check_checkpoint(&note, &[]).is_ok(),
        "the same empty checkpoint"
    );
    let log = TestLog::new(b"doc", 4);
    assert!(t.check_checkpoint(&log.note(), &[]).is_ok());
    t.check_bundle(
        &log.bundle(None),
        "example.com/app",
        "targets",
        1,
        b"doc",
        "f",
    )
    .unwrap();
}

#[test]
fn two_checkpoints_of_one_update_must_be_of_one_log() {
    let t = trust();
    let mut log = TestLog::new(b"doc", 5);
    let older = t.open_checkpoint(&log.note(), "f").unwrap();
    for i in 0..4 {
        log.store.append_leaf(format!("more {i}").as_bytes());
    }
    let newer = t.open_checkpoint(&log.note(), "f").unwrap();
    let proof: Vec<String> = tlog::tree::consistency_proof(5, 9, &log.store)
        .unwrap()
        .iter()
        .map(Hash::to_base64)
        .collect();
    t.check_between(&older, &newer, &proof, "f").unwrap();
    let mut fork = TestLog::new(b"doc", 5);
    for i in 0..4 {
        fork.store.append_leaf(format!("forked {i}").as_bytes());
    }
    let forked = t.open_checkpoint(&fork.note(), "f").unwrap();
    let err = t.check_between(&older, &forked, &proof, "f").unwrap_err();
    assert!(err.to_string().contains("from the same update"), "{err}");
}

#[test]
fn a_checkpoint_opened_under_another_key_or_for_another_bundle_moves_no_trust() {
    let log = TestLog::new(b"doc", 5);
    let mut other = TestLog::new(b"doc", 5);
    other.key = log_key(2);
    let theirs = LogTrust::new(other.key.verifier(), None);
    let opened_there = theirs.open_checkpoint(&other.note(), "f").unwrap();
    let mut t = trust();
    let err = t.advance(opened_there).unwrap_err();
    assert!(err.to_string().contains("another log key"), "{err}");
    assert_eq!(t.trusted_size(), 0);

    // A checkpoint this view opened, offered for a bundle carrying another note.
    let opened = t.open_checkpoint(&log.note(), "f").unwrap();
    let mut grown = TestLog::new(b"doc", 6);
    grown.key = log_key(1);
    let downloaded = Downloaded {
        repo: "example.com/app",
        role: "targets",
        version: 1,
        bytes: b"doc",
        file: "f",
    };
    let err = t
        .check_bundle_under(&grown.bundle(None), &opened, &downloaded)
        .unwrap_err();
    assert!(err.to_string().contains("not the one opened"), "{err}");
    t.check_bundle_under(&log.bundle(None), &opened, &downloaded)
        .unwrap();
}

#[test]
fn a_witness_policy_needs_enough_distinct_cosignatures() {
    let log = TestLog::new(b"doc", 3);
    let witnesses: Vec<SignerKey> = (0..3)
        .map(|i| {
            SignerKey::from_seed(
                KeyName::new(format!("witness-{i}.example")).unwrap(),
                SignatureType::CosignatureV1,
                &[10 + i; 32],
            )
        })
        .collect();
    let policy = WitnessPolicy::new(witnesses.iter().map(SignerKey::verifier).collect(), 2);
    let t = LogTrust::new(log_key(1).verifier(), Some(policy));
    let cp = Checkpoint::new(ORIGIN, log.store.size(), log.store.root()).unwrap();
    let body = cp.to_text();
    let cosigned = |by: &[usize]| {
        let mut note = cp.sign(&log.key).unwrap();
        for &w in by {
            note.push_signature(
                tlog::cosignature::cosign(&witnesses[w], &body, 1_700_000_000).unwrap(),
            )
            .unwrap();
        }
        let mut b = log.bundle(None);
        b.checkpoint = note.to_string();
        b
    };
    let check = |b: &ProofBundle| t.check_bundle(b, "example.com/app", "targets", 1, b"doc", "f");
    assert!(check(&cosigned(&[0, 2])).is_ok());
    for short in [&[][..], &[1][..]] {
        let err = check(&cosigned(short)).unwrap_err();
        assert!(err.to_string().contains("witness policy not met"), "{err}");
    }
}

/// The witness policy counts keys, not names: a compromised witness listed
/// twice under two names, or the log key listed as a witness, must not let
/// one key holder meet a threshold of two alone. Old cosignatures do not
/// count once a maximum age is set.
#[test]
fn one_key_under_two_names_counts_once_and_the_log_key_is_no_witness() {
    let log = TestLog::new(b"doc", 3);
    let cp = Checkpoint::new(ORIGIN, log.store.size(), log.store.root()).unwrap();
    let body = cp.to_text();
    let witness = |name: &str, seed: u8| {
        SignerKey::from_seed(
            KeyName::new(name).unwrap(),
            SignatureType::CosignatureV1,
            &[seed; 32],
        )
    };
    let bundle_by = |keys: &[(&SignerKey, u64)]| {
        let mut note = cp.sign(&log.key).unwrap();
        for (k, at) in keys {
            note.push_signature(tlog::cosignature::cosign(k, &body, *at).unwrap())
                .unwrap();
        }
        let mut b = log.bundle(None);
        b.checkpoint = note.to_string();
        b
    };
    let check = |t: &LogTrust, b: &ProofBundle| {
        t.check_bundle(b, "example.com/app", "targets", 1, b"doc", "f")
            .map(|_| ())
    };

    // One key under two names: two cosignature lines, one cosigner.
    let (a, a_again) = (witness("a.example", 20), witness("a-again.example", 20));
    let other = witness("b.example", 21);
    let policy = WitnessPolicy::new(vec![a.verifier(), a_again.verifier(), other.verifier()], 2);
    let t = LogTrust::new(log_key(1).verifier(), Some(policy));
    let err = check(&t, &bundle_by(&[(&a, 1), (&a_again, 1)])).unwrap_err();
    assert!(err.to_string().contains("1 of the required 2"), "{err}");
    check(&t, &bundle_by(&[(&a, 1), (&other, 1)])).unwrap();
    // A threshold above the distinct keys can never be met honestly.
    let policy = WitnessPolicy::new(vec![a.verifier(), a_again.verifier()], 2);
    assert!(policy.check(&log_key(1).verifier()).is_err());

    // The log key, as a cosignature key of the same material.
    let log_as_witness = SignerKey::from_seed(
        KeyName::new(ORIGIN).unwrap(),
        SignatureType::CosignatureV1,
        &[1; 32],
    );
    let policy = WitnessPolicy::new(vec![log_as_witness.verifier(), other.verifier()], 1);
    let t = LogTrust::new(log_key(1).verifier(), Some(policy));
    let err = check(&t, &bundle_by(&[(&log_as_witness, 1)])).unwrap_err();
    assert!(err.to_string().contains("the log's own key"), "{err}");

    // A maximum age: a cosignature made an hour ago is too old for 10 minutes.
    let now = 1_800_000_000;
    let policy = WitnessPolicy {
        max_cosignature_age: Some(std::time::Duration::from_secs(600)),
        ..WitnessPolicy::new(vec![other.verifier()], 1)
    };
    let t = LogTrust::new(log_key(1).verifier(), Some(policy)).at(now);
    let err = check(&t, &bundle_by(&[(&other, now - 3600)])).unwrap_err();
    assert!(err.to_string().contains("0 of the required 1"), "{err}");
    check(&t, &bundle_by(&[(&other, now - 60)])).unwrap();
}
