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
use sea_orm::{
    ConnectionTrait, DatabaseConnection, EntityName, EntityTrait, IdenStatic, Iterable, ModelTrait,
    PrimaryKeyToColumn, Value,
};

pub use migrate::{migrate, prepare};

use crate::error::{Error, Result};
use sql::SqlBuilder;

/// Writes `columns` of `row`, as `row` has them, to the stored row with `row`'s primary key:
/// one `UPDATE <table> SET <column> = ..., ... WHERE id = ...`.
///
/// Table and column names come from the entity, so a renamed column is a compile error
/// rather than a failing statement at run time.
pub async fn update_columns<M: ModelTrait>(
    db: &impl ConnectionTrait,
    row: &M,
    columns: &[<M::Entity as EntityTrait>::Column],
) -> Result<()> {
    let key = <M::Entity as EntityTrait>::PrimaryKey::iter()
        .next()
        .ok_or_else(|| Error::internal("an entity without a primary key"))?
        .into_column();
    let values = columns
        .iter()
        .map(|&column| (column.as_str(), row.get(column)));
    let table = M::Entity::default().table_name();
    update_where(db, table, values, key.as_str(), row.get(key)).await?;
    Ok(())
}

/// Sets `values` on the row of `E` with this `id`, like [`update_columns`] for a caller
/// without the whole row; how many rows it changed.
pub async fn update_by_id<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: i64,
    values: impl IntoIterator<Item = (E::Column, Value)>,
) -> Result<u64> {
    let values = values
        .into_iter()
        .map(|(column, value)| (column.as_str(), value));
    update_where(db, E::default().table_name(), values, "id", id.into()).await
}

/// `UPDATE <table> SET <column> = <value>, ... WHERE <key_column> = <key>`; how many rows it
/// changed.
async fn update_where(
    db: &impl ConnectionTrait,
    table: &str,
    values: impl IntoIterator<Item = (&'static str, Value)>,
    key_column: &str,
    key: Value,
) -> Result<u64> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "UPDATE ");
    sql.push(table).push(" SET ");
    for (i, (column, value)) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(column).push(" = ").bind(value);
    }
    sql.push(" WHERE ").push(key_column).push(" = ").bind(key);
    Ok(db.execute_raw(sql.build()).await?.rows_affected())
}

/// Deletes the row of `E` with this `id` (what references it goes by `ON DELETE CASCADE`).
pub async fn delete_by_id<E: EntityTrait>(db: &impl ConnectionTrait, id: i64) -> Result<()> {
    let mut sql = SqlBuilder::new(db.get_database_backend(), "DELETE FROM ");
    sql.push(E::default().table_name())
        .push(" WHERE id = ")
        .bind(id);
    db.execute_raw(sql.build()).await?;
    Ok(())
}

/// Whether the database refuses writes: a SQLite file opened with `mode=ro`, or one the
/// process may not write. Probed with an update that matches no row, which SQLite refuses on
/// a read-only database and which changes nothing otherwise. Always `false` on PostgreSQL.
pub async fn sqlite_read_only(db: &DatabaseConnection) -> Result<bool> {
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
