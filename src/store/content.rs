//! Writing whole documents as articles and reading articles back as documents.
//!
//! Both the importer (`annals import`, `importArticle`) and the seeders go through
//! [`write_documents`], which inserts any number of articles with one statement per table and
//! chunk, so 10,000 synthetic articles take seconds, not minutes.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, EntityTrait,
};

use super::{
    articles,
    points::{self, PointKind},
    revisions::{self, NewRevision},
    sections,
    sql::SqlBuilder,
};
use crate::{
    content::{Document, PointDoc, SectionDoc, render_document, slug::unique_slug, slugify},
    entities::{article, reaction, reform, section},
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

/// Inserts new articles with their sections, reforms and reactions, and records version 1 of
/// each as a revision by `editor`. Returns the new articles in input order.
pub async fn write_documents(
    db: &impl ConnectionTrait,
    new: &[NewArticle],
    editor: &str,
    change: &str,
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
    let ids: Vec<i64> = articles.iter().map(|a| a.id).collect();
    let pairs: Vec<(i64, &Document)> = ids
        .iter()
        .copied()
        .zip(new.iter().map(|a| &a.document))
        .collect();
    write_children(db, &pairs).await?;
    let revisions = articles
        .iter()
        .zip(new)
        .map(|(article, a)| NewRevision {
            article_id: article.id,
            version: 1,
            at: a.created_at,
            editor: editor.to_owned(),
            change: change.to_owned(),
            node_id: None,
            document: render_document(&a.document),
        })
        .collect();
    revisions::record(db, revisions).await?;
    Ok(articles)
}

/// Inserts the sections, reforms and reactions of already-inserted articles.
async fn write_children(db: &impl ConnectionTrait, articles: &[(i64, &Document)]) -> Result<()> {
    let section_rows: Vec<section::ActiveModel> = articles
        .iter()
        .flat_map(|(article_id, doc)| {
            let mut taken = Vec::new();
            doc.sections
                .iter()
                .enumerate()
                .map(move |(i, s)| {
                    let slug = unique_slug(&slugify(&s.heading), |c| {
                        taken.iter().any(|t: &String| t == c)
                    });
                    taken.push(slug.clone());
                    section::ActiveModel {
                        id: NotSet,
                        article_id: Set(*article_id),
                        position: Set(i as i32 + 1),
                        slug: Set(slug),
                        heading: Set(s.heading.clone()),
                        body: Set(s.body.clone()),
                    }
                })
                .collect::<Vec<_>>()
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

    let mut reforms = Vec::new();
    let mut reactions = Vec::new();
    for (article_id, doc) in articles {
        let mut reform_slugs: Vec<String> = Vec::new();
        let mut reaction_slugs: Vec<String> = Vec::new();
        for (i, s) in doc.sections.iter().enumerate() {
            let section_id = section_ids[&(*article_id, i as i32 + 1)];
            for (p, point) in s.reforms.iter().enumerate() {
                let (slug, title, description) = point_fields(point, &mut reform_slugs);
                reforms.push(reform::ActiveModel {
                    id: NotSet,
                    article_id: Set(*article_id),
                    section_id: Set(section_id),
                    position: Set(p as i32 + 1),
                    slug: Set(slug),
                    title: Set(title),
                    description: Set(description),
                });
            }
            for (p, point) in s.reactions.iter().enumerate() {
                let (slug, title, description) = point_fields(point, &mut reaction_slugs);
                reactions.push(reaction::ActiveModel {
                    id: NotSet,
                    article_id: Set(*article_id),
                    section_id: Set(section_id),
                    position: Set(p as i32 + 1),
                    slug: Set(slug),
                    title: Set(title),
                    description: Set(description),
                });
            }
        }
    }
    insert_chunked::<reform::Entity, _>(db, reforms).await?;
    insert_chunked::<reaction::Entity, _>(db, reactions).await?;
    Ok(())
}

fn point_fields(point: &PointDoc, taken: &mut Vec<String>) -> (String, String, String) {
    let slug = unique_slug(&slugify(&point.title), |c| taken.iter().any(|t| t == c));
    taken.push(slug.clone());
    (slug, point.title.clone(), point.description.clone())
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

/// Replaces the content (title, summary, sections and their points) of an existing article,
/// keeping its id and topic tags, as one new version. Returns the updated article.
pub async fn replace_document(
    db: &impl ConnectionTrait,
    existing: &article::Model,
    doc: &Document,
    editor: &str,
    change: &str,
) -> Result<article::Model> {
    let backend = db.get_database_backend();
    let mut delete = SqlBuilder::new(backend, "DELETE FROM sections WHERE article_id = ");
    delete.bind(existing.id);
    db.execute_raw(delete.build()).await?;
    write_children(db, &[(existing.id, doc)]).await?;
    let at = now().max(existing.updated_at);
    let version = existing.version + 1;
    let mut update = SqlBuilder::new(backend, "UPDATE articles SET title = ");
    update
        .bind(doc.title.clone())
        .push(", summary = ")
        .bind(doc.summary.clone())
        .push(", version = ")
        .bind(version)
        .push(", updated_at = ")
        .bind(at)
        .push(" WHERE id = ")
        .bind(existing.id);
    db.execute_raw(update.build()).await?;
    revisions::record(
        db,
        vec![NewRevision {
            article_id: existing.id,
            version,
            at,
            editor: editor.to_owned(),
            change: change.to_owned(),
            node_id: None,
            document: render_document(doc),
        }],
    )
    .await?;
    Ok(article::Model {
        title: doc.title.clone(),
        summary: doc.summary.clone(),
        version,
        updated_at: at,
        ..existing.clone()
    })
}

/// Reads an article back as a document, in document order.
pub async fn load_document(
    db: &impl ConnectionTrait,
    article: &article::Model,
) -> Result<Document> {
    let ids = [article.id];
    let sections = sections::by_article_ids(db, &ids).await?;
    let mut reforms = group(points::by_article_ids(db, PointKind::Reform, &ids).await?);
    let mut reactions = group(points::by_article_ids(db, PointKind::Reaction, &ids).await?);
    Ok(Document {
        title: article.title.clone(),
        summary: article.summary.clone(),
        sections: sections
            .into_iter()
            .map(|s| SectionDoc {
                reforms: reforms.remove(&s.id).unwrap_or_default(),
                reactions: reactions.remove(&s.id).unwrap_or_default(),
                heading: s.heading,
                body: s.body,
            })
            .collect(),
    })
}

fn group(points: Vec<points::Point>) -> HashMap<i64, Vec<PointDoc>> {
    let mut by_section: HashMap<i64, Vec<PointDoc>> = HashMap::new();
    for p in points {
        by_section.entry(p.section_id).or_default().push(PointDoc {
            title: p.title,
            description: p.description,
        });
    }
    by_section
}

/// The article with this slug, as plain text in the seed format.
pub async fn export(db: &impl ConnectionTrait, slug: &str) -> Result<Option<String>> {
    match articles::by_slug(db, slug).await? {
        Some(article) => Ok(Some(render_document(&load_document(db, &article).await?))),
        None => Ok(None),
    }
}
