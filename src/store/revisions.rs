//! The append-only history of article versions.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, FromQueryResult};

use super::{
    page::{SortSpec, Window},
    sql::SqlBuilder,
};
use crate::{entities::revision, error::Result};

const COLUMNS: &str =
    "r.id, r.article_id, r.version, r.created_at, r.editor, r.change, r.node_id, r.document";

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

/// The revision of `article_id` at `version`.
pub async fn by_version(
    db: &impl ConnectionTrait,
    article_id: i64,
    version: i32,
) -> Result<Option<revision::Model>> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(COLUMNS)
        .push(" FROM revisions r WHERE r.article_id = ")
        .bind(article_id)
        .push(" AND r.version = ")
        .bind(version);
    Ok(revision::Model::find_by_statement(sql.build())
        .one(db)
        .await?)
}

/// The revisions of these articles with these versions, as one statement.
pub async fn by_versions(
    db: &impl ConnectionTrait,
    article_ids: &[i64],
    versions: &[i64],
) -> Result<Vec<revision::Model>> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(COLUMNS)
        .push(" FROM revisions r WHERE ")
        .in_ids("r.article_id", article_ids)
        .push(" AND ")
        .in_ids("r.version", versions);
    Ok(revision::Model::find_by_statement(sql.build())
        .all(db)
        .await?)
}

/// For each article, one page of its revisions, newest first (keyed by version), in one
/// statement: a window function numbers each article's revisions.
pub async fn pages_by_article(
    db: &impl ConnectionTrait,
    article_ids: &[i64],
    window: &Window,
) -> Result<Vec<revision::Model>> {
    // Newest first; a backward (`last`) window is fetched from the oldest end.
    let dir = if window.backward() { "ASC" } else { "DESC" };
    let spec = SortSpec {
        column: None,
        id_column: "r.version",
        descending: true,
    };
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT * FROM (SELECT ");
    sql.push(COLUMNS);
    sql.push(&format!(
        ", ROW_NUMBER() OVER (PARTITION BY r.article_id ORDER BY r.version {dir}) AS rn \
         FROM revisions r WHERE "
    ));
    sql.in_ids("r.article_id", article_ids);
    spec.push_conditions(&mut sql, window);
    sql.push(") ranked WHERE rn <= ")
        .bind((window.limit() + 1) as i64);
    sql.push(" ORDER BY article_id, rn");
    Ok(revision::Model::find_by_statement(sql.build())
        .all(db)
        .await?)
}
