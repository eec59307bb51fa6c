//! Annals: a GraphQL content service for structured history articles.
//!
//! A tour in reading order:
//! - [`config`]: every setting, from flags and the environment.
//! - [`content`]: the plain-text document format: import, export, slugs (no database).
//! - [`entities`]: SeaORM table models.
//! - [`store`]: data access, one file per aggregate; no GraphQL here.
//! - [`graphql`]: the schema, batched loaders, pagination, the guards and cost model of the
//!   endpoint, and the one execution path every transport uses.
//! - [`http`]: the axum router, GraphQL-over-HTTP handlers, GraphiQL, and the server loop.
//! - [`startup`]: wiring it all together; [`cli`]: the `annals` command line.
//! - [`editing`]: every write, one transaction each; [`auth`]: editor tokens.
//! - [`error`]: the one error type and its GraphQL codes; [`db`]: connecting.
//! - [`metrics`]: the Prometheus series; [`telemetry`]: logs, spans and OTLP export.

pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod content;
pub mod db;
pub mod editing;
pub mod entities;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod startup;
pub mod store;
pub mod telemetry;
