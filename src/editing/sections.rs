//! Creating, updating, moving and deleting sections.

use sea_orm::DatabaseTransaction;

use super::{
    Editing, change,
    positions::{self, Siblings},
    tx::{self, Change},
    validate,
};
use crate::{
    content::{slugify, unique_slug},
    entities::section,
    error::{Error, Result},
    ids::GlobalId,
    store::sections,
};

/// A new section.
#[derive(Debug, Clone)]
pub struct NewSection {
    /// The article it goes into.
    pub article_id: i64,
    /// Its heading.
    pub heading: String,
    /// Its body (default empty).
    pub body: Option<String>,
    /// Its slug (default: derived from the heading, with `-2`, `-3`, ... when taken).
    pub slug: Option<String>,
    /// Where it goes (default: last).
    pub position: Option<i32>,
}

/// Changes to a section; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct SectionChanges {
    /// A new heading.
    pub heading: Option<String>,
    /// A new body.
    pub body: Option<String>,
    /// A new slug.
    pub slug: Option<String>,
}

/// The section with this id, or `NOT_FOUND`.
pub(super) async fn find(txn: &DatabaseTransaction, id: i64) -> Result<section::Model> {
    sections::by_ids(txn, &[id]).await?.pop().ok_or_else(|| {
        Error::not_found(format!(
            "no section with id {}",
            GlobalId::Section(id).encode()
        ))
    })
}

/// Finds the section, then locks its article and reads the section again under the lock.
async fn find_locked(
    txn: &DatabaseTransaction,
    id: i64,
) -> Result<(crate::entities::article::Model, section::Model)> {
    let article = tx::lock_article(txn, find(txn, id).await?.article_id).await?;
    Ok((article, find(txn, id).await?))
}

/// Adds a section at a position (shifting the ones after it), as a new article version.
pub async fn create(ed: &Editing, editor: &str, input: NewSection) -> Result<section::Model> {
    let heading = validate::heading("heading", &input.heading)?;
    let body = validate::text("body", input.body.as_deref().unwrap_or(""))?;
    let slug = validate::optional("slug", input.slug.as_deref(), validate::slug)?;
    let txn = tx::begin(&ed.db).await?;
    let article = tx::lock_article(&txn, input.article_id).await?;
    let count = sections::by_article_ids(&txn, &[article.id]).await?.len();
    validate::room(
        "articleId",
        "sections per article",
        count,
        validate::MAX_SECTIONS_PER_ARTICLE,
    )?;
    let position = Siblings::sections_of(article.id)
        .open(&txn, input.position)
        .await?;
    let slug = match slug {
        Some(slug) => slug,
        None => {
            let taken: Vec<String> = sections::by_article_ids(&txn, &[article.id])
                .await?
                .into_iter()
                .map(|s| s.slug)
                .collect();
            unique_slug(&slugify(&heading), |c| taken.iter().any(|t| t == c))
        }
    };
    let section = sections::insert(&txn, article.id, position, slug, heading, body).await?;
    let change = Change::on(
        editor,
        change::SECTION_CREATED,
        GlobalId::Section(section.id),
    );
    tx::commit_update(ed, txn, &article, change).await?;
    Ok(section)
}

/// Changes a section's heading, body or slug; changing nothing is a no-op.
pub async fn update(
    ed: &Editing,
    editor: &str,
    id: i64,
    changes: SectionChanges,
) -> Result<section::Model> {
    let heading = validate::optional("heading", changes.heading.as_deref(), validate::heading)?;
    let body = validate::optional("body", changes.body.as_deref(), validate::text)?;
    let slug = validate::optional("slug", changes.slug.as_deref(), validate::slug)?;
    let txn = tx::begin(&ed.db).await?;
    let (article, section) = find_locked(&txn, id).await?;
    let changed = section::Model {
        heading: heading.unwrap_or_else(|| section.heading.clone()),
        body: body.unwrap_or_else(|| section.body.clone()),
        slug: slug.unwrap_or_else(|| section.slug.clone()),
        ..section.clone()
    };
    if changed == section {
        return Ok(section);
    }
    sections::update_fields(&txn, &changed).await?;
    let change = Change::on(editor, change::SECTION_UPDATED, GlobalId::Section(id));
    tx::commit_update(ed, txn, &article, change).await?;
    Ok(changed)
}

/// Moves a section to `position` (1 to the number of sections); the others close up.
pub async fn move_to(ed: &Editing, editor: &str, id: i64, position: i32) -> Result<section::Model> {
    let txn = tx::begin(&ed.db).await?;
    let (article, section) = find_locked(&txn, id).await?;
    let siblings = Siblings::sections_of(article.id);
    let position = positions::check(position, siblings.count(&txn).await?)?;
    if position == section.position {
        return Ok(section);
    }
    siblings
        .move_to(&txn, id, section.position, position)
        .await?;
    let change = Change::on(editor, change::SECTION_MOVED, GlobalId::Section(id));
    tx::commit_update(ed, txn, &article, change).await?;
    Ok(section::Model {
        position,
        ..section
    })
}

/// Deletes a section with its reforms and reactions; the sections after it move up.
pub async fn delete(ed: &Editing, editor: &str, id: i64) -> Result<()> {
    let txn = tx::begin(&ed.db).await?;
    let (article, section) = find_locked(&txn, id).await?;
    sections::delete(&txn, id).await?;
    Siblings::sections_of(article.id)
        .close(&txn, section.position)
        .await?;
    let change = Change::on(editor, change::SECTION_DELETED, GlobalId::Section(id));
    tx::commit_update(ed, txn, &article, change).await?;
    Ok(())
}
