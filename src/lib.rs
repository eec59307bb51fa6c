//! Annals: a GraphQL content service for structured history articles.
//!
//! A tour from the bottom up; each module uses only those listed before it:
//! - [`content`]: the plain-text document format: import, export, slugs (no database).
//! - [`entities`]: SeaORM table models; [`error`]: the one error type and its codes.
//! - [`metrics`]: the Prometheus series; [`telemetry`]: logs, spans and OTLP export.
//! - [`auth`]: editor tokens; [`config`]: every setting, from flags and the environment (or
//!   [`config::Config::defaults`], which ignores the environment); [`db`]: connecting.
//! - [`replicas`]: read replicas, their health, and where each query reads.
//! - [`store`]: data access, one file per aggregate; no GraphQL here.
//! - [`ids`]: global IDs, GraphQL-free; [`events`]: committed changes for subscribers.
//! - [`cache`]: the content version, surrogate keys, the response cache, CDN purges.
//! - [`editing`]: every write, one transaction each; no GraphQL here either.
//! - [`graphql`]: the schema, batched loaders, pagination, the guards and cost model of the
//!   endpoint, and the one execution path every transport uses.
//! - [`http`]: the axum router, GraphQL-over-HTTP handlers, WebSocket, GraphiQL, and the
//!   server loop.
//! - [`startup`]: wiring it all together; [`cli`]: the `annals` command line.

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
pub mod ids;
pub mod metrics;
pub mod replicas;
pub mod startup;
pub mod store;
pub mod telemetry;
