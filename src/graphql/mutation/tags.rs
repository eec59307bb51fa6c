//! tagTopic, untagTopic.

use async_graphql::{Context, ID, Object, Result};

use super::{TopicPayload, decode, editor, topics::topic_id};
use crate::{editing::topics, graphql::ids::GlobalId};

async fn set_tag(ctx: &Context<'_>, topic: &ID, content: &ID, tag: bool) -> Result<TopicPayload> {
    let (editing, editor) = editor(ctx)?;
    let topic = decode("topicId", topic, topic_id)?;
    let content = GlobalId::decode("contentId", content)?;
    Ok(topics::set_tag(editing, &editor, topic, content, tag)
        .await?
        .into())
}

/// Tagging articles, reforms and reactions with topics.
#[derive(Default)]
pub struct TagMutation;

#[Object]
impl TagMutation {
    /// Tags an article, reform or reaction with a topic: a new version of its article, or
    /// nothing if the tag is already there.
    async fn tag_topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic's ID.")] topic_id: ID,
        #[graphql(desc = "The ID of an article, reform or reaction.")] content_id: ID,
    ) -> Result<TopicPayload> {
        set_tag(ctx, &topic_id, &content_id, true).await
    }

    /// Removes a topic tag from an article, reform or reaction: a new version of its
    /// article, or nothing if there was no such tag.
    async fn untag_topic(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic's ID.")] topic_id: ID,
        #[graphql(desc = "The ID of an article, reform or reaction.")] content_id: ID,
    ) -> Result<TopicPayload> {
        set_tag(ctx, &topic_id, &content_id, false).await
    }
}
