//! Creating, updating and deleting articles.

use super::{
    Editing, change,
    tx::{self, Change},
    validate,
};
use crate::{
    content::Document,
    entities::article,
    error::{Error, Result},
    events::ChangeKind,
    ids::GlobalId,
    store::{
        self,
        content::{NewArticle, now, record_created, write_documents},
    },
};

/// A new, empty article.
#[derive(Debug, Clone)]
pub struct NewArticleInput {
    /// Its slug (must be free).
    pub slug: String,
    /// Its title.
    pub title: String,
    /// Its summary.
    pub summary: String,
}

/// Changes to an article's own fields; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct ArticleChanges {
    /// A new slug.
    pub slug: Option<String>,
    /// A new title.
    pub title: Option<String>,
    /// A new summary.
    pub summary: Option<String>,
}

/// Creates an article without sections as version 1.
pub async fn create(ed: &Editing, editor: &str, input: NewArticleInput) -> Result<article::Model> {
    let slug = validate::slug("slug", &input.slug)?;
    let title = validate::title("title", &input.title)?;
    let summary = validate::text("summary", &input.summary)?;
    let txn = tx::begin(&ed.db).await?;
    let new = NewArticle {
        slug,
        document: Document {
            slug: None,
            title,
            summary,
            sections: Vec::new(),
        },
        created_at: now(),
    };
    let articles = write_documents(&txn, &[new]).await?;
    record_created(&txn, &articles, editor, change::ARTICLE_CREATED).await?;
    let article = articles
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("the new article was not found after insert"))?;
    txn.commit().await?;
    ed.publish([tx::event(ChangeKind::Created, &article)]).await;
    Ok(article)
}

/// Updates an article's slug, title or summary if its version is still `expected_version`;
/// otherwise `CONFLICT` with the current version. Changing nothing is a no-op.
pub async fn update(
    ed: &Editing,
    editor: &str,
    id: i64,
    expected_version: i32,
    changes: ArticleChanges,
) -> Result<article::Model> {
    let slug = validate::optional("slug", changes.slug.as_deref(), validate::slug)?;
    let title = validate::optional("title", changes.title.as_deref(), validate::title)?;
    let summary = validate::optional("summary", changes.summary.as_deref(), validate::text)?;
    let txn = tx::begin(&ed.db).await?;
    let article = tx::lock_article(&txn, id).await?;
    if article.version != expected_version {
        return Err(tx::version_conflict(Some(article.version)));
    }
    let changed = article::Model {
        slug: slug.unwrap_or_else(|| article.slug.clone()),
        title: title.unwrap_or_else(|| article.title.clone()),
        summary: summary.unwrap_or_else(|| article.summary.clone()),
        ..article.clone()
    };
    if changed == article {
        return Ok(article);
    }
    store::articles::update_fields(&txn, &changed).await?;
    let change = Change::on(editor, change::ARTICLE_UPDATED, GlobalId::Article(id));
    tx::commit_update(ed, txn, &changed, change).await
}

/// Deletes an article with everything in it and its history.
pub async fn delete(ed: &Editing, id: i64) -> Result<()> {
    let txn = tx::begin(&ed.db).await?;
    let article = tx::lock_article(&txn, id).await?;
    store::articles::delete(&txn, id).await?;
    txn.commit().await?;
    ed.publish([tx::event(ChangeKind::Deleted, &article)]).await;
    Ok(())
}
