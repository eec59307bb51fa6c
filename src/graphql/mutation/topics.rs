//! createTopic, updateTopic, deleteTopic.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::{DeletePayload, TopicPayload, decode, editor};
use crate::{
    editing::topics::{self, NewTopic, TopicChanges},
    graphql::ids::GlobalId,
};

/// A new topic.
#[derive(InputObject)]
pub struct CreateTopicInput {
    /// Unique slug.
    pub slug: String,
    /// Display name: one line, 1 to 300 characters.
    pub name: String,
    /// What the topic covers (default empty).
    pub description: Option<String>,
}

/// Changes to a topic; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateTopicInput {
    /// A new unique slug.
    pub slug: Option<String>,
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
}

impl From<CreateTopicInput> for NewTopic {
    fn from(input: CreateTopicInput) -> Self {
        Self {
            slug: input.slug,
            name: input.name,
            description: input.description,
        }
    }
}

impl From<UpdateTopicInput> for TopicChanges {
    fn from(input: UpdateTopicInput) -> Self {
        Self {
            slug: input.slug,
            name: input.name,
            description: input.description,
        }
    }
}

pub(super) fn topic_id(id: GlobalId) -> Option<i64> {
    match id {
        GlobalId::Topic(id) => Some(id),
        _ => None,
    }
}

/// Mutations of topics.
#[derive(Default)]
pub struct TopicMutation;

#[Object]
impl TopicMutation {
    /// Creates a topic. No article changes.
    async fn create_topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new topic.")] input: CreateTopicInput,
    ) -> Result<TopicPayload> {
        let (editing, _) = editor(ctx)?;
        Ok(topics::create(editing, input.into()).await?.into())
    }

    /// Changes a topic's slug, name or description. No article changes.
    async fn update_topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic's ID.")] id: ID,
        #[graphql(desc = "What to change.")] input: UpdateTopicInput,
    ) -> Result<TopicPayload> {
        let (editing, _) = editor(ctx)?;
        let id = decode("id", &id, topic_id)?;
        Ok(topics::update(editing, id, input.into()).await?.into())
    }

    /// Deletes a topic and its tags; every article that had one of its tags (on itself, a
    /// reform or a reaction) gets a new version.
    async fn delete_topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic's ID.")] id: ID,
    ) -> Result<DeletePayload> {
        let (editing, editor) = editor(ctx)?;
        let key = decode("id", &id, topic_id)?;
        topics::delete(editing, &editor, key).await?;
        Ok(DeletePayload {
            deleted_id: GlobalId::Topic(key).into(),
        })
    }
}
