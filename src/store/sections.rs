//! Reading sections.

use sea_orm::ConnectionTrait;

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
