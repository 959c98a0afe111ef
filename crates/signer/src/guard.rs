//! The signer's memory, and the rules that make it refuse a fork.
//!
//! The guard keeps, durably, the last checkpoint signed (size and root), the
//! repositories whose keys were handed out, and for each repository's snapshot and
//! timestamp the last version signed with the SHA-256 of what was signed. Each rule
//! is checked and the new state written (synced) under one lock before the
//! signature is made, so two requests can never both pass against the same old
//! state, and a crash after the write but before the reply only means the same
//! request is answered again (an Ed25519 signature over the same bytes is the same).

use crate::Error;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use store::KvStore;
use tlog::Hash;
use tuf::metadata::{Metadata, Role, Snapshot, Timestamp};
use tuf::online::GenerationUse;

const CHECKPOINT_KEY: &[u8] = b"checkpoint";
const REPO_PREFIX: &[u8] = b"repo/";
const ROLE_PREFIX: &[u8] = b"role/";

/// Largest `signed` document the signer reads: twice the server's default limit on
/// a snapshot file, so a server configured with more still fits.
pub const MAX_SIGNED_BYTES: usize = 4_000_000;

/// What a checkpoint request asks for.
#[derive(Clone, Copy, Debug)]
pub struct CheckpointAsk<'a> {
    /// The origin named.
    pub origin: &'a str,
    /// New size.
    pub size: u64,
    /// New root.
    pub root: &'a Hash,
    /// Where the proof starts.
    pub from_size: u64,
    /// RFC 9162 consistency path from `from_size` to `size`.
    pub proof: &'a [Hash],
}

/// An online role the signer signs for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnlineRole {
    /// snapshot.json
    Snapshot,
    /// timestamp.json
    Timestamp,
}

impl OnlineRole {
    /// Parses "snapshot" or "timestamp".
    pub fn parse(role: &str) -> Result<Self, Error> {
        match role {
            "snapshot" => Ok(OnlineRole::Snapshot),
            "timestamp" => Ok(OnlineRole::Timestamp),
            other => Err(Error::Malformed(format!(
                "the signer signs snapshot and timestamp, not {other:?}"
            ))),
        }
    }

    /// The TUF role name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnlineRole::Snapshot => "snapshot",
            OnlineRole::Timestamp => "timestamp",
        }
    }
}

/// Locks over the metadata records, by a hash of the record's key: requests for
/// different repositories run side by side, so their synced writes share the
/// storage engine's group commits instead of queueing one sync each.
const METADATA_LOCKS: usize = 64;

/// The durable record of what was signed.
pub struct Guard {
    store: Arc<dyn KvStore>,
    origin: String,
    /// Held across a checkpoint's check, record and signature.
    lock: Mutex<()>,
    /// Held across a metadata record's check, record and signature.
    metadata_locks: Vec<Mutex<()>>,
}

fn role_key(repo: &str, role: OnlineRole) -> Vec<u8> {
    let mut k = ROLE_PREFIX.to_vec();
    k.extend_from_slice(repo.as_bytes());
    k.push(0);
    k.extend_from_slice(role.as_str().as_bytes());
    k
}

fn repo_key(repo: &str) -> Vec<u8> {
    let mut k = REPO_PREFIX.to_vec();
    k.extend_from_slice(repo.as_bytes());
    k
}

/// The version and the digest of a document's canonical `signed`, once it is a
/// well-formed document of `role` in canonical form.
fn read_signed(role: OnlineRole, signed: &[u8]) -> Result<(u64, [u8; 32]), Error> {
    if signed.len() > MAX_SIGNED_BYTES {
        return Err(Error::Malformed(format!(
            "{} bytes to sign; at most {MAX_SIGNED_BYTES}",
            signed.len()
        )));
    }
    let text = std::str::from_utf8(signed)
        .map_err(|_| Error::Malformed("what to sign is not UTF-8".into()))?;
    // TUF §4.2: signatures cover the canonical JSON of `signed`; anything else would
    // be a signature no client checks against these bytes.
    if !tuf::canonical::is_canonical(text) {
        return Err(Error::Malformed(
            "what to sign is not canonical JSON".into(),
        ));
    }
    // Read through the one metadata parser, in an envelope with no signatures, so
    // the role's type and fields are checked as every client checks them.
    let mut envelope = Vec::with_capacity(signed.len() + 32);
    envelope.extend_from_slice(b"{\"signatures\":[],\"signed\":");
    envelope.extend_from_slice(signed);
    envelope.push(b'}');
    let version = match role {
        OnlineRole::Snapshot => parse::<Snapshot>(&envelope)?,
        OnlineRole::Timestamp => parse::<Timestamp>(&envelope)?,
    };
    Ok((version, Sha256::digest(signed).into()))
}

fn parse<T: Role>(envelope: &[u8]) -> Result<u64, Error> {
    Metadata::<T>::from_bytes(envelope)
        .map(|m| m.version())
        .map_err(|e| Error::Malformed(format!("not a {} document: {e}", T::TYPE)))
}

impl Guard {
    /// The guard over `store`, for the log named `origin`.
    pub fn new(store: Arc<dyn KvStore>, origin: impl Into<String>) -> Self {
        Guard {
            store,
            origin: origin.into(),
            lock: Mutex::new(()),
            metadata_locks: (0..METADATA_LOCKS).map(|_| Mutex::new(())).collect(),
        }
    }

    /// The last checkpoint signed: size 0 and the empty tree's root when none was.
    pub fn last_checkpoint(&self) -> Result<(u64, Hash), Error> {
        match self.store.get(CHECKPOINT_KEY)? {
            None => Ok((0, tlog::EMPTY_ROOT)),
            Some(v) => {
                let corrupt = || store::Error::Corrupt("the last checkpoint signed".into());
                let (size, root) = v.split_first_chunk::<8>().ok_or_else(corrupt)?;
                let root: [u8; 32] = root.try_into().map_err(|_| corrupt())?;
                Ok((u64::from_be_bytes(*size), Hash(root)))
            }
        }
    }

    /// Whether the state holds a starting record ([`Guard::adopt_checkpoint`]): a
    /// signer without one has lost its memory, or was never set up.
    pub fn is_initialised(&self) -> Result<bool, Error> {
        Ok(self.store.get(CHECKPOINT_KEY)?.is_some())
    }

    /// Sets where the signer starts: the empty tree for a new log, or an existing
    /// log's latest checkpoint when its keys move here; only on a signer that has
    /// signed none.
    pub fn adopt_checkpoint(&self, size: u64, root: &Hash) -> Result<(), Error> {
        let _exclusive = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.store.get(CHECKPOINT_KEY)?.is_some() {
            return Err(Error::Fork(
                "this signer has signed checkpoints already; it adopts a log only when new".into(),
            ));
        }
        self.put_checkpoint(size, root)
    }

    fn put_checkpoint(&self, size: u64, root: &Hash) -> Result<(), Error> {
        let mut v = size.to_be_bytes().to_vec();
        v.extend_from_slice(root.as_bytes());
        self.store.put_all(&[(CHECKPOINT_KEY, &v)])?;
        Ok(())
    }

    /// Applies the checkpoint rules to `ask` and, when they pass, records it and
    /// returns what `sign` makes. `sign` runs under the lock, after the record is
    /// durable.
    pub fn checkpoint<T>(
        &self,
        ask: &CheckpointAsk<'_>,
        sign: impl FnOnce() -> Result<T, Error>,
    ) -> Result<T, Error> {
        if ask.origin != self.origin {
            return Err(Error::WrongOrigin {
                expected: self.origin.clone(),
                found: ask.origin.to_string(),
            });
        }
        let _exclusive = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let (last_size, last_root) = self.last_checkpoint()?;
        if ask.size == last_size {
            // The same checkpoint again (a reply lost, a restart finishing a staged
            // batch) is answered; another tree of the same size is a fork.
            if ask.root != &last_root {
                return Err(Error::Fork(format!(
                    "another tree of size {last_size} was signed already"
                )));
            }
            return sign();
        }
        if ask.size < last_size {
            return Err(Error::CheckpointRollback {
                last: last_size,
                asked: ask.size,
            });
        }
        if ask.from_size != last_size {
            return Err(Error::NotFromLast {
                last: last_size,
                from: ask.from_size,
            });
        }
        if last_size > 0 {
            // RFC 9162 §2.1.4.2: the proof must lead from the last root signed to the
            // new one; from the empty tree every tree is an extension.
            tlog::verify::verify_consistency(last_size, ask.size, &last_root, ask.root, ask.proof)
                .map_err(|e| Error::Fork(format!("size {last_size} to {}: {e}", ask.size)))?;
        } else if !ask.proof.is_empty() {
            return Err(Error::Malformed(
                "a proof from the empty tree must be empty".into(),
            ));
        }
        self.put_checkpoint(ask.size, ask.root)?;
        sign()
    }

    /// Whether keys were handed out for `repo`.
    pub fn knows(&self, repo: &str) -> Result<bool, Error> {
        Ok(self.generation(repo)?.is_some())
    }

    /// The generation of `repo`'s online keys that signs now, if its keys were
    /// handed out.
    pub fn generation(&self, repo: &str) -> Result<Option<u32>, Error> {
        parse_generation(repo, self.store.get(&repo_key(repo))?.as_deref())
    }

    /// Records that `repo`'s keys were handed out.
    pub fn register(&self, repo: &str) -> Result<(), Error> {
        if !self.knows(repo)? {
            self.store
                .put_all(&[(&repo_key(repo), &0u32.to_be_bytes())])?;
        }
        Ok(())
    }

    /// The last version of `repo`'s `role` signed, if any.
    pub fn last_signed(&self, repo: &str, role: OnlineRole) -> Result<Option<u64>, Error> {
        match self.store.get(&role_key(repo, role))? {
            None => Ok(None),
            Some(v) => {
                let corrupt = || store::Error::Corrupt(format!("{repo} {}", role.as_str()));
                let (last, _) = v.split_first_chunk::<8>().ok_or_else(corrupt)?;
                Ok(Some(u64::from_be_bytes(*last)))
            }
        }
    }

    /// Applies the metadata rules to `signed` (the canonical `signed` of `repo`'s
    /// `role`, to be signed by the key of `generation`) and, when they pass,
    /// records it and returns what `sign` makes.
    pub fn metadata<T>(
        &self,
        repo: &str,
        role: OnlineRole,
        generation: u32,
        signed: &[u8],
        sign: impl FnOnce() -> Result<T, Error>,
    ) -> Result<T, Error> {
        let ask = MetadataAsk {
            repo,
            role,
            generation,
            signed,
        };
        let mut sign = Some(sign);
        let mut results = self.sign_metadata(std::slice::from_ref(&ask), |_, _| {
            let sign = sign
                .take()
                .ok_or_else(|| Error::Malformed("asked to sign twice".into()))?;
            Ok((sign()?, None))
        })?;
        let (made, _) = results
            .pop()
            .unwrap_or_else(|| Err(Error::Malformed("no result for the request".into())))?;
        Ok(made)
    }

    /// Applies the metadata rules to each request, in order, each against the
    /// record as the ones before it left it, and has `sign` make the signature of
    /// each that passes (told the request's index; none for a follower). `sign`
    /// may name a follower: the canonical `signed` of a
    /// timestamp to sign after that snapshot with the same key generation, judged
    /// and signed in turn (its result is the second half of the pair). What passed
    /// is recorded in one durable write before anything is returned: a signature
    /// leaves this function only once its record is on disk, and if the write
    /// fails nothing does. `Err` as a whole then.
    ///
    /// A signature by the next generation's keys moves the repository to that
    /// generation, for good: its owner published a root naming them, and the keys
    /// it replaced sign nothing more.
    #[allow(clippy::type_complexity)]
    pub fn sign_metadata<T>(
        &self,
        asks: &[MetadataAsk<'_>],
        mut sign: impl FnMut(Option<usize>, &MetadataAsk<'_>) -> Result<(T, Option<Vec<u8>>), Error>,
    ) -> Result<Vec<Result<(T, Option<T>), Error>>, Error> {
        // Read (canonical form, the role's parser) before any lock is taken; a
        // repository never seen is refused as that before its document is read.
        let read: Vec<Result<(u64, [u8; 32]), Error>> = asks
            .iter()
            .map(|a| {
                if !self.knows(a.repo)? {
                    return Err(Error::UnknownRepository(a.repo.to_string()));
                }
                read_signed(a.role, a.signed)
            })
            .collect();
        // By repository: a generation moves for both roles at once. Taken in
        // ascending order, so two batches never wait on each other in a cycle.
        let mut stripes: Vec<usize> = asks
            .iter()
            .map(|a| Sha256::digest(repo_key(a.repo))[0] as usize % METADATA_LOCKS)
            .collect();
        stripes.sort_unstable();
        stripes.dedup();
        let _exclusive: Vec<_> = stripes
            .iter()
            .map(|&i| {
                self.metadata_locks[i]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
            })
            .collect();
        // What this batch writes, seen by its later requests.
        let mut pending: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut results = Vec::with_capacity(asks.len());
        for (i, (ask, read)) in asks.iter().zip(read).enumerate() {
            results.push(read.and_then(|(version, digest)| {
                self.judge(ask, version, digest, &mut pending)?;
                let (made, follower) = sign(Some(i), ask)?;
                let Some(follower) = follower else {
                    return Ok((made, None));
                };
                let next = MetadataAsk {
                    repo: ask.repo,
                    role: OnlineRole::Timestamp,
                    generation: ask.generation,
                    signed: &follower,
                };
                let (version, digest) = read_signed(next.role, next.signed)?;
                self.judge(&next, version, digest, &mut pending)?;
                let (then, _) = sign(None, &next)?;
                Ok((made, Some(then)))
            }));
        }
        if !pending.is_empty() {
            let pairs: Vec<(&[u8], &[u8])> = pending
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice()))
                .collect();
            self.store.put_all(&pairs)?;
        }
        Ok(results)
    }

    /// The metadata rules for one request, against the store as `pending`
    /// overlays it; what it records goes into `pending`.
    fn judge(
        &self,
        ask: &MetadataAsk<'_>,
        version: u64,
        digest: [u8; 32],
        pending: &mut BTreeMap<Vec<u8>, Vec<u8>>,
    ) -> Result<(), Error> {
        let repo = ask.repo;
        let read = |key: &[u8]| -> Result<Option<Vec<u8>>, Error> {
            match pending.get(key) {
                Some(v) => Ok(Some(v.clone())),
                None => Ok(self.store.get(key)?),
            }
        };
        let current = parse_generation(repo, read(&repo_key(repo))?.as_deref())?
            .ok_or_else(|| Error::UnknownRepository(repo.to_string()))?;
        let generation = GenerationUse::of(current, ask.generation);
        match generation {
            GenerationUse::Current | GenerationUse::Next => {}
            GenerationUse::Retired => {
                return Err(Error::RetiredKey {
                    repo: repo.to_string(),
                    generation: ask.generation,
                    current,
                })
            }
            GenerationUse::NotHandedOut => {
                return Err(Error::Malformed(format!(
                    "{repo}: online keys of generation {} were never handed out; \
                     generation {current} signs now",
                    ask.generation
                )))
            }
        }
        let key = role_key(repo, ask.role);
        let role = ask.role.as_str();
        let mut same_as_last = false;
        if let Some(v) = read(&key)? {
            let corrupt = || store::Error::Corrupt(format!("{repo} {role}"));
            let (last, last_digest) = v.split_first_chunk::<8>().ok_or_else(corrupt)?;
            let last = u64::from_be_bytes(*last);
            if version < last {
                return Err(Error::MetadataRollback {
                    repo: repo.to_string(),
                    role: role.to_string(),
                    last,
                    asked: version,
                });
            }
            if version == last {
                if last_digest != digest {
                    return Err(Error::Equivocation {
                        repo: repo.to_string(),
                        role: role.to_string(),
                        version,
                    });
                }
                same_as_last = true;
            }
        }
        if generation == GenerationUse::Next {
            pending.insert(repo_key(repo), ask.generation.to_be_bytes().to_vec());
        }
        if !same_as_last {
            let mut record = version.to_be_bytes().to_vec();
            record.extend_from_slice(&digest);
            pending.insert(key, record);
        }
        Ok(())
    }
}

/// One request to sign a snapshot or timestamp, as the guard judges it.
pub struct MetadataAsk<'a> {
    /// The repository.
    pub repo: &'a str,
    /// The role.
    pub role: OnlineRole,
    /// The generation of the key asked to sign.
    pub generation: u32,
    /// The canonical JSON of the document's `signed`.
    pub signed: &'a [u8],
}

fn parse_generation(repo: &str, value: Option<&[u8]>) -> Result<Option<u32>, Error> {
    match value {
        None => Ok(None),
        // Written before keys had generations.
        Some(b"1") => Ok(Some(0)),
        Some(v) => {
            let bytes: [u8; 4] = v
                .try_into()
                .map_err(|_| store::Error::Corrupt(format!("{repo} generation")))?;
            Ok(Some(u32::from_be_bytes(bytes)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlog::CompactRange;

    const ORIGIN: &str = "example.com/log";

    fn guard() -> (Arc<store::memory::MemoryKv>, Guard) {
        let kv = Arc::new(store::memory::MemoryKv::default());
        (kv.clone(), Guard::new(kv, ORIGIN))
    }

    /// Trees of `n` leaves from a store of their nodes, for real proofs.
    struct Trees {
        nodes: std::collections::HashMap<tlog::NodeId, Hash>,
        range: CompactRange,
        roots: Vec<Hash>,
    }

    impl tlog::HashReader for Trees {
        fn read_hashes(&self, ids: &[tlog::NodeId]) -> tlog::Result<Vec<Hash>> {
            ids.iter()
                .map(|id| {
                    self.nodes
                        .get(id)
                        .copied()
                        .ok_or(tlog::Error::MissingHash(*id))
                })
                .collect()
        }
    }

    impl Trees {
        fn new(prefix: &str, n: u64) -> Trees {
            let mut t = Trees {
                nodes: Default::default(),
                range: CompactRange::new(),
                roots: vec![tlog::EMPTY_ROOT],
            };
            for i in 0..n {
                let leaf = tlog::leaf_hash(format!("{prefix}{i}").as_bytes());
                let nodes = &mut t.nodes;
                t.range
                    .append(leaf, |id, h| {
                        nodes.insert(id, h);
                    })
                    .unwrap();
                t.roots.push(t.range.root());
            }
            t
        }
        fn proof(&self, from: u64, to: u64) -> Vec<Hash> {
            if from == 0 {
                return vec![];
            }
            tlog::tree::consistency_proof(from, to, self).unwrap()
        }
    }

    fn ask<'a>(size: u64, root: &'a Hash, from: u64, proof: &'a [Hash]) -> CheckpointAsk<'a> {
        CheckpointAsk {
            origin: ORIGIN,
            size,
            root,
            from_size: from,
            proof,
        }
    }

    fn sign() -> Result<&'static str, Error> {
        Ok("signed")
    }

    #[test]
    fn checkpoints_extend_the_last_one_signed_and_nothing_else() {
        let (kv, g) = guard();
        let tree = Trees::new("a", 20);
        g.checkpoint(&ask(5, &tree.roots[5], 0, &[]), sign).unwrap();
        let p = tree.proof(5, 12);
        g.checkpoint(&ask(12, &tree.roots[12], 5, &p), sign)
            .unwrap();
        // The same checkpoint again is answered (a lost reply, a staged batch).
        g.checkpoint(&ask(12, &tree.roots[12], 5, &p), sign)
            .unwrap();
        // The durable record survives a new guard over the same store.
        let again = Guard::new(kv, ORIGIN);
        assert_eq!(again.last_checkpoint().unwrap(), (12, tree.roots[12]));
    }

    #[test]
    fn attack_a_fork_of_the_last_checkpoint_is_refused() {
        let (_, g) = guard();
        let honest = Trees::new("a", 20);
        let fork = Trees::new("b", 20);
        g.checkpoint(&ask(8, &honest.roots[8], 0, &[]), sign)
            .unwrap();
        // Another tree of the same size.
        assert!(matches!(
            g.checkpoint(&ask(8, &fork.roots[8], 8, &[]), sign),
            Err(Error::Fork(_))
        ));
        // A larger tree that does not contain the signed one, with its own
        // (valid for it) proof.
        let p = fork.proof(8, 15);
        assert!(matches!(
            g.checkpoint(&ask(15, &fork.roots[15], 8, &p), sign),
            Err(Error::Fork(_))
        ));
        // The honest extension with a corrupted proof.
        let mut p = honest.proof(8, 15);
        p[0].0[0] ^= 1;
        assert!(matches!(
            g.checkpoint(&ask(15, &honest.roots[15], 8, &p), sign),
            Err(Error::Fork(_))
        ));
        // A proof from somewhere else than the last checkpoint signed.
        let p = honest.proof(4, 15);
        assert!(matches!(
            g.checkpoint(&ask(15, &honest.roots[15], 4, &p), sign),
            Err(Error::NotFromLast { last: 8, from: 4 })
        ));
        // A rollback.
        assert!(matches!(
            g.checkpoint(&ask(3, &honest.roots[3], 0, &[]), sign),
            Err(Error::CheckpointRollback { last: 8, asked: 3 })
        ));
        // Another log's origin.
        let mut other = ask(15, &honest.roots[15], 8, &[]);
        other.origin = "example.com/other";
        assert!(matches!(
            g.checkpoint(&other, sign),
            Err(Error::WrongOrigin { .. })
        ));
        // Nothing refused moved the record.
        assert_eq!(g.last_checkpoint().unwrap(), (8, honest.roots[8]));
        let p = honest.proof(8, 15);
        g.checkpoint(&ask(15, &honest.roots[15], 8, &p), sign)
            .unwrap();
    }

    #[test]
    fn a_refused_signature_is_never_made() {
        let (_, g) = guard();
        let tree = Trees::new("a", 4);
        g.checkpoint(&ask(4, &tree.roots[4], 0, &[]), sign).unwrap();
        let mut made = false;
        let _ = g.checkpoint(&ask(2, &tree.roots[2], 0, &[]), || {
            made = true;
            sign()
        });
        assert!(!made);
    }

    fn timestamp(version: u64, expires: &str) -> Vec<u8> {
        format!(
            r#"{{"_type":"timestamp","expires":"{expires}","meta":{{"snapshot.json":{{"version":{version}}}}},"spec_version":"1.0.31","version":{version}}}"#
        )
        .into_bytes()
    }

    fn snapshot(version: u64) -> Vec<u8> {
        format!(
            r#"{{"_type":"snapshot","expires":"2030-01-01T00:00:00Z","meta":{{"targets.json":{{"version":{version}}}}},"spec_version":"1.0.31","version":{version}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_timestamp_that_follows_its_snapshot_is_judged_and_recorded_with_it() {
        let (store, g) = guard();
        let repo = "example.com/app";
        g.register(repo).unwrap();
        let s1 = snapshot(1);
        let ask = MetadataAsk {
            repo,
            role: OnlineRole::Snapshot,
            generation: 0,
            signed: &s1,
        };
        let follow = |v: u64, expires: &'static str| {
            move |i: Option<usize>, a: &MetadataAsk<'_>| {
                let next = (i.is_some()).then(|| timestamp(v, expires));
                Ok((a.role, next))
            }
        };
        let results = g
            .sign_metadata(
                std::slice::from_ref(&ask),
                follow(1, "2030-01-01T00:00:00Z"),
            )
            .unwrap();
        let (made, then) = results.into_iter().next().unwrap().unwrap();
        assert_eq!(
            (made, then),
            (OnlineRole::Snapshot, Some(OnlineRole::Timestamp))
        );
        // Both records are durable, in the store the guard reopens.
        let again = Guard::new(store, ORIGIN);
        assert_eq!(
            again.last_signed(repo, OnlineRole::Snapshot).unwrap(),
            Some(1)
        );
        assert_eq!(
            again.last_signed(repo, OnlineRole::Timestamp).unwrap(),
            Some(1)
        );
        // A follower is held to the same rules: a second timestamp v1 is refused,
        // and the request with it.
        let s2 = snapshot(2);
        let ask = MetadataAsk { signed: &s2, ..ask };
        let results = again
            .sign_metadata(
                std::slice::from_ref(&ask),
                follow(1, "2031-01-01T00:00:00Z"),
            )
            .unwrap();
        assert!(matches!(
            results.into_iter().next().unwrap(),
            Err(Error::Equivocation { version: 1, .. })
        ));
        assert_eq!(
            again.last_signed(repo, OnlineRole::Timestamp).unwrap(),
            Some(1)
        );
    }

    /// A store whose writes fail (a full disk), over one that reads.
    struct NoWrites(Arc<store::memory::MemoryKv>);

    impl KvStore for NoWrites {
        fn get(&self, key: &[u8]) -> store::Result<Option<Vec<u8>>> {
            self.0.get(key)
        }
        fn put_all(&self, _: &[(&[u8], &[u8])]) -> store::Result<()> {
            Err(store::Error::Corrupt("no space left on device".into()))
        }
        fn scan(
            &self,
            prefix: &[u8],
            after: Option<&[u8]>,
            limit: usize,
        ) -> store::Result<Vec<(Vec<u8>, Vec<u8>)>> {
            self.0.scan(prefix, after, limit)
        }
    }

    #[test]
    fn a_signature_whose_record_cannot_be_written_is_never_returned() {
        let (store, g) = guard();
        let repo = "example.com/app";
        g.register(repo).unwrap();
        let g = Guard::new(Arc::new(NoWrites(store)), ORIGIN);
        let t = timestamp(1, "2030-01-01T00:00:00Z");
        let ask = MetadataAsk {
            repo,
            role: OnlineRole::Timestamp,
            generation: 0,
            signed: &t,
        };
        let mut made = 0;
        let result = g.sign_metadata(std::slice::from_ref(&ask), |_, _| {
            made += 1;
            Ok(("a signature", None))
        });
        assert_eq!(made, 1, "signed in memory");
        assert!(matches!(result, Err(Error::Store(_))), "but not returned");
        assert!(g
            .metadata(repo, OnlineRole::Timestamp, 0, &t, || Ok(()))
            .is_err());
    }

    #[test]
    fn attack_a_second_timestamp_for_one_version_is_refused() {
        let (_, g) = guard();
        let repo = "example.com/app";
        let t1 = timestamp(1, "2030-01-01T00:00:00Z");
        assert!(matches!(
            g.metadata(repo, OnlineRole::Timestamp, 0, &t1, sign),
            Err(Error::UnknownRepository(_))
        ));
        g.register(repo).unwrap();
        g.metadata(repo, OnlineRole::Timestamp, 0, &t1, sign)
            .unwrap();
        // The same document again (a retried request) is signed again.
        g.metadata(repo, OnlineRole::Timestamp, 0, &t1, sign)
            .unwrap();
        // Version 1 with other content: two timestamps for one version.
        let t1b = timestamp(1, "2031-01-01T00:00:00Z");
        assert!(matches!(
            g.metadata(repo, OnlineRole::Timestamp, 0, &t1b, sign),
            Err(Error::Equivocation { version: 1, .. })
        ));
        let t2 = timestamp(2, "2030-01-01T00:00:00Z");
        g.metadata(repo, OnlineRole::Timestamp, 0, &t2, sign)
            .unwrap();
        assert_eq!(g.last_signed(repo, OnlineRole::Timestamp).unwrap(), Some(2));
        assert_eq!(g.last_signed(repo, OnlineRole::Snapshot).unwrap(), None);
        // Back to version 1, even with the content once signed.
        assert!(matches!(
            g.metadata(repo, OnlineRole::Timestamp, 0, &t1, sign),
            Err(Error::MetadataRollback {
                last: 2,
                asked: 1,
                ..
            })
        ));
    }

    #[test]
    fn attack_a_retired_online_key_signs_nothing_after_rotation() {
        let (store, g) = guard();
        let repo = "example.com/app";
        // Keys handed out before generations existed read as generation 0.
        store.put_all(&[(&repo_key(repo), b"1")]).unwrap();
        assert_eq!(g.generation(repo).unwrap(), Some(0));
        let t = |v| timestamp(v, "2030-01-01T00:00:00Z");
        g.metadata(repo, OnlineRole::Timestamp, 0, &t(1), sign)
            .unwrap();
        // Generation 2 was never handed out while 0 signs.
        assert!(matches!(
            g.metadata(repo, OnlineRole::Timestamp, 2, &t(2), sign),
            Err(Error::Malformed(_))
        ));
        // A refused request with the next generation does not move it.
        let other_v1 = timestamp(1, "2031-01-01T00:00:00Z");
        assert!(matches!(
            g.metadata(repo, OnlineRole::Timestamp, 1, &other_v1, sign),
            Err(Error::Equivocation { .. })
        ));
        assert_eq!(g.generation(repo).unwrap(), Some(0));
        // The owner's new root names generation 1: its first signature moves the
        // repository there, for both roles, durably.
        g.metadata(repo, OnlineRole::Timestamp, 1, &t(2), sign)
            .unwrap();
        assert_eq!(g.generation(repo).unwrap(), Some(1));
        let again = Guard::new(store, ORIGIN);
        assert_eq!(again.generation(repo).unwrap(), Some(1));
        // The retired keys sign nothing, whatever the version.
        assert!(matches!(
            again.metadata(repo, OnlineRole::Timestamp, 0, &t(3), sign),
            Err(Error::RetiredKey {
                generation: 0,
                current: 1,
                ..
            })
        ));
        again
            .metadata(repo, OnlineRole::Timestamp, 1, &t(3), sign)
            .unwrap();
    }

    #[test]
    fn only_canonical_documents_of_the_asked_role_are_signed() {
        let (_, g) = guard();
        let repo = "example.com/app";
        g.register(repo).unwrap();
        let t = timestamp(1, "2030-01-01T00:00:00Z");
        // A timestamp asked for as a snapshot.
        assert!(matches!(
            g.metadata(repo, OnlineRole::Snapshot, 0, &t, sign),
            Err(Error::Malformed(_))
        ));
        // Not canonical: a space, and keys out of order.
        let spaced = String::from_utf8(t.clone()).unwrap().replacen(':', ": ", 1);
        assert!(matches!(
            g.metadata(repo, OnlineRole::Timestamp, 0, spaced.as_bytes(), sign),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            g.metadata(repo, OnlineRole::Timestamp, 0, b"not json", sign),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            g.metadata(
                repo,
                OnlineRole::Timestamp,
                0,
                &vec![b' '; MAX_SIGNED_BYTES + 1],
                sign
            ),
            Err(Error::Malformed(_))
        ));
        // Nothing refused was recorded: version 1 is still free.
        g.metadata(repo, OnlineRole::Timestamp, 0, &t, sign)
            .unwrap();
    }
}
