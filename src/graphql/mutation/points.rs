//! createReform, updateReform, deleteReform and the same for reactions.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::{DeletePayload, ReactionPayload, ReformPayload, decode, editor};
use crate::{
    editing::points::{self, NewPoint, PointChanges},
    graphql::{
        ids::GlobalId,
        types::{Reaction, Reform},
    },
    store::points::{Point, PointKind},
};

/// A new reform.
#[derive(InputObject)]
pub struct CreateReformInput {
    /// The section it stands under.
    pub section_id: ID,
    /// Its label: one line, 1 to 300 characters, without ": ".
    pub title: String,
    /// What the reform was, up to 100,000 characters.
    pub description: String,
    /// Slug, unique among the article's reforms (default: derived from the title).
    pub slug: Option<String>,
    /// 1-based position within the section; the ones from there on move down (default: last).
    pub position: Option<i32>,
}

/// Changes to a reform; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateReformInput {
    /// A new label.
    pub title: Option<String>,
    /// A new text.
    pub description: Option<String>,
    /// A new slug, unique among the article's reforms.
    pub slug: Option<String>,
}

/// A new reaction.
#[derive(InputObject)]
pub struct CreateReactionInput {
    /// The section it stands under.
    pub section_id: ID,
    /// Its label: one line, 1 to 300 characters, without ": ".
    pub title: String,
    /// What the reaction was, up to 100,000 characters.
    pub description: String,
    /// Slug, unique among the article's reactions (default: derived from the title).
    pub slug: Option<String>,
    /// 1-based position within the section; the ones from there on move down (default: last).
    pub position: Option<i32>,
}

/// Changes to a reaction; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateReactionInput {
    /// A new label.
    pub title: Option<String>,
    /// A new text.
    pub description: Option<String>,
    /// A new slug, unique among the article's reactions.
    pub slug: Option<String>,
}

fn section_id(id: GlobalId) -> Option<i64> {
    match id {
        GlobalId::Section(id) => Some(id),
        _ => None,
    }
}

fn point_id(kind: PointKind) -> fn(GlobalId) -> Option<i64> {
    match kind {
        PointKind::Reform => |id| match id {
            GlobalId::Reform(id) => Some(id),
            _ => None,
        },
        PointKind::Reaction => |id| match id {
            GlobalId::Reaction(id) => Some(id),
            _ => None,
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn create(
    ctx: &Context<'_>,
    kind: PointKind,
    section: &ID,
    title: String,
    description: String,
    slug: Option<String>,
    position: Option<i32>,
) -> Result<Point> {
    let (editing, editor) = editor(ctx)?;
    let section_id = decode("sectionId", section, section_id)?;
    let point = points::create(
        editing,
        &editor,
        kind,
        NewPoint {
            section_id,
            title,
            description,
            slug,
            position,
        },
    )
    .await?;
    Ok(point)
}

async fn update(
    ctx: &Context<'_>,
    kind: PointKind,
    id: &ID,
    changes: PointChanges,
) -> Result<Point> {
    let (editing, editor) = editor(ctx)?;
    let id = decode("id", id, point_id(kind))?;
    Ok(points::update(editing, &editor, kind, id, changes).await?)
}

async fn delete(ctx: &Context<'_>, kind: PointKind, id: &ID) -> Result<DeletePayload> {
    let (editing, editor) = editor(ctx)?;
    let key = decode("id", id, point_id(kind))?;
    points::delete(editing, &editor, kind, key).await?;
    Ok(DeletePayload {
        deleted_id: GlobalId::point(kind, key).into(),
    })
}

/// Mutations of reforms and reactions.
#[derive(Default)]
pub struct PointMutation;

#[Object]
impl PointMutation {
    /// Adds a reform under a section.
    async fn create_reform(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new reform.")] input: CreateReformInput,
    ) -> Result<ReformPayload> {
        let point = create(
            ctx,
            PointKind::Reform,
            &input.section_id,
            input.title,
            input.description,
            input.slug,
            input.position,
        )
        .await?;
        Ok(ReformPayload {
            reform: Reform(point),
        })
    }

    /// Changes a reform's label, text or slug.
    async fn update_reform(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reform's ID.")] id: ID,
        #[graphql(desc = "What to change.")] input: UpdateReformInput,
    ) -> Result<ReformPayload> {
        let changes = PointChanges {
            title: input.title,
            description: input.description,
            slug: input.slug,
        };
        let point = update(ctx, PointKind::Reform, &id, changes).await?;
        Ok(ReformPayload {
            reform: Reform(point),
        })
    }

    /// Deletes a reform; the ones after it in its section move up.
    async fn delete_reform(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reform's ID.")] id: ID,
    ) -> Result<DeletePayload> {
        delete(ctx, PointKind::Reform, &id).await
    }

    /// Adds a reaction under a section.
    async fn create_reaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new reaction.")] input: CreateReactionInput,
    ) -> Result<ReactionPayload> {
        let point = create(
            ctx,
            PointKind::Reaction,
            &input.section_id,
            input.title,
            input.description,
            input.slug,
            input.position,
        )
        .await?;
        Ok(ReactionPayload {
            reaction: Reaction(point),
        })
    }

    /// Changes a reaction's label, text or slug.
    async fn update_reaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reaction's ID.")] id: ID,
        #[graphql(desc = "What to change.")] input: UpdateReactionInput,
    ) -> Result<ReactionPayload> {
        let changes = PointChanges {
            title: input.title,
            description: input.description,
            slug: input.slug,
        };
        let point = update(ctx, PointKind::Reaction, &id, changes).await?;
        Ok(ReactionPayload {
            reaction: Reaction(point),
        })
    }

    /// Deletes a reaction; the ones after it in its section move up.
    async fn delete_reaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reaction's ID.")] id: ID,
    ) -> Result<DeletePayload> {
        delete(ctx, PointKind::Reaction, &id).await
    }
}
