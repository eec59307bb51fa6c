//! PostgreSQL streaming read replicas: which one a query reads from, and whether it may.
//!
//! [`Replicas`] holds a pool per replica and a background check (every `replica-check-ms`)
//! that reads the primary's WAL position and each replica's replay position: a replica that
//! does not answer, or is more than `replica-max-lag-ms` behind ([`lag`]), leaves the rotation
//! and comes back once it has caught up. [`Replicas::route`] picks a healthy replica round
//! robin; for a read that must see a write (it sends the write's commit [`Lsn`]), only a
//! replica that has replayed that position, after a bounded wait, and otherwise the primary:
//! never a stale read. With no healthy replica every read goes to the primary.

pub mod lag;
pub mod lsn;

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    sync::{
        Arc, Mutex, RwLock, Weak,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use self::lag::History;
pub use self::lsn::Lsn;
use crate::{
    config::{Config, Replication},
    db::{Db, redact},
    error::{Error, Result},
    metrics,
};

/// Longest a health probe of one database may take before it counts as down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often a read waiting for a replica to replay its LSN looks again.
const WAIT_POLL: Duration = Duration::from_millis(5);
/// Most editors remembered for sticky reads; older entries are forgotten first.
const STICKY_MAX: usize = 10_000;

/// What the health check last saw of one replica.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Whether it answered the last check.
    pub reachable: bool,
    /// The position it had replayed then.
    pub replayed: Option<Lsn>,
    /// How far behind the primary it was.
    pub lag: Option<Duration>,
    /// Whether reads may go to it.
    pub in_rotation: bool,
}

/// One read replica: its pool and its health.
pub struct Replica {
    /// Its URL without the password, for logs and `/readyz`.
    pub name: String,
    /// Its index in `ANNALS_READ_DATABASE_URL`, the `replica` label of its metrics.
    pub index: usize,
    /// Its connection pool.
    pub db: Db,
    health: RwLock<Health>,
}

impl Replica {
    /// What the last check saw.
    pub fn health(&self) -> Health {
        self.health
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn update(&self, change: impl FnOnce(&mut Health)) {
        let mut health = self.health.write().unwrap_or_else(|e| e.into_inner());
        let was = health.in_rotation;
        change(&mut health);
        if was != health.in_rotation {
            if health.in_rotation {
                tracing::info!(replica = %self.name, "read replica back in rotation");
            } else {
                tracing::warn!(
                    replica = %self.name,
                    reachable = health.reachable,
                    lag_ms = health.lag.map(|l| l.as_millis() as u64),
                    "read replica out of rotation"
                );
            }
        }
        metrics::replica_health(self.index, health.in_rotation, health.lag);
    }

    /// Takes the replica out of rotation until the next check finds it well: a read on it
    /// just lost its connection.
    pub fn failed(&self) {
        self.db.faults.note();
        self.update(|h| {
            h.reachable = false;
            h.in_rotation = false;
        });
    }

    async fn replayed(&self) -> Result<Lsn> {
        position(
            &self.db.conn,
            "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
             ELSE pg_current_wal_lsn() END)::text AS lsn",
        )
        .await
    }
}

/// Where a read goes, and why (the `reason` label of `annals_db_reads_total`).
pub enum Route<'a> {
    /// A replica that may serve it.
    Replica(&'a Replica),
    /// The primary: no healthy replica, or none caught up in time, or a sticky editor.
    Primary(&'static str),
}

/// The read replicas of one process.
pub struct Replicas {
    primary: DatabaseConnection,
    members: Vec<Replica>,
    settings: Replication,
    history: Mutex<History>,
    next: AtomicUsize,
    /// When each editor (hash of its `Authorization`) last wrote, for sticky reads.
    sticky: Mutex<HashMap<u64, Instant>>,
    /// The latest content version asked about and a WAL position that includes it.
    version: Mutex<Option<(i64, Lsn)>>,
}

impl Replicas {
    /// Opens a pool per configured replica (lazily: a replica that is down at start-up only
    /// stays out of rotation) and starts the health check; `None` without replicas.
    pub async fn start(config: &Config, primary: &Db) -> Result<Option<Arc<Self>>> {
        let mut settings = config.replication.clone();
        // `ANNALS_READ_DATABASE_URL=` (set but empty) means no replicas, as unset does.
        settings
            .read_database_urls
            .retain(|url| !url.trim().is_empty());
        if settings.read_database_urls.is_empty() {
            return Ok(None);
        }
        if primary.backend() != DbBackend::Postgres {
            return Err(Error::Io(
                "read replicas (ANNALS_READ_DATABASE_URL) need a PostgreSQL primary".into(),
            ));
        }
        let mut members = Vec::new();
        for (index, url) in settings.read_database_urls.iter().enumerate() {
            let db = Db::connect_replica(config, url).await?;
            members.push(Replica {
                name: redact(url),
                index,
                db,
                health: RwLock::default(),
            });
        }
        let replicas = Arc::new(Self {
            primary: primary.conn.clone(),
            members,
            settings,
            history: Mutex::default(),
            next: AtomicUsize::new(0),
            sticky: Mutex::default(),
            version: Mutex::default(),
        });
        replicas.check().await;
        tokio::spawn(check_forever(Arc::downgrade(&replicas)));
        tracing::info!(replicas = replicas.members.len(), "reading from replicas");
        Ok(Some(replicas))
    }

    /// Every replica, in configuration order.
    pub fn members(&self) -> &[Replica] {
        &self.members
    }

    /// Where a query reads: a replica in rotation (one that has replayed `min_lsn`, waiting
    /// up to `replica-wait-ms` for one to), else the primary. `editor` is the request's
    /// `Authorization` header, for sticky reads.
    pub async fn route(&self, min_lsn: Option<Lsn>, editor: Option<&str>) -> Route<'_> {
        let route = self.choose(min_lsn, editor).await;
        let (target, reason) = match &route {
            Route::Replica(_) => ("replica", "replica"),
            Route::Primary(reason) => ("primary", *reason),
        };
        metrics::read_routed(target, reason);
        route
    }

    async fn choose(&self, min_lsn: Option<Lsn>, editor: Option<&str>) -> Route<'_> {
        if let Some(editor) = editor
            && self.wrote_recently(editor)
        {
            return Route::Primary("sticky");
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let healthy: Vec<&Replica> = (0..self.members.len())
            .map(|i| &self.members[(start + i) % self.members.len()])
            .filter(|r| r.health().in_rotation)
            .collect();
        if healthy.is_empty() {
            return Route::Primary("no_replica");
        }
        let Some(min_lsn) = min_lsn else {
            return Route::Replica(healthy[0]);
        };
        if let Some(replica) = healthy
            .iter()
            .find(|r| r.health().replayed.is_some_and(|at| at >= min_lsn))
        {
            return Route::Replica(replica);
        }
        // Not replayed as of the last check: ask again, until the wait runs out.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(self.settings.wait_ms);
        loop {
            for replica in &healthy {
                if let Ok(Ok(at)) = tokio::time::timeout_at(deadline, replica.replayed()).await {
                    replica.update(|h| h.replayed = h.replayed.max(Some(at)));
                    if at >= min_lsn {
                        return Route::Replica(replica);
                    }
                }
            }
            if tokio::time::Instant::now() + WAIT_POLL >= deadline {
                return Route::Primary("lsn_wait");
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }

    /// The primary's current WAL position, read right after a mutation committed: a replica
    /// that has replayed it has the mutation.
    pub async fn commit_lsn(&self) -> Result<Lsn> {
        position(&self.primary, "SELECT pg_current_wal_lsn()::text AS lsn").await
    }

    /// A WAL position at or after the commit of content version `version` (which this
    /// process has already learned of): the primary's position read once per version, then
    /// remembered. `None` when the primary cannot say.
    pub async fn version_lsn(&self, version: i64) -> Option<Lsn> {
        {
            let known = self.version.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((v, lsn)) = *known
                && v == version
            {
                return Some(lsn);
            }
        }
        let lsn = self.commit_lsn().await.ok()?;
        let mut known = self.version.lock().unwrap_or_else(|e| e.into_inner());
        if known.is_none_or(|(v, _)| v <= version) {
            *known = Some((version, lsn));
        }
        Some(lsn)
    }

    /// Records that the editor with this `Authorization` header wrote just now (sticky reads).
    pub fn wrote(&self, editor: Option<&str>) {
        let (Some(editor), true) = (editor, self.settings.sticky_primary_ms > 0) else {
            return;
        };
        let now = Instant::now();
        let window = Duration::from_millis(self.settings.sticky_primary_ms);
        let mut sticky = self.sticky.lock().unwrap_or_else(|e| e.into_inner());
        if sticky.len() >= STICKY_MAX {
            sticky.retain(|_, at| now.duration_since(*at) < window);
        }
        if sticky.len() < STICKY_MAX {
            sticky.insert(editor_key(editor), now);
        }
    }

    fn wrote_recently(&self, editor: &str) -> bool {
        if self.settings.sticky_primary_ms == 0 {
            return false;
        }
        let window = Duration::from_millis(self.settings.sticky_primary_ms);
        let sticky = self.sticky.lock().unwrap_or_else(|e| e.into_inner());
        sticky
            .get(&editor_key(editor))
            .is_some_and(|at| at.elapsed() < window)
    }

    /// One health check: the primary's position, then each replica's, all at once.
    async fn check(&self) {
        let max_lag = Duration::from_millis(self.settings.max_lag_ms);
        if let Ok(Ok(lsn)) = tokio::time::timeout(PROBE_TIMEOUT, self.commit_lsn()).await {
            let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
            history.record(Instant::now(), lsn, max_lag * 2);
        }
        let probes = self.members.iter().map(|replica| async move {
            let (size, idle) = crate::db::pool_size(&replica.db.conn);
            metrics::replica_pool(replica.index, size.saturating_sub(idle), idle);
            let probe = tokio::time::timeout(PROBE_TIMEOUT, replica.replayed()).await;
            let now = Instant::now();
            match probe {
                Ok(Ok(replayed)) => {
                    let lag = self
                        .history
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .lag(replayed, now);
                    replica.update(|h| {
                        h.reachable = true;
                        h.replayed = Some(replayed);
                        h.lag = lag;
                        // Before the primary's first sample there is nothing to compare.
                        h.in_rotation = lag.is_some_and(|lag| lag <= max_lag);
                    });
                }
                failed => {
                    if let Ok(Err(err)) = &failed {
                        tracing::debug!(replica = %replica.name, error = ?err, "replica check failed");
                    }
                    replica.update(|h| {
                        h.reachable = false;
                        h.in_rotation = false;
                    });
                }
            }
        });
        futures::future::join_all(probes).await;
    }

    /// The replicas' state for `/readyz`: one line each, by index (the log names them).
    pub fn report(&self) -> String {
        self.members
            .iter()
            .map(|r| {
                let h = r.health();
                let state = match (h.in_rotation, h.reachable) {
                    (true, _) => "in rotation",
                    (false, true) => "lagging",
                    (false, false) => "unreachable",
                };
                let lag = h
                    .lag
                    .map_or_else(|| "-".to_owned(), |l| format!("{} ms", l.as_millis()));
                // The index only: `/readyz` is public, the replica's address is not.
                format!("replica {}: {state}, lag {lag}\n", r.index)
            })
            .collect()
    }

    /// Closes every replica pool.
    pub async fn close(&self) {
        for replica in &self.members {
            replica.db.conn.clone().close().await.ok();
        }
    }
}

/// Checks every `replica-check-ms` for as long as the replicas are in use.
async fn check_forever(replicas: Weak<Replicas>) {
    let every = match replicas.upgrade() {
        Some(r) => Duration::from_millis(r.settings.check_ms.max(10)),
        None => return,
    };
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(replicas) = replicas.upgrade() else {
            return;
        };
        replicas.check().await;
    }
}

/// A WAL position read with `sql` (one row, column `lsn`, as text).
async fn position(db: &DatabaseConnection, sql: &str) -> Result<Lsn> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or_else(|| Error::internal("a WAL position query returned no row"))?;
    let text: Option<String> = row.try_get("", "lsn")?;
    let text = text.ok_or_else(|| Error::internal("the database has no WAL position"))?;
    text.parse().map_err(|err: lsn::NotAnLsn| {
        Error::internal_caused("the database gave a malformed WAL position", err)
    })
}

/// A key for an `Authorization` header that is not the token itself.
fn editor_key(editor: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    editor.hash(&mut hasher);
    hasher.finish()
}
