//! The database's content version: one number that grows with every committed change to the
//! content (kept by triggers; see the `content_version` migration).

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::{Error, Result};

/// The PostgreSQL channel every commit that changes the content notifies (empty payload).
pub use migration::m20261202_000005_content_version::CHANNEL;

/// The statement that reads the version (for connections outside SeaORM, e.g. a listener).
pub const CURRENT: &str = "SELECT version FROM content_version WHERE id = 1";

/// The current content version.
pub async fn current(db: &impl ConnectionTrait) -> Result<i64> {
    let backend = db.get_database_backend();
    let statement = Statement::from_string(backend, CURRENT);
    let row = db
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| Error::internal("the content_version row is missing"))?;
    Ok(row.try_get::<i64>("", "version")?)
}

/// Whether `backend` tells other processes about commits (NOTIFY on [`CHANNEL`]).
pub fn notifies(backend: DbBackend) -> bool {
    backend == DbBackend::Postgres
}
