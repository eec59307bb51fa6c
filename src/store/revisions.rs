//! The append-only history of article versions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    TransactionTrait,
};

use super::{
    columns::{self, Columns, FromColumns},
    page::{SortSpec, Window},
    sql::SqlBuilder,
};
use crate::{
    content::{Classification, Snapshot, parse_document, render_document},
    entities::{article, revision},
    error::{Error, Result},
};

const COLUMNS: &str = "r.id, r.article_id, r.version, r.created_at, r.editor, r.change, r.node_id, r.document, r.snapshot";

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
    /// The JSON snapshot of the article after the change.
    pub snapshot: String,
}

impl NewRevision {
    /// The revision recording `article` (at its current version) as `snapshot`.
    pub fn of(
        article: &article::Model,
        snapshot: &Snapshot,
        editor: &str,
        change: &str,
        node_id: Option<String>,
    ) -> Self {
        Self {
            article_id: article.id,
            version: article.version,
            at: article.updated_at,
            editor: editor.to_owned(),
            change: change.to_owned(),
            node_id,
            document: render_document(&snapshot.document()),
            snapshot: snapshot.to_json(),
        }
    }
}

/// The snapshot a revision stores; a row that cannot be read is an internal error naming it.
pub fn snapshot_of(revision: &revision::Model) -> Result<Snapshot> {
    let unreadable = |why: String| {
        Error::internal(format!(
            "revision {} (article {}, version {}) has an unreadable snapshot: {why}",
            revision.id, revision.article_id, revision.version
        ))
    };
    let json = revision
        .snapshot
        .as_deref()
        .ok_or_else(|| unreadable("it was never filled in".into()))?;
    Snapshot::from_json(json).map_err(|err| unreadable(err.to_string()))
}

/// Fills in the snapshot of every revision written before snapshots existed, once, in one
/// transaction: a current version from the article's rows (exact, with tags and ids), an older
/// one by parsing its document with the default classification, as reverts did before.
/// Returns how many rows it filled.
pub async fn backfill(db: &DatabaseConnection) -> Result<usize> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(COLUMNS)
        .push(" FROM revisions r WHERE r.snapshot IS NULL ORDER BY r.id");
    let pending = revision::Model::find_by_statement(sql.build())
        .all(db)
        .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let txn = db.begin().await?;
    let article_ids: Vec<i64> = pending.iter().map(|r| r.article_id).collect();
    let articles = super::articles::by_ids(&txn, &article_ids).await?;
    let current: Vec<&article::Model> = articles.iter().collect();
    let live = super::snapshots::load_many(&txn, &articles).await?;
    for revision in &pending {
        let Some(i) = current.iter().position(|a| a.id == revision.article_id) else {
            continue;
        };
        let snapshot = if revision.version == current[i].version {
            live[i].clone()
        } else {
            match parse_document(&revision.document, &Classification::default()) {
                Ok(doc) => Snapshot::from_document(&current[i].slug, &doc.with_slugs()),
                Err(err) => {
                    tracing::warn!(
                        revision = revision.id,
                        error = %err,
                        "cannot parse an old revision's document; it stays without a snapshot"
                    );
                    continue;
                }
            }
        };
        let mut update = SqlBuilder::new(
            txn.get_database_backend(),
            "UPDATE revisions SET snapshot = ",
        );
        update
            .bind(snapshot.to_json())
            .push(" WHERE id = ")
            .bind(revision.id);
        txn.execute_raw(update.build()).await?;
    }
    txn.commit().await?;
    tracing::info!(revisions = pending.len(), "filled in revision snapshots");
    Ok(pending.len())
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
            snapshot: Set(Some(rev.snapshot)),
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

/// The revisions of these articles with these versions, with only `columns`, as one
/// statement.
pub async fn by_versions(
    db: &impl ConnectionTrait,
    article_ids: &[i64],
    versions: &[i64],
    columns: Columns,
) -> Result<Vec<revision::Model>> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(&revision::Model::select_list(columns))
        .push(" FROM revisions r WHERE ")
        .in_ids("r.article_id", article_ids)
        .push(" AND ")
        .in_ids("r.version", versions);
    columns::all(db, sql.build(), columns).await
}

/// For each article, one page of its revisions, newest first (keyed by version), with only
/// `columns`, in one statement. Rows come grouped by article, each article's in fetch order.
///
/// On PostgreSQL each article's page is a `LATERAL` subquery over
/// `revisions_article_version_key` that stops after `limit + 1` rows; on SQLite a window
/// function numbers each article's revisions.
pub async fn pages_by_article(
    db: &impl ConnectionTrait,
    article_ids: &[i64],
    window: &Window,
    columns: Columns,
) -> Result<Vec<revision::Model>> {
    let backend = db.get_database_backend();
    // Newest first; a backward (`last`) window is fetched from the oldest end.
    let dir = if window.backward() { "ASC" } else { "DESC" };
    let spec = SortSpec {
        column: None,
        id_column: "r.version",
        descending: true,
    };
    let list = revision::Model::select_list(columns);
    let mut sql;
    if backend == sea_orm::DbBackend::Postgres {
        sql = SqlBuilder::new(backend, "SELECT p.* FROM unnest(CAST(");
        sql.bind(super::sql::ids_value(backend, article_ids));
        sql.push(" AS bigint[])) AS o(owner_id) CROSS JOIN LATERAL (SELECT ")
            .push(&list)
            .push(" FROM revisions r WHERE r.article_id = o.owner_id");
        spec.push_conditions(&mut sql, window);
        sql.push(&format!(" ORDER BY r.version {dir} LIMIT "))
            .bind((window.limit() + 1) as i64);
        sql.push(&format!(") p ORDER BY p.article_id, p.version {dir}"));
    } else {
        sql = SqlBuilder::new(backend, "SELECT * FROM (SELECT ");
        sql.push(&list);
        sql.push(&format!(
            ", ROW_NUMBER() OVER (PARTITION BY r.article_id ORDER BY r.version {dir}) AS rn \
             FROM revisions r WHERE "
        ));
        sql.in_ids("r.article_id", article_ids);
        spec.push_conditions(&mut sql, window);
        sql.push(") ranked WHERE rn <= ")
            .bind((window.limit() + 1) as i64);
        sql.push(" ORDER BY article_id, rn");
    }
    columns::all(db, sql.build(), columns).await
}
