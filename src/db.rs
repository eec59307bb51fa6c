//! Connecting to the database: pool options, SQLite pragmas, per-statement timeouts, and a
//! statement counter that tests use to prove there is no N+1.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, sqlx};

use crate::{config::Config, error::Error};

/// Counts the SQL statements sent through one connection pool, and while switched on
/// (tests), keeps the texts of the most recent ones.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<Statements>);

/// Most statement texts a recording keeps: the oldest make way.
const RECORDED_TEXTS: usize = 256;

#[derive(Debug, Default)]
struct Statements {
    sent: AtomicU64,
    /// Whether texts are kept: off, the only cost per statement is this load.
    recording: AtomicBool,
    texts: Mutex<VecDeque<String>>,
}

impl StatementCounter {
    /// Statements sent since the pool was opened.
    pub fn get(&self) -> u64 {
        self.0.sent.load(Ordering::Relaxed)
    }

    /// Starts keeping the texts of the statements sent from now on (at most the last 256),
    /// forgetting any kept before.
    pub fn record(&self) {
        self.texts().clear();
        self.0.recording.store(true, Ordering::Release);
    }

    /// Stops keeping texts and returns those kept since [`record`](Self::record), oldest
    /// first.
    pub fn recorded(&self) -> Vec<String> {
        self.0.recording.store(false, Ordering::Release);
        self.texts().drain(..).collect()
    }

    /// Counts one statement sent, keeping its text while recording.
    fn sent(&self, sql: &str) {
        self.0.sent.fetch_add(1, Ordering::Relaxed);
        if self.0.recording.load(Ordering::Acquire) {
            let mut texts = self.texts();
            if texts.len() == RECORDED_TEXTS {
                texts.pop_front();
            }
            texts.push_back(sql.to_owned());
        }
    }

    fn texts(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        self.0.texts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// When a pooled connection last broke under a statement (terminated by the server, reset,
/// closed). Every connection that has sat idle since then is tested with a ping before it is
/// used again, so a restart or a `pg_terminate_backend` of every backend costs the requests in
/// flight, not one failed request per dead idle connection; without a fault, idle connections
/// are only tested after 30 s idle (a ping per checkout would be a round trip per statement).
#[derive(Debug, Clone)]
pub struct Faults {
    epoch: Instant,
    /// Milliseconds after `epoch` of the last fault, plus one (0: none yet).
    last: Arc<AtomicU64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            last: Arc::default(),
        }
    }
}

impl Faults {
    /// Records that a connection broke just now.
    pub fn note(&self) {
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// Whether a connection idle for `idle_for` went idle before (or at) the last fault.
    fn predates_fault(&self, idle_for: Duration) -> bool {
        let last = self.last.load(Ordering::Relaxed);
        if last == 0 {
            return false;
        }
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        now.saturating_sub(idle_for.as_millis() as u64) <= last
    }
}

/// Longest a query waits for a read replica's connection before the primary serves it.
const REPLICA_ACQUIRE_MS: u64 = 500;

/// An open connection pool and what we know about it.
#[derive(Debug, Clone)]
pub struct Db {
    /// The SeaORM connection pool.
    pub conn: DatabaseConnection,
    /// Statements sent so far.
    pub statements: StatementCounter,
    /// When a connection of this pool last broke.
    pub faults: Faults,
}

/// How long a connection coming back to the pool may take to finish what it was doing:
/// a request stopped at its time budget leaves its statement running on the server, and the
/// connection is only reusable once that statement has ended (at the latest when
/// `statement_timeout` cancels it). No statement timeout: 30 s.
fn drain_limit(statement_timeout_ms: u64) -> Duration {
    match statement_timeout_ms {
        0 => Duration::from_secs(30),
        ms => Duration::from_millis(ms) + Duration::from_secs(2),
    }
}

/// Brings a connection that comes back to the pool to a clean state, or says it cannot.
///
/// A request cancelled at its time budget drops its connection in the middle of a
/// statement. sqlx then finishes what is in flight on release; that waits for the abandoned
/// statement, which fails (`canceling statement due to statement timeout`), and sqlx
/// "hard-closes" the connection: over TLS (rustls) that close waits for data the server
/// never sends, so it never finishes, the pool's slot is never given back and the server
/// keeps the connection open and idle (sqlx issue #4349). Here the abandoned statement's
/// error is read off the connection and the rest of its answer read until the connection is
/// ready again; it then goes back to the pool as good as new. One that cannot be brought
/// back within [`drain_limit`] is closed gracefully (`Terminate`, which the server answers
/// by closing), never hard-closed.
///
/// A connection released clean (every statement answered: the normal case) costs nothing
/// here: `flush` returns at once, where a `ping` would be one more round trip per statement.
async fn drain(conn: &mut sqlx::postgres::PgConnection, limit: Duration, faults: &Faults) -> bool {
    use sqlx::Connection;
    let settled = tokio::time::timeout(limit, async {
        // Each failed flush reads one abandoned statement's error; a few are plenty.
        for _ in 0..4 {
            match conn.flush().await {
                Ok(()) => return true,
                Err(sqlx::Error::Database(_)) => continue,
                Err(_) => {
                    faults.note();
                    return false;
                }
            }
        }
        false
    })
    .await;
    match settled {
        Ok(clean) => clean,
        Err(_) => {
            tracing::warn!(
                ?limit,
                "a pooled connection did not finish its statement in time; closing it"
            );
            false
        }
    }
}

impl Db {
    /// Opens a pool for `config.database_url`, failing with one readable line when the URL is
    /// malformed or the database cannot be reached.
    pub async fn connect(config: &Config) -> Result<Self, Error> {
        Self::open(config, false).await
    }

    /// Opens the pool; `lazily`: the first connection is made on first use.
    async fn open(config: &Config, lazily: bool) -> Result<Self, Error> {
        let url = config.database_url.trim();
        let backend = backend_of(url)?;
        let faults = Faults::default();
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(config.db_max_connections.max(1))
            .min_connections(0)
            .connect_timeout(config.timings.db_connect_timeout())
            .acquire_timeout(Duration::from_millis(config.db_acquire_timeout_ms))
            // A ping on every checkout is one more round trip per statement; only connections
            // idle long enough to have been dropped by the server or a proxy are tested.
            .test_before_acquire_if_idle_for(config.timings.db_idle_check())
            // Statement logging would put content (and bound values) in the log.
            .sqlx_logging(false)
            .connect_lazy(lazily);
        match backend {
            DbBackend::Postgres => {
                // 0 is PostgreSQL's "no timeout".
                options.statement_timeout(Duration::from_millis(config.statement_timeout_ms));
                options.set_application_name("annals");
                let limit = drain_limit(config.statement_timeout_ms);
                let on_release = faults.clone();
                options.map_sqlx_postgres_pool_opts(move |pool| {
                    let faults = on_release.clone();
                    pool.after_release(move |conn, _| {
                        let faults = faults.clone();
                        Box::pin(async move { Ok(drain(conn, limit, &faults).await) })
                    })
                });
                let on_acquire = faults.clone();
                // Runs after the idle ping (`db-idle-check-ms`): a connection idle since the last fault is
                // pinged, and one that fails is replaced before any statement sees it.
                options.map_sqlx_postgres_before_acquire(move |conn, meta| {
                    let suspect = on_acquire.predates_fault(meta.idle_for);
                    Box::pin(async move {
                        if suspect {
                            use sqlx::Connection;
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                });
            }
            DbBackend::Sqlite => {
                options.map_sqlx_sqlite_opts(|opts| {
                    opts.foreign_keys(true)
                        .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(5))
                });
            }
            _ => unreachable!("backend_of only accepts PostgreSQL and SQLite"),
        }
        let mut conn = Database::connect(options).await.map_err(|err| {
            let cause = err.to_string();
            if backend == DbBackend::Sqlite && cause.contains("readonly database") {
                // Opening a WAL database writes its shared-memory file: an unwritable file or
                // directory fails here rather than at the first write.
                return unwritable_sqlite(url);
            }
            Error::Io(format!(
                "cannot connect to the database at {}: {}",
                redact(url),
                first_line(&cause)
            ))
        })?;
        let statements = StatementCounter::default();
        let counter = statements.clone();
        conn.set_metric_callback(move |info| {
            counter.sent(&info.statement.sql);
            crate::metrics::record_statement(&info.statement.sql, info.elapsed, info.failed);
            // A child span of the current one, as long as the statement took (OTLP only).
            crate::telemetry::statement_span(backend, &info.statement.sql, info.elapsed, info.failed);
            // The statement text only: bound values (content, never tokens) stay out of logs.
            tracing::trace!(target: "annals::sql", elapsed = ?info.elapsed, sql = %info.statement.sql);
        });
        Ok(Self {
            conn,
            statements,
            faults,
        })
    }

    /// Opens one connection without a statement timeout, for maintenance: migrations,
    /// seeding, bulk import, dump and restore. A migration that builds an index on a big table,
    /// or a seed of ten thousand articles, may rightly run longer than a request's statement
    /// may; and one connection keeps connection-scoped settings (SQLite's `PRAGMA
    /// foreign_keys` during `migrate fresh`) on every statement.
    pub async fn connect_for_maintenance(config: &Config) -> Result<Self, Error> {
        let config = Config {
            db_max_connections: 1,
            statement_timeout_ms: 0,
            ..config.clone()
        };
        Self::connect(&config).await
    }

    /// Opens a pool for the read replica at `url` with the primary's pool settings, without
    /// connecting yet: a replica that is down at start-up stays out of rotation until the
    /// health check reaches it, rather than stopping the server.
    pub async fn connect_replica(config: &Config, url: &str) -> Result<Self, Error> {
        if !matches!(backend_of(url.trim()), Ok(DbBackend::Postgres)) {
            return Err(Error::Io(format!(
                "read replica {} is not a PostgreSQL URL",
                redact(url)
            )));
        }
        // A query that finds its replica gone is run again on the primary: it should learn
        // that quickly, not after the primary's whole acquire timeout.
        let config = Config {
            database_url: url.trim().to_owned(),
            db_acquire_timeout_ms: config.db_acquire_timeout_ms.min(REPLICA_ACQUIRE_MS),
            ..config.clone()
        };
        Self::open(&config, true).await
    }

    /// Closes every pooled connection properly, so PostgreSQL sees a goodbye rather than a
    /// reset; on SQLite the write-ahead log is checkpointed into the database file first.
    /// Failures are logged: there is nothing left to do about them.
    pub async fn close(self) {
        if self.backend() == DbBackend::Sqlite {
            let checkpoint = sea_orm::ConnectionTrait::execute_unprepared(
                &self.conn,
                "PRAGMA wal_checkpoint(TRUNCATE)",
            );
            if let Err(err) = checkpoint.await {
                tracing::warn!(error = %err, "could not checkpoint the SQLite write-ahead log");
            }
        }
        if let Err(err) = self.conn.close().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
    }

    /// Which SQL dialect this pool speaks.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }
}

/// The pool's open and idle connections.
pub fn pool_size(conn: &DatabaseConnection) -> (u64, u64) {
    match conn.get_database_backend() {
        DbBackend::Postgres => {
            let pool = conn.get_postgres_connection_pool();
            (pool.size().into(), pool.num_idle() as u64)
        }
        DbBackend::Sqlite => {
            let pool = conn.get_sqlite_connection_pool();
            (pool.size().into(), pool.num_idle() as u64)
        }
        _ => (0, 0),
    }
}

/// The backend a URL names, or a readable error for anything else.
fn backend_of(url: &str) -> Result<DbBackend, Error> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DbBackend::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(DbBackend::Sqlite)
    } else {
        Err(Error::Io(format!(
            "DATABASE_URL {:?} is not supported; use sqlite://FILE?mode=rwc or postgres://USER@HOST/DB",
            redact(url)
        )))
    }
}

/// The error for a SQLite file this process may not write, saying what to do.
pub fn unwritable_sqlite(url: &str) -> Error {
    Error::Io(format!(
        "the SQLite database {} is not writable; make the file and its directory writable, or add ?mode=ro to DATABASE_URL to serve it read-only",
        redact(url)
    ))
}

/// The URL with any password replaced, safe for messages and logs: the one in the userinfo
/// (`postgres://user:secret@host`) and the one in the query (`?password=secret`, which
/// libpq and sqlx accept too).
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &base[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..scheme_end + 3], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://annals.db"), "sqlite://annals.db");
        assert_eq!(
            redact("postgres://u@h/db?password=secret&sslmode=require"),
            "postgres://u@h/db?password=***&sslmode=require"
        );
        assert_eq!(
            redact("postgres://h/db?user=u&PASSWORD=s3&x=1"),
            "postgres://h/db?user=u&PASSWORD=***&x=1"
        );
        assert_eq!(
            redact("postgres://u:pw@h/db?password=other"),
            "postgres://u:***@h/db?password=***"
        );
        assert_eq!(redact("sqlite://a.db?mode=rwc"), "sqlite://a.db?mode=rwc");
    }

    #[test]
    fn only_connections_idle_since_a_fault_are_suspect() {
        let faults = Faults::default();
        assert!(!faults.predates_fault(Duration::from_secs(3600)));
        std::thread::sleep(Duration::from_millis(20));
        faults.note();
        // Idle since well before the fault: suspect; used after it: not.
        assert!(faults.predates_fault(Duration::from_millis(500)));
        std::thread::sleep(Duration::from_millis(20));
        assert!(!faults.predates_fault(Duration::from_millis(5)));
    }

    #[test]
    fn keeps_the_last_texts_only_while_recording() {
        let counter = StatementCounter::default();
        counter.sent("SELECT 0");
        counter.record();
        for i in 1..=RECORDED_TEXTS + 2 {
            counter.sent(&format!("SELECT {i}"));
        }
        let texts = counter.recorded();
        assert_eq!(texts.len(), RECORDED_TEXTS);
        assert_eq!(texts[0], "SELECT 3");
        counter.sent("SELECT after");
        assert!(counter.recorded().is_empty());
        assert_eq!(counter.get(), RECORDED_TEXTS as u64 + 4);
    }

    #[test]
    fn rejects_unknown_schemes() {
        assert!(backend_of("mysql://x").is_err());
        assert!(backend_of("sqlite://x.db").is_ok());
    }
}
