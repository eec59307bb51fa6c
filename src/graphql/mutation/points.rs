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

/// Declares the create and update inputs of one point kind, `$what` (`"reform"`), and how
/// they become the editing layer's values. (A macro because the two kinds' GraphQL types differ
/// in name and description only, which generics cannot express.)
macro_rules! point_inputs {
    ($create:ident, $update:ident, $what:literal) => {
        #[doc = concat!("A new ", $what, ".")]
        #[derive(InputObject)]
        pub struct $create {
            /// The section it stands under.
            pub section_id: ID,
            /// Its label: one line, 1 to 300 characters, without ": ".
            pub title: String,
            #[doc = concat!("What the ", $what, " was, up to 100,000 characters.")]
            pub description: String,
            #[doc = concat!("Slug, unique among the article's ", $what, "s (default: derived from the title).")]
            pub slug: Option<String>,
            /// 1-based position within the section; the ones from there on move down (default: last).
            pub position: Option<i32>,
        }

        impl CreateInput for $create {
            fn section_id(&self) -> &ID {
                &self.section_id
            }

            fn into_new_point(self, section_id: i64) -> NewPoint {
                NewPoint {
                    section_id,
                    title: self.title,
                    description: self.description,
                    slug: self.slug,
                    position: self.position,
                }
            }
        }

        #[doc = concat!("Changes to a ", $what, "; omitted fields stay as they are.")]
        #[derive(InputObject)]
        pub struct $update {
            /// A new label.
            pub title: Option<String>,
            /// A new text.
            pub description: Option<String>,
            #[doc = concat!("A new slug, unique among the article's ", $what, "s.")]
            pub slug: Option<String>,
        }

        impl From<$update> for PointChanges {
            fn from(input: $update) -> Self {
                Self {
                    title: input.title,
                    description: input.description,
                    slug: input.slug,
                }
            }
        }
    };
}

/// A create input of either kind: its section, still encoded, and the rest.
trait CreateInput {
    /// The section's global ID as the client sent it.
    fn section_id(&self) -> &ID;
    /// The new point under the section with this (decoded) id.
    fn into_new_point(self, section_id: i64) -> NewPoint;
}

point_inputs!(CreateReformInput, UpdateReformInput, "reform");
point_inputs!(CreateReactionInput, UpdateReactionInput, "reaction");

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

async fn create(ctx: &Context<'_>, kind: PointKind, input: impl CreateInput) -> Result<Point> {
    let (editing, editor) = editor(ctx)?;
    let section_id = decode("sectionId", input.section_id(), section_id)?;
    let point = input.into_new_point(section_id);
    Ok(points::create(editing, &editor, kind, point).await?)
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
        let point = create(ctx, PointKind::Reform, input).await?;
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
        let point = update(ctx, PointKind::Reform, &id, input.into()).await?;
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
        let point = create(ctx, PointKind::Reaction, input).await?;
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
        let point = update(ctx, PointKind::Reaction, &id, input.into()).await?;
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
