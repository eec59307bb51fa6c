//! createSection, updateSection, moveSection, deleteSection.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::{DeletePayload, SectionPayload, articles::article_id, decode, editor};
use crate::{
    editing::sections::{self, NewSection, SectionChanges},
    graphql::ids::GlobalId,
};

/// A new section.
#[derive(InputObject)]
pub struct CreateSectionInput {
    /// The article it goes into.
    pub article_id: ID,
    /// The heading: one line, 1 to 300 characters, not ending in sentence punctuation.
    pub heading: String,
    /// Its text, up to 100,000 characters (default empty).
    pub body: Option<String>,
    /// Slug, unique within the article (default: derived from the heading; -2, -3, ... when
    /// taken).
    pub slug: Option<String>,
    /// 1-based position; the sections from there on move down (default: last).
    pub position: Option<i32>,
}

/// Changes to a section; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateSectionInput {
    /// A new heading.
    pub heading: Option<String>,
    /// A new text.
    pub body: Option<String>,
    /// A new slug, unique within the article.
    pub slug: Option<String>,
}

impl From<UpdateSectionInput> for SectionChanges {
    fn from(input: UpdateSectionInput) -> Self {
        Self {
            heading: input.heading,
            body: input.body,
            slug: input.slug,
        }
    }
}

fn section_id(id: GlobalId) -> Option<i64> {
    match id {
        GlobalId::Section(id) => Some(id),
        _ => None,
    }
}

/// Mutations of sections.
#[derive(Default)]
pub struct SectionMutation;

#[Object]
impl SectionMutation {
    /// Adds a section to an article.
    async fn create_section(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new section.")] input: CreateSectionInput,
    ) -> Result<SectionPayload> {
        let (editing, editor) = editor(ctx)?;
        let article_id = decode("articleId", &input.article_id, article_id)?;
        let section = sections::create(
            editing,
            &editor,
            NewSection {
                article_id,
                heading: input.heading,
                body: input.body,
                slug: input.slug,
                position: input.position,
            },
        )
        .await?;
        Ok(section.into())
    }

    /// Changes a section's heading, text or slug.
    async fn update_section(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The section's ID.")] id: ID,
        #[graphql(desc = "What to change.")] input: UpdateSectionInput,
    ) -> Result<SectionPayload> {
        let (editing, editor) = editor(ctx)?;
        let id = decode("id", &id, section_id)?;
        Ok(sections::update(editing, &editor, id, input.into())
            .await?
            .into())
    }

    /// Moves a section to another position within its article; the others close up.
    async fn move_section(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The section's ID.")] id: ID,
        #[graphql(desc = "The new 1-based position (1 to the number of sections).")] position: i32,
    ) -> Result<SectionPayload> {
        let (editing, editor) = editor(ctx)?;
        let id = decode("id", &id, section_id)?;
        Ok(sections::move_to(editing, &editor, id, position)
            .await?
            .into())
    }

    /// Deletes a section with its reforms and reactions; the sections after it move up.
    async fn delete_section(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The section's ID.")] id: ID,
    ) -> Result<DeletePayload> {
        let (editing, editor) = editor(ctx)?;
        let key = decode("id", &id, section_id)?;
        sections::delete(editing, &editor, key).await?;
        Ok(DeletePayload {
            deleted_id: GlobalId::Section(key).into(),
        })
    }
}
