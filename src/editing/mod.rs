//! Every write to the content, one transaction each: validate, write, bump the article's
//! version, record a revision, commit, then publish the change.
//!
//! Nothing here knows about GraphQL or HTTP: the mutation resolvers and the command line
//! (`annals import`) call the same functions. Each function locks the article it changes
//! (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite write transactions start with
//! `BEGIN IMMEDIATE`), so concurrent writers to one article queue instead of failing.
//!
//! The rules are here (validation, version checks, which rows change, revisions, events);
//! every statement they send is a function of [`crate::store`].

pub mod articles;
pub mod import;
pub mod points;
pub mod revert;
pub mod sections;
pub mod topics;
pub mod validate;

mod positions;
mod tx;

use sea_orm::DatabaseConnection;

use crate::{
    cache::{Changes, Key, keys::article_changed},
    events::{ArticleEvent, EventBus},
};

/// What writes need: the database, the bus committed changes are published on, and the
/// caches to tell.
#[derive(Debug, Clone)]
pub struct Editing {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// Where committed changes are announced.
    pub events: EventBus,
    /// Which caches hear of committed changes (this process's content version, the CDN).
    pub changes: Changes,
}

impl Editing {
    /// Writes through `db`, announcing on `events`; no cache is told (see
    /// [`Editing::with_changes`]).
    pub fn new(db: DatabaseConnection, events: EventBus) -> Self {
        Self {
            db,
            events,
            changes: Changes::default(),
        }
    }

    /// The same, telling `changes` of every commit.
    pub fn with_changes(self, changes: Changes) -> Self {
        Self { changes, ..self }
    }

    /// After a commit that changed articles: tells the caches (before the write returns, so
    /// no later read is answered from before it), then the subscribers.
    async fn publish(&self, events: impl IntoIterator<Item = ArticleEvent>) {
        let events: Vec<ArticleEvent> = events.into_iter().collect();
        self.changes
            .committed(events.iter().flat_map(|e| article_changed(e.article_id)))
            .await;
        for event in events {
            self.events.publish(event).await;
        }
    }

    /// After a commit that changed only what `keys` name (topics).
    async fn touched(&self, keys: impl IntoIterator<Item = Key>) {
        self.changes.committed(keys).await;
    }
}

/// Machine-readable kinds of change recorded on revisions.
pub mod change {
    /// A new article.
    pub const ARTICLE_CREATED: &str = "ARTICLE_CREATED";
    /// The article's slug, title or summary changed.
    pub const ARTICLE_UPDATED: &str = "ARTICLE_UPDATED";
    /// The article was replaced by an imported document.
    pub const ARTICLE_IMPORTED: &str = "ARTICLE_IMPORTED";
    /// A section was added.
    pub const SECTION_CREATED: &str = "SECTION_CREATED";
    /// A section's heading, body or slug changed.
    pub const SECTION_UPDATED: &str = "SECTION_UPDATED";
    /// A section moved to another position.
    pub const SECTION_MOVED: &str = "SECTION_MOVED";
    /// A section was deleted with its reforms and reactions.
    pub const SECTION_DELETED: &str = "SECTION_DELETED";
    /// A topic was tagged on the article, a reform or a reaction.
    pub const TOPIC_TAGGED: &str = "TOPIC_TAGGED";
    /// A topic tag was removed (by untagTopic or deleteTopic).
    pub const TOPIC_UNTAGGED: &str = "TOPIC_UNTAGGED";
    /// An earlier version was restored.
    pub const REVERTED: &str = "REVERTED";
}
