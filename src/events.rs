//! Article change events: published after a write commits, delivered to subscribers.
//!
//! On SQLite the bus is in-process. On PostgreSQL, events travel through LISTEN/NOTIFY so a
//! subscriber on one server process sees changes committed through another (or through the
//! `annals import` command).
//!
//! Delivery is at most once:
//! - Writers call [`EventBus::publish`] *after* their transaction commits, so a rolled-back
//!   change is never announced. On PostgreSQL `publish` runs `SELECT pg_notify(..)` on the pool
//!   (outside the transaction); a process that dies between COMMIT and NOTIFY loses that one
//!   event. NOTIFY inside the transaction would close that gap, but it would tie the bus to
//!   every writer's transaction; subscribers that must not miss a change re-read the article
//!   (`version` tells them whether they are behind).
//! - A process's own events reach its subscribers directly, before the NOTIFY (no round trip
//!   through the database), and go out to the other processes through NOTIFY. Each
//!   notification names the bus that sent it ([`EventBus`] has a random origin), and the
//!   listener drops those of its own bus, so a local event is delivered once.
//! - Each process LISTENs on one dedicated connection for the other processes' events. All
//!   subscribers of a process see events in one order (one local broadcast); two processes
//!   may interleave each other's events differently, as they already could when two writers
//!   committed at once (an event's `version` orders the changes to one article). When that
//!   connection drops, the listener reconnects; notifications sent meanwhile are lost (logged
//!   as a warning); the process's own events still reach its subscribers.
//! - Each subscriber has a bounded buffer (`ANNALS_SUBSCRIBER_BUFFER` events, [`EventBus::buffer`]); one that falls further behind
//!   gets [`broadcast::error::RecvError::Lagged`] with the number of events it missed, and
//!   writers never wait for subscribers.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicIsize, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, sqlx};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    error::{Error, Result},
    metrics,
    store::content_version,
};

/// The PostgreSQL notification channel article events travel on.
pub const CHANNEL: &str = "annals_article_changed";

/// What happened to an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChangeKind {
    /// The article was created.
    Created,
    /// The article or anything inside it changed.
    Updated,
    /// The article was deleted.
    Deleted,
}

/// One committed change to an article.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArticleEvent {
    /// What happened.
    pub kind: ChangeKind,
    /// The article's primary key.
    pub article_id: i64,
    /// The article's slug after the change.
    pub slug: String,
    /// The article's version after the change.
    pub version: i32,
}

/// A notification's payload: the event, and the bus that published it (absent in payloads
/// of older processes, which are delivered).
#[derive(serde::Serialize, serde::Deserialize)]
struct Notification {
    #[serde(default)]
    origin: Option<String>,
    #[serde(flatten)]
    event: ArticleEvent,
}

/// Fans article events out to every subscriber of this process.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<ArticleEvent>,
    /// The pool NOTIFY is sent through, on PostgreSQL.
    notify: Option<DatabaseConnection>,
    /// Stops the listener task.
    stop: CancellationToken,
    listener: Option<Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>>,
    /// Subscriptions served through another's receiver (multiplexed delivery): counted by
    /// [`EventBus::subscribers`], though they hold no receiver of their own.
    shared: Arc<AtomicIsize>,
    /// The content version, read on the listener's connection after each content-change
    /// notification (and after each reconnect), on PostgreSQL.
    versions: Option<watch::Receiver<i64>>,
    /// Names this bus in its notifications, so its listener skips its own events.
    origin: Arc<str>,
    /// Events buffered per subscriber before it counts as too slow.
    buffer: usize,
}

/// A receiver taken before a subscription executes, so no event after that moment is missed;
/// the `articleChanged` resolver uses it (once) instead of subscribing itself.
#[derive(Debug)]
pub struct Subscribed(Mutex<Option<broadcast::Receiver<ArticleEvent>>>);

impl Subscribed {
    /// Wraps a receiver for the request data.
    pub fn new(receiver: broadcast::Receiver<ArticleEvent>) -> Self {
        Self(Mutex::new(Some(receiver)))
    }

    /// The receiver, the first time.
    pub fn take(&self) -> Option<broadcast::Receiver<ArticleEvent>> {
        self.0.lock().ok()?.take()
    }
}

impl EventBus {
    /// An in-process bus buffering up to `buffer` events per subscriber (at least 1).
    pub fn new(buffer: usize) -> Self {
        let buffer = buffer.max(1);
        let (sender, _) = broadcast::channel(buffer);
        Self {
            sender,
            notify: None,
            stop: CancellationToken::new(),
            listener: None,
            shared: Arc::default(),
            versions: None,
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
            buffer,
        }
    }

    /// Events buffered per subscriber before it counts as too slow.
    pub fn buffer(&self) -> usize {
        self.buffer
    }

    /// A bus for a server: in-process on SQLite; on PostgreSQL it publishes with NOTIFY and
    /// LISTENs for every process's events. Returns once the listener is listening, so no event
    /// committed after this returns is missed. Each subscriber buffers up to `buffer` events.
    pub async fn start(db: &DatabaseConnection, buffer: usize) -> Result<Self> {
        let mut bus = Self::notifying(db, buffer);
        if db.get_database_backend() == DbBackend::Postgres {
            let options = db.get_postgres_connection_pool().connect_options();
            let listener = listen(&options).await.map_err(|err| {
                Error::Io(format!(
                    "cannot LISTEN for article events: {}",
                    first_line(&err.to_string())
                ))
            })?;
            let (versions, watching) = watch::channel(0);
            bus.versions = Some(watching);
            let task = tokio::spawn(relay(
                listener,
                options,
                bus.sender.clone(),
                versions,
                bus.origin.clone(),
                bus.stop.clone(),
            ));
            bus.listener = Some(Arc::new(tokio::sync::Mutex::new(Some(task))));
        }
        Ok(bus)
    }

    /// A bus that only publishes (for the command line): NOTIFY on PostgreSQL, so running
    /// servers hear about the change; in-process on SQLite, where other processes cannot hear
    /// it.
    pub fn publisher(db: &DatabaseConnection) -> Self {
        // Nobody subscribes to a publisher's own channel.
        Self::notifying(db, 1)
    }

    /// An in-process bus that also NOTIFYs on PostgreSQL.
    fn notifying(db: &DatabaseConnection, buffer: usize) -> Self {
        let mut bus = Self::new(buffer);
        if db.get_database_backend() == DbBackend::Postgres {
            bus.notify = Some(db.clone());
        }
        bus
    }

    /// Publishes a committed change: to this process's subscribers at once, and on
    /// PostgreSQL to the other processes with NOTIFY. Call only after the transaction
    /// commits. A failure to NOTIFY is logged, not returned: the change itself is already
    /// committed.
    pub async fn publish(&self, event: ArticleEvent) {
        metrics::count(metrics::EVENTS_PUBLISHED, 1);
        metrics::count(metrics::EVENTS_RECEIVED, 1);
        let Some(db) = &self.notify else {
            // No subscribers is not an error.
            let _ = self.sender.send(event);
            return;
        };
        let notification = Notification {
            origin: Some(self.origin.to_string()),
            event,
        };
        let payload = serde_json::to_string(&notification);
        let event = notification.event;
        // No subscribers is not an error.
        let _ = self.sender.send(event.clone());
        let payload = match payload {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "cannot encode an article event");
                return;
            }
        };
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        );
        if let Err(err) = db.execute_raw(statement).await {
            tracing::warn!(error = %err, article_id = event.article_id, "cannot NOTIFY an article event; subscribers miss it");
        }
    }

    /// A receiver of every event published from now on, buffering up to
    /// [`EventBus::buffer`] events.
    pub fn subscribe(&self) -> broadcast::Receiver<ArticleEvent> {
        self.sender.subscribe()
    }

    /// How many subscriptions this process serves now: its receivers, plus the subscriptions
    /// that share one (see [`EventBus::share`]).
    pub fn subscribers(&self) -> usize {
        let shared = self.shared.load(Ordering::Relaxed);
        (self.sender.receiver_count() as isize + shared).max(0) as usize
    }

    /// Counts `delta` more (or fewer) subscriptions served through a receiver already counted.
    pub fn share(&self, delta: isize) {
        self.shared.fetch_add(delta, Ordering::Relaxed);
    }

    /// The content version as the listener last read it (PostgreSQL only): changes after
    /// every commit anywhere that changed the content.
    pub fn content_versions(&self) -> Option<watch::Receiver<i64>> {
        self.versions.clone()
    }

    /// Stops listening (PostgreSQL) and waits for the listener to close its connection.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        if let Some(listener) = &self.listener
            && let Some(task) = listener.lock().await.take()
        {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
    }
}

type PgOptions = Arc<sqlx::postgres::PgConnectOptions>;

/// A listener on its own connection (not one of the pool's: a LISTEN connection is held for
/// good and must not starve requests), listening on [`CHANNEL`].
async fn listen(
    options: &PgOptions,
) -> std::result::Result<sqlx::postgres::PgListener, sqlx::Error> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with((**options).clone())
        .await?;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
    listener
        .listen_all([CHANNEL, content_version::CHANNEL])
        .await?;
    Ok(listener)
}

/// Relays notifications to local subscribers until stopped; reconnects with backoff when the
/// connection drops or fails.
async fn relay(
    mut listener: sqlx::postgres::PgListener,
    options: PgOptions,
    sender: broadcast::Sender<ArticleEvent>,
    versions: watch::Sender<i64>,
    origin: Arc<str>,
    stop: CancellationToken,
) {
    read_version(&mut listener, &versions).await;
    let mut backoff = Duration::from_millis(100);
    loop {
        let received = tokio::select! {
            () = stop.cancelled() => break,
            received = listener.try_recv() => received,
        };
        match received {
            Ok(Some(notification)) if notification.channel() == content_version::CHANNEL => {
                backoff = Duration::from_millis(100);
                read_version(&mut listener, &versions).await;
            }
            Ok(Some(notification)) => {
                backoff = Duration::from_millis(100);
                match serde_json::from_str::<Notification>(notification.payload()) {
                    // This bus's own event: its subscribers have had it (see `publish`).
                    Ok(Notification {
                        origin: Some(from), ..
                    }) if *from == *origin => {}
                    Ok(Notification { event, .. }) => {
                        metrics::count(metrics::EVENTS_RECEIVED, 1);
                        let _ = sender.send(event);
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "ignoring a malformed article event notification");
                    }
                }
            }
            // The connection dropped; sqlx has reconnected and LISTENs again.
            Ok(None) => {
                read_version(&mut listener, &versions).await;
                tracing::warn!(
                    "LISTEN connection lost and re-established; events sent meanwhile are lost"
                );
            }
            Err(err) => {
                tracing::warn!(error = %first_line(&err.to_string()), retry_in_ms = backoff.as_millis() as u64, "article event listener failed; reconnecting");
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                match listen(&options).await {
                    Ok(fresh) => {
                        listener = fresh;
                        read_version(&mut listener, &versions).await;
                        tracing::info!("article event listener reconnected");
                    }
                    Err(err) => {
                        tracing::warn!(error = %first_line(&err.to_string()), "cannot reconnect the article event listener");
                    }
                }
            }
        }
    }
    // Dropping the listener closes its connection (and its one-connection pool).
    drop(listener);
}

/// Reads the content version on the listener's own connection (so it costs the pool
/// nothing) and hands it on; a failure is logged, the next notification tries again.
async fn read_version(listener: &mut sqlx::postgres::PgListener, versions: &watch::Sender<i64>) {
    let read = sqlx::query_scalar::<_, i64>(content_version::CURRENT)
        .fetch_one(&mut *listener)
        .await;
    match read {
        Ok(version) => {
            versions.send_replace(version);
        }
        Err(err) => {
            tracing::warn!(error = %first_line(&err.to_string()), "cannot read the content version");
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
