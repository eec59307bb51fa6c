//! The tag linking a reaction to a topic.

use sea_orm::entity::prelude::*;

/// One row of `reaction_topics`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "reaction_topics")]
pub struct Model {
    /// The tagged reaction.
    #[sea_orm(primary_key, auto_increment = false)]
    pub reaction_id: i64,
    /// The topic.
    #[sea_orm(primary_key, auto_increment = false)]
    pub topic_id: i64,
}

/// No relations are declared.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
