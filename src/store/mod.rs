//! Data access: plain functions over a SeaORM connection, one file per aggregate.
//!
//! Nothing here knows about GraphQL or HTTP; the GraphQL layer calls these through batched
//! loaders, and the command line calls them directly. Every function takes
//! `&impl ConnectionTrait`, so it runs the same inside or outside a transaction.

pub mod articles;
pub mod content;
pub mod page;
pub mod points;
pub mod revisions;
pub mod search;
pub mod sections;
pub mod seed;
pub mod sql;
pub mod topics;
