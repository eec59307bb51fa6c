//! The tag linking a reform to a topic.

use sea_orm::entity::prelude::*;

/// One row of `reform_topics`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "reform_topics")]
pub struct Model {
    /// The tagged reform.
    #[sea_orm(primary_key, auto_increment = false)]
    pub reform_id: i64,
    /// The topic.
    #[sea_orm(primary_key, auto_increment = false)]
    pub topic_id: i64,
}

/// No relations are declared.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
