//! What a daemon says about itself as it runs: log lines on stderr (text or JSON,
//! filtered by `RUST_LOG`, default `info`) and, when an OpenTelemetry collector is
//! configured, its spans exported over OTLP.
//!
//! Export is off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: the standard variables, read by the
//! OTLP exporter itself, as are `OTEL_SERVICE_NAME` and the batch settings
//! (`OTEL_BSP_*`). Spans go over HTTP with protobuf bodies (`/v1/traces`), in
//! batches from a thread of their own, so a slow collector never slows a request.

use std::io::IsTerminal;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The variables that turn export on.
const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// Flushes the spans not yet exported when the daemon ends.
#[must_use = "spans still batched are lost unless this lives until the daemon ends"]
pub struct Telemetry {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("exporting the last spans failed: {e}");
            }
        }
    }
}

/// Installs the process's subscriber: logs in `json` or text, and spans exported
/// as `service` when a collector is configured. A misconfigured exporter is said
/// on stderr and leaves the logs working.
pub fn init(json: bool, service: &str) -> Telemetry {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match json {
        true => logs.json().boxed(),
        false => logs.with_ansi(std::io::stderr().is_terminal()).boxed(),
    };
    let configured = ENDPOINT_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    let provider = match configured {
        true => match provider(service) {
            Ok(provider) => Some(provider),
            Err(e) => {
                eprintln!("tracing export is configured but cannot start: {e}");
                None
            }
        },
        false => None,
    };
    let spans = provider.as_ref().map(|p| {
        use opentelemetry::trace::TracerProvider as _;
        tracing_opentelemetry::layer().with_tracer(p.tracer("tuflog"))
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .with(filter)
        .init();
    Telemetry { provider }
}

fn provider(
    service: &str,
) -> Result<opentelemetry_sdk::trace::SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| service.to_string());
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(name)
                .build(),
        )
        .build())
}
