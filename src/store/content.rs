//! Writing whole documents as new articles, and reading articles back as text.
//!
//! Both the importer (`annals import`, `importArticle`) and the seeders go through
//! [`write_documents`], which inserts any number of articles with one statement per table and
//! chunk, so 10,000 synthetic articles take seconds, not minutes; [`record_created`] then
//! records their first revisions. Changing an existing article's tree goes through
//! [`super::snapshots::apply`].

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, EntityTrait,
};

use super::{
    articles,
    points::{self, Point, PointKind},
    revisions::{self, NewRevision},
    sections, snapshots,
    sql::SqlBuilder,
};
use crate::{
    content::{Document, PointDoc, SectionDoc, render_document},
    entities::{article, section},
    error::Result,
};

/// Rows per multi-row INSERT: well under both backends' bound-parameter limits.
const CHUNK: usize = 1_000;

/// The current time at the precision both backends store (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// An article to write: its slug, content and creation time.
#[derive(Debug, Clone)]
pub struct NewArticle {
    /// Unique slug.
    pub slug: String,
    /// The content.
    pub document: Document,
    /// Creation time (also its first `updated_at`).
    pub created_at: DateTime<Utc>,
}

/// Inserts new articles with their sections, reforms and reactions (slugs as given, the
/// others derived). Returns the new articles in input order; their first revisions are
/// recorded by [`record_created`], once everything else of the change is written.
pub async fn write_documents(
    db: &impl ConnectionTrait,
    new: &[NewArticle],
) -> Result<Vec<article::Model>> {
    for chunk in new.chunks(CHUNK) {
        let rows = chunk.iter().map(|a| article::ActiveModel {
            id: NotSet,
            slug: Set(a.slug.clone()),
            title: Set(a.document.title.clone()),
            summary: Set(a.document.summary.clone()),
            version: Set(1),
            created_at: Set(a.created_at),
            updated_at: Set(a.created_at),
        });
        article::Entity::insert_many(rows).exec(db).await?;
    }
    let slugs: Vec<String> = new.iter().map(|a| a.slug.clone()).collect();
    let mut by_slug: HashMap<String, article::Model> = HashMap::new();
    for chunk in slugs.chunks(CHUNK) {
        let mut sql = SqlBuilder::new(
            db.get_database_backend(),
            "SELECT a.id, a.slug, a.title, a.summary, a.version, a.created_at, a.updated_at FROM articles a WHERE ",
        );
        sql.in_strings("a.slug", chunk);
        for model in sea_orm::FromQueryResult::find_by_statement(sql.build())
            .all(db)
            .await?
        {
            let model: article::Model = model;
            by_slug.insert(model.slug.clone(), model);
        }
    }
    let articles: Vec<article::Model> =
        new.iter().filter_map(|a| by_slug.remove(&a.slug)).collect();
    let documents: Vec<Document> = new
        .iter()
        .map(|a| a.document.clone().with_slugs())
        .collect();
    let pairs: Vec<(i64, &Document)> = articles.iter().map(|a| a.id).zip(&documents).collect();
    write_children(db, &pairs).await?;
    Ok(articles)
}

/// Records version 1 of each new article by `editor`, as it now stands (tags included).
pub async fn record_created(
    db: &impl ConnectionTrait,
    articles: &[article::Model],
    editor: &str,
    change: &str,
) -> Result<()> {
    let snapshots = snapshots::load_many(db, articles).await?;
    let revisions = articles
        .iter()
        .zip(snapshots)
        .map(|(article, snapshot)| NewRevision::of(article, &snapshot, editor, change, None))
        .collect();
    revisions::record(db, revisions).await
}

/// Inserts the sections, reforms and reactions of already-inserted articles.
async fn write_children(db: &impl ConnectionTrait, articles: &[(i64, &Document)]) -> Result<()> {
    let section_rows: Vec<section::ActiveModel> = articles
        .iter()
        .flat_map(|(article_id, doc)| {
            doc.sections
                .iter()
                .enumerate()
                .map(move |(i, s)| section::ActiveModel {
                    id: NotSet,
                    article_id: Set(*article_id),
                    position: Set(i as i32 + 1),
                    slug: Set(s.slug.clone().unwrap_or_default()),
                    heading: Set(s.heading.clone()),
                    body: Set(s.body.clone()),
                })
        })
        .collect();
    insert_chunked::<section::Entity, _>(db, section_rows).await?;

    let ids: Vec<i64> = articles.iter().map(|(id, _)| *id).collect();
    let mut section_ids: HashMap<(i64, i32), i64> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        for s in sections::by_article_ids(db, chunk).await? {
            section_ids.insert((s.article_id, s.position), s.id);
        }
    }

    for kind in [PointKind::Reform, PointKind::Reaction] {
        let mut rows = Vec::new();
        for (article_id, doc) in articles {
            for (i, s) in doc.sections.iter().enumerate() {
                let section_id = section_ids[&(*article_id, i as i32 + 1)];
                let points = match kind {
                    PointKind::Reform => &s.reforms,
                    PointKind::Reaction => &s.reactions,
                };
                rows.extend(points.iter().enumerate().map(|(p, point)| PointRow {
                    article_id: *article_id,
                    section_id,
                    position: p as i32 + 1,
                    point,
                }));
            }
        }
        insert_points(db, kind, &rows).await?;
    }
    Ok(())
}

/// A reform or reaction to insert, under an already-inserted section.
struct PointRow<'a> {
    article_id: i64,
    section_id: i64,
    position: i32,
    point: &'a PointDoc,
}

/// Inserts points of `kind`, one multi-row INSERT per chunk, into the kind's table, so both
/// kinds are written by the same code.
async fn insert_points(
    db: &impl ConnectionTrait,
    kind: PointKind,
    rows: &[PointRow<'_>],
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut sql = SqlBuilder::new(db.get_database_backend(), "INSERT INTO ");
        sql.push(kind.table())
            .push(" (article_id, section_id, position, slug, title, description) VALUES ");
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(row.article_id)
                .push(", ")
                .bind(row.section_id)
                .push(", ")
                .bind(row.position)
                .push(", ")
                .bind(row.point.slug.clone().unwrap_or_default())
                .push(", ")
                .bind(row.point.title.clone())
                .push(", ")
                .bind(row.point.description.clone())
                .push(")");
        }
        db.execute_raw(sql.build()).await?;
    }
    Ok(())
}

async fn insert_chunked<E, A>(db: &impl ConnectionTrait, rows: Vec<A>) -> Result<()>
where
    E: EntityTrait<ActiveModel = A>,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        E::insert_many(chunk).exec(db).await?;
    }
    Ok(())
}

/// An article's content from its rows: its `sections` in document order, and its `reforms`
/// and `reactions` in document order (by section, then position). The one place an article's
/// rows become a [`Document`]: `Article.document`, `Article.markdown` and `annals export` all
/// come here.
pub fn document_of(
    article: &article::Model,
    sections: Vec<section::Model>,
    reforms: Vec<Point>,
    reactions: Vec<Point>,
) -> Document {
    let mut reforms = by_section(reforms);
    let mut reactions = by_section(reactions);
    let sections = sections
        .into_iter()
        .map(|s| SectionDoc {
            reforms: reforms.remove(&s.id).unwrap_or_default(),
            reactions: reactions.remove(&s.id).unwrap_or_default(),
            slug: Some(s.slug),
            heading: s.heading,
            body: s.body,
        })
        .collect();
    Document {
        slug: Some(article.slug.clone()),
        title: article.title.clone(),
        summary: article.summary.clone(),
        sections,
    }
}

/// Groups points by the section they are under, keeping their order.
fn by_section(points: Vec<Point>) -> HashMap<i64, Vec<PointDoc>> {
    let mut by_section: HashMap<i64, Vec<PointDoc>> = HashMap::new();
    for p in points {
        by_section.entry(p.section_id).or_default().push(PointDoc {
            slug: Some(p.slug),
            title: p.title,
            description: p.description,
        });
    }
    by_section
}

/// The article with this slug in the article text format (lossless; the seed's plain format
/// where that reads right).
pub async fn export(db: &impl ConnectionTrait, slug: &str) -> Result<Option<String>> {
    let Some(article) = articles::by_slug(db, slug).await? else {
        return Ok(None);
    };
    let ids = [article.id];
    let sections = sections::by_article_ids(db, &ids).await?;
    let reforms = points::by_article_ids(db, PointKind::Reform, &ids).await?;
    let reactions = points::by_article_ids(db, PointKind::Reaction, &ids).await?;
    Ok(Some(render_document(&document_of(
        &article, sections, reforms, reactions,
    ))))
}
