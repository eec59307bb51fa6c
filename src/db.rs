//! Connecting to the database: pool options, SQLite pragmas, per-statement timeouts, and a
//! statement counter that tests use to prove there is no N+1.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};

use crate::{config::Config, error::Error};

/// Counts the SQL statements sent through one connection pool.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Statements sent since the pool was opened.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// An open connection pool and what we know about it.
#[derive(Debug, Clone)]
pub struct Db {
    /// The SeaORM connection pool.
    pub conn: DatabaseConnection,
    /// Statements sent so far.
    pub statements: StatementCounter,
}

impl Db {
    /// Opens a pool for `config.database_url`, failing with one readable line when the URL is
    /// malformed or the database cannot be reached.
    pub async fn connect(config: &Config) -> Result<Self, Error> {
        let url = config.database_url.trim();
        let backend = backend_of(url)?;
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(config.db_max_connections.max(1))
            .min_connections(0)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_millis(config.db_acquire_timeout_ms))
            // A ping on every checkout is one more round trip per statement; only connections
            // idle long enough to have been dropped by the server or a proxy are tested.
            .test_before_acquire_if_idle_for(Duration::from_secs(30))
            // Statement logging would put content (and bound values) in the log.
            .sqlx_logging(false);
        match backend {
            DbBackend::Postgres => {
                // 0 is PostgreSQL's "no timeout".
                options.statement_timeout(Duration::from_millis(config.statement_timeout_ms));
                options.set_application_name("annals");
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
        let counter = statements.0.clone();
        conn.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            crate::metrics::record_statement(&info.statement.sql, info.elapsed, info.failed);
            // A child span of the current one, as long as the statement took (OTLP only).
            crate::telemetry::statement_span(backend, &info.statement.sql, info.elapsed, info.failed);
            // The statement text only: bound values (content, never tokens) stay out of logs.
            tracing::trace!(target: "annals::sql", elapsed = ?info.elapsed, sql = %info.statement.sql);
        });
        Ok(Self { conn, statements })
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
    fn rejects_unknown_schemes() {
        assert!(backend_of("mysql://x").is_err());
        assert!(backend_of("sqlite://x.db").is_ok());
    }
}
