//! The PostgreSQL store: the log and its metadata in a database that several server
//! instances share.
//!
//! Tables are in `migrations/`, applied at open by refinery (versioned, recorded in
//! `refinery_schema_history`). The store traits are synchronous; this store runs
//! tokio-postgres on a runtime of its own and each call waits on the calling thread
//! for its queries, as a call into RocksDB waits for the disk.
//!
//! # One writer, enforced by the database
//!
//! Several instances may open one database; one at a time integrates. It holds the
//! [`SequencerLease`], with a fencing token that grows with every change of holder.
//! [`LogStore::commit`] and [`LogStore::stage`] each run in one transaction that
//! locks the lease and the log state, and refuse unless
//!
//! - the lease's token is still the one this store was granted ([`Error::Deposed`]),
//!   so a sequencer that paused past its lease, or lost it to another, writes
//!   nothing once another has taken over;
//! - the batch starts at the stored size ([`Error::Conflict`]); and
//! - its entries, appended to the stored right edge, give exactly its new right
//!   edge and nodes ([`Error::NotAnExtension`]): a committed tree extends the last.
//!
//! So whatever the instances believe about one another, the stored checkpoints form
//! one append-only history.

use crate::{
    check_batch, check_extends, check_read, Batch, CosignedNote, Error, LeaseHolder, LogState,
    LogStore, MetadataStore, Result, RoleVersion, SequencerLease, VersionRecord,
    MAX_REPOS_PER_LIST, MAX_SCAN,
};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tlog::{Hash, HashReader, NodeId};
use tokio_postgres::NoTls;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Connections the store keeps open at most.
pub const MAX_CONNECTIONS: usize = 16;
/// Longest any one store call may take, connecting included, before it fails.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at applying migrations: instances starting together race to create the
/// schema, and the loser finds it made when it tries again.
const MIGRATION_ATTEMPTS: u32 = 3;

/// The log, its metadata and a small map, in one PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    /// `Some` until drop, which shuts it down without waiting (the store may be
    /// dropped on an async thread).
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    /// The fencing token of the lease this store holds, if any.
    token: Mutex<Option<u64>>,
}

fn pg(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::Engine(format!(
            "postgresql: {} ({})",
            db.message(),
            db.code().code()
        )),
        None => match std::error::Error::source(&e) {
            Some(cause) => Error::Engine(format!("postgresql: {e}: {cause}")),
            None => Error::Engine(format!("postgresql: {e}")),
        },
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> Error {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg(e),
        e => Error::Engine(format!("postgresql connection pool: {e}")),
    }
}

/// An index or size as stored: they never reach 2^63 in a log that exists.
fn db_u64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Invalid(format!("{v} is beyond what the log stores")))
}

fn from_db(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("negative {what} {v}")))
}

/// A TUF version, bit for bit (see the schema): no query compares versions.
fn version_to_db(v: u64) -> i64 {
    i64::from_be_bytes(v.to_be_bytes())
}

fn version_from_db(v: i64) -> u64 {
    u64::from_be_bytes(v.to_be_bytes())
}

fn hash32(v: &[u8], what: &str) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| Error::Corrupt(format!("{what} is not 32 bytes")))
}

fn frontier_from_db(v: &[u8]) -> Result<Vec<Hash>> {
    if !v.len().is_multiple_of(32) {
        return Err(Error::Corrupt(format!("a right edge of {} bytes", v.len())));
    }
    v.chunks_exact(32)
        .map(|c| Ok(Hash(hash32(c, "a right-edge hash")?)))
        .collect()
}

fn frontier_to_db(f: &[Hash]) -> Vec<u8> {
    f.iter()
        .flat_map(|h| h.as_bytes().iter().copied())
        .collect()
}

/// Names are stored as text, which cannot hold NUL; refused as the RocksDB store
/// refuses them.
fn check_name(name: &str) -> Result<&str> {
    if name.as_bytes().contains(&0) {
        return Err(Error::Invalid(format!("name {name:?} contains NUL")));
    }
    Ok(name)
}

fn record_of(v: &RoleVersion) -> VersionRecord {
    VersionRecord {
        version: v.version,
        sha256: v.sha256,
        index: v.index,
    }
}

/// One multi-row upsert of `(repo, role, version, sha256, idx)` rows by `sql`,
/// whose five parameters are those columns as arrays.
async fn upsert_records(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    rows: &[(&str, &str, VersionRecord)],
) -> Result<()> {
    let statement = tx.prepare_cached(sql).await.map_err(pg)?;
    let repos: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let roles: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let versions: Vec<i64> = rows.iter().map(|r| version_to_db(r.2.version)).collect();
    let sha256s: Vec<&[u8]> = rows.iter().map(|r| &r.2.sha256[..]).collect();
    let indices = rows
        .iter()
        .map(|r| db_u64(r.2.index))
        .collect::<Result<Vec<i64>>>()?;
    tx.execute(&statement, &[&repos, &roles, &versions, &sha256s, &indices])
        .await
        .map_err(pg)?;
    Ok(())
}

fn record(version: i64, sha256: &[u8], index: i64) -> Result<VersionRecord> {
    Ok(VersionRecord {
        version: version_from_db(version),
        sha256: hash32(sha256, "a version's SHA-256")?,
        index: from_db(index, "entry index")?,
    })
}

impl PgStore {
    /// Connects to the database at `url` (a `postgres://` URL or key=value
    /// connection string; TLS as [`crate::database_url`] reads it) and applies any
    /// migration not yet applied.
    pub fn open(url: &str) -> Result<Self> {
        let connection = crate::database_url::connection(url)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tuflog-postgres")
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let pool = {
            let _context = handle.enter();
            let manager_config = ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            };
            let manager = match connection.tls {
                Some(tls) => Manager::from_config(connection.config, tls, manager_config),
                None => Manager::from_config(connection.config, NoTls, manager_config),
            };
            Pool::builder(manager)
                .max_size(MAX_CONNECTIONS)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(CALL_TIMEOUT))
                .create_timeout(Some(CALL_TIMEOUT))
                .build()
                .map_err(|e| Error::Engine(format!("postgresql connection pool: {e}")))?
        };
        let store = PgStore {
            pool,
            runtime: Some(runtime),
            handle,
            token: Mutex::new(None),
        };
        store.migrate().map_err(|e| match e {
            Error::Engine(m) if m.contains("invalid peer certificate") => Error::Engine(format!(
                "{m} (the database URL's sslrootcert must hold the CA that issued the \
                 database's certificate, issued for the host the URL names)"
            )),
            e => e,
        })?;
        Ok(store)
    }

    fn migrate(&self) -> Result<()> {
        let mut attempt = 1;
        loop {
            let applied = self.call(async {
                let mut client = self.pool.get().await.map_err(pool_error)?;
                embedded::migrations::runner()
                    .run_async(&mut **client)
                    .await
                    .map_err(|e| Error::Engine(format!("applying the schema migrations: {e}")))
            });
            match applied {
                Ok(_) => return Ok(()),
                Err(e) if attempt == MIGRATION_ATTEMPTS => return Err(e),
                Err(_) => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// Runs `work` to completion on this thread, within [`CALL_TIMEOUT`], with the
    /// store's runtime as the context its connections and timers live in.
    fn call<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let _context = self.handle.enter();
        futures_executor::block_on(async {
            tokio::time::timeout(CALL_TIMEOUT, work)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Engine(format!(
                        "postgresql: no answer within {CALL_TIMEOUT:?}"
                    )))
                })
        })
    }

    fn held_token(&self) -> Option<u64> {
        *self.token.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_token(&self, token: Option<u64>) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = token;
    }

    async fn stored_size(client: &impl GenericClient) -> Result<u64> {
        let row = client
            .query_opt("SELECT size FROM log_state WHERE id = 1", &[])
            .await
            .map_err(pg)?;
        row.map_or(Ok(0), |r| from_db(r.get(0), "log size"))
    }

    /// In a transaction: locks the lease and the log state, and refuses `batch`
    /// unless this store's token is the lease's, the batch starts at the stored
    /// size and it extends the stored tree.
    async fn fenced(&self, tx: &deadpool_postgres::Transaction<'_>, batch: &Batch) -> Result<()> {
        let held = self.held_token();
        let row = tx
            .query_opt(
                "SELECT token FROM sequencer_lease WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await
            .map_err(pg)?;
        let current = row.map(|r| r.get::<_, i64>(0));
        match (held, current) {
            (Some(held), Some(current)) if db_u64(held)? == current => {}
            (None, _) => {
                return Err(Error::Deposed(
                    "this store does not hold the sequencer lease".into(),
                ))
            }
            (Some(held), current) => {
                self.set_token(None);
                return Err(Error::Deposed(format!(
                    "the sequencer lease of token {held} has passed to token {}",
                    current.map_or_else(|| "none".into(), |c| c.to_string())
                )));
            }
        }
        let row = tx
            .query_opt(
                "SELECT size, frontier FROM log_state WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await
            .map_err(pg)?;
        let (size, frontier) = match row {
            Some(r) => (from_db(r.get(0), "log size")?, frontier_from_db(r.get(1))?),
            None => (0, Vec::new()),
        };
        check_batch(batch, size)?;
        check_extends(size, &frontier, batch)
    }

    async fn commit_in(&self, batch: &Batch) -> Result<()> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await.map_err(pg)?;
        self.fenced(&tx, batch).await?;

        let first = db_u64(batch.first_index)?;
        if !batch.entries.is_empty() {
            let indices: Vec<i64> = (first..).take(batch.entries.len()).collect();
            let entries: Vec<&[u8]> = batch.entries.iter().map(Vec::as_slice).collect();
            let insert = tx
                .prepare_cached(
                    "INSERT INTO entries (idx, entry) \
                     SELECT * FROM unnest($1::bigint[], $2::bytea[])",
                )
                .await
                .map_err(pg)?;
            tx.execute(&insert, &[&indices, &entries])
                .await
                .map_err(pg)?;
        }
        if !batch.nodes.is_empty() {
            let levels: Vec<i16> = batch
                .nodes
                .iter()
                .map(|(id, _)| i16::from(id.level))
                .collect();
            let indices = batch
                .nodes
                .iter()
                .map(|(id, _)| db_u64(id.index))
                .collect::<Result<Vec<i64>>>()?;
            let hashes: Vec<&[u8]> = batch.nodes.iter().map(|(_, h)| &h.as_bytes()[..]).collect();
            let insert = tx
                .prepare_cached(
                    "INSERT INTO nodes (level, idx, hash) \
                     SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
                )
                .await
                .map_err(pg)?;
            tx.execute(&insert, &[&levels, &indices, &hashes])
                .await
                .map_err(pg)?;
        }
        if let Some(s) = &batch.state {
            let put = tx
                .prepare_cached(
                    "INSERT INTO log_state (id, size, frontier, checkpoint) VALUES (1, $1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET size = excluded.size, \
                     frontier = excluded.frontier, checkpoint = excluded.checkpoint",
                )
                .await
                .map_err(pg)?;
            tx.execute(
                &put,
                &[
                    &db_u64(s.size)?,
                    &frontier_to_db(&s.frontier),
                    &s.checkpoint,
                ],
            )
            .await
            .map_err(pg)?;
        }
        tx.execute("DELETE FROM staged_batch", &[])
            .await
            .map_err(pg)?;
        if !batch.blobs.is_empty() {
            let indices = batch
                .blobs
                .iter()
                .map(|b| db_u64(b.index))
                .collect::<Result<Vec<i64>>>()?;
            let shas: Vec<&[u8]> = batch.blobs.iter().map(|b| &b.sha256[..]).collect();
            let bytes: Vec<&[u8]> = batch.blobs.iter().map(|b| b.bytes.as_slice()).collect();
            let insert = tx
                .prepare_cached(
                    "INSERT INTO metadata (idx, sha256, bytes) \
                     SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])",
                )
                .await
                .map_err(pg)?;
            tx.execute(&insert, &[&indices, &shas, &bytes])
                .await
                .map_err(pg)?;
        }
        if !batch.versions.is_empty() {
            self.commit_versions(&tx, batch).await?;
        }
        tx.commit().await.map_err(pg)
    }

    /// Records every version of the batch and moves each role's head to its highest
    /// version, comparing versions here rather than in SQL (see the schema).
    async fn commit_versions(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        batch: &Batch,
    ) -> Result<()> {
        // Of two versions of one role in a batch, the later one's record stays, as a
        // later write of a key does in the other stores.
        let mut versions: BTreeMap<(&str, &str, u64), VersionRecord> = BTreeMap::new();
        let mut roles: BTreeSet<(&str, &str)> = BTreeSet::new();
        for v in &batch.versions {
            let (repo, role) = (check_name(&v.repo)?, check_name(&v.role)?);
            versions.insert((repo, role, v.version), record_of(v));
            roles.insert((repo, role));
        }
        let current = tx
            .prepare_cached(
                "SELECT q.n, h.version, h.sha256, h.idx FROM role_heads h \
                 JOIN unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(repo, role, n) \
                 ON h.repo = q.repo AND h.role = q.role FOR UPDATE OF h",
            )
            .await
            .map_err(pg)?;
        let roles: Vec<(&str, &str)> = roles.into_iter().collect();
        let repos: Vec<&str> = roles.iter().map(|k| k.0).collect();
        let names: Vec<&str> = roles.iter().map(|k| k.1).collect();
        // The stored head of each role the batch records, then each of its versions
        // in batch order: a head moves only to a higher version.
        let mut heads: BTreeMap<(&str, &str), VersionRecord> = BTreeMap::new();
        for row in tx.query(&current, &[&repos, &names]).await.map_err(pg)? {
            // The ordinality counts the asked roles from 1.
            let asked = usize::try_from(row.get::<_, i64>(0) - 1)
                .ok()
                .and_then(|n| roles.get(n))
                .ok_or_else(|| Error::Corrupt("a head for a role not asked for".into()))?;
            heads.insert(*asked, record(row.get(1), row.get(2), row.get(3))?);
        }
        let mut moved: BTreeSet<(&str, &str)> = BTreeSet::new();
        for v in &batch.versions {
            let key = (v.repo.as_str(), v.role.as_str());
            if heads.get(&key).is_none_or(|h| h.version < v.version) {
                heads.insert(key, record_of(v));
                moved.insert(key);
            }
        }
        let versions: Vec<(&str, &str, VersionRecord)> = versions
            .into_iter()
            .map(|((repo, role, _), r)| (repo, role, r))
            .collect();
        upsert_records(
            tx,
            "INSERT INTO role_versions (repo, role, version, sha256, idx) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::bigint[]) \
             ON CONFLICT (repo, role, version) DO UPDATE SET \
             sha256 = excluded.sha256, idx = excluded.idx",
            &versions,
        )
        .await?;
        let moved: Vec<(&str, &str, VersionRecord)> = moved
            .into_iter()
            .filter_map(|key| Some((key.0, key.1, *heads.get(&key)?)))
            .collect();
        if moved.is_empty() {
            return Ok(());
        }
        upsert_records(
            tx,
            "INSERT INTO role_heads (repo, role, version, sha256, idx) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::bigint[]) \
             ON CONFLICT (repo, role) DO UPDATE SET \
             version = excluded.version, sha256 = excluded.sha256, idx = excluded.idx",
            &moved,
        )
        .await
    }

    async fn stage_in(&self, batch: &Batch) -> Result<()> {
        let encoded = crate::staged::encode(batch)?;
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await.map_err(pg)?;
        self.fenced(&tx, batch).await?;
        tx.execute(
            "INSERT INTO staged_batch (id, batch) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET batch = excluded.batch",
            &[&encoded],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl HashReader for PgStore {
    fn read_hashes(&self, ids: &[NodeId]) -> tlog::Result<Vec<Hash>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.call(async {
            let levels: Vec<i16> = ids.iter().map(|id| i16::from(id.level)).collect();
            let indices = ids
                .iter()
                .map(|id| db_u64(id.index))
                .collect::<Result<Vec<i64>>>()?;
            let client = self.pool.get().await.map_err(pool_error)?;
            let query = client
                .prepare_cached(
                    "SELECT n.level, n.idx, n.hash FROM nodes n \
                     JOIN unnest($1::smallint[], $2::bigint[]) AS q(level, idx) \
                     ON n.level = q.level AND n.idx = q.idx",
                )
                .await
                .map_err(pg)?;
            let mut found = HashMap::with_capacity(ids.len());
            for row in client
                .query(&query, &[&levels, &indices])
                .await
                .map_err(pg)?
            {
                let level = u8::try_from(row.get::<_, i16>(0))
                    .map_err(|_| Error::Corrupt("a node level out of range".into()))?;
                let index = from_db(row.get(1), "node index")?;
                found.insert(
                    NodeId { level, index },
                    Hash(hash32(row.get(2), "stored hash")?),
                );
            }
            Ok(found)
        })?;
        ids.iter()
            .map(|id| found.get(id).copied().ok_or(tlog::Error::MissingHash(*id)))
            .collect()
    }
}

impl LogStore for PgStore {
    fn state(&self) -> Result<Option<LogState>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let query = client
                .prepare_cached("SELECT size, frontier, checkpoint FROM log_state WHERE id = 1")
                .await
                .map_err(pg)?;
            client
                .query_opt(&query, &[])
                .await
                .map_err(pg)?
                .map(|r| {
                    Ok(LogState {
                        size: from_db(r.get(0), "log size")?,
                        frontier: frontier_from_db(r.get(1))?,
                        checkpoint: r.get(2),
                    })
                })
                .transpose()
        })
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        self.call(self.commit_in(batch))
    }

    fn stage(&self, batch: &Batch) -> Result<()> {
        self.call(self.stage_in(batch))
    }

    fn staged(&self) -> Result<Option<Batch>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let row = client
                .query_opt("SELECT batch FROM staged_batch WHERE id = 1", &[])
                .await
                .map_err(pg)?;
            row.map(|r| crate::staged::decode(r.get(0))).transpose()
        })
    }

    fn put_cosigned(&self, size: u64, note: &[u8]) -> Result<()> {
        crate::check_cosigned_note(note)?;
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            client
                .execute(
                    "INSERT INTO cosigned_checkpoint (id, size, note) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note \
                     WHERE cosigned_checkpoint.size <= excluded.size",
                    &[&db_u64(size)?, &note],
                )
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn size_on_disk(&self) -> Result<Option<u64>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let row = client
                .query_one("SELECT pg_database_size(current_database())", &[])
                .await
                .map_err(pg)?;
            Ok(Some(from_db(row.get(0), "database size")?))
        })
    }

    fn cosigned(&self) -> Result<Option<CosignedNote>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let row = client
                .query_opt(
                    "SELECT size, note FROM cosigned_checkpoint WHERE id = 1",
                    &[],
                )
                .await
                .map_err(pg)?;
            row.map(|r| {
                let note: Vec<u8> = r.get(1);
                if note.len() > crate::MAX_COSIGNED_NOTE_BYTES {
                    return Err(Error::Corrupt(format!(
                        "a cosigned checkpoint of {} bytes",
                        note.len()
                    )));
                }
                Ok(CosignedNote {
                    size: from_db(r.get(0), "cosigned size")?,
                    note,
                })
            })
            .transpose()
        })
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            check_read(start, end, Self::stored_size(&client).await?)?;
            let query = client
                .prepare_cached(
                    "SELECT idx, entry FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                )
                .await
                .map_err(pg)?;
            let rows = client
                .query(&query, &[&db_u64(start)?, &db_u64(end)?])
                .await
                .map_err(pg)?;
            let mut out = Vec::with_capacity(rows.len());
            for (row, i) in rows.iter().zip(start..end) {
                if from_db(row.get(0), "entry index")? != i {
                    break;
                }
                out.push(row.get(1));
            }
            if out.len() as u64 != end - start {
                return Err(Error::Corrupt(format!(
                    "entry {} missing below the log size",
                    start + out.len() as u64
                )));
            }
            Ok(out)
        })
    }
}

impl MetadataStore for PgStore {
    fn blob(&self, sha256: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        Ok(self.blobs(std::slice::from_ref(sha256))?.pop().flatten())
    }

    fn blobs(&self, sha256s: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>> {
        if sha256s.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.call(async {
            let wanted: Vec<&[u8]> = sha256s.iter().map(|s| &s[..]).collect();
            let client = self.pool.get().await.map_err(pool_error)?;
            let query = client
                .prepare_cached(
                    "SELECT DISTINCT ON (sha256) sha256, bytes FROM metadata \
                     WHERE sha256 = ANY($1::bytea[])",
                )
                .await
                .map_err(pg)?;
            let mut found: HashMap<[u8; 32], Vec<u8>> = HashMap::new();
            for row in client.query(&query, &[&wanted]).await.map_err(pg)? {
                found.insert(hash32(row.get(0), "a file's SHA-256")?, row.get(1));
            }
            Ok(found)
        })?;
        Ok(sha256s.iter().map(|s| found.get(s).cloned()).collect())
    }

    fn entry_blobs(&self, start: u64, end: u64) -> Result<Vec<Option<Vec<u8>>>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            check_read(start, end, Self::stored_size(&client).await?)?;
            let query = client
                .prepare_cached(
                    "SELECT idx, bytes FROM metadata WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                )
                .await
                .map_err(pg)?;
            let mut out: Vec<Option<Vec<u8>>> = (start..end).map(|_| None).collect();
            for row in client
                .query(&query, &[&db_u64(start)?, &db_u64(end)?])
                .await
                .map_err(pg)?
            {
                let at = from_db(row.get(0), "entry index")? - start;
                if let Some(slot) = usize::try_from(at).ok().and_then(|at| out.get_mut(at)) {
                    *slot = Some(row.get(1));
                }
            }
            Ok(out)
        })
    }

    fn head(&self, repo: &str, role: &str) -> Result<Option<VersionRecord>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let query = client
                .prepare_cached(
                    "SELECT version, sha256, idx FROM role_heads WHERE repo = $1 AND role = $2",
                )
                .await
                .map_err(pg)?;
            client
                .query_opt(&query, &[&check_name(repo)?, &check_name(role)?])
                .await
                .map_err(pg)?
                .map(|r| record(r.get(0), r.get(1), r.get(2)))
                .transpose()
        })
    }

    fn version(&self, repo: &str, role: &str, version: u64) -> Result<Option<VersionRecord>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let query = client
                .prepare_cached(
                    "SELECT version, sha256, idx FROM role_versions \
                     WHERE repo = $1 AND role = $2 AND version = $3",
                )
                .await
                .map_err(pg)?;
            client
                .query_opt(
                    &query,
                    &[
                        &check_name(repo)?,
                        &check_name(role)?,
                        &version_to_db(version),
                    ],
                )
                .await
                .map_err(pg)?
                .map(|r| record(r.get(0), r.get(1), r.get(2)))
                .transpose()
        })
    }

    fn repos(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let limit = db_u64(limit.min(MAX_REPOS_PER_LIST) as u64)?;
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let query = client
                .prepare_cached(
                    "SELECT DISTINCT repo FROM role_heads \
                     WHERE $1::text IS NULL OR repo > $1 ORDER BY repo LIMIT $2",
                )
                .await
                .map_err(pg)?;
            let after = after.map(check_name).transpose()?;
            Ok(client
                .query(&query, &[&after, &limit])
                .await
                .map_err(pg)?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
    }
}

impl crate::KvStore for PgStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            Ok(client
                .query_opt("SELECT value FROM kv WHERE key = $1", &[&key])
                .await
                .map_err(pg)?
                .map(|r| r.get(0)))
        })
    }

    fn put_all(&self, pairs: &[(&[u8], &[u8])]) -> Result<()> {
        // One row per key, the later pair winning: an upsert may not touch a row twice.
        let mut last: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
        for (k, v) in pairs {
            last.insert(k, v);
        }
        let keys: Vec<&[u8]> = last.keys().copied().collect();
        let values: Vec<&[u8]> = last.values().copied().collect();
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            client
                .execute(
                    "INSERT INTO kv (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&keys, &values],
                )
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let limit = limit.min(MAX_SCAN);
        let rows = self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let limit = db_u64(limit as u64)?;
            let (query, from) = match after {
                Some(after) => (
                    "SELECT key, value FROM kv WHERE key > $1 ORDER BY key LIMIT $2",
                    after,
                ),
                None => (
                    "SELECT key, value FROM kv WHERE key >= $1 ORDER BY key LIMIT $2",
                    prefix,
                ),
            };
            client.query(query, &[&from, &limit]).await.map_err(pg)
        })?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
            .take_while(|(k, _)| k.starts_with(prefix))
            .collect())
    }
}

impl SequencerLease for PgStore {
    fn take_lease(&self, holder: &str, address: &str, ttl: Duration) -> Result<Option<u64>> {
        let ttl_ms = db_u64(
            u64::try_from(ttl.as_millis())
                .unwrap_or(u64::MAX)
                .min(1 << 40),
        )?;
        let held = self.held_token();
        let token = self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            if let Some(held) = held {
                // Renewal keeps the token: nobody else wrote in between.
                let renewed = client
                    .query_opt(
                        "UPDATE sequencer_lease SET expires_at = now() + $2::bigint * interval '1 millisecond', \
                         holder = $3, address = $4 WHERE id = 1 AND token = $1 RETURNING token",
                        &[&db_u64(held)?, &ttl_ms, &holder, &address],
                    )
                    .await
                    .map_err(pg)?;
                if renewed.is_some() {
                    return Ok(Some(held));
                }
            }
            // Free or expired: taken with the next token, which fences off every
            // write of earlier holders.
            let taken = client
                .query_opt(
                    "INSERT INTO sequencer_lease (id, holder, address, token, expires_at) \
                     VALUES (1, $1, $2, 1, now() + $3::bigint * interval '1 millisecond') \
                     ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, \
                     address = excluded.address, token = sequencer_lease.token + 1, \
                     expires_at = excluded.expires_at \
                     WHERE sequencer_lease.expires_at < now() RETURNING token",
                    &[&holder, &address, &ttl_ms],
                )
                .await
                .map_err(pg)?;
            taken
                .map(|r| from_db(r.get(0), "lease token"))
                .transpose()
        })?;
        self.set_token(token);
        Ok(token)
    }

    fn release_lease(&self) -> Result<()> {
        let Some(held) = self.held_token() else {
            return Ok(());
        };
        self.set_token(None);
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            client
                .execute(
                    "UPDATE sequencer_lease SET expires_at = now() - interval '1 second' \
                     WHERE id = 1 AND token = $1",
                    &[&db_u64(held)?],
                )
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn lease_holder(&self) -> Result<Option<LeaseHolder>> {
        self.call(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            client
                .query_opt(
                    "SELECT holder, address, token, \
                     (extract(epoch FROM (expires_at - now())) * 1000)::bigint \
                     FROM sequencer_lease WHERE id = 1",
                    &[],
                )
                .await
                .map_err(pg)?
                .map(|r| {
                    let left_ms: i64 = r.get(3);
                    Ok(LeaseHolder {
                        holder: r.get(0),
                        address: r.get(1),
                        token: from_db(r.get(2), "lease token")?,
                        expires_in: (left_ms > 0)
                            .then(|| Duration::from_millis(left_ms.unsigned_abs())),
                    })
                })
                .transpose()
        })
    }
}
