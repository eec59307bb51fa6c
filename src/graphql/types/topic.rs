//! The `Topic` type.

use crate::graphql::{batch::load, items::Items};
use async_graphql::{Context, ID, Object, Result};

use super::{
    Reaction, Reform,
    connections::{ArticleConnection, Total},
};
use crate::{
    entities::topic,
    graphql::{
        ids::GlobalId,
        loaders::{ArticlesOfTopic, PointsOfTopic},
        pagination::{ListId, PageArgs, found_or_empty},
        selection,
    },
    store::{articles::ArticleSort, points::PointKind},
};

/// The list `Topic.articles` pages through (its cursors name it).
pub fn topic_articles_list(topic: i64) -> ListId {
    ListId(format!("topic-articles:{topic}"))
}

/// A subject that tags articles, reforms and reactions, e.g. the Secret Speech.
#[derive(Clone)]
pub struct Topic(pub topic::Model);

/// A subject that tags articles, reforms and reactions, e.g. the Secret Speech.
#[Object]
impl Topic {
    /// The topic's global ID.
    pub async fn id(&self) -> ID {
        GlobalId::Topic(self.0.id).into()
    }

    /// Unique, URL-safe name, e.g. `secret-speech`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the topic covers.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The articles tagged with this topic, oldest first.
    async fn articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Return at most this many articles from the start (0 to 100, default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return articles after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return at most this many articles from the end (0 to 100).")]
        last: Option<i32>,
        #[graphql(desc = "Return articles before this cursor.")] before: Option<String>,
    ) -> Result<ArticleConnection> {
        let topic = self.0.id;
        PageArgs::new(first, after, last, before)
            .connection(
                topic_articles_list(topic),
                |window| async move {
                    let columns = selection::of_connection(ctx, selection::ARTICLE);
                    let page = load(ctx, ArticlesOfTopic(topic, window, columns)).await?;
                    Ok(found_or_empty(page))
                },
                |a| ArticleSort::CreatedAt.key(a),
                super::Article,
                Total::ArticlesOfTopic(topic),
            )
            .await
    }

    /// The reforms tagged with this topic (not capped; the cost model counts 100).
    async fn reforms(&self, ctx: &Context<'_>) -> Result<Items<Reform>> {
        let columns = selection::of_field(ctx, selection::POINT);
        let rows = load(ctx, PointsOfTopic(PointKind::Reform, self.0.id, columns))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Reform).collect())
    }

    /// The reactions tagged with this topic (not capped; the cost model counts 100).
    async fn reactions(&self, ctx: &Context<'_>) -> Result<Items<Reaction>> {
        let columns = selection::of_field(ctx, selection::POINT);
        let rows = load(ctx, PointsOfTopic(PointKind::Reaction, self.0.id, columns))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Reaction).collect())
    }
}
