//! Building and running the application: connect, migrate, seed if empty, bind, serve.
//!
//! Tests use the same [`App::build`] on port 0 and read the real address back, so they run
//! the exact production wiring.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use sea_orm::{EntityTrait, PaginatorTrait};
use tokio::net::TcpListener;

use crate::{
    config::Config,
    db::{Db, StatementCounter},
    entities::article,
    error::{Error, Result},
    events::EventBus,
    graphql::{SchemaData, build_schema, execute::Executor},
    http::{AppState, fanout::Fanout, router, server, ws::Sockets},
    store,
};

/// A bound, ready-to-run server.
pub struct App {
    listener: TcpListener,
    limits: crate::config::Limits,
    router: axum::Router,
    /// The database the server uses.
    pub db: Db,
    /// Where committed changes are published (LISTEN/NOTIFY on PostgreSQL).
    pub events: EventBus,
    sockets: Sockets,
}

/// How long open WebSocket connections get to close after the HTTP connections drained; with
/// [`server::SHUTDOWN_GRACE`] (25 s) and the listener's 1 s the process exits within 30 s of the signal.
pub const SOCKET_GRACE: Duration = Duration::from_secs(3);

impl App {
    /// Connects, migrates, seeds an empty database, and binds the listener.
    pub async fn build(config: Config) -> Result<Self> {
        let editors = config.editors()?;
        if editors.is_empty() {
            tracing::warn!("no editor tokens configured: every mutation will be refused");
        } else {
            tracing::info!(editors = editors.len(), "editor tokens configured");
        }
        // Migrating and seeding are maintenance: one connection, no statement timeout.
        let maintenance = Db::connect_for_maintenance(&config).await?;
        store::migrate(&maintenance.conn).await?;
        if article::Entity::find().count(&maintenance.conn).await? == 0 {
            let report = store::seed::seed(&maintenance.conn).await?;
            tracing::info!(
                articles = report.articles_created,
                "seeded an empty database"
            );
        }
        maintenance.conn.close().await?;
        let db = Db::connect(&config).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|err| Error::Io(format!("cannot listen on {}: {err}", config.listen)))?;
        let events = EventBus::start(&db.conn).await?;
        let schema = build_schema(
            &config.limits,
            config.introspection,
            Some(SchemaData {
                db: db.conn.clone(),
                events: events.clone(),
                editors,
                faults: db.faults.clone(),
            }),
        );
        let limits = config.limits;
        let sockets = Sockets::with_limit(config.limits.websockets);
        let executor = Executor::new(
            schema,
            config.limits.concurrent_requests,
            config.request_timeout(),
            config.limits.complexity as u64,
            config.limits.cost_budget_per_minute,
        );
        let router = router(AppState {
            executor,
            config: Arc::new(config),
            sockets: sockets.clone(),
            fanout: Fanout::new(Some(events.clone())),
            readiness: {
                let conn = db.conn.clone();
                Arc::new(move || {
                    let conn = conn.clone();
                    Box::pin(async move { store::readiness(&conn).await })
                })
            },
        });
        Ok(Self {
            listener,
            limits,
            router,
            db,
            events,
            sockets,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Counts the statements this app's pool sends.
    pub fn statements(&self) -> StatementCounter {
        self.db.statements.clone()
    }

    /// Serves until `shutdown` completes; then open WebSocket connections get close 1001 while
    /// HTTP connections drain, and the event listener stops.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        tracing::info!(address = %self.local_addr(), "listening; GraphiQL at http://{}/", self.local_addr());
        let sockets = self.sockets.clone();
        let shutdown = async move {
            shutdown.await;
            // Upgraded connections are invisible to the HTTP drain: tell them now.
            sockets.close_all();
        };
        server::serve(self.listener, self.router, &self.limits, shutdown).await;
        if !self.sockets.wait(SOCKET_GRACE).await {
            tracing::warn!(
                open = self.sockets.open(),
                "WebSocket connections still open after the grace period; dropping them"
            );
        }
        self.events.shutdown().await;
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
