//! Creating, updating and deleting reforms and reactions (one code path for both kinds).

use sea_orm::DatabaseTransaction;

use super::{
    Editing,
    positions::Siblings,
    sections,
    tx::{self, Change},
    validate,
};
use crate::{
    content::{slugify, unique_slug},
    entities::article,
    error::{Error, Result},
    ids::GlobalId,
    store::points::{self, Point, PointKind},
};

/// A new reform or reaction.
#[derive(Debug, Clone)]
pub struct NewPoint {
    /// The section it stands under.
    pub section_id: i64,
    /// Its title.
    pub title: String,
    /// Its text.
    pub description: String,
    /// Its slug (default: derived from the title, with `-2`, `-3`, ... when taken).
    pub slug: Option<String>,
    /// Where it goes within the section (default: last).
    pub position: Option<i32>,
}

/// Changes to a reform or reaction; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct PointChanges {
    /// A new title.
    pub title: Option<String>,
    /// A new text.
    pub description: Option<String>,
    /// A new slug.
    pub slug: Option<String>,
}

/// What an edit did to a point.
#[derive(Debug, Clone, Copy)]
enum Action {
    Created,
    Updated,
    Deleted,
}

/// The revision kind of an edit of a point, e.g. `REFORM_CREATED`.
fn change_kind(kind: PointKind, action: Action) -> &'static str {
    match (kind, action) {
        (PointKind::Reform, Action::Created) => "REFORM_CREATED",
        (PointKind::Reform, Action::Updated) => "REFORM_UPDATED",
        (PointKind::Reform, Action::Deleted) => "REFORM_DELETED",
        (PointKind::Reaction, Action::Created) => "REACTION_CREATED",
        (PointKind::Reaction, Action::Updated) => "REACTION_UPDATED",
        (PointKind::Reaction, Action::Deleted) => "REACTION_DELETED",
    }
}

/// Commits `txn` as the article's next version, recording that `editor` did `action` to the
/// point `id`.
async fn commit(
    ed: &Editing,
    txn: DatabaseTransaction,
    article: &article::Model,
    editor: &str,
    kind: PointKind,
    action: Action,
    id: i64,
) -> Result<article::Model> {
    let change = Change {
        editor,
        kind: change_kind(kind, action),
        node: Some(GlobalId::point(kind, id)),
    };
    tx::commit_update(ed, txn, article, change).await
}

/// The point with this id, or `NOT_FOUND`.
pub(super) async fn find(txn: &DatabaseTransaction, kind: PointKind, id: i64) -> Result<Point> {
    points::by_ids(txn, kind, &[id])
        .await?
        .pop()
        .ok_or_else(|| {
            Error::not_found(format!(
                "no {} with id {}",
                kind.noun(),
                GlobalId::point(kind, id).encode()
            ))
        })
}

async fn find_locked(
    txn: &DatabaseTransaction,
    kind: PointKind,
    id: i64,
) -> Result<(article::Model, Point)> {
    let article = tx::lock_article(txn, find(txn, kind, id).await?.article_id).await?;
    Ok((article, find(txn, kind, id).await?))
}

/// Adds a reform or reaction under a section at a position, as a new article version.
pub async fn create(ed: &Editing, editor: &str, kind: PointKind, input: NewPoint) -> Result<Point> {
    let title = validate::point_title("title", &input.title)?;
    let description = validate::text("description", &input.description)?;
    let slug = validate::optional("slug", input.slug.as_deref(), validate::slug)?;
    let txn = tx::begin(&ed.db).await?;
    let article_id = sections::find(&txn, input.section_id).await?.article_id;
    let article = tx::lock_article(&txn, article_id).await?;
    let mut count = 0;
    for kind in PointKind::ALL {
        count += points::by_article_ids(&txn, kind, &[article.id])
            .await?
            .len();
    }
    validate::room(
        "sectionId",
        "reforms and reactions per article",
        count,
        validate::MAX_POINTS_PER_ARTICLE,
    )?;
    let section = sections::find(&txn, input.section_id).await?;
    let position = Siblings::points_of(kind, section.id)
        .open(&txn, input.position)
        .await?;
    let slug = match slug {
        Some(slug) => slug,
        None => {
            let taken: Vec<String> = points::by_article_ids(&txn, kind, &[article.id])
                .await?
                .into_iter()
                .map(|p| p.slug)
                .collect();
            unique_slug(&slugify(&title), |c| taken.iter().any(|t| t == c))
        }
    };
    let point = Point {
        id: 0,
        article_id: article.id,
        section_id: section.id,
        position,
        slug,
        title,
        description,
    };
    let point = points::insert(&txn, kind, point).await?;
    commit(ed, txn, &article, editor, kind, Action::Created, point.id).await?;
    Ok(point)
}

/// Changes a reform's or reaction's title, text or slug; changing nothing is a no-op.
pub async fn update(
    ed: &Editing,
    editor: &str,
    kind: PointKind,
    id: i64,
    changes: PointChanges,
) -> Result<Point> {
    let title = validate::optional("title", changes.title.as_deref(), validate::point_title)?;
    let description = validate::optional(
        "description",
        changes.description.as_deref(),
        validate::text,
    )?;
    let slug = validate::optional("slug", changes.slug.as_deref(), validate::slug)?;
    let txn = tx::begin(&ed.db).await?;
    let (article, point) = find_locked(&txn, kind, id).await?;
    let changed = Point {
        title: title.unwrap_or_else(|| point.title.clone()),
        description: description.unwrap_or_else(|| point.description.clone()),
        slug: slug.unwrap_or_else(|| point.slug.clone()),
        ..point.clone()
    };
    if changed == point {
        return Ok(point);
    }
    points::update(&txn, kind, &changed).await?;
    commit(ed, txn, &article, editor, kind, Action::Updated, id).await?;
    Ok(changed)
}

/// Deletes a reform or reaction; the ones after it in its section move up.
pub async fn delete(ed: &Editing, editor: &str, kind: PointKind, id: i64) -> Result<()> {
    let txn = tx::begin(&ed.db).await?;
    let (article, point) = find_locked(&txn, kind, id).await?;
    points::delete(&txn, kind, &[id]).await?;
    Siblings::points_of(kind, point.section_id)
        .close(&txn, point.position)
        .await?;
    commit(ed, txn, &article, editor, kind, Action::Deleted, id).await?;
    Ok(())
}
