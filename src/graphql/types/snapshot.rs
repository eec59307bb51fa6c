//! The structured form of a revision: `ArticleSnapshot` and its sections and points.

use async_graphql::{Enum, ID, Object};

use crate::{
    content::{PointSnapshot, SectionSnapshot, Snapshot, TopicRef},
    graphql::ids::GlobalId,
};

/// The complete article tree at one version, as its revision stores it.
pub struct ArticleSnapshot(pub Snapshot);

/// The complete article tree at one version, as its revision stores it.
#[Object]
impl ArticleSnapshot {
    /// The version of the snapshot format (1 today); clients can ignore it.
    async fn schema_version(&self) -> u32 {
        self.0.schema
    }

    /// The article's slug at that version.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The title at that version.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The summary at that version.
    async fn summary(&self) -> &str {
        &self.0.summary
    }

    /// The topics the article was tagged with.
    async fn topics(&self) -> Vec<TopicTag> {
        self.0.topics.iter().cloned().map(TopicTag).collect()
    }

    /// The sections in document order.
    async fn sections(&self) -> Vec<SnapshotSection> {
        self.0
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| SnapshotSection(s.clone(), i as i32 + 1))
            .collect()
    }
}

/// A section as it was at one version.
pub struct SnapshotSection(SectionSnapshot, i32);

/// A section as it was at one version.
#[Object]
impl SnapshotSection {
    /// The section's global ID then; it may no longer resolve (the section was deleted
    /// since), and it is null for versions migrated from before snapshots were kept.
    async fn id(&self) -> Option<ID> {
        self.0.id.map(|id| GlobalId::Section(id).into())
    }

    /// The slug, unique in the article.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// 1-based position in the article.
    async fn position(&self) -> i32 {
        self.1
    }

    /// The heading.
    async fn heading(&self) -> &str {
        &self.0.heading
    }

    /// The body (Markdown).
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// The section's reforms in order.
    async fn reforms(&self) -> Vec<SnapshotPoint> {
        points(&self.0.reforms, SnapshotPointKind::Reform)
    }

    /// The section's reactions in order.
    async fn reactions(&self) -> Vec<SnapshotPoint> {
        points(&self.0.reactions, SnapshotPointKind::Reaction)
    }
}

fn points(list: &[PointSnapshot], kind: SnapshotPointKind) -> Vec<SnapshotPoint> {
    list.iter()
        .enumerate()
        .map(|(i, p)| SnapshotPoint(p.clone(), kind, i as i32 + 1))
        .collect()
}

/// Whether a snapshot point is a reform or a reaction.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotPointKind {
    /// A reform.
    Reform,
    /// A reaction.
    Reaction,
}

/// A reform or reaction as it was at one version.
pub struct SnapshotPoint(PointSnapshot, SnapshotPointKind, i32);

/// A reform or reaction as it was at one version.
#[Object]
impl SnapshotPoint {
    /// Its global ID then (a Reform or Reaction ID); it may no longer resolve, and it is null
    /// for versions migrated from before snapshots were kept.
    async fn id(&self) -> Option<ID> {
        self.0.id.map(|id| {
            match self.1 {
                SnapshotPointKind::Reform => GlobalId::Reform(id),
                SnapshotPointKind::Reaction => GlobalId::Reaction(id),
            }
            .into()
        })
    }

    /// Reform or reaction.
    async fn kind(&self) -> SnapshotPointKind {
        self.1
    }

    /// The slug, unique among the article's points of its kind.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// 1-based position within its section.
    async fn position(&self) -> i32 {
        self.2
    }

    /// The label.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The text.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The topics it was tagged with.
    async fn topics(&self) -> Vec<TopicTag> {
        self.0.topics.iter().cloned().map(TopicTag).collect()
    }
}

/// A topic tag recorded in a snapshot.
pub struct TopicTag(TopicRef);

/// A topic tag recorded in a snapshot.
#[Object]
impl TopicTag {
    /// The topic's global ID (it may have been deleted since).
    async fn id(&self) -> ID {
        GlobalId::Topic(self.0.id).into()
    }

    /// The topic's slug when the snapshot was taken.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
}
