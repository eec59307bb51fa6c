//! SeaORM entities: one per table, plain rows with no GraphQL on them.
//!
//! The GraphQL layer wraps these models (see `crate::graphql::types`), so renaming a column
//! cannot silently change the public schema.
//!
//! Reforms and reactions are two tables of one shape, each with a topic tag table of one
//! shape: their entities come from `point_entity!` and `point_topic_entity!`, so the twins
//! cannot drift apart. (SeaORM binds a model to one entity, so each table still has a model
//! type of its own; the store reads both kinds into one row type, `store::points::Point`.)

/// Declares, in the module it is invoked in, the entity of one point table: `$table` holds the
/// `$what`s (`"reform"`, `"reaction"`) of articles.
macro_rules! point_entity {
    ($table:literal, $what:literal) => {
        use sea_orm::entity::prelude::*;

        #[doc = concat!("One row of `", $table, "`.")]
        #[derive(
            Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
        )]
        #[sea_orm(table_name = $table)]
        pub struct Model {
            /// Primary key.
            #[sea_orm(primary_key)]
            pub id: i64,
            #[doc = concat!("The article this ", $what, " belongs to.")]
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
    };
}

/// Declares, in the module it is invoked in, the entity of the tag table `$table`, which links
/// the `$what` in column `$point_column` to a topic.
macro_rules! point_topic_entity {
    ($table:literal, $point_column:ident, $what:literal) => {
        use sea_orm::entity::prelude::*;

        #[doc = concat!("One row of `", $table, "`.")]
        #[derive(
            Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
        )]
        #[sea_orm(table_name = $table)]
        pub struct Model {
            #[doc = concat!("The tagged ", $what, ".")]
            #[sea_orm(primary_key, auto_increment = false)]
            pub $point_column: i64,
            /// The topic.
            #[sea_orm(primary_key, auto_increment = false)]
            pub topic_id: i64,
        }

        /// No relations are declared.
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod article;
pub mod article_topic;
pub mod reaction;
pub mod reaction_topic;
pub mod reform;
pub mod reform_topic;
pub mod revision;
pub mod section;
pub mod topic;
