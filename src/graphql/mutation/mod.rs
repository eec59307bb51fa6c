//! The `Mutation` root: every write, one file per area. Resolvers are thin: they check the
//! editor token, decode IDs and call [`crate::editing`], which validates, writes in one
//! transaction, records the revision and publishes the change after the commit.

mod articles;
mod import;
mod points;
mod revert;
mod sections;
mod tags;
mod topics;

use async_graphql::{Context, ID, MergedObject, SimpleObject};

use super::{
    ReadOnly,
    ids::GlobalId,
    types::{Article, Reaction, Reform, Section, Topic},
};
use crate::{
    auth::{Authorization, EditorTokens},
    editing::Editing,
    error::{Error, Result},
};

/// The root mutation type: writing content. Every field needs an editor token
/// (`Authorization: Bearer <token>`).
#[derive(MergedObject, Default)]
pub struct Mutation(
    articles::ArticleMutation,
    sections::SectionMutation,
    points::PointMutation,
    topics::TopicMutation,
    tags::TagMutation,
    import::ImportMutation,
    revert::RevertMutation,
);

/// The editing service and the name of the editor whose token the request carries, or
/// `UNAUTHENTICATED`. Every resolver calls this first, so nothing runs without a valid token.
pub(crate) fn editor<'a>(ctx: &Context<'a>) -> Result<(&'a Editing, String)> {
    let tokens = ctx
        .data::<EditorTokens>()
        .map_err(|_| Error::Unauthenticated("This server accepts no mutations.".into()))?;
    let header = ctx.data_opt::<Authorization>().and_then(|a| a.0.as_deref());
    let name = tokens.authenticate(header)?;
    if ctx.data_opt::<ReadOnly>().is_some() {
        return Err(Error::Forbidden(
            "This server serves its database read-only; mutations are disabled.".into(),
        ));
    }
    let editing = ctx
        .data::<Editing>()
        .map_err(|_| Error::internal("the editing service is not configured"))?;
    Ok((editing, name))
}

/// Decodes an ID that must name an object of one type (`BAD_USER_INPUT` naming `field`
/// otherwise).
pub(crate) fn decode<T>(field: &str, id: &ID, pick: fn(GlobalId) -> Option<T>) -> Result<T> {
    pick(GlobalId::decode(field, id)?).ok_or_else(|| {
        Error::bad_input(
            field,
            format!("{field}: {:?} is not an ID of the right type", id.as_str()),
        )
    })
}

/// The result of a mutation on an article.
#[derive(SimpleObject)]
pub struct ArticlePayload {
    /// The article after the change.
    pub article: Article,
}

/// The result of a mutation on a section.
#[derive(SimpleObject)]
pub struct SectionPayload {
    /// The section after the change.
    pub section: Section,
}

/// The result of a mutation on a reform.
#[derive(SimpleObject)]
pub struct ReformPayload {
    /// The reform after the change.
    pub reform: Reform,
}

/// The result of a mutation on a reaction.
#[derive(SimpleObject)]
pub struct ReactionPayload {
    /// The reaction after the change.
    pub reaction: Reaction,
}

/// The result of a mutation on a topic or its tags.
#[derive(SimpleObject)]
pub struct TopicPayload {
    /// The topic after the change.
    pub topic: Topic,
}

impl From<crate::entities::article::Model> for ArticlePayload {
    fn from(article: crate::entities::article::Model) -> Self {
        Self {
            article: Article(article),
        }
    }
}

impl From<crate::entities::section::Model> for SectionPayload {
    fn from(section: crate::entities::section::Model) -> Self {
        Self {
            section: Section(section),
        }
    }
}

impl From<crate::entities::topic::Model> for TopicPayload {
    fn from(topic: crate::entities::topic::Model) -> Self {
        Self {
            topic: Topic(topic),
        }
    }
}

/// The result of a delete.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The global ID of the deleted object.
    pub deleted_id: ID,
}
