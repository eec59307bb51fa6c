//! The `Article` type.

use crate::graphql::{batch::load, items::Items};
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::{
    Reaction, Reform, Revision, Section, Topic,
    diff::ContentChange,
    revision::{RevisionConnection, RevisionTotal},
};
use crate::{
    content::{Document, diff::diff, render_document, render_markdown},
    entities::article,
    error::Error,
    graphql::{
        ids::GlobalId,
        loaders::{
            PointsOfArticle, RevisionOfArticle, RevisionsOfArticle, SectionsOfArticle, TopicsOf,
        },
        pagination::{ListId, PageArgs, found_or_empty},
        selection,
    },
    store::{
        columns::Columns, content::document_of, page::Key, points::PointKind,
        revisions::snapshot_of, topics::Tagged,
    },
};

/// A structured history article: a title, a summary, and sections in document order.
#[derive(Clone)]
pub struct Article(pub article::Model);

/// A structured history article: a title, a summary, and sections in document order.
#[Object]
impl Article {
    /// The article's global ID.
    pub async fn id(&self) -> ID {
        GlobalId::Article(self.0.id).into()
    }

    /// Unique, URL-safe name, e.g. `de-stalinization`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The title.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The introduction: the text between the title and the first heading.
    async fn summary(&self) -> &str {
        &self.0.summary
    }

    /// The sections in document order (at most 50 per article; the cost model counts 50).
    async fn sections(&self, ctx: &Context<'_>) -> Result<Items<Section>> {
        let columns = selection::of_field(ctx, selection::SECTION);
        let rows = load(ctx, SectionsOfArticle(self.0.id, columns))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Section).collect())
    }

    /// The section with this slug, or null.
    async fn section(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The section's slug, unique within the article.")] slug: String,
    ) -> Result<Option<Section>> {
        let columns = selection::of_field(ctx, selection::SECTION);
        let rows = load(ctx, SectionsOfArticle(self.0.id, columns))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().find(|s| s.slug == slug).map(Section))
    }

    /// Every reform of the article, in document order (an article has at most 32 reforms and
    /// reactions together; the cost model counts 32).
    async fn reforms(&self, ctx: &Context<'_>) -> Result<Items<Reform>> {
        let columns = selection::of_field(ctx, selection::POINT);
        let rows = load(ctx, PointsOfArticle(PointKind::Reform, self.0.id, columns))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Reform).collect())
    }

    /// Every reaction to the events the article describes, in document order (at most 32
    /// reforms and reactions together; the cost model counts 32).
    async fn reactions(&self, ctx: &Context<'_>) -> Result<Items<Reaction>> {
        let columns = selection::of_field(ctx, selection::POINT);
        let rows = load(
            ctx,
            PointsOfArticle(PointKind::Reaction, self.0.id, columns),
        )
        .await?
        .unwrap_or_default();
        Ok(rows.into_iter().map(Reaction).collect())
    }

    /// The topics the article is tagged with, by name (at most 12; the cost model counts 12).
    async fn topics(&self, ctx: &Context<'_>) -> Result<Items<Topic>> {
        let rows = load(ctx, TopicsOf(Tagged::Article, self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Topic).collect())
    }

    /// The whole article as Markdown: title, summary, and each section with its body,
    /// reforms and reactions in place.
    async fn markdown(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(render_markdown(&self.content(ctx).await?))
    }

    /// The whole article in the Annals text format, exactly as `annals export` writes it and
    /// `importArticle` reads it back: importing it gives the same sections, points, kinds,
    /// texts, order and slugs. The seed's plain format wherever that reads right.
    #[graphql(complexity = 20)]
    async fn document(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(render_document(&self.content(ctx).await?))
    }

    /// What changed between two versions, as typed changes (nodes added, removed, moved, and
    /// fields changed with their old and new values), computed from the revisions'
    /// snapshots. `diff(from: current, to: n)` shows what reverting to version n would do.
    #[graphql(complexity = 50)]
    async fn diff(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The older version (1 to the current version).")] from: i32,
        #[graphql(desc = "The newer version (1 to the current version).")] to: i32,
    ) -> Result<Vec<ContentChange>> {
        let (old, new) = futures::try_join!(
            load(ctx, RevisionOfArticle(self.0.id, from, Columns::Full)),
            load(ctx, RevisionOfArticle(self.0.id, to, Columns::Full)),
        )?;
        let missing = |v: i32| {
            Error::not_found(format!(
                "the article has no version {v} (its versions are 1 to {})",
                self.0.version
            ))
        };
        let old = snapshot_of(&old.ok_or_else(|| missing(from))?)?;
        let new = snapshot_of(&new.ok_or_else(|| missing(to))?)?;
        Ok(diff(&old, &new).into_iter().map(ContentChange).collect())
    }

    /// 1 on creation, +1 on every committed change to the article or anything in it.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When the article was created (RFC 3339, UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the article or anything in it last changed (RFC 3339, UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The article's committed versions, newest first.
    async fn revisions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Return at most this many revisions from the start (0 to 100, default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return revisions after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return at most this many revisions from the end (0 to 100).")]
        last: Option<i32>,
        #[graphql(desc = "Return revisions before this cursor.")] before: Option<String>,
    ) -> Result<RevisionConnection> {
        let article = self.0.id;
        PageArgs::new(first, after, last, before)
            .connection(
                ListId(format!("revisions:{article}")),
                |window| async move {
                    let columns = selection::of_connection(ctx, selection::REVISION);
                    let page = load(ctx, RevisionsOfArticle(article, window, columns)).await?;
                    Ok(found_or_empty(page))
                },
                |r| Key {
                    value: None,
                    id: i64::from(r.version),
                },
                Revision,
                RevisionTotal(self.0.version),
            )
            .await
    }

    /// The revision recording this version, or null.
    async fn revision(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A version number, 1 to the current version.")] version: i32,
    ) -> Result<Option<Revision>> {
        let columns = selection::of_field(ctx, selection::REVISION);
        Ok(load(ctx, RevisionOfArticle(self.0.id, version, columns))
            .await?
            .map(Revision))
    }
}

impl Article {
    /// The article's content, from the request's batched loaders.
    async fn content(&self, ctx: &Context<'_>) -> Result<Document> {
        let id = self.0.id;
        let (sections, reforms, reactions) = futures::try_join!(
            load(ctx, SectionsOfArticle(id, Columns::Full)),
            load(ctx, PointsOfArticle(PointKind::Reform, id, Columns::Full)),
            load(ctx, PointsOfArticle(PointKind::Reaction, id, Columns::Full)),
        )?;
        Ok(document_of(
            &self.0,
            sections.unwrap_or_default(),
            reforms.unwrap_or_default(),
            reactions.unwrap_or_default(),
        ))
    }
}
