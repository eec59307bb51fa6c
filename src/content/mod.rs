//! Plain-text article content: the data model, import from the plain-text
//! seed format, export back to text and Markdown, and slugs.

pub mod document;
pub mod export;
pub mod import;
pub mod slug;

pub use document::{Document, PointDoc, SectionDoc};
pub use export::{render_document, render_markdown};
pub use import::{Classification, ImportError, is_heading, parse_document};
pub use slug::{is_valid_slug, slugify, unique_slug};
