//! Typed access to what resolvers need from the request context.

use async_graphql::{Context, Result};
use sea_orm::DatabaseConnection;

/// The database connection, for resolvers that run one statement themselves.
pub fn db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
}
