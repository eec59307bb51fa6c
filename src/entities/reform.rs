//! A reform: a labelled point under a section of an article.

use sea_orm::entity::prelude::*;

/// One row of `reforms`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "reforms")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The article this reform belongs to.
    pub article_id: i64,
    /// The section that owns it.
    pub section_id: i64,
    /// 1-based position within its section.
    pub position: i32,
    /// Unique within the article.
    pub slug: String,
    /// The point's label.
    pub title: String,
    /// The point's text.
    pub description: String,
}

/// No relations are declared: loaders query children explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
