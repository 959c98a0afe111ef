//! Reading a log over its HTTP routes: the checkpoint, entry bundles and hash tiles
//! (C2SP tlog-tiles), and metadata by content. Every read is bounded.

use crate::Error;
use edge::Http;
use std::collections::HashMap;
use std::sync::Mutex;
use tlog::tile::{parse_bundle_for, TilePath, MAX_BUNDLE_ENTRIES, MAX_ENTRY_BYTES};
use tlog::{Tile, TileSource};
use tuf::logentry::{parse_metadata_bundle, Bundled, MAX_METADATA_BUNDLE_BYTES};

/// Largest entry bundle read: a full bundle of the largest entries.
pub const MAX_BUNDLE_BYTES: u64 = (MAX_BUNDLE_ENTRIES * (2 + MAX_ENTRY_BYTES)) as u64;

/// Largest metadata document fetched for an entry, whatever length it claims.
pub const MAX_METADATA_BYTES: u64 = 32 << 20;

/// Largest peer answer to `GET /gossip/checkpoints`.
pub const MAX_GOSSIP_BYTES: u64 = 256 << 10;

/// Rounds of tile fetching a proof computation may take (each round fetches every
/// tile the last attempt found missing).
const MAX_TILE_ROUNDS: usize = 8;

/// Most hash tiles one proof computation may fetch. A consistency proof over any
/// u64-sized tree touches at most two tiles per tile level (8 levels of tiles),
/// plus their partial forms: a computation that wants more is not a proof.
pub const MAX_TILES_PER_PROOF: usize = 64;

/// What the log answered for an entry's metadata.
#[derive(Debug)]
pub enum Served {
    /// These bytes.
    Bytes(Vec<u8>),
    /// Nothing: 404.
    NotServed,
    /// More bytes than the entry commits to.
    Oversized,
}

/// One log, read over HTTP.
#[derive(Clone, Debug)]
pub struct LogClient {
    base: String,
    http: Http,
}

impl LogClient {
    /// The log served at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, http: Http) -> Self {
        LogClient {
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }

    /// The log's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get(&self, path: &str, max: u64) -> Result<Option<Vec<u8>>, Error> {
        let url = format!("{}/{path}", self.base);
        self.http
            .get(&url, max)
            .await
            .map_err(|e| Error::fetch(&url, e))
    }

    async fn need(&self, path: &str, max: u64) -> Result<Vec<u8>, Error> {
        self.get(path, max)
            .await?
            .ok_or_else(|| Error::fetch(&format!("{}/{path}", self.base), "not found"))
    }

    /// The latest signed checkpoint, unverified.
    pub async fn checkpoint(&self) -> Result<Vec<u8>, Error> {
        self.need("log/checkpoint", tlog::note::MAX_NOTE_BYTES as u64)
            .await
    }

    /// The entries of bundle `tile`.
    pub async fn bundle(&self, tile: Tile) -> Result<Vec<Vec<u8>>, Error> {
        let path = format!("log/{}", TilePath::Entries(tile));
        let bytes = self.need(&path, MAX_BUNDLE_BYTES).await?;
        Ok(parse_bundle_for(&tile, &bytes)?)
    }

    /// The metadata with SHA-256 `sha256_hex`, reading at most `max` bytes.
    pub async fn metadata(&self, sha256_hex: &str, max: u64) -> Result<Served, Error> {
        let url = format!("{}/metadata/sha256/{sha256_hex}", self.base);
        match self.http.get(&url, max.min(MAX_METADATA_BYTES)).await {
            Ok(Some(bytes)) => Ok(Served::Bytes(bytes)),
            Ok(None) => Ok(Served::NotServed),
            Err(edge::Error::TooLarge { .. }) => Ok(Served::Oversized),
            Err(e) => Err(Error::fetch(&url, e)),
        }
    }

    /// The metadata bundle of entry bundle `tile` (tuflog's extension to the tile
    /// API); `None` when the log does not serve bundles.
    pub async fn metadata_bundle(&self, tile: Tile) -> Result<Option<Vec<Bundled>>, Error> {
        let path = TilePath::Entries(tile).to_string();
        let path = format!(
            "metadata/bundle/{}",
            path.strip_prefix("tile/entries/").unwrap_or(&path)
        );
        let max = (MAX_METADATA_BUNDLE_BYTES + 4 * MAX_BUNDLE_ENTRIES) as u64;
        let Some(bytes) = self.get(&path, max).await? else {
            return Ok(None);
        };
        parse_metadata_bundle(&bytes, usize::from(tile.width()))
            .map(Some)
            .map_err(|e| Error::fetch(&format!("{}/{path}", self.base), e))
    }

    /// The body of hash tile `tile`.
    pub async fn tile(&self, tile: Tile) -> Result<Vec<u8>, Error> {
        let body = self
            .need(&format!("log/{}", tile.path()), tile.byte_len() as u64)
            .await?;
        if body.len() != tile.byte_len() {
            return Err(Error::fetch(
                &format!("{}/log/{}", self.base, tile.path()),
                format!("{} bytes, want {}", body.len(), tile.byte_len()),
            ));
        }
        Ok(body)
    }

    /// Computes `f` over the log's hash tiles for a tree of `size`, fetching the
    /// tiles it needs as it finds them missing.
    pub async fn with_tiles<T>(
        &self,
        size: u64,
        f: impl Fn(&tlog::tile::TileHashReader<'_, RemoteTiles>) -> tlog::Result<T>,
    ) -> Result<T, Error> {
        let tiles = RemoteTiles::default();
        let mut fetched = 0usize;
        for _ in 0..MAX_TILE_ROUNDS {
            let reader = tlog::tile::TileHashReader::new(size, &tiles);
            let result = f(&reader);
            let missing = tiles.take_missing();
            if missing.is_empty() {
                return Ok(result?);
            }
            fetched += missing.len();
            if fetched > MAX_TILES_PER_PROOF {
                return Err(Error::fetch(
                    &self.base,
                    format!("a proof wanting more than {MAX_TILES_PER_PROOF} tiles"),
                ));
            }
            for tile in missing {
                let body = self.tile(tile).await?;
                tiles.insert(tile, body);
            }
        }
        Err(Error::fetch(&self.base, "too many rounds of tile fetching"))
    }
}

/// Tiles fetched so far; a read of any other tile fails and records it.
#[derive(Default)]
pub struct RemoteTiles {
    have: Mutex<HashMap<Tile, Vec<u8>>>,
    missing: Mutex<Vec<Tile>>,
}

impl RemoteTiles {
    fn insert(&self, tile: Tile, body: Vec<u8>) {
        self.have
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tile, body);
    }

    fn take_missing(&self) -> Vec<Tile> {
        let mut m = std::mem::take(&mut *self.missing.lock().unwrap_or_else(|p| p.into_inner()));
        m.sort();
        m.dedup();
        m
    }
}

impl TileSource for RemoteTiles {
    fn read_tiles(&self, tiles: &[Tile]) -> tlog::Result<Vec<Vec<u8>>> {
        let have = self.have.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::with_capacity(tiles.len());
        let mut missing = Vec::new();
        for t in tiles {
            match have.get(t) {
                Some(body) => out.push(body.clone()),
                None => missing.push(*t),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let first = missing[0];
        self.missing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(missing);
        Err(tlog::Error::MalformedTile(format!(
            "{} not fetched yet",
            first.path()
        )))
    }
}
