//! Dump and restore: every row of every content table as one versioned archive.
//!
//! The archive is gzip-compressed JSON Lines: a header line, then one line per row,
//! `{"table": "...", "row": {...}}`, table by table in dependency order and by primary key
//! within a table. Rows keep their ids (revision snapshots name them), so a restore reproduces
//! the database exactly, on either backend: a dump of the restored database is byte for byte
//! the dump it came from.

use std::io::{BufRead, Write};

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Iterable,
    PrimaryKeyToColumn, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::{
    entities::{
        article, article_topic, reaction, reaction_topic, reform, reform_topic, revision, section,
        topic,
    },
    error::{Error, Result},
};

/// The archive format's name, in its header.
pub const FORMAT: &str = "annals-dump";
/// The archive format's version this build writes and reads.
pub const VERSION: u32 = 1;

/// Every table, in the order rows must be inserted.
pub const TABLES: [&str; 9] = [
    "topics",
    "articles",
    "sections",
    "reforms",
    "reactions",
    "article_topics",
    "reform_topics",
    "reaction_topics",
    "revisions",
];

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize)]
struct Line<'a, T> {
    table: &'a str,
    row: T,
}

#[derive(Deserialize)]
struct RawLine {
    table: String,
    row: serde_json::Value,
}

/// Told after each table how many rows are done so far, and how many there are in all.
pub type Progress<'a> = &'a mut (dyn FnMut(usize, usize) + Send);

async fn dump_table<E>(
    db: &impl ConnectionTrait,
    table: &str,
    out: &mut (dyn Write + Send),
) -> Result<usize>
where
    E: EntityTrait,
    E::Model: Serialize,
{
    let mut query = E::find();
    for key in E::PrimaryKey::iter() {
        query = query.order_by_asc(key.into_column());
    }
    let rows = query.all(db).await?;
    for row in &rows {
        let line = serde_json::to_string(&Line { table, row })
            .map_err(|err| Error::internal_caused(format!("cannot encode a {table} row"), err))?;
        writeln!(out, "{line}").map_err(write_error)?;
    }
    Ok(rows.len())
}

fn write_error(err: std::io::Error) -> Error {
    Error::Io(format!("cannot write the dump: {err}"))
}

/// Writes the whole database to `out` as an archive (uncompressed JSON Lines; the caller
/// compresses). Reads in one transaction, so the archive is one consistent state.
pub async fn dump(
    db: &DatabaseConnection,
    out: &mut (dyn Write + Send),
    progress: Progress<'_>,
) -> Result<()> {
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
    };
    writeln!(
        out,
        "{}",
        serde_json::to_string(&header).unwrap_or_default()
    )
    .map_err(write_error)?;
    let txn = db.begin().await?;
    let total = usize::try_from(row_count(&txn).await?).unwrap_or(0);
    let mut done = 0;
    for table in TABLES {
        done += run_pass(&txn, table, Pass::Dump(&mut *out)).await?;
        progress(done, total);
    }
    txn.commit().await?;
    Ok(())
}

/// Rows per multi-row INSERT.
const CHUNK: usize = 500;

async fn insert_rows<E>(
    db: &impl ConnectionTrait,
    table: &str,
    rows: &[(usize, serde_json::Value)],
) -> Result<()>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    E::Model: sea_orm::IntoActiveModel<E::ActiveModel>,
    for<'de> E::Model: Deserialize<'de>,
{
    for chunk in rows.chunks(CHUNK) {
        let models = chunk
            .iter()
            .map(|(line, row)| {
                let model: E::Model = serde_json::from_value(row.clone()).map_err(|err| {
                    Error::Io(format!("line {line}: not a valid {table} row: {err}"))
                })?;
                Ok(sea_orm::IntoActiveModel::into_active_model(model))
            })
            .collect::<Result<Vec<E::ActiveModel>>>()?;
        E::insert_many(models).exec(db).await?;
    }
    Ok(())
}

/// One pass over a table: write its rows out, or insert rows read from an archive.
enum Pass<'a> {
    Dump(&'a mut (dyn Write + Send)),
    Restore(&'a [(usize, serde_json::Value)]),
}

impl Pass<'_> {
    /// Runs the pass with the entity of `table`; returns how many rows it moved.
    async fn run<E>(self, db: &impl ConnectionTrait, table: &str) -> Result<usize>
    where
        E: EntityTrait,
        E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
        E::Model: Serialize + sea_orm::IntoActiveModel<E::ActiveModel>,
        for<'de> E::Model: Deserialize<'de>,
    {
        match self {
            Self::Dump(out) => dump_table::<E>(db, table, out).await,
            Self::Restore(rows) => {
                insert_rows::<E>(db, table, rows).await?;
                Ok(rows.len())
            }
        }
    }
}

/// Runs `pass` on `table`: the one place that names each table's entity, for dump and
/// restore alike.
async fn run_pass(db: &impl ConnectionTrait, table: &str, pass: Pass<'_>) -> Result<usize> {
    match table {
        "topics" => pass.run::<topic::Entity>(db, table).await,
        "articles" => pass.run::<article::Entity>(db, table).await,
        "sections" => pass.run::<section::Entity>(db, table).await,
        "reforms" => pass.run::<reform::Entity>(db, table).await,
        "reactions" => pass.run::<reaction::Entity>(db, table).await,
        "article_topics" => pass.run::<article_topic::Entity>(db, table).await,
        "reform_topics" => pass.run::<reform_topic::Entity>(db, table).await,
        "reaction_topics" => pass.run::<reaction_topic::Entity>(db, table).await,
        _ => pass.run::<revision::Entity>(db, table).await,
    }
}

/// How many rows the content tables hold in all.
pub async fn row_count(db: &impl ConnectionTrait) -> Result<i64> {
    let mut total = 0;
    for table in TABLES {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await?;
        total += match row {
            Some(row) => row.try_get::<i64>("", "n")?,
            None => 0,
        };
    }
    Ok(total)
}

/// Restores an archive read from `input` into the database, in one transaction: a restore
/// that fails half-way writes nothing. An empty database is required unless `force`, which
/// first deletes every row. Returns how many rows were restored.
pub async fn restore(
    db: &DatabaseConnection,
    input: &mut (dyn BufRead + Send),
    force: bool,
    progress: Progress<'_>,
) -> Result<usize> {
    let mut lines = input.lines().enumerate().map(|(i, l)| (i + 1, l));
    let read_error = |err: std::io::Error| Error::Io(format!("cannot read the dump: {err}"));
    let header = match lines.next() {
        Some((_, line)) => line.map_err(read_error)?,
        None => {
            return Err(Error::Io(
                "the dump is empty; expected an annals-dump header".into(),
            ));
        }
    };
    match serde_json::from_str::<Header>(&header) {
        Ok(h) if h.format == FORMAT && h.version <= VERSION => {}
        Ok(h) if h.format == FORMAT => {
            return Err(Error::Io(format!(
                "the dump has format version {}, newer than this build reads ({VERSION})",
                h.version
            )));
        }
        _ => {
            return Err(Error::Io(
                "line 1: not an annals dump (expected {\"format\":\"annals-dump\",...})".into(),
            ));
        }
    }
    let mut by_table: Vec<Vec<(usize, serde_json::Value)>> = vec![Vec::new(); TABLES.len()];
    for (n, line) in lines {
        let line = line.map_err(read_error)?;
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawLine = serde_json::from_str(&line)
            .map_err(|err| Error::Io(format!("line {n}: not a dump line: {err}")))?;
        let Some(i) = TABLES.iter().position(|t| *t == raw.table) else {
            return Err(Error::Io(format!(
                "line {n}: unknown table {:?}",
                raw.table
            )));
        };
        by_table[i].push((n, raw.row));
    }

    let txn = db.begin().await?;
    if row_count(&txn).await? > 0 {
        if !force {
            return Err(Error::Io(
                "the database is not empty; restore into an empty one, or pass --force to replace everything in it".into(),
            ));
        }
        for table in TABLES.iter().rev() {
            txn.execute_unprepared(&format!("DELETE FROM {table}"))
                .await?;
        }
    }
    let total: usize = by_table.iter().map(Vec::len).sum();
    let mut restored = 0;
    for (table, rows) in TABLES.iter().zip(&by_table) {
        restored += run_pass(&txn, table, Pass::Restore(rows)).await?;
        progress(restored, total);
    }
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Rows came with their ids: move each id sequence past them.
        for table in [
            "topics",
            "articles",
            "sections",
            "reforms",
            "reactions",
            "revisions",
        ] {
            txn.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
            ))
            .await?;
        }
    }
    txn.commit().await?;
    Ok(restored)
}
