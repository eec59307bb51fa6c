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
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{config::Config, graphql::execute::Executor};

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
    /// Whether the database can serve (`/readyz`).
    pub readiness: Readiness,
}

/// Checks that the service can serve: `Err` says why not, in a line for an operator.
pub type Readiness =
    Arc<dyn Fn() -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync>;

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
/// `/readyz`.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let body_limit = config.limits.body_bytes;
    let mut app = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::handler))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(graphiql::routes())
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
        .layer(axum::middleware::from_fn(stamp_arrival))
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
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
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
