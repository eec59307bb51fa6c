//! Seeding: the De-Stalinization article with its curated topics, and synthetic load-test data.
//!
//! The seed content ships inside the binary (from `seeds/`), so `annals seed` works from any
//! directory. Seeding is idempotent (natural keys: slugs) and atomic (one transaction).

use std::collections::HashMap;

use chrono::Duration;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DatabaseConnection, EntityTrait, TransactionTrait,
    sea_query::OnConflict,
};
use serde::Deserialize;

use super::{
    articles,
    content::{NewArticle, now, record_created, write_documents},
    points::{self, PointKind},
    sql::SqlBuilder,
};
use crate::{
    content::{Classification, Document, PointDoc, SectionDoc, parse_document},
    entities::{article_topic, topic},
    error::{Error, Result},
};

/// The seed document, verbatim.
pub const SEED_DOCUMENT: &str = include_str!("../../seeds/de-stalinization.txt");
/// The curated topics of the seed document and what they tag.
pub const SEED_TOPICS: &str = include_str!("../../seeds/topics.json");
/// The editor name recorded on seeded revisions.
pub const SEED_EDITOR: &str = "seed";

#[derive(Debug, Deserialize)]
struct TopicsFile {
    article: String,
    topics: Vec<SeedTopic>,
}

#[derive(Debug, Deserialize)]
struct SeedTopic {
    slug: String,
    name: String,
    description: String,
    article: bool,
    reforms: Vec<String>,
    reactions: Vec<String>,
}

impl SeedTopic {
    /// The slugs of the points of `kind` this topic tags.
    fn points(&self, kind: PointKind) -> &[String] {
        match kind {
            PointKind::Reform => &self.reforms,
            PointKind::Reaction => &self.reactions,
        }
    }
}

/// What a seed run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Articles created by this run (0 when everything was already there).
    pub articles_created: usize,
}

/// Inserts topics; where a topic's slug is taken, the one already there stays.
async fn insert_topics(
    db: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = topic::ActiveModel>,
) -> Result<()> {
    topic::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(topic::Column::Slug)
                .do_nothing()
                .to_owned(),
        )
        .try_insert()
        .exec(db)
        .await?;
    Ok(())
}

/// Seeds the De-Stalinization article and its topics, in one transaction; a second run changes
/// nothing.
pub async fn seed(db: &DatabaseConnection) -> Result<SeedReport> {
    let file: TopicsFile = serde_json::from_str(SEED_TOPICS)
        .map_err(|err| Error::Io(format!("seeds/topics.json is malformed: {err}")))?;
    let txn = db.begin().await?;
    let mut report = SeedReport::default();
    let mut created = None;
    let article = match articles::by_slug(&txn, &file.article).await? {
        Some(article) => article,
        None => {
            let document = parse_document(SEED_DOCUMENT, &Classification::default())
                .map_err(|err| Error::Io(format!("seeds/de-stalinization.txt: {err}")))?;
            let new = NewArticle {
                slug: file.article.clone(),
                document,
                created_at: now(),
            };
            report.articles_created = 1;
            let article = write_documents(&txn, &[new]).await?.remove(0);
            created = Some(article.clone());
            article
        }
    };

    let rows = file.topics.iter().map(|t| topic::ActiveModel {
        id: NotSet,
        slug: Set(t.slug.clone()),
        name: Set(t.name.clone()),
        description: Set(t.description.clone()),
    });
    insert_topics(&txn, rows).await?;
    let slugs: Vec<String> = file.topics.iter().map(|t| t.slug.clone()).collect();
    let mut sql = SqlBuilder::new(
        txn.get_database_backend(),
        "SELECT t.id, t.slug, t.name, t.description FROM topics t WHERE ",
    );
    sql.in_strings("t.slug", &slugs);
    let topic_ids: HashMap<String, i64> =
        <topic::Model as sea_orm::FromQueryResult>::find_by_statement(sql.build())
            .all(&txn)
            .await?
            .into_iter()
            .map(|t| (t.slug, t.id))
            .collect();

    let mut article_tags = Vec::new();
    for t in file.topics.iter().filter(|t| t.article) {
        article_tags.push(article_topic::ActiveModel {
            article_id: Set(article.id),
            topic_id: Set(topic_ids[&t.slug]),
        });
    }
    article_topic::Entity::insert_many(article_tags)
        .on_conflict(
            OnConflict::columns([
                article_topic::Column::ArticleId,
                article_topic::Column::TopicId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .try_insert()
        .exec(&txn)
        .await?;
    for kind in PointKind::ALL {
        let point_ids: HashMap<String, i64> = points::by_article_ids(&txn, kind, &[article.id])
            .await?
            .into_iter()
            .map(|p| (p.slug, p.id))
            .collect();
        let mut pairs = Vec::new();
        for t in &file.topics {
            for slug in t.points(kind) {
                let point_id = *point_ids.get(slug).ok_or_else(|| {
                    Error::internal(format!(
                        "seeds/topics.json: no {} with slug {slug:?}",
                        kind.noun()
                    ))
                })?;
                pairs.push((point_id, topic_ids[&t.slug]));
            }
        }
        points::add_tags(&txn, kind, &pairs).await?;
    }
    if let Some(article) = created {
        record_created(&txn, &[article], SEED_EDITOR, "ARTICLE_CREATED").await?;
    }
    txn.commit().await?;
    Ok(report)
}

/// Words synthetic content is made of: history vocabulary, so search has something to rank.
const WORDS: &[&str] = &[
    "reform",
    "congress",
    "party",
    "policy",
    "economy",
    "agriculture",
    "industry",
    "purge",
    "thaw",
    "censorship",
    "literature",
    "labor",
    "camp",
    "victims",
    "rehabilitation",
    "leader",
    "speech",
    "revolution",
    "republic",
    "council",
    "planning",
    "consumer",
    "goods",
    "memory",
    "monument",
    "archive",
    "dissent",
    "soviet",
    "state",
    "citizens",
    "relief",
    "anger",
    "unrest",
    "movement",
    "socialism",
    "collective",
    "farm",
    "decree",
    "amnesty",
    "trial",
    "press",
    "science",
    "army",
    "border",
    "treaty",
    "market",
    "harvest",
    "factory",
    "union",
    "succession",
];

/// A small deterministic generator (SplitMix64), so synthetic data is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.below(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn sentence(&mut self, n: usize) -> String {
        let mut text = self.words(n);
        if let Some(first) = text.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        text.push('.');
        text
    }

    fn title(&mut self, n: usize) -> String {
        self.words(n)
            .split(' ')
            .map(|w| {
                let mut w = w.to_owned();
                if let Some(first) = w.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                w
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Number of topics synthetic articles draw from.
pub const SYNTHETIC_TOPICS: usize = 200;

/// Synthetic articles written between two progress reports.
const PROGRESS_CHUNK: usize = 500;

/// The synthetic article number `n` (1-based): 6 sections, 4 reforms, 3 reactions.
pub fn synthetic_document(n: usize) -> Document {
    let mut rng = Rng(n as u64);
    let mut sections: Vec<SectionDoc> = (0..6)
        .map(|i| SectionDoc {
            slug: None,
            heading: format!("{} {}", rng.title(2), i + 1),
            body: format!("{} {}", rng.sentence(12), rng.sentence(10)),
            reforms: Vec::new(),
            reactions: Vec::new(),
        })
        .collect();
    sections[1].heading = format!("Reforms {}", rng.title(1));
    sections[2].heading = format!("Reactions {}", rng.title(1));
    sections[1].reforms = (0..4)
        .map(|i| PointDoc {
            slug: None,
            title: format!("{} {}", rng.title(2), i + 1),
            description: rng.sentence(15),
        })
        .collect();
    sections[2].reactions = (0..3)
        .map(|i| PointDoc {
            slug: None,
            title: format!("{} {}", rng.title(2), i + 1),
            description: rng.sentence(15),
        })
        .collect();
    Document {
        slug: None,
        title: format!("Synthetic {} {n}", rng.title(3)),
        summary: rng.sentence(25),
        sections,
    }
}

/// Adds synthetic articles `synthetic-1` .. `synthetic-N` (those missing), each tagged with 5
/// of 200 synthetic topics, in one transaction with batched inserts.
///
/// `progress` is told how many of the new articles are written so far, and how many in all.
pub async fn seed_synthetic(
    db: &DatabaseConnection,
    count: usize,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<SeedReport> {
    let txn = db.begin().await?;
    let topic_rows = (1..=SYNTHETIC_TOPICS).map(|i| topic::ActiveModel {
        id: NotSet,
        slug: Set(format!("synthetic-topic-{i}")),
        name: Set(format!("Synthetic topic {i}")),
        description: Set(format!("Synthetic topic number {i}, for load tests.")),
    });
    insert_topics(&txn, topic_rows).await?;
    let mut sql = SqlBuilder::new(
        txn.get_database_backend(),
        "SELECT t.id, t.slug, t.name, t.description FROM topics t WHERE t.slug LIKE 'synthetic-topic-%' ORDER BY t.id",
    );
    sql.push("");
    let topic_ids: Vec<i64> =
        <topic::Model as sea_orm::FromQueryResult>::find_by_statement(sql.build())
            .all(&txn)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();

    let mut existing = SqlBuilder::new(
        txn.get_database_backend(),
        "SELECT slug FROM articles WHERE slug LIKE 'synthetic-%'",
    );
    existing.push("");
    let taken: std::collections::HashSet<String> = txn
        .query_all_raw(existing.build())
        .await?
        .iter()
        .filter_map(|row| row.try_get::<String>("", "slug").ok())
        .collect();
    // Microseconds apart, in number order, after everything already stored.
    let base = now();
    let new: Vec<NewArticle> = (1..=count)
        .filter(|n| !taken.contains(&format!("synthetic-{n}")))
        .map(|n| NewArticle {
            slug: format!("synthetic-{n}"),
            document: synthetic_document(n),
            created_at: base + Duration::microseconds(n as i64),
        })
        .collect();
    let mut created = 0;
    for chunk in new.chunks(PROGRESS_CHUNK) {
        let articles = write_documents(&txn, chunk).await?;
        let tags: Vec<article_topic::ActiveModel> = articles
            .iter()
            .enumerate()
            .flat_map(|(i, article)| {
                let n = created + i + article.id as usize;
                (0..5).map(move |k| (article.id, (n * 7 + k * 41) % SYNTHETIC_TOPICS))
            })
            .map(|(article_id, t)| article_topic::ActiveModel {
                article_id: Set(article_id),
                topic_id: Set(topic_ids[t]),
            })
            .collect();
        let mut tags = tags.into_iter().peekable();
        while tags.peek().is_some() {
            let chunk: Vec<_> = tags.by_ref().take(5_000).collect();
            article_topic::Entity::insert_many(chunk).exec(&txn).await?;
        }
        record_created(&txn, &articles, SEED_EDITOR, "ARTICLE_CREATED").await?;
        created += articles.len();
        progress(created, new.len());
    }
    txn.commit().await?;
    Ok(SeedReport {
        articles_created: created,
    })
}
