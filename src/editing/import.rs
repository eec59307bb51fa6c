//! Importing a plain-text document as an article: the one code path behind both
//! `annals import` and the `importArticle` mutation.

use super::{Editing, change, tx, validate};
use crate::{
    content::{Classification, Document, ImportError, parse_document, slugify},
    entities::article,
    error::{Error, Result},
    events::ChangeKind,
    store::{
        self,
        content::{NewArticle, now},
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

/// Imports a document as a new article, or as a new version of the article with that slug
/// when `replace` is set (`CONFLICT` otherwise). One transaction: a failure writes nothing.
pub async fn import(ed: &Editing, editor: &str, request: ImportRequest) -> Result<Imported> {
    let rules = Classification {
        reforms_under: request.reforms_under,
        reactions_under: request.reactions_under,
    };
    let document = parse(&request.document, &rules)?;
    let slug = match request.slug {
        Some(slug) => validate::slug("slug", &slug)?,
        None => slugify(&document.title),
    };
    let txn = tx::begin(&ed.db).await?;
    let imported = match store::articles::by_slug(&txn, &slug).await? {
        Some(existing) if request.replace => {
            let existing = tx::lock_article(&txn, existing.id).await?;
            let article = store::content::replace_document(
                &txn,
                &existing,
                &document,
                editor,
                change::ARTICLE_IMPORTED,
            )
            .await?;
            Imported {
                article,
                created: false,
            }
        }
        Some(_) => {
            return Err(Error::conflict(format!(
                "an article with slug {slug:?} already exists; import with replace to replace it"
            )));
        }
        None => {
            let new = NewArticle {
                slug,
                document,
                created_at: now(),
            };
            let article =
                store::content::write_documents(&txn, &[new], editor, change::ARTICLE_CREATED)
                    .await?
                    .remove(0);
            Imported {
                article,
                created: true,
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
