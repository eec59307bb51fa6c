//! revertArticle.

use async_graphql::{Context, ID, Object, Result};

use super::{ArticlePayload, articles::article_id, decode, editor};
use crate::editing::revert;

/// Restoring earlier versions.
#[derive(Default)]
pub struct RevertMutation;

#[Object]
impl RevertMutation {
    /// Restores the content of an earlier version as a new version (history is never
    /// rewritten). `expectedVersion` must be the current version, else CONFLICT.
    async fn revert_article(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The article's ID.")] id: ID,
        #[graphql(desc = "The version whose content to restore.")] to_version: i32,
        #[graphql(desc = "The version the revert is based on.")] expected_version: i32,
    ) -> Result<ArticlePayload> {
        let (editing, editor) = editor(ctx)?;
        let id = decode("id", &id, article_id)?;
        Ok(
            revert::revert(editing, &editor, id, to_version, expected_version)
                .await?
                .into(),
        )
    }
}
