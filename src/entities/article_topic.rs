//! The tag linking a article to a topic.

use sea_orm::entity::prelude::*;

/// One row of `article_topics`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "article_topics")]
pub struct Model {
    /// The tagged article.
    #[sea_orm(primary_key, auto_increment = false)]
    pub article_id: i64,
    /// The topic.
    #[sea_orm(primary_key, auto_increment = false)]
    pub topic_id: i64,
}

/// No relations are declared.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
