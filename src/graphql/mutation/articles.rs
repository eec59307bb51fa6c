//! createArticle, updateArticle, deleteArticle.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::{ArticlePayload, DeletePayload, decode, editor};
use crate::{
    editing::articles::{self, ArticleChanges, NewArticleInput},
    graphql::ids::GlobalId,
};

/// A new article, without sections.
#[derive(InputObject)]
pub struct CreateArticleInput {
    /// Unique slug: lowercase letters and digits in groups joined by hyphens, at most 100.
    pub slug: String,
    /// The title: one line, 1 to 300 characters after trimming.
    pub title: String,
    /// The introduction, up to 100,000 characters.
    pub summary: String,
}

/// Changes to an article; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateArticleInput {
    /// A new unique slug.
    pub slug: Option<String>,
    /// A new title.
    pub title: Option<String>,
    /// A new introduction.
    pub summary: Option<String>,
}

impl From<CreateArticleInput> for NewArticleInput {
    fn from(input: CreateArticleInput) -> Self {
        Self {
            slug: input.slug,
            title: input.title,
            summary: input.summary,
        }
    }
}

impl From<UpdateArticleInput> for ArticleChanges {
    fn from(input: UpdateArticleInput) -> Self {
        Self {
            slug: input.slug,
            title: input.title,
            summary: input.summary,
        }
    }
}

pub(super) fn article_id(id: GlobalId) -> Option<i64> {
    match id {
        GlobalId::Article(id) => Some(id),
        _ => None,
    }
}

/// Mutations of articles.
#[derive(Default)]
pub struct ArticleMutation;

#[Object]
impl ArticleMutation {
    /// Creates an article (version 1) without sections.
    async fn create_article(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new article.")] input: CreateArticleInput,
    ) -> Result<ArticlePayload> {
        let (editing, editor) = editor(ctx)?;
        Ok(articles::create(editing, &editor, input.into())
            .await?
            .into())
    }

    /// Changes an article's slug, title or summary. `expectedVersion` must be the article's
    /// current version, else CONFLICT with `extensions.currentVersion` and nothing changes.
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The article's ID.")] id: ID,
        #[graphql(desc = "The version the change is based on.")] expected_version: i32,
        #[graphql(desc = "What to change.")] input: UpdateArticleInput,
    ) -> Result<ArticlePayload> {
        let (editing, editor) = editor(ctx)?;
        let id = decode("id", &id, article_id)?;
        let changes = input.into();
        Ok(
            articles::update(editing, &editor, id, expected_version, changes)
                .await?
                .into(),
        )
    }

    /// Deletes an article with its sections, reforms, reactions, tags and history.
    async fn delete_article(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The article's ID.")] id: ID,
    ) -> Result<DeletePayload> {
        let (editing, _) = editor(ctx)?;
        let key = decode("id", &id, article_id)?;
        articles::delete(editing, key).await?;
        Ok(DeletePayload {
            deleted_id: GlobalId::Article(key).into(),
        })
    }
}
