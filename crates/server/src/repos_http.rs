//! The repository routes of the HTTP surface (paths are a contract, docs/PROTOCOL.md):
//!
//! ```text
//! GET  /repos/{repo}/keys                          online public keys
//! GET  /repos/{repo}/keys?next                     the next generation's, to rotate them
//! GET  /repos/{repo}/metadata/{n}.{role}.json      a version, exact bytes
//! GET  /repos/{repo}/metadata/{role}.json          the latest version
//! POST /repos/{repo}/metadata                      push (multipart/form-data)
//! GET  /repos/{repo}/proof/{n}.{role}.json?from=M  proof bundle
//! GET  /repos/{repo}/proof/{n}.{role}.tlog-proof   the same, as a C2SP tlog-proof
//! GET  /metadata/sha256/{hex}                      any logged version, by content
//! ```
//!
//! A repository name has slashes in it, so the routes are parsed from the right:
//! the last segment is a file name (or `keys`, or `metadata` for a push), and the
//! one before it says which kind. Names cannot contain the reserved segments, so a
//! path reads one way only. The path is split as sent, before percent-decoding: a
//! role name is one segment with its `/` quoted (`../x` is `1...%2Fx.json`, as
//! python-tuf names it), decoded only once it is split off.

use crate::http::{cached, cached_as, etag_of, params, AppState, CHECKPOINT_CACHE, IMMUTABLE};
use crate::pack_cache::{CachedPack, PackKey};
use crate::repos::name::RepoName;
use crate::repos::{add_file, file_limit, ProofBundle, PushReceipt};
use crate::Error;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use percent_encoding::percent_decode_str;
use tlog::decimal::DecimalFlaw;
use tuf::repository::Push;
use wire::JsonLine;

/// Largest push body. Per-file limits ([`tuf::repository::PushLimits`]) are checked
/// as each file is read; this bounds the whole request.
pub const MAX_PUSH_BYTES: usize = 32 << 20;

/// The repository routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/repos/{*rest}",
            get(get_repo_path)
                .post(post_repo_path)
                .layer(DefaultBodyLimit::max(MAX_PUSH_BYTES)),
        )
        .route("/metadata/sha256/{hex}", get(blob))
        .route("/metadata/bundle/{*path}", get(metadata_bundle))
}

/// `GET /metadata/bundle/{N}[.p/{W}]`: the metadata of entry bundle N, for monitors
/// (tuflog's extension to the tile API; the path is the entry bundle's).
async fn metadata_bundle(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let parsed =
        tlog::tile::TilePath::parse(&format!("tile/entries/{path}")).map_err(Error::invalid)?;
    let tlog::tile::TilePath::Entries(tile) = parsed else {
        return Err(Error::invalid(format!(
            "{path:?} is not an entry bundle path"
        )));
    };
    let body = state.log.metadata_bundle(&tile)?;
    Ok(cached(
        &headers,
        body,
        "application/octet-stream",
        IMMUTABLE,
    ))
}

/// A metadata file name: `{n}.{role}.json` or `{role}.json`, role percent-encoded.
fn parse_file(file: &str) -> Result<(String, Option<u64>), Error> {
    let stem = file
        .strip_suffix(".json")
        .ok_or_else(|| Error::NotFound(format!("{file:?} is not a metadata file name")))?;
    let (version, role) = match stem.split_once('.') {
        Some((n, role)) => match tlog::decimal::parse_canonical(n) {
            Ok(v) => (Some(v), role),
            Err(DecimalFlaw::TooLarge) => {
                return Err(Error::invalid(format!("version {n} out of range")))
            }
            // `01.root.json` is the file of a role named `01.root`.
            Err(DecimalFlaw::NotCanonical) => (None, stem),
        },
        None => (None, stem),
    };
    let role = percent_decode_str(role)
        .decode_utf8()
        .map_err(|_| Error::invalid(format!("role in {file:?} is not UTF-8")))?
        .into_owned();
    if role.is_empty() {
        return Err(Error::invalid(format!("{file:?} names no role")));
    }
    Ok((role, version))
}

fn split_last(path: &str) -> Option<(&str, &str)> {
    path.rsplit_once('/')
}

async fn get_repo_path(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let rest = uri.path().strip_prefix("/repos/").unwrap_or_default();
    let no_route = || Error::NotFound(format!("no route for GET /repos/{rest}"));
    let (head, last) = split_last(rest).ok_or_else(no_route)?;
    let head = &percent_decode_str(head)
        .decode_utf8()
        .map_err(|_| Error::invalid(format!("{head:?} is not UTF-8")))?;
    if last == "keys" {
        let repo = RepoName::new(head)?;
        let keys = match query.as_deref() {
            None | Some("") => state.repos.keys(&repo).await?,
            Some("next") => state.repos.next_keys(&repo).await?,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "GET /repos/{{repo}}/keys takes no query or `?next`, not {other:?}"
                )))
            }
        };
        let body = wire::replies::OnlineKeys {
            repo: repo.as_str().to_string(),
            snapshot: wire::replies::OnlineKey {
                keyid: keys.snapshot_keyid,
                key: keys.snapshot,
            },
            timestamp: wire::replies::OnlineKey {
                keyid: keys.timestamp_keyid,
                key: keys.timestamp,
            },
            generation: keys.generation,
        };
        return Ok(cached(
            &headers,
            body.to_json_line(),
            "application/json",
            CHECKPOINT_CACHE,
        ));
    }
    if last == "update" {
        return update_pack(&state, head, query.as_deref(), &headers).await;
    }
    let (repo, kind) = split_last(head).ok_or_else(no_route)?;
    let repo = RepoName::new(repo)?;
    if let Some(stem) = last.strip_suffix(".tlog-proof").filter(|_| kind == "proof") {
        let (role, version) = parse_file(&format!("{stem}.json"))?;
        let version = version.ok_or_else(|| {
            Error::invalid("a proof names a version: proof/{n}.{role}.tlog-proof")
        })?;
        let b = state
            .repos
            .proof_bundle(&repo, &role, version, None)
            .await?;
        return Ok(cached(
            &headers,
            b.tlog_proof_text(),
            "text/plain; charset=utf-8",
            CHECKPOINT_CACHE,
        ));
    }
    let (role, version) = parse_file(last)?;
    match kind {
        "metadata" => {
            let bytes = state.repos.metadata(&repo, &role, version).await?;
            // A numbered version never changes; the latest does with every push.
            let cache = if version.is_some() {
                IMMUTABLE
            } else {
                CHECKPOINT_CACHE
            };
            Ok(cached(&headers, bytes, "application/json", cache))
        }
        "proof" => {
            let version = version.ok_or_else(|| {
                Error::invalid("a proof bundle names a version: proof/{n}.{role}.json")
            })?;
            let from = match query.as_deref() {
                None | Some("") => None,
                q => Some(params(q, ["from"])?[0]),
            };
            let b = state
                .repos
                .proof_bundle(&repo, &role, version, from)
                .await?;
            Ok(cached(
                &headers,
                bundle_json(&b),
                "application/json",
                CHECKPOINT_CACHE,
            ))
        }
        _ => Err(no_route()),
    }
}

/// A proof bundle as `proof/{n}.{role}.json` serves it.
fn bundle_json(b: &ProofBundle) -> Vec<u8> {
    wire::ProofBundle::new(
        &b.entry,
        b.index,
        &String::from_utf8_lossy(&b.checkpoint.note),
        &b.inclusion,
        b.consistency.as_deref(),
    )
    .to_json_line()
}

/// `GET /repos/{repo}/update?root=N[&from=M]`: an update pack ([`wire::pack`]),
/// root versions from N on, then the latest timestamp, snapshot and targets, each
/// with its proof bundle (a consistency proof from M in each when given).
async fn update_pack(
    state: &AppState,
    repo: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, Error> {
    let repo = RepoName::new(repo)?;
    let names_from = query.is_some_and(|q| q.split('&').any(|p| p.starts_with("from=")));
    let (root, from) = if names_from {
        let [root, from] = params(query, ["root", "from"])?;
        (root, Some(from))
    } else {
        let [root] = params(query, ["root"])?;
        (root, None)
    };
    // Read before the pack is built, so a pack is never kept for a log size older
    // than its contents (see crate::pack_cache).
    let log_size = state.log.latest().size();
    let key = PackKey {
        repo: repo.as_str().to_owned(),
        root,
        from,
    };
    let served = |pack: &CachedPack, cache: &str| {
        state
            .metrics
            .update_packs_total
            .with_label_values(&[cache])
            .inc();
        cached_as(
            headers,
            pack.body.clone(),
            &pack.etag,
            "application/octet-stream",
            CHECKPOINT_CACHE,
        )
    };
    if let Some(pack) = state.packs.get(log_size, &key) {
        return Ok(served(&pack, "hit"));
    }
    let pack = state.repos.update_pack(&repo, root, from).await?;
    let bundles: Vec<Vec<u8>> = pack.files.iter().map(|f| bundle_json(&f.bundle)).collect();
    let files: Vec<wire::pack::PackFile<'_>> = pack
        .files
        .iter()
        .zip(&bundles)
        .map(|(f, bundle)| wire::pack::PackFile {
            role: f.role,
            version: f.version,
            metadata: &f.metadata,
            bundle,
        })
        .collect();
    let body = wire::pack::encode(pack.latest_root, &files).map_err(Error::invalid)?;
    let etag = etag_of(&body);
    let pack = CachedPack {
        body: body.into(),
        etag,
    };
    state.packs.put(log_size, key, pack.clone());
    Ok(served(&pack, "miss"))
}

async fn blob(
    State(state): State<AppState>,
    Path(hex_digest): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(&hex_digest, &mut digest)
        .map_err(|_| Error::invalid(format!("{hex_digest:?} is not 64 hex digits of a SHA-256")))?;
    let bytes = state.repos.blob(&digest).await?;
    Ok(cached(&headers, bytes, "application/json", IMMUTABLE))
}

fn multipart_error(e: MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge(format!("a push is at most {MAX_PUSH_BYTES} bytes"))
    } else {
        Error::invalid(format!("multipart body: {}", e.body_text()))
    }
}

/// Reads the push's parts, one per file named `{role}.json`, each within its
/// role's limit.
async fn read_push(state: &AppState, mut multipart: Multipart) -> Result<Push, Error> {
    let limits = state.repos.config().limits;
    let mut push = Push::default();
    let mut files = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field
            .name()
            .filter(|n| !n.is_empty())
            .or(field.file_name())
            .unwrap_or("")
            .to_string();
        let (role, version) = parse_file(&name)
            .map_err(|_| Error::invalid(format!("part {name:?}: parts are named {{role}}.json")))?;
        if version.is_some() {
            return Err(Error::invalid(format!(
                "part {name:?}: name parts {{role}}.json, without a version"
            )));
        }
        files += 1;
        if files > limits.max_documents {
            return Err(Error::TooLarge(format!(
                "more than {} files in one push",
                limits.max_documents
            )));
        }
        let limit = file_limit(&limits, &role);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if bytes.len() + chunk.len() > limit {
                return Err(Error::TooLarge(format!(
                    "{name} is larger than the {limit}-byte limit for {role}"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        add_file(&mut push, &role, bytes)?;
    }
    Ok(push)
}

async fn post_repo_path(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Error> {
    let repo = rest
        .strip_suffix("/metadata")
        .ok_or_else(|| Error::NotFound(format!("no route for POST /repos/{rest}")))?;
    let repo = RepoName::new(repo)?;
    // Authorise before reading the body: an unauthorised client costs nothing more.
    let token = state.tokens.authorize(
        headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()),
        &repo,
    )?;
    tracing::debug!(token, repo = %repo, "push authorised");
    let multipart = multipart.map_err(|e| {
        Error::invalid(format!(
            "a push is multipart/form-data with one part per {{role}}.json: {}",
            e.body_text()
        ))
    })?;
    let push = read_push(&state, multipart).await?;
    let receipt = state.repos.push(&repo, push).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        receipt_reply(&repo, &receipt).to_json_line(),
    )
        .into_response())
}

/// The push reply: every logged version with its entry, index and inclusion proof,
/// and the checkpoint they are proven against.
pub(crate) fn receipt_reply(repo: &RepoName, r: &PushReceipt) -> wire::PushReceipt {
    wire::PushReceipt {
        repo: repo.as_str().to_string(),
        checkpoint: String::from_utf8_lossy(&r.checkpoint.note).into_owned(),
        size: r.checkpoint.size(),
        entries: r
            .versions
            .iter()
            .map(|v| {
                wire::ReceiptEntry::new(&wire::receipt::Logged {
                    role: &v.role,
                    version: v.version,
                    index: v.inclusion.index,
                    sha256: &v.sha256,
                    length: v.length,
                    entry: &v.entry,
                    leaf_hash: &v.inclusion.leaf_hash,
                    inclusion: &v.inclusion.proof,
                })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_file;

    #[test]
    fn metadata_file_names() {
        assert_eq!(parse_file("3.root.json").unwrap(), ("root".into(), Some(3)));
        assert_eq!(
            parse_file("timestamp.json").unwrap(),
            ("timestamp".into(), None)
        );
        assert_eq!(parse_file("2.a%2Fb.json").unwrap(), ("a/b".into(), Some(2)));
        assert_eq!(
            parse_file("01.root.json").unwrap(),
            ("01.root".into(), None)
        );
        assert!(parse_file("root").is_err());
        assert!(parse_file(".json").is_err());
        assert!(parse_file("99999999999999999999.root.json").is_err());
    }
}
