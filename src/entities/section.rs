//! A section of an article: a heading, its body, and the reforms and reactions under it.

use sea_orm::entity::prelude::*;

/// One row of `sections`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "sections")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The article this section belongs to.
    pub article_id: i64,
    /// 1-based position in document order.
    pub position: i32,
    /// Unique within the article.
    pub slug: String,
    /// The heading line.
    pub heading: String,
    /// The section's own text as Markdown.
    pub body: String,
}

/// No relations are declared: loaders query children explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
