//! Transactions, article locks and version bumps shared by every write.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::{
    entities::article,
    error::{Error, Result},
    events::{ArticleEvent, ChangeKind},
    ids::GlobalId,
    store::{
        self,
        content::now,
        revisions::{self, NewRevision},
        snapshots,
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

/// Reads and locks an article for the rest of the transaction; `NOT_FOUND` if it is gone.
pub async fn lock_article(txn: &DatabaseTransaction, id: i64) -> Result<article::Model> {
    store::articles::lock(txn, id).await?.ok_or_else(|| {
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

impl<'a> Change<'a> {
    /// A change of `kind` by `editor` to the one node `node`.
    pub fn on(editor: &'a str, kind: &'a str, node: GlobalId) -> Self {
        Self {
            editor,
            kind,
            node: Some(node),
        }
    }

    /// A change of `kind` by `editor` to the article as a whole (a revert, an import).
    pub fn whole(editor: &'a str, kind: &'a str) -> Self {
        Self {
            editor,
            kind,
            node: None,
        }
    }
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
    if !store::articles::advance_version(txn, article.id, article.version, version, at).await? {
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
    let current = store::articles::by_ids(txn, &[id])
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
