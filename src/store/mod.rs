//! Data access: plain functions over a SeaORM connection, one file per aggregate.
//!
//! Nothing here knows about GraphQL or HTTP; the GraphQL layer calls these through batched
//! loaders, and the command line calls them directly. Every function takes
//! `&impl ConnectionTrait`, so it runs the same inside or outside a transaction.

pub mod articles;
pub mod columns;
pub mod content;
pub mod content_version;
pub mod dump;
pub mod migrate;
pub mod page;
pub mod persisted;
pub mod points;
pub mod positions;
pub mod revisions;
pub mod search;
pub mod sections;
pub mod seed;
pub mod snapshots;
pub mod sql;
pub mod topics;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, IdenStatic, Value};

pub use migrate::{migrate, prepare};

use sql::SqlBuilder;

/// Sets `values` on the row of `E` with this `id`, in one
/// `UPDATE <table> SET <column> = ..., ... WHERE id = ...`; how many rows it changed.
///
/// Table and column names come from the entity, so a renamed column is a compile error here
/// rather than a failing statement at run time.
pub async fn update_by_id<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: i64,
    values: impl IntoIterator<Item = (E::Column, Value)>,
) -> crate::error::Result<u64> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "UPDATE ");
    sql.push(E::default().table_name()).push(" SET ");
    for (i, (column, value)) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(column.as_str()).push(" = ").bind(value);
    }
    sql.push(" WHERE id = ").bind(id);
    Ok(db.execute_raw(sql.build()).await?.rows_affected())
}

/// Deletes the row of `E` with this `id` (what references it goes by `ON DELETE CASCADE`);
/// how many rows it removed.
pub async fn delete_by_id<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: i64,
) -> crate::error::Result<u64> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "DELETE FROM ");
    sql.push(E::default().table_name())
        .push(" WHERE id = ")
        .bind(id);
    Ok(db.execute_raw(sql.build()).await?.rows_affected())
}

/// Whether the database refuses writes: a SQLite file opened with `mode=ro`, or one the
/// process may not write. Probed with an update that matches no row, which SQLite refuses on
/// a read-only database and which changes nothing otherwise. Always `false` on PostgreSQL.
pub async fn sqlite_read_only(db: &DatabaseConnection) -> crate::error::Result<bool> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(false);
    }
    match db
        .execute_unprepared("UPDATE articles SET id = id WHERE 0")
        .await
    {
        Ok(_) => Ok(false),
        Err(err) if err.to_string().contains("readonly database") => Ok(true),
        Err(err) => Err(err.into()),
    }
}

/// Whether the database can serve: it answers, and no migration is pending. One read of the
/// migration table (never created or changed here). The reason, when not, is for a probe's
/// answer; the error itself goes to the log.
pub async fn readiness(db: &DatabaseConnection) -> Result<(), String> {
    match Migrator::get_pending_migrations_read_only(db).await {
        Ok(pending) if pending.is_empty() => Ok(()),
        Ok(pending) => Err(format!(
            "{} migration(s) pending, first {}; run `annals migrate`",
            pending.len(),
            pending[0].name()
        )),
        Err(err) => {
            tracing::warn!(error = %err, "readiness: the database did not answer");
            Err("the database did not answer".to_owned())
        }
    }
}
