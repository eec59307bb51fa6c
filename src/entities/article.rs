//! An article: the root of every piece of content.

use sea_orm::entity::prelude::*;

/// One row of `articles`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "articles")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique, URL-safe name.
    pub slug: String,
    /// The first line of the document.
    pub title: String,
    /// The text between the title and the first heading.
    pub summary: String,
    /// 1 on creation, +1 on every committed change to the article or anything in it.
    pub version: i32,
    /// When the article was created.
    pub created_at: DateTimeUtc,
    /// When the article or anything in it last changed.
    pub updated_at: DateTimeUtc,
}

/// No relations are declared: loaders query children explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
