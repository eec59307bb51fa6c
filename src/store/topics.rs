//! Reading topics and which content they tag.

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::{
    page::{Key, KeyValue, Page, SortSpec, Window},
    points::PointKind,
    sql::SqlBuilder,
};
use crate::{entities::topic, error::Result};

const COLUMNS: &str = "t.id, t.slug, t.name, t.description";

/// What a topic can tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tagged {
    /// Articles.
    Article,
    /// Reforms or reactions.
    Point(PointKind),
}

impl Tagged {
    /// The tag table and its column naming the tagged item.
    pub fn tag_table(self) -> (&'static str, &'static str) {
        match self {
            Self::Article => ("article_topics", "article_id"),
            Self::Point(kind) => kind.tag_table(),
        }
    }
}

/// Topics with these ids.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<topic::Model>> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(COLUMNS)
        .push(" FROM topics t WHERE ")
        .in_ids("t.id", ids);
    Ok(topic::Model::find_by_statement(sql.build()).all(db).await?)
}

/// The topic with this slug.
pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<topic::Model>> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(COLUMNS)
        .push(" FROM topics t WHERE t.slug = ")
        .bind(slug.to_owned());
    Ok(topic::Model::find_by_statement(sql.build()).one(db).await?)
}

/// The topics of these tagged items, as `(item_id, topic)`, by topic name.
pub async fn of(
    db: &impl ConnectionTrait,
    tagged: Tagged,
    ids: &[i64],
) -> Result<Vec<(i64, topic::Model)>> {
    let (tag_table, column) = tagged.tag_table();
    let mut sql = SqlBuilder::new(
        db.get_database_backend(),
        &format!("SELECT g.{column} AS owner_id, "),
    );
    sql.push(COLUMNS)
        .push(" FROM ")
        .push(tag_table)
        .push(" g JOIN topics t ON t.id = g.topic_id WHERE ");
    sql.in_ids(&format!("g.{column}"), ids)
        .push(" ORDER BY t.name, t.id");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64>("", "owner_id")?,
                topic::Model::from_query_result(row, "")?,
            ))
        })
        .collect()
}

/// The cursor key of a topic in the topics list (ordered by slug).
pub fn key(topic: &topic::Model) -> Key {
    Key {
        value: Some(KeyValue::Text(topic.slug.clone())),
        id: topic.id,
    }
}

/// One page of all topics, by slug.
pub async fn page(db: &impl ConnectionTrait, window: &Window) -> Result<Page<topic::Model>> {
    let spec = SortSpec {
        column: Some("t.slug"),
        id_column: "t.id",
        descending: false,
    };
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(COLUMNS).push(" FROM topics t WHERE 1=1");
    spec.push_conditions(&mut sql, window);
    spec.push_order_and_limit(&mut sql, window);
    let rows = topic::Model::find_by_statement(sql.build()).all(db).await?;
    Ok(Page::from_fetched(rows, window))
}

/// How many topics exist.
pub async fn count(db: &impl ConnectionTrait) -> Result<i64> {
    let sql = SqlBuilder::new(
        db.get_database_backend(),
        "SELECT COUNT(*) AS n FROM topics",
    );
    let row = db.query_one_raw(sql.build()).await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}
