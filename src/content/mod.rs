//! Article content without a database: the data model, the article text format (import and
//! export, lossless), Markdown, slugs, the revision snapshot and diffs between snapshots.

#[cfg(test)]
pub(crate) mod arbitrary;
pub mod diff;
pub mod document;
pub mod export;
pub mod import;
pub mod slug;
pub mod snapshot;

pub use document::{Document, PointDoc, SectionDoc};
pub use export::{render_document, render_markdown};
pub use import::{
    Classification, ImportError, SectionKind, default_kind, is_heading, parse_document,
};
pub use slug::{is_valid_slug, slugify, unique_slug};
pub use snapshot::{PointSnapshot, SNAPSHOT_SCHEMA, SectionSnapshot, Snapshot, TopicRef};
