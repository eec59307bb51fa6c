//! Reading and writing sections.

use std::sync::LazyLock;

use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ConnectionTrait,
};

use super::{
    columns::{self, Columns, FromColumns},
    sql::SqlBuilder,
};
use crate::{entities::section, error::Result};

fn select(db: &impl ConnectionTrait, columns: Columns) -> SqlBuilder {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(&section::Model::select_list(columns))
        .push(" FROM sections s WHERE ");
    sql
}

/// The select list of sections joined to another table (`s.id AS s_id`...), read with
/// [`joined`]; built once per shape.
pub fn joined_select_list(columns: Columns) -> &'static str {
    static LISTS: LazyLock<[String; 2]> = LazyLock::new(|| {
        [Columns::Narrow, Columns::Full]
            .map(|c| columns::aliased(&section::Model::select_list(c), JOINED_PREFIX))
    });
    match columns {
        Columns::Narrow => &LISTS[0],
        Columns::Full => &LISTS[1],
    }
}

/// The prefix of a joined section's column names ([`joined_select_list`]).
const JOINED_PREFIX: &str = "s_";

/// The section on a row that [`joined_select_list`] selected, if any: a `LEFT JOIN` row
/// whose owner has no sections has them all NULL.
pub fn joined(
    row: &sea_orm::QueryResult,
    columns: Columns,
) -> std::result::Result<Option<section::Model>, sea_orm::DbErr> {
    match row.try_get::<Option<i64>>(JOINED_PREFIX, "id")? {
        None => Ok(None),
        Some(_) => section::Model::from_prefixed(row, JOINED_PREFIX, columns).map(Some),
    }
}

/// Sections with these ids.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<section::Model>> {
    by_ids_with(db, ids, Columns::Full).await
}

/// Sections with these ids, with only `columns`.
pub async fn by_ids_with(
    db: &impl ConnectionTrait,
    ids: &[i64],
    columns: Columns,
) -> Result<Vec<section::Model>> {
    let mut sql = select(db, columns);
    sql.in_ids("s.id", ids);
    columns::all(db, sql.build(), columns).await
}

/// Every section of these articles, in document order within each article.
pub async fn by_article_ids(
    db: &impl ConnectionTrait,
    article_ids: &[i64],
) -> Result<Vec<section::Model>> {
    by_article_ids_with(db, article_ids, Columns::Full).await
}

/// Every section of these articles, in document order within each article, with only
/// `columns`.
pub async fn by_article_ids_with(
    db: &impl ConnectionTrait,
    article_ids: &[i64],
    columns: Columns,
) -> Result<Vec<section::Model>> {
    let mut sql = select(db, columns);
    sql.in_ids("s.article_id", article_ids)
        .push(" ORDER BY s.article_id, s.position");
    columns::all(db, sql.build(), columns).await
}

/// Inserts a section at `position` of its article (the caller has made room there); the row
/// as stored, with its new id.
pub async fn insert(
    db: &impl ConnectionTrait,
    article_id: i64,
    position: i32,
    slug: String,
    heading: String,
    body: String,
) -> Result<section::Model> {
    Ok(section::ActiveModel {
        id: NotSet,
        article_id: Set(article_id),
        position: Set(position),
        slug: Set(slug),
        heading: Set(heading),
        body: Set(body),
    }
    .insert(db)
    .await?)
}

/// Writes a section's heading, body and slug as `section` has them; its position is
/// [`super::positions`]'s.
pub async fn update_fields(db: &impl ConnectionTrait, section: &section::Model) -> Result<()> {
    use section::Column::{Body, Heading, Slug};
    super::update_columns(db, section, &[Heading, Body, Slug]).await
}

/// Deletes a section; its reforms, reactions and their tags go with it (`ON DELETE CASCADE`).
/// The sections after it keep their positions until the caller closes the gap.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<()> {
    super::delete_by_id::<section::Entity>(db, id).await
}
