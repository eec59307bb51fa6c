//! An article's rows as a [`Snapshot`], and a snapshot written back as the article's rows.

use std::collections::{HashMap, HashSet};

use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, ConnectionTrait, EntityTrait};

use super::{
    points::{self, Point, PointKind},
    sections,
    sql::SqlBuilder,
    topics::{self, Tagged},
};
use crate::{
    content::{PointSnapshot, SNAPSHOT_SCHEMA, SectionSnapshot, Snapshot, TopicRef},
    entities::{article, article_topic, section},
    error::Result,
};

/// Articles per batch when loading many snapshots.
const CHUNK: usize = 1_000;

/// The article as it now stands in the database.
pub async fn load(db: &impl ConnectionTrait, article: &article::Model) -> Result<Snapshot> {
    Ok(load_many(db, std::slice::from_ref(article))
        .await?
        .pop()
        .expect("one snapshot per article"))
}

async fn tags(
    db: &impl ConnectionTrait,
    tagged: Tagged,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<TopicRef>>> {
    let mut by_owner: HashMap<i64, Vec<TopicRef>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        for (owner, topic) in topics::of(db, tagged, chunk).await? {
            by_owner.entry(owner).or_default().push(TopicRef {
                id: topic.id,
                slug: topic.slug,
            });
        }
    }
    for list in by_owner.values_mut() {
        list.sort();
    }
    Ok(by_owner)
}

/// Snapshots of these articles as they now stand, in input order, with a fixed number of
/// statements per thousand articles.
pub async fn load_many(
    db: &impl ConnectionTrait,
    articles: &[article::Model],
) -> Result<Vec<Snapshot>> {
    let ids: Vec<i64> = articles.iter().map(|a| a.id).collect();
    let mut by_article: HashMap<i64, Vec<section::Model>> = HashMap::new();
    let mut points_by_section: [HashMap<i64, Vec<Point>>; 2] = [HashMap::new(), HashMap::new()];
    for chunk in ids.chunks(CHUNK) {
        for s in sections::by_article_ids(db, chunk).await? {
            by_article.entry(s.article_id).or_default().push(s);
        }
        for (i, kind) in PointKind::ALL.into_iter().enumerate() {
            for p in points::by_article_ids(db, kind, chunk).await? {
                points_by_section[i]
                    .entry(p.section_id)
                    .or_default()
                    .push(p);
            }
        }
    }
    let article_tags = tags(db, Tagged::Article, &ids).await?;
    let mut point_tags = Vec::new();
    for (i, kind) in PointKind::ALL.into_iter().enumerate() {
        let ids: Vec<i64> = points_by_section[i]
            .values()
            .flatten()
            .map(|p| p.id)
            .collect();
        point_tags.push(tags(db, Tagged::Point(kind), &ids).await?);
    }
    let snapshot_points = |i: usize, section_id: i64| -> Vec<PointSnapshot> {
        points_by_section[i]
            .get(&section_id)
            .into_iter()
            .flatten()
            .map(|p| PointSnapshot {
                id: Some(p.id),
                slug: p.slug.clone(),
                title: p.title.clone(),
                description: p.description.clone(),
                topics: point_tags[i].get(&p.id).cloned().unwrap_or_default(),
            })
            .collect()
    };
    Ok(articles
        .iter()
        .map(|a| Snapshot {
            schema: SNAPSHOT_SCHEMA,
            slug: a.slug.clone(),
            title: a.title.clone(),
            summary: a.summary.clone(),
            topics: article_tags.get(&a.id).cloned().unwrap_or_default(),
            sections: by_article
                .remove(&a.id)
                .unwrap_or_default()
                .into_iter()
                .map(|s| SectionSnapshot {
                    id: Some(s.id),
                    reforms: snapshot_points(0, s.id),
                    reactions: snapshot_points(1, s.id),
                    slug: s.slug,
                    heading: s.heading,
                    body: s.body,
                })
                .collect(),
        })
        .collect())
}

/// Moves every row of `table` under `parent_column = parent` out of the way of the final
/// positions and slugs: negative positions and `~id` slugs, which no valid slug can be.
async fn park(
    db: &impl ConnectionTrait,
    table: &str,
    parent_column: &str,
    parent: i64,
) -> Result<()> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "UPDATE ");
    sql.push(table)
        .push(" SET position = -position, slug = '~' || CAST(id AS TEXT) WHERE ")
        .push(parent_column)
        .push(" = ")
        .bind(parent);
    db.execute_raw(sql.build()).await?;
    Ok(())
}

async fn delete_ids(db: &impl ConnectionTrait, table: &str, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql = SqlBuilder::new(db.get_database_backend(), "DELETE FROM ");
    sql.push(table).push(" WHERE ").in_ids("id", ids);
    db.execute_raw(sql.build()).await?;
    Ok(())
}

/// Makes the article's rows equal `target`: its slug, title and summary, its sections and
/// points with their slugs, texts and positions, and the topic tags.
///
/// `target` must already be matched to `current` ([`Snapshot::matched_to`]): a node with an
/// id is updated in place (so it keeps its id), one without is inserted, and every current
/// node the target does not name is deleted. Tags of topics that no longer exist must have
/// been dropped ([`Snapshot::retain_topics`]). The caller bumps the version and records the
/// revision. Returns the article with its new fields.
pub async fn apply(
    db: &impl ConnectionTrait,
    article: &article::Model,
    current: &Snapshot,
    target: &Snapshot,
) -> Result<article::Model> {
    let backend = db.get_database_backend();
    if (&target.slug, &target.title, &target.summary)
        != (&current.slug, &current.title, &current.summary)
    {
        let renamed = article::Model {
            slug: target.slug.clone(),
            title: target.title.clone(),
            summary: target.summary.clone(),
            ..article.clone()
        };
        super::articles::update_fields(db, &renamed).await?;
    }

    // Sections: park all, then give each target section its final row.
    if !current.sections.is_empty() {
        park(db, "sections", "article_id", article.id).await?;
    }
    let mut section_ids = Vec::with_capacity(target.sections.len());
    for (i, s) in target.sections.iter().enumerate() {
        let position = i as i32 + 1;
        match s.id {
            Some(id) => {
                let mut sql = SqlBuilder::new(backend, "UPDATE sections SET position = ");
                sql.bind(position)
                    .push(", slug = ")
                    .bind(s.slug.clone())
                    .push(", heading = ")
                    .bind(s.heading.clone())
                    .push(", body = ")
                    .bind(s.body.clone())
                    .push(" WHERE id = ")
                    .bind(id);
                db.execute_raw(sql.build()).await?;
                section_ids.push(id);
            }
            None => {
                let row = section::ActiveModel {
                    id: NotSet,
                    article_id: Set(article.id),
                    position: Set(position),
                    slug: Set(s.slug.clone()),
                    heading: Set(s.heading.clone()),
                    body: Set(s.body.clone()),
                };
                section_ids.push(section::Entity::insert(row).exec(db).await?.last_insert_id);
            }
        }
    }

    // Points of each kind: park all, update or insert each, delete the rest.
    for kind in PointKind::ALL {
        let current_points: Vec<&PointSnapshot> = current
            .sections
            .iter()
            .flat_map(|s| points_of(s, kind))
            .collect();
        if !current_points.is_empty() {
            park(db, kind.table(), "article_id", article.id).await?;
        }
        let current_tags: HashMap<i64, &[TopicRef]> = current_points
            .iter()
            .filter_map(|p| Some((p.id?, p.topics.as_slice())))
            .collect();
        let mut kept: HashSet<i64> = HashSet::new();
        let mut tag_changes: Vec<(i64, &[TopicRef], &[TopicRef])> = Vec::new();
        let targets: Vec<(i64, usize, &PointSnapshot)> = target
            .sections
            .iter()
            .zip(&section_ids)
            .flat_map(|(s, sid)| {
                points_of(s, kind)
                    .iter()
                    .enumerate()
                    .map(move |(i, p)| (*sid, i, p))
            })
            .collect();
        for (section_id, i, p) in targets {
            let row = Point {
                id: p.id.unwrap_or_default(),
                article_id: article.id,
                section_id,
                position: i as i32 + 1,
                slug: p.slug.clone(),
                title: p.title.clone(),
                description: p.description.clone(),
            };
            let id = match p.id {
                Some(id) => {
                    points::update(db, kind, &row).await?;
                    kept.insert(id);
                    id
                }
                None => points::insert(db, kind, row).await?.id,
            };
            let before = current_tags.get(&id).copied().unwrap_or_default();
            tag_changes.push((id, before, &p.topics));
        }
        let gone: Vec<i64> = current_points
            .iter()
            .filter_map(|p| p.id)
            .filter(|id| !kept.contains(id))
            .collect();
        points::delete(db, kind, &gone).await?;
        for (id, before, after) in tag_changes {
            retag(db, Tagged::Point(kind), id, before, after).await?;
        }
    }

    let kept: HashSet<i64> = target.sections.iter().filter_map(|s| s.id).collect();
    let gone: Vec<i64> = current
        .sections
        .iter()
        .filter_map(|s| s.id)
        .filter(|id| !kept.contains(id))
        .collect();
    delete_ids(db, "sections", &gone).await?;
    retag(
        db,
        Tagged::Article,
        article.id,
        &current.topics,
        &target.topics,
    )
    .await?;

    Ok(article::Model {
        slug: target.slug.clone(),
        title: target.title.clone(),
        summary: target.summary.clone(),
        ..article.clone()
    })
}

/// The points of `kind` under a section of a snapshot.
fn points_of(section: &SectionSnapshot, kind: PointKind) -> &[PointSnapshot] {
    match kind {
        PointKind::Reform => &section.reforms,
        PointKind::Reaction => &section.reactions,
    }
}

/// Sets the tags of one tagged item from `before` to `after` (by topic id).
async fn retag(
    db: &impl ConnectionTrait,
    tagged: Tagged,
    id: i64,
    before: &[TopicRef],
    after: &[TopicRef],
) -> Result<()> {
    let before: HashSet<i64> = before.iter().map(|t| t.id).collect();
    let after: HashSet<i64> = after.iter().map(|t| t.id).collect();
    let mut removed: Vec<i64> = before.difference(&after).copied().collect();
    let mut added: Vec<i64> = after.difference(&before).copied().collect();
    removed.sort_unstable();
    added.sort_unstable();
    let (table, column) = tagged.tag_table();
    if !removed.is_empty() {
        let mut sql = SqlBuilder::new(db.get_database_backend(), "DELETE FROM ");
        sql.push(table)
            .push(" WHERE ")
            .push(column)
            .push(" = ")
            .bind(id)
            .push(" AND ")
            .in_ids("topic_id", &removed);
        db.execute_raw(sql.build()).await?;
    }
    if added.is_empty() {
        return Ok(());
    }
    match tagged {
        Tagged::Article => {
            let rows = added
                .into_iter()
                .map(|topic_id| article_topic::ActiveModel {
                    article_id: Set(id),
                    topic_id: Set(topic_id),
                });
            article_topic::Entity::insert_many(rows).exec(db).await?;
        }
        Tagged::Point(kind) => {
            let pairs: Vec<(i64, i64)> = added.into_iter().map(|topic_id| (id, topic_id)).collect();
            points::add_tags(db, kind, &pairs).await?;
        }
    }
    Ok(())
}

/// Which of `ids` are topics that exist.
pub async fn existing_topics(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(topics::by_ids(db, ids)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect())
}
