//! The `Query` root: every way to read content.

use async_graphql::{Context, ID, Object, Result};
use futures::future::try_join_all;

use super::{
    context::db,
    loaders::depends_on,
    pagination::{Connection, ListId, PageArgs},
    selection,
    types::{
        Article, Node, Topic,
        connections::{
            ArticleConnection, ReactionConnection, ReformConnection, TopicConnection, Total,
        },
        inputs::{ArticleFilter, ArticleOrder, ContentFilter, OrderDirection},
        node,
        point::{Reaction, Reform},
    },
};
use crate::{
    cache::Key,
    error::Error,
    store::{self, articles::ArticleSort, points::PointKind},
};

/// Largest number of IDs `nodes` takes at once.
const MAX_NODE_IDS: usize = 100;

/// The list `articles` pages through in this order (its cursors name it).
pub fn articles_list(sort: ArticleSort, descending: bool) -> ListId {
    ListId(format!(
        "articles:{sort:?}:{}",
        if descending { "DESC" } else { "ASC" }
    ))
}

/// Reads: articles, their parts, and topics.
#[derive(Default)]
pub struct ContentQuery;

#[Object]
impl ContentQuery {
    /// Fetches any object by its global ID; null when no such object exists.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID from any object's `id`.")] id: ID,
    ) -> Result<Option<Node>> {
        node::resolve(ctx, node::decode("id", &id)?).await
    }

    /// Fetches objects by global ID, in the order given; null for each that does not exist.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Up to 100 global IDs.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODE_IDS {
            return Err(Error::bad_input(
                "ids",
                format!("ids takes at most {MAX_NODE_IDS} IDs, got {}", ids.len()),
            )
            .into());
        }
        let decoded = ids
            .iter()
            .map(|id| node::decode("ids", id))
            .collect::<Result<Vec<_>>>()?;
        try_join_all(decoded.into_iter().map(|id| node::resolve(ctx, id))).await
    }

    /// The article with this slug, or null.
    async fn article(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The article's slug, e.g. `de-stalinization`.")] slug: String,
    ) -> Result<Option<Article>> {
        let columns = selection::of_field(ctx, selection::ARTICLE);
        let article = store::articles::by_slug_with(db(ctx)?, &slug, columns).await?;
        depends_on(
            ctx,
            [article
                .as_ref()
                .map_or(Key::Articles, |a| Key::Article(a.id))],
        );
        Ok(article.map(Article))
    }

    /// Articles, filtered and ordered, as a Relay connection.
    #[allow(clippy::too_many_arguments)]
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
        #[graphql(desc = "Only articles matching every given condition.")] filter: Option<
            ArticleFilter,
        >,
        #[graphql(desc = "The order; default CREATED_AT ASC, ties broken by id.")] order_by: Option<
            ArticleOrder,
        >,
    ) -> Result<ArticleConnection> {
        let (sort, descending) = match order_by {
            Some(order) => (
                ArticleSort::from(order.field),
                order.direction == OrderDirection::Desc,
            ),
            None => (ArticleSort::CreatedAt, false),
        };
        let list = articles_list(sort, descending);
        let filter: store::articles::ArticleFilter = filter.unwrap_or_default().into();
        let total = Total::Articles(filter.clone());
        let connection = PageArgs::new(first, after, last, before)
            .connection(
                list,
                |window| async move {
                    let columns = selection::of_connection(ctx, selection::ARTICLE);
                    let db = db(ctx)?;
                    Ok(
                        store::articles::page(db, &filter, sort, descending, &window, columns)
                            .await?,
                    )
                },
                |a| sort.key(a),
                Article,
                total,
            )
            .await?;
        depends_on(ctx, [Key::Articles]);
        Ok(connection)
    }

    /// The topic with this slug, or null.
    async fn topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic's slug, e.g. `secret-speech`.")] slug: String,
    ) -> Result<Option<Topic>> {
        let topic = store::topics::by_slug(db(ctx)?, &slug).await?;
        depends_on(
            ctx,
            [topic.as_ref().map_or(Key::Topics, |t| Key::Topic(t.id))],
        );
        Ok(topic.map(Topic))
    }

    /// All topics by slug, as a Relay connection.
    async fn topics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return at most this many topics from the start (0 to 100, default 20).")]
        first: Option<i32>,
        #[graphql(desc = "Return topics after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return at most this many topics from the end (0 to 100).")] last: Option<
            i32,
        >,
        #[graphql(desc = "Return topics before this cursor.")] before: Option<String>,
    ) -> Result<TopicConnection> {
        let connection = PageArgs::new(first, after, last, before)
            .connection(
                ListId("topics".into()),
                |window| async move { Ok(store::topics::page(db(ctx)?, &window).await?) },
                store::topics::key,
                Topic,
                Total::Topics,
            )
            .await?;
        depends_on(ctx, [Key::Topics]);
        Ok(connection)
    }

    /// Reforms across articles, in the order they were added, as a Relay connection.
    async fn reforms(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Return at most this many reforms from the start (0 to 100, default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return reforms after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return at most this many reforms from the end (0 to 100).")] last: Option<
            i32,
        >,
        #[graphql(desc = "Return reforms before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only reforms matching every given condition.")] filter: Option<
            ContentFilter,
        >,
    ) -> Result<ReformConnection> {
        points(
            ctx,
            PointKind::Reform,
            PageArgs::new(first, after, last, before),
            filter,
            Reform,
        )
        .await
    }

    /// Reactions across articles, in the order they were added, as a Relay connection.
    async fn reactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Return at most this many reactions from the start (0 to 100, default 20)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return reactions after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return at most this many reactions from the end (0 to 100).")]
        last: Option<i32>,
        #[graphql(desc = "Return reactions before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only reactions matching every given condition.")] filter: Option<
            ContentFilter,
        >,
    ) -> Result<ReactionConnection> {
        points(
            ctx,
            PointKind::Reaction,
            PageArgs::new(first, after, last, before),
            filter,
            Reaction,
        )
        .await
    }
}

/// The `reforms` or `reactions` root field: points of `kind` across articles, in the order
/// they were added.
async fn points<C>(
    ctx: &Context<'_>,
    kind: PointKind,
    args: PageArgs,
    filter: Option<ContentFilter>,
    node: impl Fn(store::points::Point) -> C::Node,
) -> Result<C>
where
    C: Connection<Total = Total>,
{
    let list = ListId(
        match kind {
            PointKind::Reform => "reforms",
            PointKind::Reaction => "reactions",
        }
        .into(),
    );
    let filter: store::points::ContentFilter = filter.unwrap_or_default().into();
    let total = Total::Points(kind, filter.clone());
    let connection = args
        .connection(
            list,
            |window| async move {
                let columns = selection::of_connection(ctx, selection::POINT);
                Ok(store::points::page(db(ctx)?, kind, &filter, &window, columns).await?)
            },
            point_key,
            node,
            total,
        )
        .await?;
    depends_on(ctx, [Key::Articles]);
    Ok(connection)
}

fn point_key(point: &store::points::Point) -> store::page::Key {
    store::page::Key {
        value: None,
        id: point.id,
    }
}
