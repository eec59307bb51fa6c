//! importArticle.

use async_graphql::{Context, Object, Result};

use super::{ArticlePayload, editor};
use crate::{
    editing::import::{self, ImportRequest},
    graphql::types::Article,
};

/// Importing whole documents (the same code path as `annals import`).
#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports a plain-text document (title, summary, headings, `- Label: text` points) as an
    /// article. An existing slug is CONFLICT unless `replace` is true, which replaces the
    /// article's content as one new version. Parse errors are BAD_USER_INPUT naming the line.
    async fn import_article(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The document in the plain-text format of `annals import`.")]
        document: String,
        #[graphql(desc = "The article's slug (default: derived from the title).")] slug: Option<
            String,
        >,
        #[graphql(
            desc = "Replace the article with this slug, if it exists, as one new version \
                    (null counts as false).",
            default_with = "Some(false)"
        )]
        replace: Option<bool>,
        #[graphql(
            desc = "Headings whose points are reforms (default: headings mentioning \
                          reform or polic)."
        )]
        reforms_under: Option<Vec<String>>,
        #[graphql(
            desc = "Headings whose points are reactions (default: headings mentioning \
                          reaction or impact)."
        )]
        reactions_under: Option<Vec<String>>,
    ) -> Result<ArticlePayload> {
        let (editing, editor) = editor(ctx)?;
        let imported = import::import(
            editing,
            &editor,
            ImportRequest {
                document,
                slug,
                replace: replace.unwrap_or(false),
                reforms_under,
                reactions_under,
            },
        )
        .await?;
        Ok(ArticlePayload {
            article: Article(imported.article),
        })
    }
}
