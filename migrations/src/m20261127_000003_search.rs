//! Full-text search indexes, kept up to date by the database itself so that every write path
//! (importer, seeders, mutations, plain SQL) is searchable as soon as it commits.
//!
//! - PostgreSQL: a generated `search` tsvector column on each searchable table, weighted
//!   title/name/heading `A` and summary/body/description `B` with the `english` configuration,
//!   and a GIN index on it.
//! - SQLite: one combined FTS5 table `search_fts(title, body)` (porter stemmer over unicode61,
//!   diacritics kept as PostgreSQL keeps them) that stores its own copy of the text, so
//!   `snippet()` works and one `bm25()` ranks every kind on one scale. Its rowid encodes the
//!   kind and the row: `id * 8 + kind` (article 1, section 2, reform 3, reaction 4, topic 5),
//!   so triggers update and delete single rows by rowid. Triggers on insert, update of the
//!   text columns, and delete of each table keep it in sync (cascading deletes fire them too).
//!   The text is stored without the two private-use characters U+E000 and U+E001, which the
//!   search query uses to mark matches in snippets.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Adds the search indexes.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000003_search"
    }
}

/// Searchable tables: (table, kind number, title column, body column).
const SEARCHABLE: [(&str, i64, &str, &str); 5] = [
    ("articles", 1, "title", "summary"),
    ("sections", 2, "heading", "body"),
    ("reforms", 3, "title", "description"),
    ("reactions", 4, "title", "description"),
    ("topics", 5, "name", "description"),
];

/// The text as indexed on SQLite: without the snippet sentinels.
fn sqlite_clean(expr: &str) -> String {
    format!("replace(replace({expr}, char(57344), ''), char(57345), '')")
}

fn postgres_up() -> Vec<String> {
    let mut statements = Vec::new();
    for (table, _, title, body) in SEARCHABLE {
        statements.push(format!(
            "ALTER TABLE {table} ADD COLUMN search tsvector GENERATED ALWAYS AS (\
             setweight(to_tsvector('english'::regconfig, coalesce({title}, '')), 'A') || \
             setweight(to_tsvector('english'::regconfig, coalesce({body}, '')), 'B')) STORED"
        ));
        statements.push(format!(
            "CREATE INDEX {table}_search_idx ON {table} USING GIN (search)"
        ));
    }
    statements
}

fn postgres_down() -> Vec<String> {
    SEARCHABLE
        .iter()
        .flat_map(|(table, _, _, _)| {
            [
                format!("DROP INDEX IF EXISTS {table}_search_idx"),
                format!("ALTER TABLE {table} DROP COLUMN IF EXISTS search"),
            ]
        })
        .collect()
}

fn sqlite_up() -> Vec<String> {
    let mut statements = vec![
        "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, \
         tokenize = 'porter unicode61 remove_diacritics 0')"
            .to_owned(),
    ];
    for (table, kind, title, body) in SEARCHABLE {
        let row = |rec: &str| {
            (
                format!("{rec}.id * 8 + {kind}"),
                sqlite_clean(&format!("{rec}.{title}")),
                sqlite_clean(&format!("{rec}.{body}")),
            )
        };
        let (rowid, title_text, body_text) = row("t");
        statements.push(format!(
            "INSERT INTO search_fts (rowid, title, body) \
             SELECT {rowid}, {title_text}, {body_text} FROM {table} t"
        ));
        let (rowid, title_text, body_text) = row("new");
        statements.push(format!(
            "CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN \
             INSERT INTO search_fts (rowid, title, body) VALUES ({rowid}, {title_text}, {body_text}); \
             END"
        ));
        statements.push(format!(
            "CREATE TRIGGER {table}_search_update AFTER UPDATE OF {title}, {body} ON {table} BEGIN \
             UPDATE search_fts SET title = {title_text}, body = {body_text} WHERE rowid = {rowid}; \
             END"
        ));
        statements.push(format!(
            "CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN \
             DELETE FROM search_fts WHERE rowid = old.id * 8 + {kind}; \
             END"
        ));
    }
    statements
}

fn sqlite_down() -> Vec<String> {
    let mut statements: Vec<String> = SEARCHABLE
        .iter()
        .flat_map(|(table, _, _, _)| {
            ["insert", "update", "delete"]
                .map(|event| format!("DROP TRIGGER IF EXISTS {table}_search_{event}"))
        })
        .collect();
    statements.push("DROP TABLE IF EXISTS search_fts".to_owned());
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
                "search indexes are not implemented for {other:?}"
            ))),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => run(manager, postgres_down()).await,
            DbBackend::Sqlite => run(manager, sqlite_down()).await,
            other => Err(DbErr::Migration(format!(
                "search indexes are not implemented for {other:?}"
            ))),
        }
    }
}
