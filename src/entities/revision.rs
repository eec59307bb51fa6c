//! One committed version of an article.

use sea_orm::entity::prelude::*;

/// One row of `revisions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "revisions")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The article.
    pub article_id: i64,
    /// The article's version this revision records.
    pub version: i32,
    /// When it was committed.
    pub created_at: DateTimeUtc,
    /// The configured name of the editor who made it.
    pub editor: String,
    /// What changed, e.g. `SECTION_UPDATED`.
    pub change: String,
    /// The global id of the node the change touched, if one.
    pub node_id: Option<String>,
    /// The article's plain-text export at this version.
    pub document: String,
    /// The JSON snapshot of the article tree at this version (`content::Snapshot`); null
    /// only until the start-up backfill of rows written before snapshots existed.
    pub snapshot: Option<String>,
}

/// No relations are declared.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
