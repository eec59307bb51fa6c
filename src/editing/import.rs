//! Importing a plain-text document as an article: the one code path behind both
//! `annals import` and the `importArticle` mutation.

use super::{Editing, change, tx, validate};
use sea_orm::DatabaseTransaction;

use crate::{
    content::{
        Classification, Document, ImportError, Snapshot,
        diff::{ContentChange, diff},
        parse_document, slugify, unique_slug,
    },
    entities::article,
    error::{Error, Result},
    events::ChangeKind,
    store::{
        self,
        content::{NewArticle, now},
        snapshots,
    },
};

/// What to import and how.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// The document in the plain-text format.
    pub document: String,
    /// The article's slug (default: derived from the title).
    pub slug: Option<String>,
    /// Replace the article with this slug, if there is one, as one new version.
    pub replace: bool,
    /// Headings whose points are reforms (`None`: the default rule).
    pub reforms_under: Option<Vec<String>>,
    /// Headings whose points are reactions (`None`: the default rule).
    pub reactions_under: Option<Vec<String>>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The article as stored.
    pub article: article::Model,
    /// Whether it is new (otherwise an existing article was replaced).
    pub created: bool,
    /// Whether anything was written (a replace with identical content writes nothing).
    pub changed: bool,
}

/// Parses a document; a problem is `BAD_USER_INPUT` naming the field (and the line).
pub fn parse(text: &str, rules: &Classification) -> Result<Document> {
    let doc = parse_document(text, rules).map_err(|err| {
        let field = match &err {
            ImportError::UnknownHeading { option, .. } => *option,
            ImportError::ConflictingHeading { .. } => "reactionsUnder",
            ImportError::Empty | ImportError::Line { .. } => "document",
        };
        Error::bad_input(field, err.to_string())
    })?;
    check(&doc)?;
    validate::caps(&doc)?;
    Ok(doc)
}

/// Applies the length and character rules of the editing API to a parsed document.
fn check(doc: &Document) -> Result<()> {
    let field = "document";
    let within = |r: Result<String>, what: &str| {
        r.map(drop)
            .map_err(|err| Error::bad_input(field, format!("{what}: {}", err.message())))
    };
    within(validate::name("title", &doc.title), "the title")?;
    within(validate::text("summary", &doc.summary), "the summary")?;
    for s in &doc.sections {
        within(validate::name("heading", &s.heading), "a heading")?;
        within(
            validate::text("body", &s.body),
            &format!("section {:?}", s.heading),
        )?;
        for p in s.reforms.iter().chain(&s.reactions) {
            within(validate::name("title", &p.title), "a point title")?;
            within(
                validate::text("description", &p.description),
                &format!("point {:?}", p.title),
            )?;
        }
    }
    Ok(())
}

/// What an import does, decided inside its transaction.
enum Resolved {
    /// A new article.
    Create(NewArticle),
    /// A new version of an existing article.
    Replace {
        existing: article::Model,
        current: Box<Snapshot>,
        target: Box<Snapshot>,
    },
    /// The existing article already has this content.
    Unchanged(article::Model),
}

/// What an import would do, as `annals import --dry-run` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A new article with this slug.
    Create {
        /// Its slug.
        slug: String,
        /// How many sections it would have.
        sections: usize,
    },
    /// A new version of this article.
    Replace {
        /// Its slug.
        slug: String,
        /// The typed changes (as `Article.diff` lists them) the new version makes.
        changes: Vec<ContentChange>,
    },
    /// Nothing: the article already has this content.
    Unchanged {
        /// Its slug.
        slug: String,
    },
}

async fn resolve(txn: &DatabaseTransaction, request: ImportRequest) -> Result<Resolved> {
    let rules = Classification {
        reforms_under: request.reforms_under,
        reactions_under: request.reactions_under,
    };
    let document = parse(&request.document, &rules)?.with_slugs();
    // The option wins over the document's own `{#slug}`; either is a given slug.
    let given = request.slug.is_some() || document.slug.is_some();
    let slug = match request.slug.or_else(|| document.slug.clone()) {
        Some(slug) => validate::slug("slug", &slug)?,
        None => slugify(&document.title),
    };
    let existing = store::articles::by_slug(txn, &slug).await?;
    Ok(match existing {
        Some(existing) if request.replace => {
            let existing = tx::lock_article(txn, existing.id).await?;
            let current = snapshots::load(txn, &existing).await?;
            let target = Snapshot::from_document(&existing.slug, &document)
                .matched_to(&current)
                .with_tags_of(&current);
            if target.content() == current.content() {
                Resolved::Unchanged(existing)
            } else {
                Resolved::Replace {
                    existing,
                    current: Box::new(current),
                    target: Box::new(target),
                }
            }
        }
        Some(_) if given => {
            return Err(Error::conflict(format!(
                "an article with slug {slug:?} already exists; import with replace to replace it"
            )));
        }
        Some(_) => {
            let taken = store::articles::slugs_like(txn, &slug).await?;
            Resolved::Create(NewArticle {
                slug: unique_slug(&slug, |c| taken.iter().any(|t| t == c)),
                document,
                created_at: now(),
            })
        }
        None => Resolved::Create(NewArticle {
            slug,
            document,
            created_at: now(),
        }),
    })
}

/// Says what [`import`] would do with `request`, without writing anything: the same parsing,
/// validation and slug rules, and the number of changes a replace would make.
pub async fn plan(ed: &Editing, request: ImportRequest) -> Result<Plan> {
    let txn = tx::begin(&ed.db).await?;
    let plan = match resolve(&txn, request).await? {
        Resolved::Create(new) => Plan::Create {
            slug: new.slug,
            sections: new.document.sections.len(),
        },
        Resolved::Replace {
            existing,
            current,
            target,
        } => Plan::Replace {
            slug: existing.slug,
            changes: diff(&current, &target),
        },
        Resolved::Unchanged(existing) => Plan::Unchanged {
            slug: existing.slug,
        },
    };
    txn.rollback().await?;
    Ok(plan)
}

/// Imports a document as a new article, or as a new version of the article with that slug
/// when `replace` is set (`CONFLICT` otherwise, for a given slug; a slug derived from the
/// title that is taken gets `-2`, `-3`, ... instead). One transaction: a failure writes
/// nothing.
///
/// Replacing keeps what matches: sections and points whose slug (of their kind) the new
/// content still has keep their ids and topic tags, and content equal to the current version
/// changes nothing at all (no version, no revision, no event).
pub async fn import(ed: &Editing, editor: &str, request: ImportRequest) -> Result<Imported> {
    let txn = tx::begin(&ed.db).await?;
    let imported = match resolve(&txn, request).await? {
        Resolved::Unchanged(article) => {
            return Ok(Imported {
                article,
                created: false,
                changed: false,
            });
        }
        Resolved::Replace {
            existing,
            current,
            target,
        } => {
            let written = snapshots::apply(&txn, &existing, &current, &target).await?;
            let change = tx::Change::whole(editor, change::ARTICLE_IMPORTED);
            Imported {
                article: tx::bump(&txn, &written, change).await?,
                created: false,
                changed: true,
            }
        }
        Resolved::Create(new) => {
            let articles = store::content::write_documents(&txn, &[new]).await?;
            store::content::record_created(&txn, &articles, editor, change::ARTICLE_CREATED)
                .await?;
            Imported {
                article: articles.into_iter().next().ok_or_else(|| {
                    Error::internal("the imported article was not found after insert")
                })?,
                created: true,
                changed: true,
            }
        }
    };
    txn.commit().await?;
    let kind = if imported.created {
        ChangeKind::Created
    } else {
        ChangeKind::Updated
    };
    ed.publish([tx::event(kind, &imported.article)]).await;
    Ok(imported)
}
