//! The `Section` type.

use crate::graphql::{batch::load, items::Items};
use async_graphql::{Context, ID, Object, Result};

use super::{Article, Reaction, Reform};
use crate::{
    entities::section,
    graphql::{
        ids::GlobalId,
        loaders::{ArticleById, PointsOfSection},
        selection,
    },
    store::points::PointKind,
};

/// A section of an article: a heading, its own text, and the reforms and reactions under it.
#[derive(Clone)]
pub struct Section(pub section::Model);

/// A section of an article: a heading, its own text, and the reforms and reactions under it.
#[Object]
impl Section {
    /// The section's global ID.
    pub async fn id(&self) -> ID {
        GlobalId::Section(self.0.id).into()
    }

    /// URL-safe name, unique within the article.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The heading.
    async fn heading(&self) -> &str {
        &self.0.heading
    }

    /// 1-based position in the article, in document order.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// The section's own text as Markdown: its paragraphs and the labelled points that are
    /// neither reforms nor reactions.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// The article this section belongs to.
    async fn article(&self, ctx: &Context<'_>) -> Result<Article> {
        super::node::require(
            load(
                ctx,
                ArticleById(
                    self.0.article_id,
                    selection::of_field(ctx, selection::ARTICLE),
                ),
            )
            .await?,
            "article",
        )
        .map(Article)
    }

    /// The reforms under this section, in document order (an article has at most 32 reforms
    /// and reactions; the cost model counts 32).
    async fn reforms(&self, ctx: &Context<'_>) -> Result<Items<Reform>> {
        let columns = selection::of_field(ctx, selection::POINT);
        let rows = load(ctx, PointsOfSection(PointKind::Reform, self.0.id, columns))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Reform).collect())
    }

    /// The reactions under this section, in document order (an article has at most 32 reforms
    /// and reactions; the cost model counts 32).
    async fn reactions(&self, ctx: &Context<'_>) -> Result<Items<Reaction>> {
        let columns = selection::of_field(ctx, selection::POINT);
        let rows = load(
            ctx,
            PointsOfSection(PointKind::Reaction, self.0.id, columns),
        )
        .await?
        .unwrap_or_default();
        Ok(rows.into_iter().map(Reaction).collect())
    }
}
