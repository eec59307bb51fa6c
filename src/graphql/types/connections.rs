//! The connection types of every paginated list, and how each counts its whole list.

use crate::graphql::batch::load;
use async_graphql::{Context, Result};

use super::{Article, Reaction, Reform, Topic};
use crate::{
    connection_type,
    graphql::{context::db, loaders::ArticleCountOfTopic},
    store::{
        self,
        articles::ArticleFilter,
        points::{ContentFilter, PointKind},
    },
};

/// What a connection's `totalCount` counts; computed only when asked for.
#[derive(Clone)]
pub enum Total {
    /// Articles matching a filter.
    Articles(ArticleFilter),
    /// The articles tagged with a topic (batched across topics).
    ArticlesOfTopic(i64),
    /// All topics.
    Topics,
    /// Reforms or reactions matching a filter.
    Points(PointKind, ContentFilter),
}

impl Total {
    /// Counts the whole list.
    pub async fn count(&self, ctx: &Context<'_>) -> Result<i32> {
        let n = match self {
            Self::Articles(filter) => store::articles::count(db(ctx)?, filter).await?,
            Self::ArticlesOfTopic(topic) => {
                load(ctx, ArticleCountOfTopic(*topic)).await?.unwrap_or(0)
            }
            Self::Topics => store::topics::count(db(ctx)?).await?,
            Self::Points(kind, filter) => store::points::count(db(ctx)?, *kind, filter).await?,
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

connection_type!(ArticleConnection, ArticleEdge, Article, Total, "articles");
connection_type!(TopicConnection, TopicEdge, Topic, Total, "topics");
connection_type!(ReformConnection, ReformEdge, Reform, Total, "reforms");
connection_type!(
    ReactionConnection,
    ReactionEdge,
    Reaction,
    Total,
    "reactions"
);
