//! Reading and writing topics and their tags.

use std::sync::LazyLock;

use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ConnectionTrait, FromQueryResult,
};

use super::{
    page::{Key, KeyValue, Page, SortSpec, Window},
    points::PointKind,
    sql::SqlBuilder,
};
use crate::{entities::topic, error::Result};

const COLUMNS: &str = "t.id, t.slug, t.name, t.description";

/// The prefix of a joined topic's column names ([`joined_select_list`]).
pub const JOINED_PREFIX: &str = "t_";

/// The select list of a topic joined to another table (`t.id AS t_id`...), read with
/// `topic::Model::from_query_result(row, JOINED_PREFIX)`; built once.
pub fn joined_select_list() -> &'static str {
    static LIST: LazyLock<String> =
        LazyLock::new(|| super::columns::aliased(COLUMNS, JOINED_PREFIX));
    &LIST
}

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

/// A topic with everything it tags, by slug: what `annals export --all` writes to
/// `topics.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TopicEntry {
    /// The topic's slug.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The slugs of the articles it tags.
    pub articles: Vec<String>,
    /// The reforms it tags, as `article-slug/reform-slug`.
    pub reforms: Vec<String>,
    /// The reactions it tags, as `article-slug/reaction-slug`.
    pub reactions: Vec<String>,
}

/// Every topic and what it tags, by slug, in four statements.
pub async fn catalog(db: &impl ConnectionTrait) -> Result<Vec<TopicEntry>> {
    let backend = db.get_database_backend();
    let mut sql = SqlBuilder::new(backend, "SELECT ");
    sql.push(COLUMNS).push(" FROM topics t ORDER BY t.slug");
    let mut entries: Vec<TopicEntry> = topic::Model::find_by_statement(sql.build())
        .all(db)
        .await?
        .into_iter()
        .map(|t| TopicEntry {
            slug: t.slug,
            name: t.name,
            description: t.description,
            articles: Vec::new(),
            reforms: Vec::new(),
            reactions: Vec::new(),
        })
        .collect();
    for tagged in [
        Tagged::Article,
        Tagged::Point(PointKind::Reform),
        Tagged::Point(PointKind::Reaction),
    ] {
        let (table, column) = tagged.tag_table();
        let text = match tagged {
            Tagged::Article => format!(
                "SELECT t.slug AS topic, a.slug AS item FROM {table} g \
                 JOIN topics t ON t.id = g.topic_id JOIN articles a ON a.id = g.{column} \
                 ORDER BY t.slug, a.slug"
            ),
            Tagged::Point(kind) => format!(
                "SELECT t.slug AS topic, a.slug || '/' || p.slug AS item FROM {table} g \
                 JOIN topics t ON t.id = g.topic_id JOIN {} p ON p.id = g.{column} \
                 JOIN articles a ON a.id = p.article_id ORDER BY t.slug, a.slug, p.slug",
                kind.table()
            ),
        };
        let rows = db
            .query_all_raw(SqlBuilder::new(backend, &text).build())
            .await?;
        for row in rows {
            let topic: String = row.try_get("", "topic")?;
            let item: String = row.try_get("", "item")?;
            if let Some(entry) = entries.iter_mut().find(|e| e.slug == topic) {
                match tagged {
                    Tagged::Article => entry.articles.push(item),
                    Tagged::Point(PointKind::Reform) => entry.reforms.push(item),
                    Tagged::Point(PointKind::Reaction) => entry.reactions.push(item),
                }
            }
        }
    }
    Ok(entries)
}

/// Inserts a topic; the row as stored, with its new id.
pub async fn insert(
    db: &impl ConnectionTrait,
    slug: String,
    name: String,
    description: String,
) -> Result<topic::Model> {
    Ok(topic::ActiveModel {
        id: NotSet,
        slug: Set(slug),
        name: Set(name),
        description: Set(description),
    }
    .insert(db)
    .await?)
}

/// Writes a topic's slug, name and description as `topic` has them.
pub async fn update_fields(db: &impl ConnectionTrait, topic: &topic::Model) -> Result<()> {
    use topic::Column::{Description, Name, Slug};
    super::update_columns(db, topic, &[Slug, Name, Description]).await
}

/// Deletes a topic; its tags go with it (`ON DELETE CASCADE`).
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<()> {
    super::delete_by_id::<topic::Entity>(db, id).await
}

/// The ids of the articles the topic tags, on themselves or on one of their reforms or
/// reactions, each once, in no particular order: one statement.
pub async fn tagged_article_ids(db: &impl ConnectionTrait, topic_id: i64) -> Result<Vec<i64>> {
    let mut sql = SqlBuilder::new(
        db.get_database_backend(),
        "SELECT article_id FROM article_topics WHERE topic_id = ",
    );
    sql.bind(topic_id)
        .push(
            " UNION SELECT r.article_id FROM reform_topics rt JOIN reforms r ON r.id = rt.reform_id \
             WHERE rt.topic_id = ",
        )
        .bind(topic_id)
        .push(
            " UNION SELECT x.article_id FROM reaction_topics xt JOIN reactions x ON x.id = xt.reaction_id \
             WHERE xt.topic_id = ",
        )
        .bind(topic_id);
    Ok(db
        .query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| row.try_get::<i64>("", "article_id"))
        .collect::<Result<Vec<_>, _>>()?)
}

/// `<head><tag table> WHERE <item column> = item_id AND topic_id<topic_op>topic_id`: the
/// statement over one item's tags that counting and untagging share.
fn item_tags(
    db: &impl ConnectionTrait,
    head: &str,
    tagged: Tagged,
    item_id: i64,
    topic_op: &str,
    topic_id: i64,
) -> sea_orm::Statement {
    let (table, column) = tagged.tag_table();
    let mut sql = SqlBuilder::new(db.get_database_backend(), head);
    sql.push(table)
        .push(" WHERE ")
        .push(column)
        .push(" = ")
        .bind(item_id)
        .push(" AND topic_id")
        .push(topic_op)
        .bind(topic_id);
    sql.build()
}

/// How many topics other than `except_topic_id` tag the item `item_id`.
pub async fn tag_count_except(
    db: &impl ConnectionTrait,
    tagged: Tagged,
    item_id: i64,
    except_topic_id: i64,
) -> Result<i64> {
    let head = "SELECT COUNT(*) AS n FROM ";
    let sql = item_tags(db, head, tagged, item_id, " <> ", except_topic_id);
    Ok(match db.query_one_raw(sql).await? {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}

/// Tags the item `item_id` with the topic; whether the tag is new (`false`: it was there).
pub async fn add_tag(
    db: &impl ConnectionTrait,
    tagged: Tagged,
    item_id: i64,
    topic_id: i64,
) -> Result<bool> {
    let (table, column) = tagged.tag_table();
    let mut sql = SqlBuilder::new(db.get_database_backend(), "INSERT INTO ");
    sql.push(table)
        .push(" (")
        .push(column)
        .push(", topic_id) VALUES (")
        .bind(item_id)
        .push(", ")
        .bind(topic_id)
        .push(") ON CONFLICT DO NOTHING");
    Ok(db.execute_raw(sql.build()).await?.rows_affected() > 0)
}

/// Removes the topic's tag from the item `item_id`; whether there was one.
pub async fn remove_tag(
    db: &impl ConnectionTrait,
    tagged: Tagged,
    item_id: i64,
    topic_id: i64,
) -> Result<bool> {
    let sql = item_tags(db, "DELETE FROM ", tagged, item_id, " = ", topic_id);
    Ok(db.execute_raw(sql).await?.rows_affected() > 0)
}
