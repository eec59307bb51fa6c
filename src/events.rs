//! Article change events: published after a write commits, delivered to subscribers.
//!
//! On SQLite the bus is in-process. On PostgreSQL, events travel through LISTEN/NOTIFY so a
//! subscriber on one server process sees changes committed through another.

use tokio::sync::broadcast;

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

/// Buffered events per subscriber before it counts as too slow.
pub const SUBSCRIBER_BUFFER: usize = 256;

/// Fans article events out to every subscriber of this process.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<ArticleEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// An in-process bus.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(SUBSCRIBER_BUFFER);
        Self { sender }
    }

    /// Publishes a committed change. Call only after the transaction commits.
    pub async fn publish(&self, event: ArticleEvent) {
        // No subscribers is not an error.
        let _ = self.sender.send(event);
    }

    /// A stream of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ArticleEvent> {
        self.sender.subscribe()
    }
}
