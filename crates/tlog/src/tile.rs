//! C2SP tlog-tiles: tile coordinates and paths, what a tile holds, entry bundles, and
//! a [`HashReader`] that computes any stored hash from tiles alone.
//!
//! A tile at level `L` and index `N` holds up to 256 consecutive hashes of tree level
//! `8·L`: node `(8L, 256N + i)` for `i` below the tile's width. The levels in between
//! are recomputed by hashing.
//!
//! Tile bytes fetched from a server are untrusted. [`TileHashReader`] does not check
//! them against a root: a proof computed from bad tiles fails verification against
//! the signed checkpoint, which is the check that matters.

use crate::hash::{node_hash, Hash, HASH_LEN};
use crate::tree::{HashReader, NodeId};
use crate::{Error, Result};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Tree levels covered by one tile.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile (`2^TILE_HEIGHT`).
pub const FULL_TILE_WIDTH: u16 = 1 << TILE_HEIGHT;
/// The highest tile level the path syntax allows ("between 0 and 63").
pub const MAX_TILE_LEVEL: u8 = 63;
/// The longest tile path [`TilePath::parse`] looks at: 7 index groups, a level and a
/// width fit in well under this.
pub const MAX_TILE_PATH_BYTES: usize = 96;
/// The largest entry an entry bundle can carry: its length prefix is a uint16.
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;
/// Entries in a full bundle (one per level-0 hash of a full tile).
pub const MAX_BUNDLE_ENTRIES: usize = FULL_TILE_WIDTH as usize;

/// A hash tile: level, index within the level, and width (256 for a full tile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    level: u8,
    index: u64,
    width: u16,
}

impl Tile {
    /// A tile, with its coordinates checked.
    pub fn new(level: u8, index: u64, width: u16) -> Result<Self> {
        if level > MAX_TILE_LEVEL {
            return Err(Error::MalformedTile(format!("level {level} above 63")));
        }
        if width == 0 || width > FULL_TILE_WIDTH {
            return Err(Error::MalformedTile(format!(
                "width {width} not in 1..=256"
            )));
        }
        // The tile's first leaf, index * 256^(level+1), must fit in a u64.
        let first_leaf_shift = u32::from(TILE_HEIGHT) * (u32::from(level) + 1);
        let addressable = match u64::MAX.checked_shr(first_leaf_shift) {
            Some(max_index) => index <= max_index,
            None => index == 0,
        };
        if !addressable {
            return Err(Error::MalformedTile(format!(
                "tile {level}/{index} lies beyond any u64-sized tree"
            )));
        }
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// The widest tile at `(level, index)` that a tree of `size` leaves has, or `None`
    /// if the tree has no hash there yet. ("The partial tile at level l for a tree of
    /// size s has floor(s / 256**l) mod 256 entries.")
    pub fn for_tree_size(level: u8, index: u64, size: u64) -> Option<Self> {
        let shift = u32::from(TILE_HEIGHT) * u32::from(level);
        let hashes_at_level = size.checked_shr(shift).unwrap_or(0);
        let before = index.checked_mul(u64::from(FULL_TILE_WIDTH))?;
        let available = hashes_at_level.checked_sub(before)?;
        if available == 0 {
            return None;
        }
        let width = u16::try_from(available.min(u64::from(FULL_TILE_WIDTH))).ok()?;
        Tile::new(level, index, width).ok()
    }

    /// Tile level.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// Index within the level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Number of hashes held.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// True for a tile of 256 hashes.
    pub fn is_full(&self) -> bool {
        self.width == FULL_TILE_WIDTH
    }

    /// Size of the tile body in bytes.
    pub fn byte_len(&self) -> usize {
        usize::from(self.width) * HASH_LEN
    }

    /// The stored hashes this tile holds, in order: nodes `(8L, 256N + i)`.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        let level = self.level * TILE_HEIGHT;
        let first = self.index * u64::from(FULL_TILE_WIDTH);
        (0..u64::from(self.width)).map(move |i| NodeId::new(level, first + i))
    }

    /// The tile body: the hashes of [`Tile::node_ids`], concatenated.
    pub fn read_body(&self, reader: &impl HashReader) -> Result<Vec<u8>> {
        let ids: Vec<NodeId> = self.node_ids().collect();
        let hashes = reader.read_hashes(&ids)?;
        Ok(hashes.iter().flat_map(|h| h.0).collect())
    }

    /// The path below the log prefix: `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        TilePath::Hashes(*self).to_string()
    }
}

/// The 3-digit grouped encoding of a tile index: 1234067 is `x001/x234/067`.
fn encode_index(mut n: u64, out: &mut String) {
    let mut groups = Vec::with_capacity(7);
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            let _ = write!(out, "x{g:03}/");
        } else {
            let _ = write!(out, "{g:03}");
        }
    }
}

fn parse_decimal_no_leading_zero(s: &str, what: &str) -> Result<u64> {
    crate::decimal::parse_canonical(s)
        .map_err(|_| Error::MalformedTile(format!("{what} {s:?} is not a canonical decimal")))
}

/// A parsed tile-API path: a hash tile or an entry bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`
    Hashes(Tile),
    /// `tile/entries/<N>[.p/<W>]`: the entries under the level-0 tile of the same
    /// index and width.
    Entries(Tile),
}

impl TilePath {
    /// Parses a path below the log prefix, accepting only the canonical encoding.
    pub fn parse(path: &str) -> Result<Self> {
        if path.len() > MAX_TILE_PATH_BYTES {
            return Err(Error::MalformedTile("path too long".into()));
        }
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| Error::MalformedTile("path does not start with tile/".into()))?;
        let (kind, rest) = rest
            .split_once('/')
            .ok_or_else(|| Error::MalformedTile("path has no tile index".into()))?;
        let mut elems: Vec<&str> = rest.split('/').collect();
        // A partial tile ends in "<NNN>.p/<W>".
        let mut width = FULL_TILE_WIDTH;
        if elems.len() >= 2 {
            if let Some(stripped) = elems[elems.len() - 2].strip_suffix(".p") {
                let w = parse_decimal_no_leading_zero(elems[elems.len() - 1], "width")?;
                if w == 0 || w >= u64::from(FULL_TILE_WIDTH) {
                    return Err(Error::MalformedTile(format!(
                        "partial width {w} not in 1..=255"
                    )));
                }
                width = u16::try_from(w)
                    .map_err(|_| Error::MalformedTile(format!("partial width {w}")))?;
                elems.pop();
                let last = elems.len() - 1;
                elems[last] = stripped;
            }
        }
        let mut index: u64 = 0;
        for (i, elem) in elems.iter().enumerate() {
            let digits = if i + 1 < elems.len() {
                elem.strip_prefix('x').ok_or_else(|| {
                    Error::MalformedTile(format!("index element {elem:?} lacks its x"))
                })?
            } else {
                elem
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::MalformedTile(format!(
                    "index element {elem:?} is not three digits"
                )));
            }
            if i == 0 && i + 1 < elems.len() && digits == "000" {
                return Err(Error::MalformedTile(
                    "index has a leading zero group".into(),
                ));
            }
            let group: u64 = digits
                .parse()
                .map_err(|_| Error::MalformedTile(format!("bad index element {elem:?}")))?;
            index = index
                .checked_mul(1000)
                .and_then(|v| v.checked_add(group))
                .ok_or_else(|| Error::MalformedTile("index overflows u64".into()))?;
        }
        if kind == "entries" {
            return Ok(TilePath::Entries(Tile::new(0, index, width)?));
        }
        let level = parse_decimal_no_leading_zero(kind, "level")?;
        let level = u8::try_from(level)
            .map_err(|_| Error::MalformedTile(format!("level {level} above 63")))?;
        Ok(TilePath::Hashes(Tile::new(level, index, width)?))
    }
}

impl std::fmt::Display for TilePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (prefix, tile) = match self {
            TilePath::Hashes(t) => (t.level.to_string(), t),
            TilePath::Entries(t) => ("entries".to_string(), t),
        };
        let mut s = format!("tile/{prefix}/");
        encode_index(tile.index, &mut s);
        if !tile.is_full() {
            let _ = write!(s, ".p/{}", tile.width);
        }
        f.write_str(&s)
    }
}

/// Where tile bodies come from: an HTTP client, a cache, a test.
pub trait TileSource {
    /// The bodies of `tiles`, in the same order.
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>>;
}

/// Reads stored hashes of the tree of `size` leaves out of tiles, so proofs can be
/// computed by anyone holding the tiles (see the module docs on trust).
pub struct TileHashReader<'a, S: ?Sized> {
    size: u64,
    source: &'a S,
}

impl<'a, S: TileSource + ?Sized> TileHashReader<'a, S> {
    /// A reader over the tree of `size` leaves.
    pub fn new(size: u64, source: &'a S) -> Self {
        TileHashReader { size, source }
    }

    /// Where node `id` lives: the tile, the first of its hashes there, and how many
    /// tile hashes it spans.
    fn locate(&self, id: NodeId) -> Result<(Tile, usize, usize)> {
        if id.level > crate::tree::MAX_LEVEL
            || id
                .index
                .checked_add(1)
                .and_then(|n| n.checked_shl(id.level.into()))
                .is_none()
            || id.tree_size_needed() > self.size
        {
            return Err(Error::MissingHash(id));
        }
        let tile_level = id.level / TILE_HEIGHT;
        let within = id.level % TILE_HEIGHT;
        let first = id.index << within;
        let tile_index = first >> TILE_HEIGHT;
        let start = usize::try_from(first % u64::from(FULL_TILE_WIDTH))
            .map_err(|_| Error::MissingHash(id))?;
        let tile =
            Tile::for_tree_size(tile_level, tile_index, self.size).ok_or(Error::MissingHash(id))?;
        Ok((tile, start, 1usize << within))
    }
}

impl<S: TileSource + ?Sized> HashReader for TileHashReader<'_, S> {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        let located = ids
            .iter()
            .map(|&id| self.locate(id))
            .collect::<Result<Vec<_>>>()?;
        let mut tiles: Vec<Tile> = located.iter().map(|(t, _, _)| *t).collect();
        tiles.sort();
        tiles.dedup();
        let bodies = self.source.read_tiles(&tiles)?;
        if bodies.len() != tiles.len() {
            return Err(Error::MalformedTile(format!(
                "asked for {} tiles, got {}",
                tiles.len(),
                bodies.len()
            )));
        }
        let mut by_tile: HashMap<Tile, Vec<Hash>> = HashMap::with_capacity(tiles.len());
        for (tile, body) in tiles.into_iter().zip(bodies) {
            if body.len() != tile.byte_len() {
                return Err(Error::MalformedTile(format!(
                    "{} is {} bytes, want {}",
                    tile.path(),
                    body.len(),
                    tile.byte_len()
                )));
            }
            let hashes = body
                .chunks_exact(HASH_LEN)
                .map(Hash::from_slice)
                .collect::<Result<Vec<_>>>()?;
            by_tile.insert(tile, hashes);
        }
        located
            .into_iter()
            .map(|(tile, start, count)| {
                let hashes = by_tile
                    .get(&tile)
                    .ok_or_else(|| Error::MalformedTile(format!("{} missing", tile.path())))?;
                Ok(perfect_root(&hashes[start..start + count]))
            })
            .collect()
    }
}

/// The root of a complete subtree given its 2^k bottom hashes.
fn perfect_root(hashes: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level[0]
}

/// Encodes entries as an entry bundle: each prefixed by its length as a big-endian
/// uint16.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        if i >= MAX_BUNDLE_ENTRIES {
            return Err(Error::MalformedBundle(format!(
                "more than {MAX_BUNDLE_ENTRIES} entries"
            )));
        }
        let len = u16::try_from(entry.len()).map_err(|_| {
            Error::MalformedBundle(format!(
                "entry {i} is {} bytes, over the {MAX_ENTRY_BYTES}-byte limit",
                entry.len()
            ))
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries. Rejects truncated entries, and more than
/// [`MAX_BUNDLE_ENTRIES`] entries.
pub fn parse_bundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        if entries.len() == MAX_BUNDLE_ENTRIES {
            return Err(Error::MalformedBundle(format!(
                "more than {MAX_BUNDLE_ENTRIES} entries"
            )));
        }
        let (prefix, rest) = bytes
            .split_first_chunk::<2>()
            .ok_or_else(|| Error::MalformedBundle("truncated length prefix".into()))?;
        let len = usize::from(u16::from_be_bytes(*prefix));
        if rest.len() < len {
            return Err(Error::MalformedBundle(format!(
                "entry {} claims {len} bytes, {} remain",
                entries.len(),
                rest.len()
            )));
        }
        let (entry, rest) = rest.split_at(len);
        entries.push(entry);
        bytes = rest;
    }
    Ok(entries)
}

/// Parses the bundle at `tile` and checks it holds exactly `tile.width()` entries.
pub fn parse_bundle_for(tile: &Tile, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let entries = parse_bundle(bytes)?;
    if entries.len() != usize::from(tile.width()) {
        return Err(Error::MalformedBundle(format!(
            "{} holds {} entries, want {}",
            TilePath::Entries(*tile),
            entries.len(),
            tile.width()
        )));
    }
    Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> Result<TilePath> {
        TilePath::parse(p)
    }

    #[test]
    fn index_grouping_matches_the_spec_example() {
        let t = Tile::new(0, 1_234_067, 256).unwrap();
        assert_eq!(t.path(), "tile/0/x001/x234/067");
        assert_eq!(parse("tile/0/x001/x234/067").unwrap(), TilePath::Hashes(t));
        assert_eq!(Tile::new(2, 5, 17).unwrap().path(), "tile/2/005.p/17");
        assert_eq!(
            TilePath::Entries(Tile::new(0, 1000, 1).unwrap()).to_string(),
            "tile/entries/x001/000.p/1"
        );
        assert_eq!(
            parse("tile/entries/x001/000.p/1").unwrap(),
            TilePath::Entries(Tile::new(0, 1000, 1).unwrap())
        );
        let max = Tile::new(0, u64::MAX >> 8, 256).unwrap();
        assert_eq!(parse(&max.path()).unwrap(), TilePath::Hashes(max));
    }

    #[test]
    fn non_canonical_paths_are_rejected() {
        for bad in [
            "",
            "tile",
            "tile/0",
            "tile/0/",
            "tile/0/5",
            "tile/0/0005",
            "tile/00/005",
            "tile/-1/005",
            "tile/64/000",
            "tile/0/x000/005",
            "tile/0/001/005",
            "tile/0/x1/005",
            "tile/0/005.p/0",
            "tile/0/005.p/256",
            "tile/0/005.p/017",
            "tile/0/005.p/",
            "tile/0/005.p",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/entries/005.p/300",
            "tiles/0/005",
            "tile/0/00a",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn partial_tile_widths_follow_the_spec_example() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one
        // partial level 0 tile of width 112, one full level 1 tile, one partial level
        // 1 tile of width 17, and one partial level 2 tile of width 1."
        let s = 70_000;
        assert!(Tile::for_tree_size(0, 272, s).unwrap().is_full());
        assert_eq!(Tile::for_tree_size(0, 273, s).unwrap().width(), 112);
        assert!(Tile::for_tree_size(0, 274, s).is_none());
        assert!(Tile::for_tree_size(1, 0, s).unwrap().is_full());
        assert_eq!(Tile::for_tree_size(1, 1, s).unwrap().width(), 17);
        assert_eq!(Tile::for_tree_size(2, 0, s).unwrap().width(), 1);
        assert!(Tile::for_tree_size(3, 0, s).is_none());
        // "a tree of size 256 will be represented by a full level 0 tile and a partial
        // level 1 tile of width 1."
        assert!(Tile::for_tree_size(0, 0, 256).unwrap().is_full());
        assert_eq!(Tile::for_tree_size(1, 0, 256).unwrap().width(), 1);
        assert!(Tile::for_tree_size(63, u64::MAX, u64::MAX).is_none());
    }

    #[test]
    fn a_tile_holds_the_hashes_of_its_level() {
        let t = Tile::new(1, 2, 3).unwrap();
        let ids: Vec<NodeId> = t.node_ids().collect();
        assert_eq!(
            ids,
            vec![
                NodeId::new(8, 512),
                NodeId::new(8, 513),
                NodeId::new(8, 514)
            ]
        );
    }

    #[test]
    fn bundles_round_trip_and_enforce_the_uint16_bound() {
        let entries: Vec<&[u8]> = vec![b"", b"a", &[7u8; 300]];
        let bytes = encode_bundle(entries.iter().copied()).unwrap();
        assert_eq!(&bytes[..2], &[0, 0]);
        assert_eq!(&bytes[2..5], &[0, 1, b'a']);
        assert_eq!(parse_bundle(&bytes).unwrap(), entries);
        let max = vec![0u8; MAX_ENTRY_BYTES];
        assert!(encode_bundle([max.as_slice()]).is_ok());
        let over = vec![0u8; MAX_ENTRY_BYTES + 1];
        assert!(encode_bundle([over.as_slice()]).is_err());
        assert!(parse_bundle(&bytes[..bytes.len() - 1]).is_err());
        assert!(parse_bundle(&[0]).is_err());
        let too_many = vec![0u8; 2 * (MAX_BUNDLE_ENTRIES + 1)];
        assert!(parse_bundle(&too_many).is_err());
        let tile = Tile::new(0, 0, 4).unwrap();
        assert!(parse_bundle_for(&tile, &bytes).is_err());
    }
}
