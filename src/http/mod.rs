//! The HTTP layer: the axum router, the GraphQL-over-HTTP handlers, and the hardened server
//! loop.

pub mod caching;
pub mod fanout;
pub mod graphiql;
pub mod graphql;
pub mod metrics;
pub mod request;
pub mod server;
pub mod ws;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, Request, StatusCode},
    routing::get,
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{
        CompressionLayer,
        predicate::{DefaultPredicate, Predicate, SizeAbove},
    },
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tracing::{Span, field::Empty};

use crate::{config::Config, graphql::execute::Executor};

/// Responses smaller than this are sent uncompressed (compressing them saves nothing).
pub const COMPRESS_FROM_BYTES: u16 = 1024;

/// The header carrying each request's id (set if the client did not send one).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    /// Runs GraphQL requests for every transport (schema, permits, time budget, cost).
    pub executor: Executor,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The open WebSocket connections, closed and awaited on shutdown.
    pub sockets: ws::Sockets,
    /// Shared executions of identical subscriptions.
    pub fanout: fanout::Fanout,
    /// Reads the gauges `/metrics` shows (pool, sockets, subscriptions, permits).
    pub gauges: metrics::Gauges,
    /// Whether the database can serve (`/readyz`).
    pub readiness: Readiness,
    /// The content version this process knows (ETags, the response cache).
    pub version: crate::cache::ContentVersion,
    /// Anonymous query answers kept in memory; `None` when off.
    pub responses: Option<Arc<crate::cache::ResponseCache>>,
}

/// Checks that the service can serve: `Ok` with more to say (one line per read replica),
/// `Err` says why not, in a line for an operator.
pub type Readiness =
    Arc<dyn Fn() -> futures::future::BoxFuture<'static, Result<String, String>> + Send + Sync>;

/// How long `/readyz` waits for the database before answering 503.
pub const READY_DEADLINE: Duration = Duration::from_secs(1);

/// When a request arrived, stamped before any other layer runs: the time budget of a
/// GraphQL request runs from here, so reading the body and queueing count against it.
#[derive(Debug, Clone, Copy)]
pub struct Arrived(pub tokio::time::Instant);

/// Stamps [`Arrived`] on every request.
async fn stamp_arrival(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    request
        .extensions_mut()
        .insert(Arrived(tokio::time::Instant::now()));
    next.run(request).await
}

/// Builds the router: `/` (GraphiQL), `/graphql` (GET and POST), `/graphql/ws`, `/healthz`,
/// `/readyz`, and `/metrics` unless it has a listener of its own ([`metrics::router`]).
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let body_limit = config.limits.body_bytes;
    // Responses worth compressing: GraphQL answers and the GraphiQL page and assets (4 MB,
    // about 1 MB gzipped), by the client's Accept-Encoding, from 1 KiB up. Not the WebSocket
    // upgrade, and not the probes.
    let compressed = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .merge(graphiql::routes())
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .zstd(true)
                .no_deflate()
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_FROM_BYTES))),
        )
        .layer(axum::middleware::map_response(caching::etag_per_encoding));
    let mut app = Router::new()
        .merge(compressed)
        .route("/graphql/ws", get(ws::handler))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if config.metrics_listen.is_none() {
        app = app.route("/metrics", get(metrics::handler));
    }
    let mut app = app
        .with_state(state)
        // The GraphQL handler reads its body through this limit and answers 413 itself, with a
        // GraphQL error naming the limit; no handler reads more than this.
        .layer(DefaultBodyLimit::max(body_limit));
    if !config.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = config
            .cors_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    axum::http::header::CONTENT_TYPE,
                    axum::http::header::AUTHORIZATION,
                    HeaderName::from_static(crate::graphql::reads::MIN_LSN_HEADER),
                ])
                // Browser clients must be able to read a mutation's commit position.
                .expose_headers([HeaderName::from_static(
                    crate::graphql::reads::MIN_LSN_HEADER,
                )])
                .max_age(Duration::from_secs(600)),
        );
    }
    observed(app.layer(CatchPanicLayer::new()))
}

/// Wraps `app` in a request id (the client's `X-Request-Id`, else a new UUID, echoed back),
/// a `request` span per request, and one access log line when the response starts.
pub(crate) fn observed(app: Router) -> Router {
    app.layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(access_log)
                // The access line already says 5xx; internal errors are logged where they happen.
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn(stamp_arrival))
}

/// One request's span: method, path and request id now; the GraphQL operation's name, type,
/// cost and code once it has run ([`crate::graphql::execute`] records them), and the status.
fn request_span<B>(request: &Request<B>) -> Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
        operation = Empty,
        operation_type = Empty,
        cost = Empty,
        code = Empty,
        status = Empty,
    );
    crate::telemetry::continue_trace(&span, request.headers());
    span
}

/// The access log: one INFO line per request (target `annals::access`), inside its span.
fn access_log<B>(response: &axum::http::Response<B>, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    span.record("status", status);
    // The status is on the span with the rest, so the line says each thing once.
    tracing::info!(
        target: "annals::access",
        parent: span,
        duration_ms = latency.as_micros() as f64 / 1000.0,
        "request"
    );
}

/// Liveness: answers 200 while the process serves requests (the database is not asked).
async fn healthz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

/// Readiness: 200 when the database answers within [`READY_DEADLINE`] and its migrations are
/// current; otherwise 503 with the reason and `Retry-After`.
async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let verdict = match tokio::time::timeout(READY_DEADLINE, (state.readiness)()).await {
        Ok(verdict) => verdict,
        Err(_) => Err(format!(
            "the database did not answer within {} ms",
            READY_DEADLINE.as_millis()
        )),
    };
    match verdict {
        Ok(details) => (StatusCode::OK, format!("ready\n{details}")).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(crate::error::RETRY_AFTER_SECS),
            )],
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}
