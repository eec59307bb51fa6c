//! Transactions, article locks and version bumps shared by every write.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, FromQueryResult,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::{
    entities::article,
    error::{Error, Result},
    events::{ArticleEvent, ChangeKind},
    ids::GlobalId,
    store::{
        content::now,
        revisions::{self, NewRevision},
        snapshots,
        sql::SqlBuilder,
    },
};

/// Finishes a change inside one article: bumps its version and records the revision
/// ([`bump`]), commits, then announces the update. Returns the article as committed.
pub async fn commit_update(
    ed: &super::Editing,
    txn: DatabaseTransaction,
    article: &article::Model,
    change: Change<'_>,
) -> Result<article::Model> {
    let article = bump(&txn, article, change).await?;
    txn.commit().await?;
    ed.publish([event(ChangeKind::Updated, &article)]).await;
    Ok(article)
}

/// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
/// so a second writer waits for the busy timeout instead of failing when it upgrades a read.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    Ok(db.begin_with_options(options).await?)
}

const COLUMNS: &str = "a.id, a.slug, a.title, a.summary, a.version, a.created_at, a.updated_at";

/// Reads and locks an article for the rest of the transaction; `NOT_FOUND` if it is gone.
pub async fn lock_article(txn: &DatabaseTransaction, id: i64) -> Result<article::Model> {
    let backend = txn.get_database_backend();
    let mut sql = SqlBuilder::new(backend, "SELECT ");
    sql.push(COLUMNS)
        .push(" FROM articles a WHERE a.id = ")
        .bind(id);
    if backend == DbBackend::Postgres {
        sql.push(" FOR UPDATE");
    }
    article::Model::find_by_statement(sql.build())
        .one(txn)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "no article with id {}",
                GlobalId::Article(id).encode()
            ))
        })
}

/// What a change records on its revision.
pub struct Change<'a> {
    /// The editor's configured name.
    pub editor: &'a str,
    /// A machine-readable kind (see [`super::change`]).
    pub kind: &'a str,
    /// The node the change touched, when it was one.
    pub node: Option<GlobalId>,
}

/// Adds 1 to the article's version (only if it is still `article.version`), sets `updated_at`,
/// and records the revision with the article's document as it now stands.
pub async fn bump(
    txn: &DatabaseTransaction,
    article: &article::Model,
    change: Change<'_>,
) -> Result<article::Model> {
    let at = now().max(article.updated_at);
    let version = article.version + 1;
    let mut sql = SqlBuilder::new(txn.get_database_backend(), "UPDATE articles SET version = ");
    sql.bind(version)
        .push(", updated_at = ")
        .bind(at)
        .push(" WHERE id = ")
        .bind(article.id)
        .push(" AND version = ")
        .bind(article.version);
    if txn.execute_raw(sql.build()).await?.rows_affected() != 1 {
        return Err(stale(article.id, txn).await);
    }
    let updated = article::Model {
        version,
        updated_at: at,
        ..article.clone()
    };
    let snapshot = snapshots::load(txn, &updated).await?;
    let revision = NewRevision::of(
        &updated,
        &snapshot,
        change.editor,
        change.kind,
        change.node.map(GlobalId::encode),
    );
    revisions::record(txn, vec![revision]).await?;
    Ok(updated)
}

/// The `CONFLICT` for an article whose version moved on.
async fn stale(id: i64, txn: &DatabaseTransaction) -> Error {
    let current = crate::store::articles::by_ids(txn, &[id])
        .await
        .ok()
        .and_then(|mut a| a.pop())
        .map(|a| a.version);
    version_conflict(current)
}

/// `CONFLICT` with `extensions.currentVersion`.
pub fn version_conflict(current: Option<i32>) -> Error {
    Error::Conflict {
        message: match current {
            Some(v) => format!("the article changed since you read it; its current version is {v}"),
            None => "the article changed since you read it".into(),
        },
        current_version: current,
    }
}

/// The event announcing a committed change to `article`.
pub fn event(kind: ChangeKind, article: &article::Model) -> ArticleEvent {
    ArticleEvent {
        kind,
        article_id: article.id,
        slug: article.slug.clone(),
        version: article.version,
    }
}
