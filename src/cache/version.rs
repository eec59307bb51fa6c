//! The content version this process knows: ETags and cached responses are valid for one.
//!
//! The database keeps the version (a trigger bumps it in every transaction that changes the
//! content, see `store::content_version`). This process learns a new one:
//! - at once after its own writes ([`ContentVersion::refresh`], called before a mutation's
//!   response leaves), so a read that starts after a mutation returned never sees the old
//!   version;
//! - on PostgreSQL, from `NOTIFY annals_content_changed`, which every commit that changes
//!   the content sends (whoever wrote it): the event bus's listener reads the new version on
//!   its own connection, within one notification, and again after every reconnect;
//! - on SQLite, which cannot notify, by reading the row every `poll` interval on a
//!   connection of its own (so the pool's statement counts and connections are untouched):
//!   the longest another process's write (`annals import`) goes unnoticed.
//!
//! The version only grows, also across a rebuilt database: the first version is the
//! creation time in microseconds, so a database migrated afresh starts above every version
//! an older one reached (and never repeats its ETags).

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{error::Result, events::EventBus, store::content_version};

/// The content version as this process knows it, shared by every request.
#[derive(Debug, Clone)]
pub struct ContentVersion {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Where [`ContentVersion::refresh`] reads: the pool on PostgreSQL, the poller's own
    /// connection on SQLite.
    db: Option<DatabaseConnection>,
    current: AtomicI64,
    stop: CancellationToken,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl ContentVersion {
    /// Reads the version from `db` and keeps it fresh until [`ContentVersion::shutdown`]:
    /// from `events`' listener on PostgreSQL, by polling every `poll` on SQLite.
    pub async fn start(db: &DatabaseConnection, events: &EventBus, poll: Duration) -> Result<Self> {
        let current = content_version::current(db).await?;
        let stop = CancellationToken::new();
        let reader = match db.get_database_backend() {
            DbBackend::Sqlite => {
                let url = db
                    .get_sqlite_connection_pool()
                    .connect_options()
                    .get_filename()
                    .to_owned();
                let url = format!("sqlite://{}?mode=ro", url.display());
                let mut options = ConnectOptions::new(url);
                options
                    .max_connections(1)
                    .min_connections(0)
                    .sqlx_logging(false);
                Database::connect(options).await?
            }
            _ => db.clone(),
        };
        let version = Self {
            inner: Arc::new(Inner {
                db: Some(reader),
                current: AtomicI64::new(current),
                stop: stop.clone(),
            }),
        };
        let weak = Arc::downgrade(&version.inner);
        match events.content_versions() {
            Some(versions) => {
                tokio::spawn(follow(weak, versions, stop));
            }
            None => {
                tokio::spawn(poll_every(weak, poll, stop));
            }
        }
        Ok(version)
    }

    /// A version that never changes (for a server without a database behind it, in tests).
    pub fn fixed(version: i64) -> Self {
        Self {
            inner: Arc::new(Inner {
                db: None,
                current: AtomicI64::new(version),
                stop: CancellationToken::new(),
            }),
        }
    }

    /// The newest version this process knows.
    pub fn current(&self) -> i64 {
        self.inner.current.load(Ordering::Acquire)
    }

    /// Reads the version from the database now (after this process committed a change). A
    /// failure is logged: the poll will catch up.
    pub async fn refresh(&self) {
        refresh(&self.inner).await;
    }

    /// Stops listening and polling.
    pub fn shutdown(&self) {
        self.inner.stop.cancel();
    }
}

async fn refresh(inner: &Inner) {
    let Some(db) = &inner.db else {
        return;
    };
    match content_version::current(db).await {
        Ok(version) => {
            inner.current.fetch_max(version, Ordering::AcqRel);
        }
        Err(err) => tracing::warn!(error = ?err, "cannot read the content version"),
    }
}

/// Takes each version the event bus's listener reads (PostgreSQL).
async fn follow(
    inner: std::sync::Weak<Inner>,
    mut versions: watch::Receiver<i64>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            changed = versions.changed() => if changed.is_err() { break },
        }
        let version = *versions.borrow_and_update();
        let Some(inner) = inner.upgrade() else {
            break;
        };
        if version != 0 {
            inner.current.fetch_max(version, Ordering::AcqRel);
        }
    }
}

/// Reads the version every `poll` (SQLite).
async fn poll_every(inner: std::sync::Weak<Inner>, poll: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let Some(inner) = inner.upgrade() else {
            break;
        };
        refresh(&inner).await;
    }
}
