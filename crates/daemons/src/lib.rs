//! The long-running tuflog processes, each a binary of its own: `tuflog-server`
//! (the log and the repository service), `tuflog-witness` and `tuflog-monitor`.
//! This library holds what the three share: their flags ([`args`]), the server's
//! configuration file ([`config`]), the others' ([`flag_file`]) and the shutdown
//! signal.
//!
//! The client command `tuflog` is another crate (`tuflog-cli`) that does not
//! depend on this one: RocksDB and the servers stay out of every client start, by
//! the dependency graph rather than by care. `tuflog server …` execs
//! `tuflog-server …` with the arguments untouched.
#![forbid(unsafe_code)]

pub mod args;
pub mod config;
pub mod flag_file;
pub mod telemetry;

/// SIGINT or SIGTERM; either starts a graceful shutdown (the server finishes the
/// batch in flight). The handlers are installed when this is called, not when the
/// future is first polled: a SIGTERM that arrived after the URLs were printed but
/// before `run` polled it used to kill the process outright (exit by signal,
/// nothing flushed), seen as a flaky `server_process` test.
pub fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context;
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down");
    })
}

/// Binds `address`, saying which address failed.
pub async fn bind(
    address: std::net::SocketAddr,
) -> anyhow::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    use anyhow::Context;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// What a daemon prints on stderr as it starts: a title, then one aligned
/// `label value` line each, what an operator copies (keys, URLs, paths).
pub fn announce(title: &str, lines: &[(&str, String)]) {
    eprintln!("{title}");
    for (label, value) in lines {
        eprintln!("  {label:<14} {value}");
    }
}
