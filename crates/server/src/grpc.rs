//! The gRPC surface of the log (`proto/tuflog/log/v1/log.proto`): the HTTP reads,
//! entries by index range, and a stream of new checkpoints for followers.

use crate::http::AppState;
use crate::{Error, ErrorKind};
use proto::log::v1 as pb;
use std::future::Future;
use std::time::Instant;
use tlog::tile::{Tile, TilePath, FULL_TILE_WIDTH};
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Largest gRPC request message decoded; every request of this API is a few
/// integers, so anything larger is refused before it is parsed.
pub const MAX_GRPC_REQUEST_BYTES: usize = 4096;

/// Checkpoints buffered per watcher before the forwarding task waits for it.
const WATCH_BUFFER: usize = 16;

/// The `tuflog.log.v1.Log` service.
#[derive(Clone)]
pub struct LogService {
    state: AppState,
    /// Becomes true when the server begins shutting down, ending every watch stream
    /// so graceful shutdown does not wait on followers.
    stopping: watch::Receiver<bool>,
}

impl LogService {
    /// A service over `state`, whose streams end when `stopping` turns true.
    pub fn new(state: AppState, stopping: watch::Receiver<bool>) -> Self {
        LogService { state, stopping }
    }

    /// The tonic server wrapper, ready to add to a router.
    pub fn into_server(self) -> pb::log_server::LogServer<Self> {
        pb::log_server::LogServer::new(self).max_decoding_message_size(MAX_GRPC_REQUEST_BYTES)
    }

    async fn observe<T, F>(&self, method: &'static str, f: F) -> Result<Response<T>, Status>
    where
        F: Future<Output = Result<T, Error>>,
    {
        observed(&self.state.metrics, method, f).await
    }
}

/// Runs one gRPC call, counting it and timing it by method and status code.
pub(crate) async fn observed<T, F>(
    metrics: &crate::metrics::Metrics,
    method: &'static str,
    f: F,
) -> Result<Response<T>, Status>
where
    F: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let result = f.await.map(Response::new).map_err(status);
    let code = match &result {
        Ok(_) => tonic::Code::Ok,
        Err(s) => s.code(),
    };
    metrics
        .grpc_requests_total
        .with_label_values(&[method, &format!("{code:?}")])
        .inc();
    metrics
        .grpc_request_duration_seconds
        .with_label_values(&[method])
        .observe(started.elapsed().as_secs_f64());
    result
}

pub(crate) fn status(e: Error) -> Status {
    let message = format!("[{}] {e}", e.code());
    match e.kind() {
        ErrorKind::InvalidRequest | ErrorKind::TooLarge | ErrorKind::Rejected => {
            Status::invalid_argument(message)
        }
        ErrorKind::Unauthenticated => Status::unauthenticated(message),
        ErrorKind::PermissionDenied => Status::permission_denied(message),
        ErrorKind::NotFound => Status::not_found(message),
        ErrorKind::Conflict => Status::failed_precondition(message),
        ErrorKind::Unavailable => Status::unavailable(message),
        _ => {
            tracing::error!(error = %e, "gRPC request failed");
            Status::internal(message)
        }
    }
}

fn tile_from(req: &pb::TileRequest) -> Result<Tile, Error> {
    let level = u8::try_from(req.level)
        .map_err(|_| Error::invalid(format!("level {} above 63", req.level)))?;
    let width = match req.width {
        0 => FULL_TILE_WIDTH,
        w => u16::try_from(w)
            .ok()
            .filter(|w| *w <= FULL_TILE_WIDTH)
            .ok_or_else(|| Error::invalid(format!("width {w} not in 1..=256")))?,
    };
    Tile::new(level, req.index, width).map_err(Error::invalid)
}

fn checkpoint_message(p: &crate::sequencer::Published) -> pb::Checkpoint {
    pb::Checkpoint {
        note: p.note.clone(),
        size: p.size(),
    }
}

fn hashes(hs: Vec<tlog::Hash>) -> Vec<Vec<u8>> {
    hs.into_iter().map(|h| h.as_bytes().to_vec()).collect()
}

#[tonic::async_trait]
impl pb::log_server::Log for LogService {
    async fn get_checkpoint(
        &self,
        _request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::Checkpoint>, Status> {
        self.observe("GetCheckpoint", async {
            Ok(checkpoint_message(&self.state.log.latest()))
        })
        .await
    }

    async fn get_tile(
        &self,
        request: Request<pb::TileRequest>,
    ) -> Result<Response<pb::TileData>, Status> {
        self.observe("GetTile", async {
            let tile = tile_from(request.get_ref())?;
            let data = self.state.log.tile(&TilePath::Hashes(tile))?;
            Ok(pb::TileData { data })
        })
        .await
    }

    async fn get_entry_bundle(
        &self,
        request: Request<pb::TileRequest>,
    ) -> Result<Response<pb::TileData>, Status> {
        self.observe("GetEntryBundle", async {
            let tile = tile_from(request.get_ref())?;
            if tile.level() != 0 {
                return Err(Error::invalid("entry bundles are at level 0"));
            }
            let data = self.state.log.tile(&TilePath::Entries(tile))?;
            Ok(pb::TileData { data })
        })
        .await
    }

    async fn get_entries(
        &self,
        request: Request<pb::GetEntriesRequest>,
    ) -> Result<Response<pb::Entries>, Status> {
        self.observe("GetEntries", async {
            let r = request.get_ref();
            let entries = self.state.log.entries(r.start, r.end)?;
            Ok(pb::Entries {
                start: r.start,
                entries,
            })
        })
        .await
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::InclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        self.observe("GetInclusionProof", async {
            let r = request.get_ref();
            let p = self.state.log.inclusion_proof(r.index, r.size)?;
            Ok(pb::InclusionProof {
                index: p.index,
                size: p.size,
                leaf_hash: p.leaf_hash.as_bytes().to_vec(),
                proof: hashes(p.proof),
            })
        })
        .await
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::ConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        self.observe("GetConsistencyProof", async {
            let r = request.get_ref();
            let p = self.state.log.consistency_proof(r.from, r.size)?;
            Ok(pb::ConsistencyProof {
                from: p.from,
                size: p.size,
                proof: hashes(p.proof),
            })
        })
        .await
    }

    type WatchCheckpointsStream = ReceiverStream<Result<pb::Checkpoint, Status>>;

    async fn watch_checkpoints(
        &self,
        request: Request<pb::WatchCheckpointsRequest>,
    ) -> Result<Response<Self::WatchCheckpointsStream>, Status> {
        let after = request.get_ref().after_size;
        let mut published = self.state.log.subscribe();
        let mut stopping = self.stopping.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(WATCH_BUFFER);
        tokio::spawn(async move {
            let mut last_sent = after;
            loop {
                let latest = published.borrow_and_update().clone();
                if latest.size() > last_sent {
                    last_sent = latest.size();
                    if tx.send(Ok(checkpoint_message(&latest))).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    changed = published.changed() => if changed.is_err() { return },
                    _ = stopping.wait_for(|s| *s) => break,
                    () = tx.closed() => return,
                }
            }
            // select! picks at random among ready branches, so shutdown can win
            // over a checkpoint published just before it. A watcher is owed every
            // checkpoint published before shutdown; the last one is offered
            // without waiting, so a reader that stopped reading cannot hold
            // shutdown up.
            let latest = published.borrow_and_update().clone();
            if latest.size() > last_sent {
                let _ = tx.try_send(Ok(checkpoint_message(&latest)));
            }
        });
        self.observe("WatchCheckpoints", async { Ok(ReceiverStream::new(rx)) })
            .await
    }
}
