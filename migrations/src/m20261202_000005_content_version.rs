//! One content version for the whole database, kept by the database itself.
//!
//! `content_version` holds a single row whose `version` grows with every committed change to
//! the content, whoever writes it (mutations, `annals import`, seeders, plain SQL): a trigger
//! on each content table bumps it inside the writing transaction, so the new value becomes
//! visible exactly when the change does, and a rolled-back change leaves it alone. The
//! server derives ETags and its response-cache validity from it.
//!
//! - PostgreSQL: one statement-level trigger per table (a bulk statement bumps once), which
//!   also sends `NOTIFY annals_content_changed` with an empty payload. Notifications are
//!   transactional (delivered at commit, dropped on rollback) and identical ones within a
//!   transaction are folded into one, so every server process hears each commit once.
//! - SQLite: row-level triggers (SQLite has no statement triggers); there is no NOTIFY, and
//!   server processes learn of changes from their own writes or by polling the row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Adds `content_version` and the triggers that keep it.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000005_content_version"
    }
}

/// Every table whose rows a GraphQL read can return.
const CONTENT: [&str; 9] = [
    "articles",
    "sections",
    "reforms",
    "reactions",
    "topics",
    "article_topics",
    "reform_topics",
    "reaction_topics",
    "revisions",
];

/// The channel the PostgreSQL triggers notify on.
pub const CHANNEL: &str = "annals_content_changed";

/// The table, starting at the creation time in microseconds: a database migrated afresh
/// starts above every version an older one reached, so servers never take its versions (or
/// ETags) for old ones.
fn create_table(now_micros: &str) -> Vec<String> {
    vec![
        "CREATE TABLE content_version (\
         id INTEGER PRIMARY KEY CHECK (id = 1), \
         version BIGINT NOT NULL)"
            .to_owned(),
        format!("INSERT INTO content_version (id, version) VALUES (1, {now_micros})"),
    ]
}

fn postgres_up() -> Vec<String> {
    let mut statements = create_table("(extract(epoch from clock_timestamp()) * 1000000)::bigint");
    statements.push(format!(
        "CREATE FUNCTION annals_bump_content_version() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
         UPDATE content_version SET version = version + 1 WHERE id = 1; \
         PERFORM pg_notify('{CHANNEL}', ''); \
         RETURN NULL; \
         END $$"
    ));
    for table in CONTENT {
        statements.push(format!(
            "CREATE TRIGGER {table}_content_version \
             AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} \
             FOR EACH STATEMENT EXECUTE FUNCTION annals_bump_content_version()"
        ));
    }
    // Running servers take the new (higher) version at once.
    statements.push(format!("SELECT pg_notify('{CHANNEL}', '')"));
    statements
}

fn postgres_down() -> Vec<String> {
    let mut statements: Vec<String> = CONTENT
        .iter()
        .map(|table| format!("DROP TRIGGER IF EXISTS {table}_content_version ON {table}"))
        .collect();
    statements.push("DROP FUNCTION IF EXISTS annals_bump_content_version()".to_owned());
    statements.push("DROP TABLE IF EXISTS content_version".to_owned());
    statements
}

fn sqlite_up() -> Vec<String> {
    let mut statements =
        create_table("CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)");
    for table in CONTENT {
        for event in ["INSERT", "UPDATE", "DELETE"] {
            let name = event.to_ascii_lowercase();
            statements.push(format!(
                "CREATE TRIGGER {table}_content_version_{name} AFTER {event} ON {table} BEGIN \
                 UPDATE content_version SET version = version + 1 WHERE id = 1; \
                 END"
            ));
        }
    }
    statements
}

fn sqlite_down() -> Vec<String> {
    let mut statements: Vec<String> = CONTENT
        .iter()
        .flat_map(|table| {
            ["insert", "update", "delete"]
                .map(|event| format!("DROP TRIGGER IF EXISTS {table}_content_version_{event}"))
        })
        .collect();
    statements.push("DROP TABLE IF EXISTS content_version".to_owned());
    statements
}

async fn run(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => run(manager, postgres_up()).await,
            DbBackend::Sqlite => run(manager, sqlite_up()).await,
            other => Err(DbErr::Migration(format!(
                "the content version is not implemented for {other:?}"
            ))),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => run(manager, postgres_down()).await,
            DbBackend::Sqlite => run(manager, sqlite_down()).await,
            other => Err(DbErr::Migration(format!(
                "the content version is not implemented for {other:?}"
            ))),
        }
    }
}
