//! Logging and tracing. Logs go to stderr (colours only on a terminal); SQL statements are
//! never logged at INFO, and bound values never at all.
//!
//! Spans: each HTTP request is one `request` span (request id, operation, type, cost, code;
//! see [`crate::http`]), each batched load one `load` span inside it, and each SQL statement a
//! span inside whichever of them sent it. When `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans are exported over OTLP (HTTP/protobuf,
//! batched on the tokio runtime); the SDK reads the other standard `OTEL_*` variables itself
//! (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_BSP_SCHEDULE_DELAY`, ...). Without an endpoint nothing is exported and nothing of
//! OpenTelemetry runs.

use std::{
    borrow::Cow,
    io::IsTerminal,
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use opentelemetry::{
    KeyValue,
    propagation::{Extractor, TextMapPropagator},
    trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    runtime,
    trace::{SdkTracer, SdkTracerProvider, span_processor_with_async_runtime::BatchSpanProcessor},
};
use sea_orm::DbBackend;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    EnvFilter, Layer, filter::Targets, fmt, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::config::Config;

/// The tracer SQL statement spans are made with, when exporting.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// How long exiting waits for the last spans to be exported.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// Longest statement text put on a span.
const MAX_STATEMENT_CHARS: usize = 2_000;

/// The running telemetry; [`Telemetry::shutdown`] exports what is still buffered.
#[must_use = "shut telemetry down at exit, or buffered spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports the spans still buffered and stops the exporter, waiting at most
    /// [`SHUTDOWN_WAIT`]: an unreachable collector must not hold the process up.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            // The SDK blocks on its worker, which runs on this runtime: not on a worker thread.
            let flush = tokio::task::spawn_blocking(move || provider.shutdown());
            let _ = tokio::time::timeout(SHUTDOWN_WAIT, flush).await;
        }
    }
}

/// Starts the global tracing subscriber (logs go to stderr) and, when an OTLP endpoint is
/// configured, the span exporter. Must run inside the tokio runtime.
pub fn init(config: &Config) -> Telemetry {
    // sqlx and sea_orm would log statements (and with them content) at INFO/DEBUG.
    let filter = EnvFilter::try_new(format!("{},sqlx=warn,sea_orm=warn", config.log))
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let logs = if config.log_json {
        // The current span's fields once ("span"), not again in a list of every open span.
        logs.json()
            .with_span_list(false)
            .with_filter(filter)
            .boxed()
    } else {
        logs.with_filter(filter).boxed()
    };
    let (provider, failure) = match exporter() {
        Ok(provider) => (provider, None),
        Err(err) => (None, Some(err)),
    };
    let spans = provider.as_ref().map(|provider| {
        let tracer = provider.tracer("annals");
        let _ = TRACER.set(tracer.clone());
        // Annals' own spans, whatever the log filter says.
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(Targets::new().with_target("annals", tracing::Level::INFO))
    });
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init();
    if let Some(err) = failure {
        tracing::warn!(error = %err, "cannot export traces over OTLP; continuing without");
    }
    Telemetry { provider }
}

/// Whether a standard OTLP endpoint variable is set (and the SDK is not disabled).
fn otlp_configured() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// The tracer provider exporting over OTLP/HTTP, or `None` when no endpoint is configured.
fn exporter() -> Result<Option<SdkTracerProvider>, String> {
    if !otlp_configured() {
        return Ok(None);
    }
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()
        .map_err(|err| err.to_string())?;
    let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
    let mut resource = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name("annals");
    }
    let resource = resource
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(Some(
        SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource)
            .build(),
    ))
}

/// Reads a W3C `traceparent` from `headers` into `span`, so a caller's trace continues
/// here (only when exporting).
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if TRACER.get().is_none() || !headers.contains_key("traceparent") {
        return;
    }
    struct Headers<'a>(&'a axum::http::HeaderMap);
    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// Exports a span for one SQL statement that has just finished after `elapsed`, as a child of
/// the current span (a `load` or the `request`). The statement runs before the span can be
/// made (sea-orm reports it afterwards), so the span is made with explicit start and end
/// times. Statements outside any exported span (migrations, background work) get none.
pub fn statement_span(backend: DbBackend, sql: &str, elapsed: Duration, failed: bool) {
    let Some(tracer) = TRACER.get() else {
        return;
    };
    let parent = tracing::Span::current().context();
    if !parent.span().span_context().is_valid() {
        return;
    }
    let end = SystemTime::now();
    let start = end.checked_sub(elapsed).unwrap_or(end);
    let kind = crate::metrics::statement_kind(sql);
    let system = match backend {
        DbBackend::Postgres => "postgresql",
        DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    };
    let text: String = sql.chars().take(MAX_STATEMENT_CHARS).collect();
    let mut span = tracer
        .span_builder(Cow::Owned(kind.to_ascii_uppercase()))
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.operation.name", kind.to_ascii_uppercase()),
            KeyValue::new("db.query.text", text),
        ])
        .start_with_context(tracer, &parent);
    if failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}
