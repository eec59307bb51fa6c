//! Restoring an earlier version of an article as a new version; history is never rewritten.

use super::{Editing, change, tx};
use crate::{
    entities::article,
    error::{Error, Result},
    store::{revisions, snapshots},
};

/// Restores the snapshot of version `to_version` as a new version, if the article is still
/// at `expected_version` (`CONFLICT` with the current version otherwise).
///
/// The article gets back exactly that version's tree: its slug, title and summary, the same
/// sections and points with their kinds, slugs, texts and positions, and the same topic tags
/// (of topics that still exist). Nodes that still exist keep their ids (matched by id, else by
/// slug); nodes deleted since come back with new ids. When the content already equals that
/// version, nothing is written: no new version, no event.
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
    let current = snapshots::load(&txn, &article).await?;
    let mut target = revisions::snapshot_of(&revision)?.matched_to(&current);
    target.retain_topics(&snapshots::existing_topics(&txn, &target.topic_ids()).await?);
    if target.content() == current.content() {
        return Ok(article);
    }
    let written = snapshots::apply(&txn, &article, &current, &target).await?;
    let change = tx::Change::whole(editor, change::REVERTED);
    tx::commit_update(ed, txn, &written, change).await
}
