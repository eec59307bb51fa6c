//! The accept loop: hyper with a header-read timeout (against slowloris), a header-count
//! bound (431 beyond), WebSocket upgrades, and graceful shutdown.
//!
//! axum's own `serve` installs no header-read timeout, so connections are served through
//! hyper-util directly.

use std::{future::Future, time::Duration};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::Limits;

/// Serves `app` on `listener` until `shutdown` completes, then lets open connections finish
/// (up to `grace`, the configured `shutdown-grace-ms`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_headers(limits.headers);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Running out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            // The peer address names an anonymous client's cost budget.
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let builder = builder.clone();
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(error = %err, "connection closed with an error");
                    }
                    return;
                }
                _ = stop.changed() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    // Closing the listening socket now makes new connections fail at once (connection
    // refused) instead of waiting in the kernel's backlog for an accept that never comes.
    drop(listener);
    tracing::info!("shutting down: waiting for open connections");
    let _ = stop_tx.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drain).await.is_err() {
        tracing::warn!("connections still open after the grace period; closing them");
        connections.abort_all();
    }
}
