-- tuflog's log and the metadata its entries commit to, on PostgreSQL.
--
-- Written to the subset of SQL that PostgreSQL-compatible distributed engines
-- (CockroachDB, YugabyteDB) also accept: bigint, bytea and text columns, primary
-- keys, ordinary indexes, INSERT ... ON CONFLICT, SELECT ... FOR UPDATE, unnest.
-- No sequences, triggers, advisory locks or LISTEN/NOTIFY.
--
-- Unsigned 64-bit integers of the log (indices, sizes) never exceed 2^63 - 1 and are
-- stored as they are; TUF versions are stored bit for bit in bigint (a version above
-- 2^63 - 1 reads as negative here) and no query orders by them.

-- Which server instance integrates, and the fencing token of its term: every write
-- of the log checks, in its own transaction, that the token it was granted is
-- still this one.
CREATE TABLE sequencer_lease (
    id smallint PRIMARY KEY CHECK (id = 1),
    holder text NOT NULL,
    address text NOT NULL,
    token bigint NOT NULL,
    expires_at timestamptz NOT NULL
);

-- The log after its last integrated batch: size, right-edge hashes (32 bytes
-- each, largest subtree first), and the signed checkpoint exactly as served.
CREATE TABLE log_state (
    id smallint PRIMARY KEY CHECK (id = 1),
    size bigint NOT NULL,
    frontier bytea NOT NULL,
    checkpoint bytea NOT NULL
);

-- The batch being signed, kept until it is committed (see LogStore::stage).
CREATE TABLE staged_batch (
    id smallint PRIMARY KEY CHECK (id = 1),
    batch bytea NOT NULL
);

CREATE TABLE entries (
    idx bigint PRIMARY KEY,
    entry bytea NOT NULL
);

-- Tree hashes by level and index (RFC 9162 subtrees of 2^level leaves).
CREATE TABLE nodes (
    level smallint NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Metadata files, each beside the entry that logs it, found by content too.
CREATE TABLE metadata (
    idx bigint PRIMARY KEY,
    sha256 bytea NOT NULL,
    bytes bytea NOT NULL
);
CREATE INDEX metadata_by_sha256 ON metadata (sha256);

CREATE TABLE role_versions (
    repo text COLLATE "C" NOT NULL,
    role text COLLATE "C" NOT NULL,
    version bigint NOT NULL,
    sha256 bytea NOT NULL,
    idx bigint NOT NULL,
    PRIMARY KEY (repo, role, version)
);

-- The highest committed version of each role.
CREATE TABLE role_heads (
    repo text COLLATE "C" NOT NULL,
    role text COLLATE "C" NOT NULL,
    version bigint NOT NULL,
    sha256 bytea NOT NULL,
    idx bigint NOT NULL,
    PRIMARY KEY (repo, role)
);

-- A small map for parties beside the log (KvStore).
CREATE TABLE kv (
    key bytea PRIMARY KEY,
    value bytea NOT NULL
);
