//! The Relay `Node` interface and resolving global IDs to objects.

use crate::graphql::batch::load;
use async_graphql::{ErrorExtensions, ID, Interface, Result};

use super::{Article, Reaction, Reform, Section, Topic};
use crate::{
    error::Error,
    graphql::{
        ids::GlobalId,
        loaders::{ArticleById, PointById, SectionById, TopicById},
        selection,
    },
    store::points::PointKind,
};

/// An object with a global ID, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's global, opaque ID."))]
pub enum Node {
    /// An article.
    Article(Article),
    /// A section.
    Section(Section),
    /// A reform.
    Reform(Reform),
    /// A reaction.
    Reaction(Reaction),
    /// A topic.
    Topic(Topic),
}

/// The object behind a decoded ID, or `None` if it does not exist.
pub async fn resolve(ctx: &async_graphql::Context<'_>, id: GlobalId) -> Result<Option<Node>> {
    Ok(match id {
        GlobalId::Article(id) => load(
            ctx,
            ArticleById(id, selection::of_field(ctx, selection::ARTICLE)),
        )
        .await?
        .map(|m| Node::Article(Article(m))),
        GlobalId::Section(id) => load(
            ctx,
            SectionById(id, selection::of_field(ctx, selection::SECTION)),
        )
        .await?
        .map(|m| Node::Section(Section(m))),
        GlobalId::Reform(id) => load(
            ctx,
            PointById(
                PointKind::Reform,
                id,
                selection::of_field(ctx, selection::POINT),
            ),
        )
        .await?
        .map(|m| Node::Reform(Reform(m))),
        GlobalId::Reaction(id) => load(
            ctx,
            PointById(
                PointKind::Reaction,
                id,
                selection::of_field(ctx, selection::POINT),
            ),
        )
        .await?
        .map(|m| Node::Reaction(Reaction(m))),
        GlobalId::Topic(id) => load(ctx, TopicById(id))
            .await?
            .map(|m| Node::Topic(Topic(m))),
    })
}

/// A parent row that must exist (a foreign key guarantees it); its absence is internal.
pub fn require<T>(row: Option<T>, what: &str) -> Result<T> {
    row.ok_or_else(|| Error::internal(format!("dangling reference to a missing {what}")).extend())
}

/// Decodes an ID argument.
pub fn decode(field: &str, id: &ID) -> Result<GlobalId> {
    GlobalId::decode(field, id).map_err(|e| e.extend())
}
