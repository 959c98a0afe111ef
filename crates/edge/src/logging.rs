//! Logs on stderr through `tracing`, filtered by `RUST_LOG` (default `info`), as
//! text for people or as one JSON object a line for collectors.

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Text, with ANSI colours only when stderr is a terminal.
    Text,
    /// One JSON object a line.
    Json,
}

/// Installs the process's subscriber. Colour codes go only to a terminal: a log
/// file or a collector reading stderr gets plain text.
pub fn init(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
}
