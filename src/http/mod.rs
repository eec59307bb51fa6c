//! The HTTP layer: the axum router, the GraphQL-over-HTTP handlers, and the hardened server
//! loop.

pub mod fanout;
pub mod graphiql;
pub mod graphql;
pub mod server;
pub mod ws;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, StatusCode},
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
}

/// Builds the router: `/` (GraphiQL), `/graphql` (GET and POST), `/graphql/ws`, `/healthz`.
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
        );
    let mut app = Router::new()
        .merge(compressed)
        .route("/graphql/ws", get(ws::handler))
        .route("/healthz", get(healthz))
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
                ])
                .max_age(Duration::from_secs(600)),
        );
    }
    app.layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Liveness: answers 200 while the process serves requests.
async fn healthz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}
