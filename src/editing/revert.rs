//! Restoring an earlier version of an article as a new version; history is never rewritten.

use super::{Editing, change, import, tx};
use crate::{
    content::Classification,
    entities::article,
    error::{Error, Result},
    events::ChangeKind,
    store::{content::replace_document, revisions},
};

/// Restores the document of version `to_version` as a new version, if the article is still
/// at `expected_version` (`CONFLICT` with the current version otherwise).
///
/// The revision's plain-text document is parsed with the default classification, exactly as
/// `annals import` reads an exported article; the slug and topic tags stay as they are.
pub async fn revert(
    ed: &Editing,
    editor: &str,
    id: i64,
    to_version: i32,
    expected_version: i32,
) -> Result<article::Model> {
    let txn = tx::begin(&ed.db).await?;
    let article = tx::lock_article(&txn, id).await?;
    if article.version != expected_version {
        return Err(tx::version_conflict(Some(article.version)));
    }
    let revision = revisions::by_version(&txn, id, to_version)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "the article has no version {to_version} (its versions are 1 to {})",
                article.version
            ))
        })?;
    let document = import::parse(&revision.document, &Classification::default())?;
    let article = replace_document(&txn, &article, &document, editor, change::REVERTED).await?;
    txn.commit().await?;
    ed.publish([tx::event(ChangeKind::Updated, &article)]).await;
    Ok(article)
}
