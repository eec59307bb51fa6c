//! Bringing a database up to date, safely when several Annals processes start at once.
//!
//! Every path that migrates (`annals serve` at start-up, `annals migrate`, `seed`, `import`,
//! `restore`) does it while holding a lock that every other Annals process on the same
//! database takes too: on PostgreSQL a session advisory lock, on SQLite an exclusive lock on a
//! file beside the database. Of several processes starting together on an empty database,
//! exactly one applies the migrations and seeds; the others wait, then find nothing to do.

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, Statement,
};

use super::{revisions, seed};
use crate::{
    entities::article,
    error::{Error, Result},
};

/// The advisory lock key of Annals' migrations (an arbitrary constant: "annals" in ASCII).
const ADVISORY_KEY: i64 = 0x616e_6e61_6c73;

/// Brings the database up to date: applies every pending migration, then fills in the data
/// a migration cannot compute by itself (the snapshots of revisions written before them).
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    prepare(db, false).await.map(|_| ())
}

/// Migrates, and with `seed_if_empty` seeds a database that has no article, all under the
/// migration lock. Returns the seed's report when it seeded.
///
/// `db` must be a single-connection pool (`Db::connect_for_maintenance`): the PostgreSQL lock
/// belongs to the session that took it.
pub async fn prepare(
    db: &DatabaseConnection,
    seed_if_empty: bool,
) -> Result<Option<seed::SeedReport>> {
    let lock = MigrationLock::take(db).await?;
    let result = async {
        Migrator::up(db, None).await?;
        revisions::backfill(db).await?;
        if seed_if_empty && article::Entity::find().count(db).await? == 0 {
            return seed::seed(db).await.map(Some);
        }
        Ok(None)
    }
    .await;
    lock.release(db).await;
    result
}

/// The held migration lock.
enum MigrationLock {
    /// A session advisory lock on the connection.
    Postgres,
    /// An exclusive lock on `DB-FILE.migrate-lock`, released when the file is closed.
    Sqlite(std::fs::File),
    /// An in-memory SQLite database: no other process can see it.
    None,
}

impl MigrationLock {
    async fn take(db: &DatabaseConnection) -> Result<Self> {
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_lock($1)",
                    [ADVISORY_KEY.into()],
                ))
                .await?;
                Ok(Self::Postgres)
            }
            _ => {
                let row = db
                    .query_one_raw(Statement::from_string(
                        DbBackend::Sqlite,
                        "SELECT file FROM pragma_database_list WHERE name = 'main'",
                    ))
                    .await?;
                let file: String = match row {
                    Some(row) => row.try_get("", "file")?,
                    None => String::new(),
                };
                if file.is_empty() {
                    return Ok(Self::None);
                }
                let path = format!("{file}.migrate-lock");
                let locked = tokio::task::spawn_blocking(move || {
                    let lock = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&path)
                        .map_err(|err| format!("cannot open the migration lock {path}: {err}"))?;
                    lock.lock()
                        .map_err(|err| format!("cannot take the migration lock {path}: {err}"))?;
                    Ok::<_, String>(lock)
                })
                .await
                .map_err(|err| Error::internal_caused("the migration lock task failed", err))?
                .map_err(Error::Io)?;
                Ok(Self::Sqlite(locked))
            }
        }
    }

    async fn release(self, db: &DatabaseConnection) {
        match self {
            Self::Postgres => {
                let unlock = db.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_unlock($1)",
                    [ADVISORY_KEY.into()],
                ));
                if let Err(err) = unlock.await {
                    // The lock ends with the session anyway, when the connection closes.
                    tracing::warn!(error = %err, "could not release the migration lock");
                }
            }
            Self::Sqlite(file) => drop(file),
            Self::None => {}
        }
    }
}
