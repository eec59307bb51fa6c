//! SeaORM entities: one per table, plain rows with no GraphQL on them.
//!
//! The GraphQL layer wraps these models (see `crate::graphql::types`), so renaming a column
//! cannot silently change the public schema.

pub mod article;
pub mod article_topic;
pub mod reaction;
pub mod reaction_topic;
pub mod reform;
pub mod reform_topic;
pub mod revision;
pub mod section;
pub mod topic;
