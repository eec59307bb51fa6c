//! The `Reform` and `Reaction` types, which share one shape.

use crate::graphql::{batch::load, items::Items};
use async_graphql::{Context, ID, Object, Result};

use super::{Article, Section, Topic};
use crate::{
    graphql::{
        ids::GlobalId,
        loaders::{ArticleById, SectionById, TopicsOf},
        selection,
    },
    store::{
        points::{Point, PointKind},
        topics::Tagged,
    },
};

macro_rules! point_type {
    ($name:ident, $kind:expr, $doc:literal, $what:literal) => {
        #[doc = $doc]
        #[derive(Clone)]
        pub struct $name(pub Point);

        #[doc = $doc]
        #[Object]
        impl $name {
            #[doc = concat!("The ", $what, "'s global ID.")]
            pub async fn id(&self) -> ID {
                GlobalId::point($kind, self.0.id).into()
            }

            /// URL-safe name, unique within the article.
            async fn slug(&self) -> &str {
                &self.0.slug
            }

            #[doc = concat!("The ", $what, "'s label.")]
            async fn title(&self) -> &str {
                &self.0.title
            }

            #[doc = concat!("What the ", $what, " was, verbatim from the article.")]
            async fn description(&self) -> &str {
                &self.0.description
            }

            /// 1-based position within its section.
            async fn position(&self) -> i32 {
                self.0.position
            }

            #[doc = concat!("The article this ", $what, " belongs to.")]
            async fn article(&self, ctx: &Context<'_>) -> Result<Article> {
                super::node::require(load(ctx, ArticleById(self.0.article_id, selection::of_field(ctx, selection::ARTICLE))).await?, "article")
                    .map(Article)
            }

            #[doc = concat!("The section this ", $what, " stands under.")]
            async fn section(&self, ctx: &Context<'_>) -> Result<Section> {
                super::node::require(load(ctx, SectionById(self.0.section_id, selection::of_field(ctx, selection::SECTION))).await?, "section")
                    .map(Section)
            }

            #[doc = concat!("The topics this ", $what, " is tagged with, by name (at most 12; the cost model counts 12).")]
            async fn topics(&self, ctx: &Context<'_>) -> Result<Items<Topic>> {
                let rows = load(ctx, TopicsOf(Tagged::Point($kind), self.0.id))
                    .await?
                    .unwrap_or_default();
                Ok(rows.into_iter().map(Topic).collect())
            }
        }
    };
}

point_type!(
    Reform,
    PointKind::Reform,
    "A reform or policy an article describes, e.g. the rehabilitation of victims.",
    "reform"
);
point_type!(
    Reaction,
    PointKind::Reaction,
    "A reaction to, or an impact of, the events an article describes.",
    "reaction"
);
