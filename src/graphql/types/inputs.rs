//! Input objects and enums for filtering and ordering lists.

use async_graphql::{Enum, InputObject};
use chrono::{DateTime, Utc};

use crate::store::{self, articles::ArticleSort};

/// Narrows the articles list; every given field must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct ArticleFilter {
    /// Only articles with one of these slugs.
    pub slugs: Option<Vec<String>>,
    /// Only articles tagged with the topic of this slug.
    pub topic: Option<String>,
    /// Only articles whose title contains this text, ignoring case.
    pub title_contains: Option<String>,
    /// Only articles updated at or after this time (inclusive; RFC 3339).
    pub updated_since: Option<DateTime<Utc>>,
}

impl From<ArticleFilter> for store::articles::ArticleFilter {
    fn from(f: ArticleFilter) -> Self {
        Self {
            slugs: f.slugs,
            topic: f.topic,
            title_contains: f.title_contains,
            updated_since: f.updated_since,
        }
    }
}

/// How to order the articles list. Default order: CREATED_AT ASC; ties broken by id.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct ArticleOrder {
    /// The field to order by.
    pub field: ArticleOrderField,
    /// Ascending or descending.
    pub direction: OrderDirection,
}

/// Fields articles can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ArticleOrderField {
    /// By title.
    Title,
    /// By creation time.
    CreatedAt,
    /// By time of the last change.
    UpdatedAt,
}

impl From<ArticleOrderField> for ArticleSort {
    fn from(field: ArticleOrderField) -> Self {
        match field {
            ArticleOrderField::Title => Self::Title,
            ArticleOrderField::CreatedAt => Self::CreatedAt,
            ArticleOrderField::UpdatedAt => Self::UpdatedAt,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// Narrows the reforms or reactions list; every given field must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct ContentFilter {
    /// Only items of the article with this slug.
    pub article: Option<String>,
    /// Only items tagged with the topic of this slug.
    pub topic: Option<String>,
}

impl From<ContentFilter> for store::points::ContentFilter {
    fn from(f: ContentFilter) -> Self {
        Self {
            article: f.article,
            topic: f.topic,
        }
    }
}
