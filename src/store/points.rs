//! Reading reforms and reactions, which share one shape: labelled points under a section.

use sea_orm::ConnectionTrait;

use super::{
    columns::{self, Columns, FromColumns},
    page::{Page, SortSpec, Window},
    sql::SqlBuilder,
};
use crate::error::{Error, Result};

/// Which of the two point tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointKind {
    /// `reforms`.
    Reform,
    /// `reactions`.
    Reaction,
}

impl PointKind {
    /// Both kinds, reforms first (the order of dumps, snapshots and documents).
    pub const ALL: [Self; 2] = [Self::Reform, Self::Reaction];

    /// What one point of this kind is called in messages: `reform` or `reaction`.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Reform => "reform",
            Self::Reaction => "reaction",
        }
    }

    /// The table name.
    pub fn table(self) -> &'static str {
        match self {
            Self::Reform => "reforms",
            Self::Reaction => "reactions",
        }
    }

    /// The tag table linking these points to topics, and its point column.
    pub fn tag_table(self) -> (&'static str, &'static str) {
        match self {
            Self::Reform => ("reform_topics", "reform_id"),
            Self::Reaction => ("reaction_topics", "reaction_id"),
        }
    }
}

/// One reform or reaction, read from either table.
///
/// Both tables have one shape (their entities come from one definition, `point_entity!`), so
/// rows of either kind are this one type: the reform entity's model. SeaORM binds a model to
/// one entity, so `entities::reaction::Model` exists too, identical, for typed table-wide work
/// such as dumps; everything else reads and writes points through this module.
pub type Point = crate::entities::reform::Model;

fn select(db: &impl ConnectionTrait, kind: PointKind, columns: Columns) -> SqlBuilder {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(&Point::select_list(columns))
        .push(" FROM ")
        .push(kind.table())
        .push(" p");
    sql
}

/// Points with these ids.
pub async fn by_ids(db: &impl ConnectionTrait, kind: PointKind, ids: &[i64]) -> Result<Vec<Point>> {
    by_ids_with(db, kind, ids, Columns::Full).await
}

/// Which rows a list of points reads: those whose `column` is one of the ids, in `order`.
struct Listing {
    /// Joined tables (`""` for none).
    join: &'static str,
    /// The column matched against the ids.
    column: &'static str,
    /// The `ORDER BY` clause (`""` for none).
    order: &'static str,
}

/// Points by id.
const BY_ID: Listing = Listing {
    join: "",
    column: "p.id",
    order: "",
};
/// Points of sections, in document order.
const BY_SECTION: Listing = Listing {
    join: "",
    column: "p.section_id",
    order: " ORDER BY p.section_id, p.position",
};
/// Points of articles, in document order (by section, then position).
const BY_ARTICLE: Listing = Listing {
    join: " JOIN sections s ON s.id = p.section_id",
    column: "p.article_id",
    order: " ORDER BY p.article_id, s.position, p.position",
};

async fn list(
    db: &impl ConnectionTrait,
    kind: PointKind,
    listing: &Listing,
    ids: &[i64],
    columns: Columns,
) -> Result<Vec<Point>> {
    let mut sql = select(db, kind, columns);
    sql.push(listing.join)
        .push(" WHERE ")
        .in_ids(listing.column, ids)
        .push(listing.order);
    columns::all(db, sql.build(), columns).await
}

/// Points with these ids, with only `columns`.
pub async fn by_ids_with(
    db: &impl ConnectionTrait,
    kind: PointKind,
    ids: &[i64],
    columns: Columns,
) -> Result<Vec<Point>> {
    list(db, kind, &BY_ID, ids, columns).await
}

/// Points of these sections, in document order, with only `columns`.
pub async fn by_section_ids(
    db: &impl ConnectionTrait,
    kind: PointKind,
    ids: &[i64],
    columns: Columns,
) -> Result<Vec<Point>> {
    list(db, kind, &BY_SECTION, ids, columns).await
}

/// Points of these articles, in document order (by section, then position).
pub async fn by_article_ids(
    db: &impl ConnectionTrait,
    kind: PointKind,
    ids: &[i64],
) -> Result<Vec<Point>> {
    by_article_ids_with(db, kind, ids, Columns::Full).await
}

/// Points of these articles, in document order (by section, then position), with only
/// `columns`.
pub async fn by_article_ids_with(
    db: &impl ConnectionTrait,
    kind: PointKind,
    ids: &[i64],
    columns: Columns,
) -> Result<Vec<Point>> {
    list(db, kind, &BY_ARTICLE, ids, columns).await
}

/// Points tagged with these topics, as `(topic_id, point)`, in id order, with only `columns`.
pub async fn by_topic_ids(
    db: &impl ConnectionTrait,
    kind: PointKind,
    ids: &[i64],
    columns: Columns,
) -> Result<Vec<(i64, Point)>> {
    let (tag_table, column) = kind.tag_table();
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT t.topic_id AS owner_id, ");
    sql.push(&Point::select_list(columns)).push(" FROM ");
    sql.push(tag_table).push(" t JOIN ").push(kind.table());
    sql.push(&format!(" p ON p.id = t.{column} WHERE "));
    sql.in_ids("t.topic_id", ids)
        .push(" ORDER BY t.topic_id, p.id");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64>("", "owner_id")?,
                Point::from_columns(row, columns)?,
            ))
        })
        .collect()
}

/// Which points a list shows.
#[derive(Debug, Clone, Default)]
pub struct ContentFilter {
    /// Only points of the article with this slug.
    pub article: Option<String>,
    /// Only points tagged with the topic of this slug.
    pub topic: Option<String>,
}

fn push_filter(sql: &mut SqlBuilder, kind: PointKind, filter: &ContentFilter) {
    if let Some(article) = &filter.article {
        sql.push(" AND p.article_id IN (SELECT id FROM articles WHERE slug = ")
            .bind(article.clone())
            .push(")");
    }
    if let Some(topic) = &filter.topic {
        let (tag_table, column) = kind.tag_table();
        sql.push(&format!(
            " AND EXISTS (SELECT 1 FROM {tag_table} tt JOIN topics t ON t.id = tt.topic_id WHERE tt.{column} = p.id AND t.slug = "
        ))
        .bind(topic.clone())
        .push(")");
    }
}

/// One page of points, in id order, with only `columns`.
pub async fn page(
    db: &impl ConnectionTrait,
    kind: PointKind,
    filter: &ContentFilter,
    window: &Window,
    columns: Columns,
) -> Result<Page<Point>> {
    let spec = SortSpec {
        column: None,
        id_column: "p.id",
        descending: false,
    };
    let mut sql = select(db, kind, columns);
    sql.push(" WHERE 1=1");
    push_filter(&mut sql, kind, filter);
    spec.push_conditions(&mut sql, window);
    spec.push_order_and_limit(&mut sql, window);
    let rows = columns::all(db, sql.build(), columns).await?;
    Ok(Page::from_fetched(rows, window))
}

/// How many points match `filter`.
pub async fn count(
    db: &impl ConnectionTrait,
    kind: PointKind,
    filter: &ContentFilter,
) -> Result<i64> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT COUNT(*) AS n FROM ");
    sql.push(kind.table()).push(" p WHERE 1=1");
    push_filter(&mut sql, kind, filter);
    let row = db.query_one_raw(sql.build()).await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}

/// Inserts `point` (the `id` it comes with is ignored) and returns it with the id the table
/// gave it.
pub async fn insert(db: &impl ConnectionTrait, kind: PointKind, point: Point) -> Result<Point> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "INSERT INTO ");
    sql.push(kind.table())
        .push(" (article_id, section_id, position, slug, title, description) VALUES (")
        .bind(point.article_id)
        .push(", ")
        .bind(point.section_id)
        .push(", ")
        .bind(point.position)
        .push(", ")
        .bind(point.slug.clone())
        .push(", ")
        .bind(point.title.clone())
        .push(", ")
        .bind(point.description.clone())
        .push(") RETURNING id");
    let row = db
        .query_one_raw(sql.build())
        .await?
        .ok_or_else(|| Error::internal(format!("INSERT INTO {} gave no id", kind.table())))?;
    Ok(Point {
        id: row.try_get("", "id")?,
        ..point
    })
}

/// Writes `point` to the row with its id: its section, position, slug, title and text (a
/// point never moves to another article).
pub async fn update(db: &impl ConnectionTrait, kind: PointKind, point: &Point) -> Result<()> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "UPDATE ");
    sql.push(kind.table())
        .push(" SET section_id = ")
        .bind(point.section_id)
        .push(", position = ")
        .bind(point.position)
        .push(", slug = ")
        .bind(point.slug.clone())
        .push(", title = ")
        .bind(point.title.clone())
        .push(", description = ")
        .bind(point.description.clone())
        .push(" WHERE id = ")
        .bind(point.id);
    db.execute_raw(sql.build()).await?;
    Ok(())
}

/// Deletes the points with these ids (their tags go with them).
pub async fn delete(db: &impl ConnectionTrait, kind: PointKind, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql = SqlBuilder::new(db.get_database_backend(), "DELETE FROM ");
    sql.push(kind.table()).push(" WHERE ").in_ids("id", ids);
    db.execute_raw(sql.build()).await?;
    Ok(())
}

/// Tags points with topics, given as `(point_id, topic_id)` pairs; a pair that is already
/// there stays as it is.
pub async fn add_tags(
    db: &impl ConnectionTrait,
    kind: PointKind,
    pairs: &[(i64, i64)],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let (tag_table, column) = kind.tag_table();
    let mut sql = SqlBuilder::new(db.get_database_backend(), "INSERT INTO ");
    sql.push(tag_table)
        .push(&format!(" ({column}, topic_id) VALUES "));
    for (i, (point_id, topic_id)) in pairs.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind(*point_id)
            .push(", ")
            .bind(*topic_id)
            .push(")");
    }
    sql.push(" ON CONFLICT DO NOTHING");
    db.execute_raw(sql.build()).await?;
    Ok(())
}
