//! The `Revision` type and its connection.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::snapshot::ArticleSnapshot;
use crate::{connection_type, entities::revision, store::revisions::snapshot_of};

/// One committed version of an article; history is append-only.
#[derive(Clone)]
pub struct Revision(pub revision::Model);

/// One committed version of an article; history is append-only.
#[Object]
impl Revision {
    /// The article's version this revision records.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When the version was committed (RFC 3339, UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The configured name of the editor token that made the change (`seed` and `cli` for
    /// seeding and `annals import`); never the token.
    async fn editor(&self) -> &str {
        &self.0.editor
    }

    /// What changed, e.g. ARTICLE_CREATED, SECTION_UPDATED, TOPIC_TAGGED, REVERTED.
    async fn change(&self) -> &str {
        &self.0.change
    }

    /// The global ID of what the change touched, when it was one node.
    async fn node_id(&self) -> Option<ID> {
        self.0.node_id.clone().map(ID)
    }

    /// The article at this version in the Annals text format, exactly as `annals export`
    /// (and `Article.document`) wrote it then.
    async fn document(&self) -> &str {
        &self.0.document
    }

    /// The complete article tree at this version: what `revertArticle` restores.
    #[graphql(complexity = 20)]
    async fn snapshot(&self) -> Result<ArticleSnapshot> {
        Ok(ArticleSnapshot(snapshot_of(&self.0)?))
    }
}

/// How many revisions an article has: one per version, so its current version.
#[derive(Clone, Copy)]
pub struct RevisionTotal(pub i32);

impl RevisionTotal {
    /// The count.
    pub async fn count(&self, _ctx: &Context<'_>) -> Result<i32> {
        Ok(self.0)
    }
}

connection_type!(
    RevisionConnection,
    RevisionEdge,
    Revision,
    RevisionTotal,
    "revisions"
);
