//! Reading sections.

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::sql::SqlBuilder;
use crate::{entities::section, error::Result};

const SELECT: &str =
    "SELECT s.id, s.article_id, s.position, s.slug, s.heading, s.body FROM sections s WHERE ";

/// Sections with these ids.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<section::Model>> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), SELECT);
    sql.in_ids("s.id", ids);
    Ok(section::Model::find_by_statement(sql.build())
        .all(db)
        .await?)
}

/// Every section of these articles, in document order within each article.
pub async fn by_article_ids(
    db: &impl ConnectionTrait,
    article_ids: &[i64],
) -> Result<Vec<section::Model>> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), SELECT);
    sql.in_ids("s.article_id", article_ids)
        .push(" ORDER BY s.article_id, s.position");
    Ok(section::Model::find_by_statement(sql.build())
        .all(db)
        .await?)
}
