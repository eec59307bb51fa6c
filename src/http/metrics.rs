//! `GET /metrics`: every series of [`crate::metrics`] in the Prometheus text format, on the
//! main listener, or only on `ANNALS_METRICS_LISTEN` when that is set.

use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::AppState;

/// Reads the gauges that are sampled at scrape time.
pub type Gauges = Arc<dyn Fn() -> crate::metrics::Gauges + Send + Sync>;

/// The Prometheus text format's media type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// GET /metrics.
pub async fn handler(State(state): State<AppState>) -> Response {
    let body = crate::metrics::render(&(state.gauges)());
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))],
        body,
    )
        .into_response()
}

/// The router of the separate metrics listener: `/metrics` only.
pub fn router(state: AppState) -> Router {
    super::observed(
        Router::new()
            .route("/metrics", get(handler))
            .with_state(state),
    )
}
