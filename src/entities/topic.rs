//! A topic that tags articles, reforms and reactions.

use sea_orm::entity::prelude::*;

/// One row of `topics`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "topics")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique, URL-safe name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// What the topic covers.
    pub description: String,
}

/// No relations are declared.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
