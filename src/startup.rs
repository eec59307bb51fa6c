//! Building and running the application: connect, migrate, seed if empty, bind, serve.
//!
//! Tests use the same [`App::build`] on port 0 and read the real address back, so they run
//! the exact production wiring.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::net::TcpListener;

use crate::{
    cache::{Changes, ContentVersion, Purger, ResponseCache},
    config::Config,
    db::{Db, StatementCounter},
    error::{Error, Result},
    events::EventBus,
    graphql::{
        SchemaData, build_schema, execute::Executor, guards::QueryLimits,
        persisted::PersistedQueries, reads::Reads, response_size::ResponseMemory,
    },
    http::{AppState, fanout::Fanout, router, server, ws::Sockets},
    metrics,
    replicas::Replicas,
    store,
};

/// A bound, ready-to-run server.
pub struct App {
    listener: TcpListener,
    limits: crate::config::Limits,
    timings: crate::config::Timings,
    router: axum::Router,
    /// The separate `/metrics` listener and its router, when `metrics-listen` is set.
    metrics: Option<(TcpListener, axum::Router)>,
    /// The database the server uses.
    pub db: Db,
    /// Where committed changes are published (LISTEN/NOTIFY on PostgreSQL).
    pub events: EventBus,
    sockets: Sockets,
    version: ContentVersion,
    replicas: Option<Arc<Replicas>>,
}

/// How often histogram samples are folded into their buckets between scrapes.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

impl App {
    /// Connects, migrates, seeds an empty database, and binds the listener.
    pub async fn build(config: Config) -> Result<Self> {
        metrics::install();
        let editors = config.editors()?;
        if editors.is_empty() {
            tracing::warn!("no editor tokens configured: every mutation will be refused");
        } else {
            tracing::info!(editors = editors.len(), "editor tokens configured");
        }
        // Migrating and seeding are maintenance: one connection, no statement timeout.
        let maintenance = Db::connect_for_maintenance(&config).await?;
        // Under the migration lock: of several processes starting on an empty database, one
        // migrates and seeds, the others wait and find it done.
        if let Some(report) = store::prepare(&maintenance.conn, true).await? {
            tracing::info!(
                articles = report.articles_created,
                "seeded an empty database"
            );
        }
        let read_only = store::sqlite_read_only(&maintenance.conn).await?;
        maintenance.close().await;
        if read_only {
            if !sqlite_opened_read_only(&config.database_url) {
                return Err(crate::db::unwritable_sqlite(&config.database_url));
            }
            tracing::warn!("serving a read-only SQLite database: every mutation will be refused");
        }
        let db = Db::connect(&config).await?;
        let replicas = Replicas::start(&config, &db).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|err| Error::Io(format!("cannot listen on {}: {err}", config.listen)))?;
        let events = EventBus::start(&db.conn, config.limits.subscriber_buffer as usize).await?;
        let version = ContentVersion::start(
            &db.conn,
            &events,
            Duration::from_millis(config.caching.content_version_poll_ms.max(1)),
        )
        .await?;
        let purger = config.caching.purge_url.clone().map(Purger::start);
        let responses = ResponseCache::new(config.caching.response_cache_bytes).map(Arc::new);
        let schema = build_schema(
            &config.limits,
            config.introspection,
            Some(SchemaData {
                db: db.conn.clone(),
                events: events.clone(),
                editors,
                read_only,
                faults: db.faults.clone(),
                changes: Changes::new(Some(version.clone()), purger),
                query_plans: config.query_plans,
            }),
        );
        let limits = config.limits;
        let timings = config.timings;
        let sockets = Sockets::with_limit(config.limits.websockets);
        let executor = Executor::new(
            schema,
            config.limits.concurrent_requests,
            config.request_timeout(),
            config.limits.complexity as u64,
            config.limits.cost_budget_per_minute,
            ResponseMemory::new(
                config.limits.response_memory_bytes,
                config.limits.response_bytes,
            ),
        )
        .with_persisted(PersistedQueries::new(
            db.conn.clone(),
            config.trusted_documents,
            config.persisted_queries_max,
            config.limits.query_bytes,
            !read_only,
        ));
        let executor = match &replicas {
            Some(replicas) => executor.with_reads(Reads::new(
                replicas.clone(),
                QueryLimits::from(&config.limits),
            )),
            None => executor,
        };
        let fanout = Fanout::new(Some(events.clone()), events.buffer());
        let gauges = {
            let (conn, executor, sockets) = (db.conn.clone(), executor.clone(), sockets.clone());
            let (events, fanout, pool_max) = (
                events.clone(),
                fanout.clone(),
                config.db_max_connections.max(1),
            );
            Arc::new(move || {
                let (size, idle) = crate::db::pool_size(&conn);
                let (running, waiting) = executor.executions();
                metrics::Gauges {
                    pool_in_use: size.saturating_sub(idle),
                    pool_idle: idle,
                    pool_max: pool_max.into(),
                    running: running as u64,
                    waiting: waiting as u64,
                    websockets: sockets.open() as u64,
                    subscriptions: events.subscribers() as u64,
                    subscription_executions: fanout.hubs() as u64,
                }
            })
        };
        let metrics_listen = config.metrics_listen;
        let state = AppState {
            executor,
            config: Arc::new(config),
            sockets: sockets.clone(),
            fanout,
            gauges,
            version: version.clone(),
            responses,
            readiness: {
                let (conn, replicas) = (db.conn.clone(), replicas.clone());
                Arc::new(move || {
                    let (conn, replicas) = (conn.clone(), replicas.clone());
                    Box::pin(async move {
                        // Replicas never make the process unready: reads fall back to the
                        // primary. Their state is shown.
                        store::readiness(&conn).await?;
                        Ok(replicas.map(|r| r.report()).unwrap_or_default())
                    })
                })
            },
        };
        let metrics = match metrics_listen {
            Some(address) => {
                let listener = TcpListener::bind(address).await.map_err(|err| {
                    Error::Io(format!("cannot listen on {address} for metrics: {err}"))
                })?;
                Some((listener, crate::http::metrics::router(state.clone())))
            }
            None => None,
        };
        let router = router(state);
        Ok(Self {
            listener,
            limits,
            timings,
            router,
            metrics,
            db,
            events,
            sockets,
            version,
            replicas,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The address of the separate `/metrics` listener, when there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Counts the statements this app's pool sends.
    pub fn statements(&self) -> StatementCounter {
        self.db.statements.clone()
    }

    /// Serves until `shutdown` completes; then open WebSocket connections get close 1001 while
    /// HTTP connections drain, and the event listener stops.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        tracing::info!(address = %self.local_addr(), "listening; GraphiQL at http://{}/", self.local_addr());
        let stopping = tokio_util::sync::CancellationToken::new();
        let upkeep = tokio::spawn(async {
            let mut every = tokio::time::interval(METRICS_UPKEEP);
            loop {
                every.tick().await;
                metrics::upkeep();
            }
        });
        let metrics_server = self.metrics.map(|(listener, router)| {
            if let Ok(address) = listener.local_addr() {
                tracing::info!(address = %address, "serving /metrics");
            }
            let limits = self.limits;
            let grace = self.timings.shutdown_grace();
            let stop = stopping.clone().cancelled_owned();
            tokio::spawn(async move { server::serve(listener, router, &limits, grace, stop).await })
        });
        let sockets = self.sockets.clone();
        let stop = stopping.clone();
        let shutdown = async move {
            shutdown.await;
            stop.cancel();
            // Upgraded connections are invisible to the HTTP drain: tell them now.
            sockets.close_all();
        };
        // With the defaults (25 s for HTTP connections, 3 s for WebSockets) and the listener's
        // 1 s the process exits within 30 s of the signal.
        let grace = self.timings.shutdown_grace();
        server::serve(self.listener, self.router, &self.limits, grace, shutdown).await;
        upkeep.abort();
        if let Some(task) = metrics_server {
            let _ = task.await;
        }
        if !self.sockets.wait(self.timings.ws_shutdown_grace()).await {
            tracing::warn!(
                open = self.sockets.open(),
                "WebSocket connections still open after the grace period; dropping them"
            );
        }
        self.events.shutdown().await;
        self.version.shutdown();
        if let Some(replicas) = &self.replicas {
            replicas.close().await;
        }
        self.db.close().await;
    }
}

/// Whether a SQLite URL asks for the file read-only (`mode=ro`), i.e. on purpose.
fn sqlite_opened_read_only(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.eq_ignore_ascii_case("mode=ro"))
    })
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
