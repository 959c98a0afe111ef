//! Histories written with `tuf::editor`, logged as the server logs a push (root,
//! targets roles in name order, snapshot, timestamp), each attack named.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use rand_core::OsRng;
use tuf::editor::{new_root, new_targets, next_snapshot, next_timestamp};
use tuf::keys::{KeyKind, PrivateKey};
use tuf::metadata::Expires;

const REPO: &str = "example.com/app";

fn key() -> PrivateKey {
    PrivateKey::generate(KeyKind::Ed25519, &mut OsRng).unwrap()
}

fn expires(year: u32) -> Expires {
    Expires::parse(&format!("{year}-01-01T00:00:00Z")).unwrap()
}

fn signed<T: Role>(doc: T, keys: &[&PrivateKey]) -> Metadata<T> {
    Metadata::sign_new(doc, keys, &mut OsRng).unwrap()
}

/// A repository's keys and its latest documents, able to write the next push.
struct Repo {
    root_key: PrivateKey,
    targets_key: PrivateKey,
    snapshot_key: PrivateKey,
    timestamp_key: PrivateKey,
    root: Root,
    snapshot: Option<Snapshot>,
    timestamp: Option<Timestamp>,
}

impl Repo {
    fn new() -> Repo {
        let (root_key, targets_key, snapshot_key, timestamp_key) = (key(), key(), key(), key());
        let mut root = new_root(expires(2030), true);
        root.add_key("root", root_key.public()).unwrap();
        root.add_key("targets", targets_key.public()).unwrap();
        root.add_key("snapshot", snapshot_key.public()).unwrap();
        root.add_key("timestamp", timestamp_key.public()).unwrap();
        Repo {
            root_key,
            targets_key,
            snapshot_key,
            timestamp_key,
            root,
            snapshot: None,
            timestamp: None,
        }
    }

    /// Snapshot and timestamp after `targets`, signed by the online keys.
    fn online(&mut self, targets: &[(&str, &Metadata<Targets>)]) -> Vec<(String, Vec<u8>)> {
        let snapshot = signed(
            next_snapshot(self.snapshot.as_ref(), targets, expires(2030)),
            &[&self.snapshot_key],
        );
        let timestamp = signed(
            next_timestamp(self.timestamp.as_ref(), &snapshot, expires(2030)),
            &[&self.timestamp_key],
        );
        self.snapshot = Some(snapshot.signed().clone());
        self.timestamp = Some(timestamp.signed().clone());
        vec![
            ("snapshot".into(), snapshot.bytes().to_vec()),
            ("timestamp".into(), timestamp.bytes().to_vec()),
        ]
    }

    /// The next timestamp alone, as the server re-signs it before expiry.
    fn resigned_timestamp(&mut self) -> (String, Vec<u8>) {
        let ts = signed(
            next_timestamp(
                self.timestamp.as_ref(),
                &signed(self.snapshot.clone().unwrap(), &[&self.snapshot_key]),
                expires(2031),
            ),
            &[&self.timestamp_key],
        );
        self.timestamp = Some(ts.signed().clone());
        ("timestamp".to_string(), ts.bytes().to_vec())
    }

    /// Targets v2 delegating `bins/*` to a new key, and `bins` v1 signed by it.
    fn delegation_to_bins(&self) -> (Metadata<Targets>, Metadata<Targets>) {
        let bins_key = key();
        let mut t2 = new_targets(expires(2030));
        t2.version = 2;
        t2.add_delegation(
            "bins",
            &[bins_key.public()],
            1,
            vec!["bins/*".into()],
            false,
        )
        .unwrap();
        let t2 = signed(t2, &[&self.targets_key]);
        let bins = signed(new_targets(expires(2030)), &[&bins_key]);
        (t2, bins)
    }

    fn first_push(&mut self) -> Vec<(String, Vec<u8>)> {
        let root = signed(self.root.clone(), &[&self.root_key]);
        let targets = signed(new_targets(expires(2030)), &[&self.targets_key]);
        let mut push = vec![
            ("root".to_string(), root.bytes().to_vec()),
            ("targets".to_string(), targets.bytes().to_vec()),
        ];
        push.extend(self.online(&[("targets", &targets)]));
        push
    }
}

fn targets_v(version: u64, keys: &[&PrivateKey]) -> Metadata<Targets> {
    let mut t = new_targets(expires(2030));
    t.version = version;
    signed(t, keys)
}

/// Feeds `(role, bytes)` pairs from log index `first`, as the server logs them.
fn feed(replay: &mut Replay, first: u64, docs: &[(String, Vec<u8>)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, (role, bytes)) in docs.iter().enumerate() {
        out.extend(replay.entry(first + i as u64, &logged_as(REPO, role, bytes), bytes));
    }
    out
}

/// The entry the log holds for `bytes` of `role` in `repo`.
fn logged_as(repo: &str, role: &str, bytes: &[u8]) -> Vec<u8> {
    LogEntry::new(repo, role, version_of(bytes), bytes)
        .to_bytes()
        .unwrap()
}

/// Logged `(entry, metadata)` pairs as a batch for `Replay::entries`, from index 0.
fn as_batch(log: &[(Vec<u8>, Vec<u8>)]) -> Vec<(u64, &[u8], &[u8])> {
    log.iter()
        .enumerate()
        .map(|(i, (entry, metadata))| (i as u64, entry.as_slice(), metadata.as_slice()))
        .collect()
}

fn version_of(bytes: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    v["signed"]["version"].as_u64().unwrap()
}

fn alerts(findings: &[Finding]) -> Vec<(AlertKind, u64, String)> {
    findings
        .iter()
        .filter_map(|f| match f {
            Finding::Alert(a) => Some((a.kind, a.index, a.role.clone())),
            Finding::NewVersion(_) => None,
        })
        .collect()
}

fn new_versions(findings: &[Finding]) -> Vec<(String, u64)> {
    findings
        .iter()
        .filter_map(|f| match f {
            Finding::NewVersion(v) => Some((v.role.clone(), v.version)),
            Finding::Alert(_) => None,
        })
        .collect()
}

#[test]
fn an_honest_history_with_delegation_and_rotation_raises_no_alert() {
    let mut repo = Repo::new();
    let mut replay = Replay::new();
    let mut findings = feed(&mut replay, 0, &repo.first_push());

    // A delegation, logged as the server does: "bins" sorts before "targets".
    let (t2, bins) = repo.delegation_to_bins();
    let mut push = vec![
        ("bins".to_string(), bins.bytes().to_vec()),
        ("targets".to_string(), t2.bytes().to_vec()),
    ];
    push.extend(repo.online(&[("bins", &bins), ("targets", &t2)]));
    findings.extend(feed(&mut replay, 4, &push));

    // The server re-signs the timestamp alone.
    findings.extend(feed(&mut replay, 8, &[repo.resigned_timestamp()]));

    // Root v2 rotates the targets key; targets v3 is signed by the new one.
    let new_targets_key = key();
    let old_id = repo.targets_key.public().key_id().unwrap();
    repo.root.remove_key("targets", &old_id).unwrap();
    repo.root
        .add_key("targets", new_targets_key.public())
        .unwrap();
    repo.root.version = 2;
    let root2 = signed(repo.root.clone(), &[&repo.root_key]);
    let t3 = targets_v(3, &[&new_targets_key]);
    let mut push = vec![
        ("root".to_string(), root2.bytes().to_vec()),
        ("targets".to_string(), t3.bytes().to_vec()),
    ];
    push.extend(repo.online(&[("targets", &t3)]));
    findings.extend(feed(&mut replay, 9, &push));

    assert_eq!(alerts(&findings), vec![]);
    let versions = new_versions(&findings);
    assert_eq!(versions.len(), 13, "{versions:?}");
    assert!(versions.contains(&("bins".into(), 1)));
    assert!(versions.contains(&("root".into(), 2)));
    assert!(versions.contains(&("targets".into(), 3)));
}

#[test]
fn only_watched_repositories_have_their_new_versions_reported_but_all_raise_alerts() {
    let (mut watched, mut quiet) = (Repo::new(), Repo::new());
    let mut logged: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (name, repo) in [
        ("watched.example/app", &mut watched),
        ("quiet.example/app", &mut quiet),
    ] {
        for (role, bytes) in repo.first_push() {
            logged.push((logged_as(name, &role, &bytes), bytes));
        }
    }
    // The quiet repository's timestamp, logged twice.
    let (role, bytes) = quiet.resigned_timestamp();
    let again = (logged_as("quiet.example/app", &role, &bytes), bytes);
    logged.extend([again.clone(), again]);
    let batch = as_batch(&logged);

    let mut replay = Replay::new();
    replay.watch(Watched::from_names(&["watched.example/app".into()]));
    let findings = replay.entries(&batch, 2);
    let reported: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::NewVersion(v) => Some(v.repo.as_str()),
            Finding::Alert(_) => None,
        })
        .collect();
    assert_eq!(reported, BTreeSet::from(["watched.example/app"]));
    assert_eq!(
        new_versions(&findings).len(),
        4,
        "root, targets, snapshot, timestamp"
    );
    let last = batch.len() as u64 - 1;
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::Duplicate, last, "timestamp".into())]
    );

    // Watching all ("*") reports both; so does a replay never told what to watch.
    for mut replay in [Replay::new(), {
        let mut r = Replay::new();
        r.watch(Watched::from_names(&["*".into()]));
        r
    }] {
        assert_eq!(new_versions(&replay.entries(&batch, 2)).len(), 9);
    }
}

#[test]
fn equivocation_two_documents_for_one_timestamp_version() {
    let mut repo = Repo::new();
    let mut replay = Replay::new();
    let first = repo.first_push();
    assert_eq!(alerts(&feed(&mut replay, 0, &first)), vec![]);
    // The same version again, other bytes (another expiry), validly signed.
    let mut other = repo.timestamp.clone().unwrap();
    other.expires = expires(2099);
    let other = signed(other, &[&repo.timestamp_key]);
    let findings = feed(
        &mut replay,
        4,
        &[("timestamp".into(), other.bytes().to_vec())],
    );
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::Equivocation, 4, "timestamp".into())]
    );
    // The very same bytes logged again are a duplicate, not an equivocation.
    let findings = feed(&mut replay, 5, &[first[3].clone()]);
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::Duplicate, 5, "timestamp".into())]
    );
}

#[test]
fn root_rotation_not_signed_by_the_previous_root_and_a_skipped_root() {
    let mut repo = Repo::new();
    let mut replay = Replay::new();
    feed(&mut replay, 0, &repo.first_push());
    // An attacker with only a new key writes root v2 naming itself.
    let attacker = key();
    let mut forged = repo.root.clone();
    let old_id = repo.root_key.public().key_id().unwrap();
    forged.remove_key("root", &old_id).unwrap();
    forged.add_key("root", attacker.public()).unwrap();
    forged.version = 2;
    let forged = signed(forged, &[&attacker]);
    let findings = feed(&mut replay, 4, &[("root".into(), forged.bytes().to_vec())]);
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::RootNotAuthorized, 4, "root".into())]
    );
    // Skipping from v1 to v3, even properly signed, is not a rotation.
    let mut skipped = repo.root.clone();
    skipped.version = 3;
    let skipped = signed(skipped, &[&repo.root_key]);
    let findings = feed(&mut replay, 5, &[("root".into(), skipped.bytes().to_vec())]);
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::RootSkipped, 5, "root".into())]
    );
    // Targets signed by the attacker's key is still judged by root v1: refused.
    let t2 = targets_v(2, &[&attacker]);
    let findings = feed(&mut replay, 6, &[("targets".into(), t2.bytes().to_vec())]);
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::Unauthorized, 6, "targets".into())]
    );
}

#[test]
fn a_version_that_goes_down_is_a_rollback() {
    let mut repo = Repo::new();
    let mut replay = Replay::new();
    feed(&mut replay, 0, &repo.first_push());
    let t5 = targets_v(5, &[&repo.targets_key]);
    let t4 = targets_v(4, &[&repo.targets_key]);
    let findings = feed(
        &mut replay,
        4,
        &[
            ("targets".into(), t5.bytes().to_vec()),
            ("targets".into(), t4.bytes().to_vec()),
        ],
    );
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::VersionNotIncreasing, 5, "targets".into())]
    );
}

#[test]
fn online_keys_alone_cannot_sign_targets_nor_invent_a_delegation() {
    let mut repo = Repo::new();
    let mut replay = Replay::new();
    feed(&mut replay, 0, &repo.first_push());
    // A compromised server signs targets with the keys it holds.
    let by_server = targets_v(2, &[&repo.snapshot_key, &repo.timestamp_key]);
    let evil_key = key();
    let evil = signed(new_targets(expires(2030)), &[&evil_key]);
    let mut push = vec![
        ("evil".to_string(), evil.bytes().to_vec()),
        ("targets".to_string(), by_server.bytes().to_vec()),
    ];
    push.extend(repo.online(&[("evil", &evil), ("targets", &by_server)]));
    let findings = feed(&mut replay, 4, &push);
    let mut found = alerts(&findings);
    found.sort();
    assert_eq!(
        found,
        vec![
            (AlertKind::Unauthorized, 4, "evil".into()),
            (AlertKind::Unauthorized, 5, "targets".into()),
        ]
    );
    // The legitimate owner's next version is judged against what was legitimate.
    let t3 = targets_v(3, &[&repo.targets_key]);
    let findings = feed(&mut replay, 8, &[("targets".into(), t3.bytes().to_vec())]);
    assert_eq!(alerts(&findings), vec![]);
}

#[test]
fn bytes_other_than_the_entry_commits_to_and_malformed_entries_are_reported() {
    let mut repo = Repo::new();
    let mut replay = Replay::new();
    let first = repo.first_push();
    feed(&mut replay, 0, &first);
    let t2 = targets_v(2, &[&repo.targets_key]);
    let entry = LogEntry::new(REPO, "targets", 2, t2.bytes())
        .to_bytes()
        .unwrap();
    let mut other = new_targets(expires(2031));
    other.version = 2;
    let t2_other = signed(other, &[&repo.targets_key]);
    let findings = replay.entry(4, &entry, t2_other.bytes());
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::ContentMismatch, 4, "targets".into())]
    );
    let findings = replay.entry(5, b"not an entry", t2.bytes());
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::Malformed, 5, "?".into())]
    );
    // An entry claiming version 9 for a document of version 2.
    let lying = LogEntry::new(REPO, "targets", 9, t2.bytes())
        .to_bytes()
        .unwrap();
    let findings = replay.entry(6, &lying, t2.bytes());
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::Malformed, 6, "targets".into())]
    );
    // Targets bytes logged as a snapshot.
    let entry = LogEntry::new(REPO, "snapshot", 9, &first[1].1)
        .to_bytes()
        .unwrap();
    let findings = replay.entry(7, &entry, &first[1].1);
    assert_eq!(
        alerts(&findings),
        vec![(AlertKind::Malformed, 7, "snapshot".into())]
    );
}

/// A replay stopped after each push and resumed from what `take_changes` gave
/// judges the rest as one that never stopped: an equivocation across the restart
/// is still caught, a delegated version waiting across it is still taken.
#[test]
fn a_replay_restored_from_its_changes_judges_as_one_that_never_stopped() {
    let mut repo = Repo::new();
    let (t2, bins) = repo.delegation_to_bins();
    let first = repo.first_push();
    // The delegated version, then (after the restart) its delegator.
    let before = vec![("bins".to_string(), bins.bytes().to_vec())];
    let mut after = vec![("targets".to_string(), t2.bytes().to_vec())];
    after.extend(repo.online(&[("bins", &bins), ("targets", &t2)]));
    // Another targets v2: an equivocation with the one logged before the restart.
    let forged = targets_v(2, &[&repo.targets_key]);
    after.push(("targets".to_string(), forged.bytes().to_vec()));

    let mut straight = Replay::new();
    let mut expected = feed(&mut straight, 0, &first);
    expected.extend(feed(&mut straight, 4, &before));
    expected.extend(feed(&mut straight, 5, &after));

    let mut stopped = Replay::new();
    let mut got = feed(&mut stopped, 0, &first);
    let early = stopped.take_changes();
    got.extend(feed(&mut stopped, 4, &before));
    let late = stopped.take_changes();
    assert_eq!(late.logged.len(), 1);
    // Stored state is the union of the batches, the later one winning per repository.
    let mut repos: BTreeMap<String, RepoState> = early.repos.into_iter().collect();
    repos.extend(late.repos);
    let logged = early.logged.into_iter().chain(late.logged);
    let mut resumed = Replay::restore(repos, logged).unwrap();
    got.extend(feed(&mut resumed, 5, &after));

    assert_eq!(got, expected);
    assert_eq!(
        alerts(&got),
        vec![(AlertKind::Equivocation, 8, "targets".to_string())]
    );
    assert!(new_versions(&got).contains(&("bins".into(), 1)));
}

/// A batch judged on several threads, each taking whole repositories, concludes
/// exactly what the same entries judged one by one do: the same findings in the
/// same order and the same changes to store, across batch boundaries, with
/// delegated versions waiting for their delegator, equivocation, a duplicate, a
/// rollback, a
/// signature lifted onto another document, bytes that do not match their entry and
/// an entry that does not parse.
#[test]
fn a_batch_judged_on_threads_concludes_what_entries_one_by_one_do() {
    type History = Vec<(String, Vec<u8>)>;
    let mut histories: Vec<(String, History)> = Vec::new();
    for n in 0..5 {
        let mut repo = Repo::new();
        let mut h = repo.first_push();
        match n {
            0 => {
                let (t2, bins) = repo.delegation_to_bins();
                h.push(("bins".into(), bins.bytes().to_vec()));
                h.push(("targets".into(), t2.bytes().to_vec()));
                h.extend(repo.online(&[("bins", &bins), ("targets", &t2)]));
            }
            1 => {
                let t = repo.resigned_timestamp();
                let mut other: serde_json::Value = serde_json::from_slice(&t.1).unwrap();
                other["signed"]["expires"] = "2032-01-01T00:00:00Z".into();
                h.push(t);
                h.push(("timestamp".into(), serde_json::to_vec(&other).unwrap()));
                h.push(repo.resigned_timestamp());
                let duplicate = h[3].clone();
                h.push(duplicate);
                for version in [7, 6] {
                    other["signed"]["version"] = version.into();
                    h.push(("timestamp".into(), serde_json::to_vec(&other).unwrap()));
                }
            }
            2 => {
                let t = repo.resigned_timestamp();
                let mut lifted: serde_json::Value = serde_json::from_slice(&t.1).unwrap();
                lifted["signed"]["version"] = 9.into();
                h.push(t);
                h.push(("timestamp".into(), serde_json::to_vec(&lifted).unwrap()));
            }
            3 => {
                // Root v2 rotates the timestamp key; the old key signs on after it.
                h.push(repo.resigned_timestamp());
                let old_key = std::mem::replace(&mut repo.timestamp_key, key());
                let old_id = old_key.public().key_id().unwrap();
                repo.root.remove_key("timestamp", &old_id).unwrap();
                repo.root
                    .add_key("timestamp", repo.timestamp_key.public())
                    .unwrap();
                repo.root.version = 2;
                let root2 = signed(repo.root.clone(), &[&repo.root_key]);
                h.push(("root".into(), root2.bytes().to_vec()));
                let new_key = std::mem::replace(&mut repo.timestamp_key, old_key);
                h.push(repo.resigned_timestamp());
                repo.timestamp_key = new_key;
                h.push(repo.resigned_timestamp());
            }
            _ => h.extend((0..3).map(|_| repo.resigned_timestamp())),
        }
        histories.push((format!("repo{n}.example/app"), h));
    }
    // Interleaved as on a shared log; one entry whose bytes do not match, one that
    // does not parse.
    let mut log: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for i in 0.. {
        let before = log.len();
        for (name, h) in &histories {
            if let Some((role, bytes)) = h.get(i) {
                let entry = LogEntry::new(name, role, version_of(bytes), bytes);
                log.push((entry.to_bytes().unwrap(), bytes.clone()));
            }
        }
        if log.len() == before {
            break;
        }
    }
    let mismatched = log[7].0.clone();
    log.insert(9, (mismatched, log[12].1.clone()));
    log.insert(15, (b"not an entry".to_vec(), Vec::new()));

    let mut one_by_one = Replay::new();
    let expected: Vec<Finding> = log
        .iter()
        .enumerate()
        .flat_map(|(i, (e, m))| one_by_one.entry(i as u64, e, m))
        .collect();
    let expected_changes = one_by_one.take_changes();

    let mut threaded = Replay::new();
    let batch = as_batch(&log);
    let mut got = Vec::new();
    for part in batch.chunks(11) {
        got.extend(threaded.entries(part, 3));
    }
    let changes = threaded.take_changes();

    assert_eq!(got, expected);
    assert_eq!(changes.repos, expected_changes.repos);
    assert_eq!(changes.logged, expected_changes.logged);

    // In one batch, each repository's signature checks are made together between
    // its roots: the same conclusions.
    let mut whole = Replay::new();
    assert_eq!(whole.entries(&batch, 2), expected);
    let changes = whole.take_changes();
    assert_eq!(changes.repos, expected_changes.repos);
    assert_eq!(changes.logged, expected_changes.logged);
    assert!(
        got.iter().any(|f| matches!(f, Finding::Alert(a)
            if a.kind == AlertKind::Unauthorized
                && a.repo == "repo3.example/app"
                && a.role == "timestamp")),
        "the rotated-out timestamp key was not refused"
    );
    assert!(new_versions(&got).contains(&("root".into(), 2)));
    let kinds: BTreeSet<AlertKind> = alerts(&got).into_iter().map(|(k, _, _)| k).collect();
    for kind in [
        AlertKind::Equivocation,
        AlertKind::Duplicate,
        AlertKind::VersionNotIncreasing,
        AlertKind::Unauthorized,
        AlertKind::ContentMismatch,
        AlertKind::Malformed,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} not exercised: {kinds:?}");
    }
    assert!(new_versions(&got).contains(&("bins".into(), 1)));
}

/// The online keys re-sign a timestamp that lists an older snapshot (a freeze), and
/// a snapshot that lists an older targets (a rollback): each validly signed, each
/// accepted by a client that never saw the newer listing, each caught here across a
/// restart.
#[test]
fn a_timestamp_or_snapshot_listing_an_older_version_is_a_rollback_even_validly_signed() {
    let mut repo = Repo::new();
    let first = repo.first_push();
    let snapshot_v1 = Metadata::<Snapshot>::from_bytes(&first[2].1).unwrap();
    let t1 = Metadata::<Targets>::from_bytes(&first[1].1).unwrap();
    let t2 = targets_v(2, &[&repo.targets_key]);
    let mut history = first.clone();
    history.push(("targets".into(), t2.bytes().to_vec()));
    history.extend(repo.online(&[("targets", &t2)]));
    let mut before = Replay::new();
    assert_eq!(alerts(&feed(&mut before, 0, &history)), vec![]);
    let changes = before.take_changes();
    let mut replay = Replay::restore(changes.repos, changes.logged).unwrap();

    let frozen = signed(
        next_timestamp(repo.timestamp.as_ref(), &snapshot_v1, expires(2031)),
        &[&repo.timestamp_key],
    );
    let rolled_back = signed(
        next_snapshot(repo.snapshot.as_ref(), &[("targets", &t1)], expires(2031)),
        &[&repo.snapshot_key],
    );
    let mut dropped = repo.snapshot.clone().unwrap();
    dropped.version += 2;
    dropped.meta.clear();
    let dropped = signed(dropped, &[&repo.snapshot_key]);
    let n = history.len() as u64;
    let findings = feed(
        &mut replay,
        n,
        &[
            ("timestamp".into(), frozen.bytes().to_vec()),
            ("snapshot".into(), rolled_back.bytes().to_vec()),
            ("snapshot".into(), dropped.bytes().to_vec()),
        ],
    );
    assert_eq!(
        alerts(&findings),
        vec![
            (AlertKind::MetaRollback, n, "timestamp".into()),
            (AlertKind::MetaRollback, n + 1, "snapshot".into()),
            (AlertKind::MetaRollback, n + 2, "snapshot".into()),
        ]
    );
    assert_eq!(new_versions(&findings), vec![]);

    // A listing that does not go down is an honest push.
    let t3 = targets_v(3, &[&repo.targets_key]);
    let mut push = vec![("targets".to_string(), t3.bytes().to_vec())];
    repo.snapshot.as_mut().unwrap().version += 2;
    repo.timestamp.as_mut().unwrap().version += 1;
    push.extend(repo.online(&[("targets", &t3)]));
    assert_eq!(alerts(&feed(&mut replay, n + 3, &push)), vec![]);
}
