//! `tuflog-log-under-test --data-dir D [--origin O] [--listen ADDR]`: the log server
//! library behind its real router, plus `POST /test/append` (the body is one entry;
//! the reply is `{"index":I,"size":S}` once the entry is durable and checkpointed).
//!
//! Prints `listening <addr>` and `vkey <verifier key>` on stdout once serving.
#![allow(clippy::print_stdout)]

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use server::sequencer::{Append, Log};
use std::io::Write;
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let mut config = server::Config::default();
    let mut listen = "127.0.0.1:0".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data-dir" => config.data_dir = value.into(),
            "--origin" => config.origin = value,
            "--listen" => listen = value,
            "--max-batch-entries" => config.sequencer.max_batch_entries = value.parse()?,
            _ => bail!("unknown flag {flag}"),
        }
    }
    let server = server::Server::open(&config)?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let log = server.log().clone();
    let router = server.router(stopping).route(
        "/test/append",
        axum::routing::post(move |body: Bytes| append(log.clone(), body)),
    );
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening {}", listener.local_addr()?)?;
        writeln!(out, "vkey {}", server.verifier_key())?;
        out.flush()?;
    }
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stopping_tx.send(true);
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    server.log().shutdown();
    Ok(())
}

async fn append(log: Arc<Log>, body: Bytes) -> Response {
    let append = Append {
        entries: vec![body.to_vec()],
        ..Append::default()
    };
    match log.append(append).await {
        Ok(done) => serde_json::json!({"index": done.first_index, "size": done.checkpoint.size()})
            .to_string()
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}
