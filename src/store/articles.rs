//! Reading articles: by id, by slug, and filtered, ordered pages.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, FromQueryResult};

use super::{
    columns::{self, Columns, FromColumns},
    page::{Key, KeyValue, Page, SortSpec, Window},
    sections,
    sql::{SqlBuilder, like_pattern},
    topics,
};
use crate::{
    entities::{article, section, topic},
    error::Result,
};

const COLUMNS: &str = "a.id, a.slug, a.title, a.summary, a.version, a.created_at, a.updated_at";

fn select(db: &impl ConnectionTrait, columns: Columns) -> SqlBuilder {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(&article::Model::select_list(columns))
        .push(" FROM articles a WHERE ");
    sql
}

/// Which articles a list shows. Every part is optional; all given parts must hold.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    /// Only these slugs.
    pub slugs: Option<Vec<String>>,
    /// Only articles tagged with the topic of this slug.
    pub topic: Option<String>,
    /// Only titles containing this text, ignoring case.
    pub title_contains: Option<String>,
    /// Only articles updated at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

/// The column articles are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArticleSort {
    /// By title.
    Title,
    /// By creation time (the default).
    #[default]
    CreatedAt,
    /// By last change.
    UpdatedAt,
}

impl ArticleSort {
    fn column(self) -> &'static str {
        match self {
            Self::Title => "a.title",
            Self::CreatedAt => "a.created_at",
            Self::UpdatedAt => "a.updated_at",
        }
    }

    /// The cursor key of `article` in this order.
    pub fn key(self, article: &article::Model) -> Key {
        let value = match self {
            Self::Title => KeyValue::Text(article.title.clone()),
            Self::CreatedAt => KeyValue::time(article.created_at),
            Self::UpdatedAt => KeyValue::time(article.updated_at),
        };
        Key {
            value: Some(value),
            id: article.id,
        }
    }
}

/// The taken slugs a slug derived from `base` must avoid: `base` itself and `base-...`.
pub async fn slugs_like(db: &impl ConnectionTrait, base: &str) -> Result<Vec<String>> {
    let mut sql = SqlBuilder::new(
        db.get_database_backend(),
        "SELECT a.slug FROM articles a WHERE a.slug = ",
    );
    sql.bind(base.to_owned())
        .push(" OR a.slug LIKE ")
        .bind(format!("{base}-%"));
    let rows = db.query_all_raw(sql.build()).await?;
    Ok(rows
        .iter()
        .filter_map(|row| row.try_get::<String>("", "slug").ok())
        .collect())
}

/// Articles with these ids, in no particular order.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<article::Model>> {
    by_ids_with(db, ids, Columns::Full).await
}

/// Articles with these ids, in no particular order, with only `columns`.
pub async fn by_ids_with(
    db: &impl ConnectionTrait,
    ids: &[i64],
    columns: Columns,
) -> Result<Vec<article::Model>> {
    let mut sql = select(db, columns);
    sql.in_ids("a.id", ids);
    columns::all(db, sql.build(), columns).await
}

/// The article with this slug, with only `columns`.
pub async fn by_slug_with(
    db: &impl ConnectionTrait,
    slug: &str,
    columns: Columns,
) -> Result<Option<article::Model>> {
    let mut sql = select(db, columns);
    sql.push("a.slug = ").bind(slug.to_owned());
    Ok(columns::all(db, sql.build(), columns).await?.pop())
}

/// The article with this slug and its sections in document order, each with only its
/// columns, in one statement: the sections are joined to the article (whose columns repeat on
/// each section's row), which spares a round trip to the database for the commonest read.
pub async fn by_slug_with_sections(
    db: &impl ConnectionTrait,
    slug: &str,
    columns: Columns,
    section_columns: Columns,
) -> Result<Option<(article::Model, Vec<section::Model>)>> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(&article::Model::select_list(columns))
        .push(", ")
        .push(sections::joined_select_list(section_columns))
        .push(" FROM articles a LEFT JOIN sections s ON s.article_id = a.id WHERE a.slug = ")
        .bind(slug.to_owned())
        .push(" ORDER BY s.position");
    let rows = db.query_all_raw(sql.build()).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let article = article::Model::from_columns(first, columns)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        found.extend(sections::joined(row, section_columns)?);
    }
    Ok(Some((article, found)))
}

/// The article with this slug.
pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<article::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(article::Entity::find()
        .filter(article::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

fn push_filter(sql: &mut SqlBuilder, filter: &ArticleFilter) {
    if let Some(slugs) = &filter.slugs {
        sql.push(" AND ").in_strings("a.slug", slugs);
    }
    if let Some(topic) = &filter.topic {
        sql.push(
            " AND EXISTS (SELECT 1 FROM article_topics at JOIN topics t ON t.id = at.topic_id \
             WHERE at.article_id = a.id AND t.slug = ",
        )
        .bind(topic.clone())
        .push(")");
    }
    if let Some(text) = &filter.title_contains {
        let op = sql.ilike();
        sql.push(" AND a.title")
            .push(op)
            .bind(like_pattern(text))
            .push(" ESCAPE '\\'");
    }
    if let Some(since) = filter.updated_since {
        sql.push(" AND a.updated_at >= ").bind(since);
    }
}

/// One article as `annals list` shows it: its fields and how much it holds.
#[derive(Debug, Clone, FromQueryResult, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleSummary {
    /// The slug.
    pub slug: String,
    /// The title.
    pub title: String,
    /// The current version.
    pub version: i32,
    /// The last change.
    pub updated_at: DateTime<Utc>,
    /// How many sections it has.
    pub sections: i64,
    /// How many reforms it has.
    pub reforms: i64,
    /// How many reactions it has.
    pub reactions: i64,
}

/// Every article that matches `filter`, by slug, with its counts, in one statement.
pub async fn summaries(
    db: &impl ConnectionTrait,
    filter: &ArticleFilter,
) -> Result<Vec<ArticleSummary>> {
    let mut sql = SqlBuilder::new(
        db.get_database_backend(),
        "SELECT a.slug, a.title, a.version, a.updated_at, \
         (SELECT COUNT(*) FROM sections s WHERE s.article_id = a.id) AS sections, \
         (SELECT COUNT(*) FROM reforms r WHERE r.article_id = a.id) AS reforms, \
         (SELECT COUNT(*) FROM reactions r WHERE r.article_id = a.id) AS reactions \
         FROM articles a WHERE 1=1",
    );
    push_filter(&mut sql, filter);
    sql.push(" ORDER BY a.slug");
    Ok(ArticleSummary::find_by_statement(sql.build())
        .all(db)
        .await?)
}

/// One page of the articles that match `filter`, in `sort` order, with only `columns`.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &ArticleFilter,
    sort: ArticleSort,
    descending: bool,
    window: &Window,
    columns: Columns,
) -> Result<Page<article::Model>> {
    let spec = SortSpec {
        column: Some(sort.column()),
        id_column: "a.id",
        descending,
    };
    let mut sql = select(db, columns);
    sql.push("1=1");
    push_filter(&mut sql, filter);
    spec.push_conditions(&mut sql, window);
    spec.push_order_and_limit(&mut sql, window);
    let rows = columns::all(db, sql.build(), columns).await?;
    Ok(Page::from_fetched(rows, window))
}

/// How many articles match `filter`.
pub async fn count(db: &impl ConnectionTrait, filter: &ArticleFilter) -> Result<i64> {
    let mut sql = SqlBuilder::new(
        db.get_database_backend(),
        "SELECT COUNT(*) AS n FROM articles a WHERE 1=1",
    );
    push_filter(&mut sql, filter);
    let row = db.query_one_raw(sql.build()).await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}

/// For each topic, one page of its articles (oldest first), with only `columns`, in one
/// statement. Rows come grouped by topic, each topic's in fetch order (see
/// [`Page::from_fetched`]).
///
/// On PostgreSQL each topic's page is a `LATERAL` subquery that walks the topic's
/// memberships in `(created_at, id)` order and stops after `limit + 1` rows; on SQLite a
/// window function numbers every article of each topic and keeps the first `limit + 1`.
pub async fn pages_by_topic(
    db: &impl ConnectionTrait,
    topic_ids: &[i64],
    window: &Window,
    columns: Columns,
) -> Result<Vec<(i64, article::Model)>> {
    let backend = db.get_database_backend();
    let page = TopicPage::new(window, columns);
    let mut sql;
    if backend == DbBackend::Postgres {
        sql = SqlBuilder::new(backend, "SELECT o.owner_id, p.* FROM unnest(CAST(");
        sql.bind(super::sql::ids_value(backend, topic_ids));
        sql.push(" AS bigint[])) AS o(owner_id) CROSS JOIN LATERAL ");
        page.push_lateral(&mut sql, "o.owner_id");
        sql.push(&format!(
            " p ORDER BY o.owner_id, p.created_at {dir}, p.id {dir}",
            dir = page.dir
        ));
    } else {
        sql = SqlBuilder::new(backend, "SELECT * FROM ");
        page.push_ranked(&mut sql, |sql| {
            sql.in_ids("at.topic_id", topic_ids);
        });
        sql.push(" WHERE rn <= ")
            .bind(page.fetch)
            .push(" ORDER BY owner_id, rn");
    }
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64>("", "owner_id")?,
                article::Model::from_columns(row, columns)?,
            ))
        })
        .collect()
}

/// The topic with this slug and the rows of one page of its articles (as
/// [`pages_by_topic`] fetches them, for [`Page::from_fetched`]), in one statement: the page is
/// joined to the topic (whose columns repeat on each article's row). The window has no
/// cursor: a cursor is checked against the topic's list, which needs the topic first.
pub async fn topic_with_page(
    db: &impl ConnectionTrait,
    slug: &str,
    window: &Window,
    columns: Columns,
) -> Result<Option<(topic::Model, Vec<article::Model>)>> {
    debug_assert!(window.after.is_none() && window.before.is_none());
    let backend = db.get_database_backend();
    let page = TopicPage::new(window, columns);
    let mut sql = SqlBuilder::new(backend, "SELECT ");
    sql.push(topics::joined_select_list());
    if backend == DbBackend::Postgres {
        sql.push(", p.* FROM topics t LEFT JOIN LATERAL ");
        page.push_lateral(&mut sql, "t.id");
        sql.push(" p ON true WHERE t.slug = ")
            .bind(slug.to_owned())
            .push(&format!(
                " ORDER BY p.created_at {dir}, p.id {dir}",
                dir = page.dir
            ));
    } else {
        sql.push(", ranked.* FROM topics t LEFT JOIN ");
        page.push_ranked(&mut sql, |sql| {
            sql.push("at.topic_id IN (SELECT t2.id FROM topics t2 WHERE t2.slug = ")
                .bind(slug.to_owned())
                .push(")");
        });
        sql.push(" ON ranked.rn <= ")
            .bind(page.fetch)
            .push(" WHERE t.slug = ")
            .bind(slug.to_owned())
            .push(" ORDER BY ranked.rn");
    }
    let rows = db.query_all_raw(sql.build()).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let topic = topic::Model::from_query_result(first, topics::JOINED_PREFIX)?;
    let mut fetched = Vec::with_capacity(rows.len());
    for row in &rows {
        // A topic without articles is one row whose article columns are all NULL.
        if row.try_get::<Option<i64>>("", "id")?.is_some() {
            fetched.push(article::Model::from_columns(row, columns)?);
        }
    }
    Ok(Some((topic, fetched)))
}

/// One topic's page of articles, as a subquery of a statement that names the topics.
struct TopicPage<'a> {
    window: &'a Window,
    list: String,
    dir: &'static str,
    /// Rows to fetch: one more than the page, to tell whether more follow.
    fetch: i64,
}

impl<'a> TopicPage<'a> {
    fn new(window: &'a Window, columns: Columns) -> Self {
        Self {
            window,
            list: article::Model::select_list(columns),
            dir: if window.backward() { "DESC" } else { "ASC" },
            fetch: (window.limit() + 1) as i64,
        }
    }

    fn spec() -> SortSpec<'static> {
        SortSpec {
            column: Some("a.created_at"),
            id_column: "a.id",
            descending: false,
        }
    }

    /// PostgreSQL: `(SELECT ...)`, the page of the topic whose id is `owner` (a column of the
    /// outer statement), walking its memberships in `(created_at, id)` order and stopping
    /// after `fetch` rows.
    fn push_lateral(&self, sql: &mut SqlBuilder, owner: &str) {
        // The inner `OFFSET 0` keeps the planner on a nested loop over `articles_pkey` per
        // membership row instead of a hash join over every article (bench/README.md, Q3).
        sql.push("(SELECT ")
            .push(&self.list)
            .push(" FROM article_topics g CROSS JOIN LATERAL (SELECT ")
            .push(&self.list)
            .push(" FROM articles a WHERE a.id = g.article_id OFFSET 0) a WHERE g.topic_id = ")
            .push(owner);
        Self::spec().push_conditions(sql, self.window);
        sql.push(&format!(
            " ORDER BY a.created_at {dir}, a.id {dir} LIMIT ",
            dir = self.dir
        ))
        .bind(self.fetch)
        .push(")");
    }

    /// SQLite: `(SELECT ...) ranked`: every article of the topics that `topics` selects (it
    /// pushes a condition on `at.topic_id`), numbered `rn` in page order, with its topic as
    /// `owner_id`; the caller keeps `rn <= fetch`.
    fn push_ranked(&self, sql: &mut SqlBuilder, topics: impl FnOnce(&mut SqlBuilder)) {
        sql.push("(SELECT at.topic_id AS owner_id, ")
            .push(&self.list)
            .push(&format!(
                ", ROW_NUMBER() OVER (PARTITION BY at.topic_id ORDER BY a.created_at {dir}, a.id {dir}) AS rn \
                 FROM article_topics at JOIN articles a ON a.id = at.article_id WHERE ",
                dir = self.dir
            ));
        topics(sql);
        Self::spec().push_conditions(sql, self.window);
        sql.push(") ranked");
    }
}

/// How many articles each topic tags, as `(topic_id, count)`.
pub async fn counts_by_topic(
    db: &impl ConnectionTrait,
    topic_ids: &[i64],
) -> Result<Vec<(i64, i64)>> {
    let mut sql = SqlBuilder::new(
        db.get_database_backend(),
        "SELECT topic_id, COUNT(*) AS n FROM article_topics WHERE ",
    );
    sql.in_ids("topic_id", topic_ids).push(" GROUP BY topic_id");
    let rows = db.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64>("", "topic_id")?,
                row.try_get::<i64>("", "n")?,
            ))
        })
        .collect()
}

/// Every article, by slug.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<article::Model>> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "SELECT ");
    sql.push(COLUMNS).push(" FROM articles a ORDER BY a.slug");
    Ok(article::Model::find_by_statement(sql.build())
        .all(db)
        .await?)
}

/// Reads the article with this id and, on PostgreSQL, locks its row until the transaction
/// ends (`FOR UPDATE`; SQLite write transactions hold the whole database already).
pub async fn lock(db: &impl ConnectionTrait, id: i64) -> Result<Option<article::Model>> {
    let backend = db.get_database_backend();
    let mut sql = SqlBuilder::new(backend, "SELECT ");
    sql.push(COLUMNS)
        .push(" FROM articles a WHERE a.id = ")
        .bind(id);
    if backend == DbBackend::Postgres {
        sql.push(" FOR UPDATE");
    }
    Ok(article::Model::find_by_statement(sql.build())
        .one(db)
        .await?)
}

/// Writes an article's slug, title and summary as `article` has them; its version is
/// [`advance_version`]'s.
pub async fn update_fields(db: &impl ConnectionTrait, article: &article::Model) -> Result<()> {
    use article::Column::{Slug, Summary, Title};
    super::update_columns(db, article, &[Slug, Title, Summary]).await
}

/// Sets the article's version to `to_version` and its `updated_at` to `at`, but only while
/// its version is still `from_version`; whether it was (`false`: someone else moved it on).
pub async fn advance_version(
    db: &impl ConnectionTrait,
    id: i64,
    from_version: i32,
    to_version: i32,
    at: DateTime<Utc>,
) -> Result<bool> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "UPDATE articles SET version = ");
    sql.bind(to_version)
        .push(", updated_at = ")
        .bind(at)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND version = ")
        .bind(from_version);
    Ok(db.execute_raw(sql.build()).await?.rows_affected() == 1)
}

/// Deletes an article; its sections, points, tags and revisions go with it (`ON DELETE
/// CASCADE`).
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<()> {
    super::delete_by_id::<article::Entity>(db, id).await
}
