//! `tuflog-bench-tough-update ROOT METADATA_URL TARGET`: a TUF client update with
//! tough, as a whole process, the peer of `tuflog update` in `--bench update`.
//!
//! It trusts the root in the file ROOT, runs tough's client workflow against the
//! repository at METADATA_URL over HTTP (the root chain, timestamp, snapshot and
//! targets, each verified), and exits 0 when TARGET is listed. tough's own HTTP
//! transport needs its `http` feature, which pulls a second TLS stack; this one is
//! the same reqwest client `tuflog` uses, so both sides fetch with one HTTP stack.
#![allow(clippy::print_stderr, missing_docs)]

use std::process::ExitCode;
use tough::{Transport, TransportError, TransportErrorKind, TransportStream};

/// tough's transport over reqwest. Every reply is read whole before it is handed on,
/// as tough reads every metadata file whole anyway.
#[derive(Clone, Debug, Default)]
struct ReqwestTransport(reqwest::Client);

#[async_trait::async_trait]
impl Transport for ReqwestTransport {
    async fn fetch(&self, url: url::Url) -> Result<TransportStream, TransportError> {
        let failed = |e: reqwest::Error| {
            TransportError::new_with_cause(TransportErrorKind::Other, url.clone(), e)
        };
        let resp = self.0.get(url.clone()).send().await.map_err(failed)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(TransportError::new(TransportErrorKind::FileNotFound, url));
        }
        let body = resp
            .error_for_status()
            .map_err(failed)?
            .bytes()
            .await
            .map_err(failed)?;
        Ok(Box::pin(futures_util::stream::once(
            async move { Ok(body) },
        )))
    }
}

async fn update(root: &str, metadata: &str, target: &str) -> Result<bool, String> {
    let root = std::fs::read(root).map_err(|e| format!("reading {root}: {e}"))?;
    let metadata = url::Url::parse(metadata).map_err(|e| format!("{metadata}: {e}"))?;
    let repo = tough::RepositoryLoader::new(&root, metadata.clone(), metadata)
        .transport(ReqwestTransport::default())
        .load()
        .await
        .map_err(|e| format!("tough: {e}"))?;
    let name = tough::TargetName::new(target).map_err(|e| format!("{target}: {e}"))?;
    Ok(repo.targets().signed.targets.contains_key(&name))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, metadata, target] = args.as_slice() else {
        eprintln!("usage: tuflog-bench-tough-update ROOT METADATA_URL TARGET");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("starting a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(update(root, metadata, target)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("{target} is not listed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
