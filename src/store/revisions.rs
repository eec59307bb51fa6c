//! The append-only history of article versions.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use crate::{entities::revision, error::Result};

/// What one committed change recorded.
#[derive(Debug, Clone)]
pub struct NewRevision {
    /// The article.
    pub article_id: i64,
    /// The article's version after the change.
    pub version: i32,
    /// Commit time.
    pub at: DateTime<Utc>,
    /// The editor's configured name.
    pub editor: String,
    /// A machine-readable kind, e.g. `ARTICLE_CREATED`.
    pub change: String,
    /// The global id of the touched node, if one.
    pub node_id: Option<String>,
    /// The article's plain-text export after the change.
    pub document: String,
}

impl From<NewRevision> for revision::ActiveModel {
    fn from(rev: NewRevision) -> Self {
        Self {
            id: sea_orm::ActiveValue::NotSet,
            article_id: Set(rev.article_id),
            version: Set(rev.version),
            created_at: Set(rev.at),
            editor: Set(rev.editor),
            change: Set(rev.change),
            node_id: Set(rev.node_id),
            document: Set(rev.document),
        }
    }
}

/// Records revisions in batches of one statement per chunk.
pub async fn record(db: &impl ConnectionTrait, revisions: Vec<NewRevision>) -> Result<()> {
    let mut rows = revisions
        .into_iter()
        .map(revision::ActiveModel::from)
        .peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        revision::Entity::insert_many(chunk).exec(db).await?;
    }
    Ok(())
}
