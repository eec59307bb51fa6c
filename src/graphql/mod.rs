//! The GraphQL schema: root types, object types, batched loaders, pagination, guards, the cost
//! model, and the one module that executes requests for every transport ([`execute`]).
//!
//! [`build_schema`] needs no database, so `annals schema` can print the SDL anywhere; the
//! server attaches the connection and the loader with [`SchemaData`].

pub mod batch;
pub mod budget;
pub mod context;
pub mod cost;
pub mod documents;
pub mod execute;
pub mod extension;
pub mod guards;
pub mod ids;
pub mod items;
pub mod loaders;
pub mod mutation;
pub mod nul_bytes;
pub mod order;
pub mod pagination;
pub mod persisted;
pub mod plan;
pub mod query;
pub mod reads;
pub mod response_size;
pub mod search;
pub mod selection;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::MergedObject;
use async_graphql::{SDLExportOptions, Schema};
use sea_orm::DatabaseConnection;

pub use self::mutation::Mutation;
pub use self::subscription::Subscription;
use crate::{auth::EditorTokens, config::Limits, editing::Editing, events::EventBus};

/// The root query type: reading content. Each area of the API contributes one part.
#[derive(MergedObject, Default)]
pub struct Query(query::ContentQuery, search::SearchQuery);

/// The Annals schema type.
pub type AnnalsSchema = Schema<Query, Mutation, Subscription>;

/// What resolvers need at run time.
pub struct SchemaData {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// Where committed changes are published and subscriptions listen.
    pub events: EventBus,
    /// The editor tokens mutations accept.
    pub editors: EditorTokens,
    /// Whether the database is served read-only (every mutation is then `FORBIDDEN`).
    pub read_only: bool,
    /// When a connection of the pool last broke (the executor records what it sees).
    pub faults: crate::db::Faults,
    /// Which caches hear of committed changes.
    pub changes: crate::cache::Changes,
    /// Whether queries whose selection is known run from a plan ([`plan`]).
    pub query_plans: bool,
}

/// Marks a schema whose database is served read-only.
#[derive(Debug, Clone, Copy)]
pub struct ReadOnly;

/// Builds the schema with its limits; `data` is `None` only for printing the SDL.
pub fn build_schema(
    limits: &Limits,
    introspection: bool,
    data: Option<SchemaData>,
) -> AnnalsSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription).extension(
        extension::Guards {
            limits: guards::QueryLimits::from(limits),
            introspection,
            max_cost: limits.complexity as u64,
            documents: documents::Documents::default(),
            query_plans: data.as_ref().is_some_and(|d| d.query_plans),
        },
    );
    if !introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    if let Some(data) = data {
        builder = builder
            .data(batch::BatchLoader::shared(Arc::new(
                loaders::ContentLoader::new(data.db.clone()),
            )))
            .data(Editing::new(data.db.clone(), data.events.clone()).with_changes(data.changes))
            .data(data.events)
            .data(data.editors)
            .data(data.faults)
            .data(data.db);
        if data.read_only {
            builder = builder.data(ReadOnly);
        }
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
