//! The `ContentChange` type: one typed difference between two versions of an article.

use async_graphql::{Enum, ID, Object};

use crate::{
    content::diff::{self, ChangeOp, NodeKind},
    graphql::ids::GlobalId,
};

/// What happened to a node between two versions.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ContentChangeOp {
    /// The node exists only in the newer version.
    Added,
    /// The node exists only in the older version.
    Removed,
    /// The node changed position, or (a reform or reaction) section.
    Moved,
    /// A field of the node changed.
    Changed,
}

/// Which kind of node a change is about.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ContentNodeType {
    /// The article itself (its slug, title, summary or topics).
    Article,
    /// A section.
    Section,
    /// A reform.
    Reform,
    /// A reaction.
    Reaction,
}

/// One difference between two versions of an article.
pub struct ContentChange(pub diff::ContentChange);

/// One difference between two versions of an article.
#[Object]
impl ContentChange {
    /// What happened to the node.
    async fn op(&self) -> ContentChangeOp {
        match self.0.op {
            ChangeOp::Added => ContentChangeOp::Added,
            ChangeOp::Removed => ContentChangeOp::Removed,
            ChangeOp::Moved => ContentChangeOp::Moved,
            ChangeOp::Changed => ContentChangeOp::Changed,
        }
    }

    /// Which kind of node changed.
    async fn node_type(&self) -> ContentNodeType {
        match self.0.node {
            NodeKind::Article => ContentNodeType::Article,
            NodeKind::Section => ContentNodeType::Section,
            NodeKind::Reform => ContentNodeType::Reform,
            NodeKind::Reaction => ContentNodeType::Reaction,
        }
    }

    /// The node's global ID, when the versions record it (a removed node's ID may no longer
    /// resolve; versions migrated from before snapshots have none for sections and points).
    async fn node_id(&self) -> Option<ID> {
        let id = self.0.id?;
        Some(
            match self.0.node {
                NodeKind::Article => GlobalId::Article(id),
                NodeKind::Section => GlobalId::Section(id),
                NodeKind::Reform => GlobalId::Reform(id),
                NodeKind::Reaction => GlobalId::Reaction(id),
            }
            .into(),
        )
    }

    /// The node's slug (in the newer version when it has one there).
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The field that changed: `slug`, `title`, `summary`, `topics`, `heading`, `body`,
    /// `description`, `position` or `section`; null for added and removed nodes.
    async fn field(&self) -> Option<&str> {
        self.0.field
    }

    /// The value before: the field's old value, or a removed node's title or heading.
    /// Positions are 1-based numbers, sections their slugs, topics comma-separated slugs.
    async fn old_value(&self) -> Option<&str> {
        self.0.old.as_deref()
    }

    /// The value after: the field's new value, or an added node's title or heading.
    async fn new_value(&self) -> Option<&str> {
        self.0.new.as_deref()
    }
}
