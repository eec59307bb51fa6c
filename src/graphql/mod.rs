//! The GraphQL schema: root types, object types, batched loaders, pagination and guards.
//!
//! [`build_schema`] needs no database, so `annals schema` can print the SDL anywhere; the
//! server attaches the connection and the loader with [`SchemaData`].

pub mod context;
pub mod extension;
pub mod guards;
pub mod ids;
pub mod loaders;
pub mod pagination;
pub mod query;
pub mod search;
pub mod types;

use async_graphql::MergedObject;
use async_graphql::{EmptyMutation, EmptySubscription, SDLExportOptions, Schema};
use sea_orm::DatabaseConnection;

use crate::config::Limits;

/// The root query type: reading content. Each area of the API contributes one part.
#[derive(MergedObject, Default)]
pub struct Query(query::ContentQuery, search::SearchQuery);

/// The Annals schema type.
pub type AnnalsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// What resolvers need at run time.
pub struct SchemaData {
    /// The connection pool.
    pub db: DatabaseConnection,
}

/// Builds the schema with its limits; `data` is `None` only for printing the SDL.
pub fn build_schema(
    limits: &Limits,
    introspection: bool,
    data: Option<SchemaData>,
) -> AnnalsSchema {
    let mut builder = Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_directives(limits.directives)
        .extension(extension::Guards(guards::QueryLimits {
            max_query_bytes: limits.query_bytes,
            max_value_nesting: limits.nesting,
            max_selections: limits.selections,
            max_aliases: limits.aliases,
            max_root_fields: limits.root_fields,
        }));
    if !introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    if let Some(data) = data {
        builder = builder
            .data(loaders::ContentLoader::new(data.db.clone()))
            .data(data.db);
    }
    builder.finish()
}

/// The schema as SDL, sorted so the checked-in `schema.graphql` diffs cleanly.
pub fn sdl(schema: &AnnalsSchema) -> String {
    schema.sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
