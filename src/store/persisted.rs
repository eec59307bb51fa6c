//! Persisted queries: GraphQL documents stored by the SHA-256 of their text.
//!
//! Two kinds share the `persisted_queries` table: documents clients registered themselves
//! (automatic persisted queries), bounded in number and evicted least recently used first, and
//! trusted documents an operator registered with `annals persisted add`, which are never
//! evicted. Nothing here knows about GraphQL: the protocol lives in
//! `crate::graphql::persisted`.

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};

use crate::error::Result;

/// A statement written with PostgreSQL's numbered placeholders (`$1`), as SQLite takes them
/// (`?1`: numbered too, so one value may be used twice).
fn statement(backend: DbBackend, sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// One stored document.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Stored {
    /// The lowercase hex SHA-256 of `document`.
    pub hash: String,
    /// The GraphQL document.
    pub document: String,
    /// The operation name a manifest gave it, if any.
    pub name: Option<String>,
    /// Registered by an operator (trusted documents): never evicted.
    pub trusted: bool,
    /// When it was stored (unix milliseconds).
    pub created_at: i64,
    /// When it was last used, to within a minute (unix milliseconds).
    pub last_used: i64,
}

const COLUMNS: &str = "hash, document, name, trusted, created_at, last_used";

/// Milliseconds since the Unix epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The document stored under `hash`.
pub async fn get(db: &impl ConnectionTrait, hash: &str) -> Result<Option<Stored>> {
    let backend = db.get_database_backend();
    let sql = "SELECT hash, document, name, trusted, created_at, last_used FROM persisted_queries WHERE hash = $1";
    Ok(
        Stored::find_by_statement(statement(backend, sql, [Value::from(hash)]))
            .one(db)
            .await?,
    )
}

/// Stores `document` under `hash` (its SHA-256, checked by the caller), used now. Storing it
/// again refreshes its last use and its name; a trusted document stays trusted.
pub async fn put(
    db: &impl ConnectionTrait,
    hash: &str,
    document: &str,
    name: Option<&str>,
    trusted: bool,
) -> Result<()> {
    let backend = db.get_database_backend();
    let sql = "INSERT INTO persisted_queries (hash, document, name, trusted, created_at, last_used) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (hash) DO UPDATE SET \
           name = COALESCE(excluded.name, persisted_queries.name), \
           trusted = (persisted_queries.trusted OR excluded.trusted), \
           last_used = excluded.last_used";
    db.execute_raw(statement(
        backend,
        sql,
        [
            Value::from(hash),
            Value::from(document),
            Value::from(name.map(str::to_owned)),
            Value::from(trusted),
            Value::from(now()),
        ],
    ))
    .await?;
    Ok(())
}

/// Deletes the least recently used untrusted documents beyond the newest `keep`; returns how
/// many went.
pub async fn evict(db: &impl ConnectionTrait, keep: u64) -> Result<u64> {
    let backend = db.get_database_backend();
    let sql = "DELETE FROM persisted_queries WHERE NOT trusted AND hash NOT IN \
         (SELECT hash FROM persisted_queries WHERE NOT trusted \
          ORDER BY last_used DESC, created_at DESC, hash LIMIT $1)";
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    Ok(db
        .execute_raw(statement(backend, sql, [Value::from(keep)]))
        .await?
        .rows_affected())
}

/// Marks `hash` used now; `false` when it is no longer stored.
pub async fn touch(db: &impl ConnectionTrait, hash: &str) -> Result<bool> {
    let backend = db.get_database_backend();
    let sql = "UPDATE persisted_queries SET last_used = $1 WHERE hash = $2";
    Ok(db
        .execute_raw(statement(
            backend,
            sql,
            [Value::from(now()), Value::from(hash)],
        ))
        .await?
        .rows_affected()
        > 0)
}

/// Deletes the document stored under `hash`; `false` when there was none.
pub async fn remove(db: &impl ConnectionTrait, hash: &str) -> Result<bool> {
    let backend = db.get_database_backend();
    let sql = "DELETE FROM persisted_queries WHERE hash = $1";
    Ok(db
        .execute_raw(statement(backend, sql, [Value::from(hash)]))
        .await?
        .rows_affected()
        > 0)
}

/// Every stored document, trusted first, then by name and hash.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Stored>> {
    let backend = db.get_database_backend();
    let sql = format!("SELECT {COLUMNS} FROM persisted_queries ORDER BY trusted DESC, name, hash");
    Ok(Stored::find_by_statement(statement(backend, &sql, []))
        .all(db)
        .await?)
}
