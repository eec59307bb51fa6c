//! `annals dump` and `annals restore`: the whole database as one gzip-compressed archive.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Write},
    path::Path,
};

use flate2::{Compression, read::GzDecoder, write::GzEncoder};

use super::{progress::Progress, say};
use crate::{
    db::Db,
    error::{Error, Result},
    store::dump,
};

/// Writes the archive to `path` (`-`: standard output).
pub async fn dump(db: &Db, path: &Path) -> Result<()> {
    let out: Box<dyn Write + Send> = if path == Path::new("-") {
        Box::new(std::io::stdout())
    } else {
        Box::new(
            File::create(path)
                .map_err(|err| Error::Io(format!("cannot create {}: {err}", path.display())))?,
        )
    };
    let mut gz = GzEncoder::new(BufWriter::new(out), Compression::default());
    let mut progress: Option<Progress> = None;
    let mut rows = 0;
    dump::dump(&db.conn, &mut gz, &mut |done, total| {
        rows = done;
        progress
            .get_or_insert_with(|| Progress::new("dump", total as u64))
            .set(done as u64);
    })
    .await?;
    if let Some(progress) = progress {
        progress.finish();
    }
    let mut inner = gz
        .finish()
        .map_err(|err| Error::Io(format!("cannot write the dump: {err}")))?;
    inner
        .flush()
        .map_err(|err| Error::Io(format!("cannot write the dump: {err}")))?;
    if path != Path::new("-") {
        say(&format!("dumped {rows} row(s) to {}", path.display()));
    }
    Ok(())
}

/// Restores the archive at `path` (`-`: standard input) into the database.
pub async fn restore(db: &Db, path: &Path, force: bool) -> Result<()> {
    let input: Box<dyn std::io::Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            File::open(path)
                .map_err(|err| Error::Io(format!("cannot read {}: {err}", path.display())))?,
        )
    };
    let mut reader = BufReader::new(GzDecoder::new(input));
    let mut progress: Option<Progress> = None;
    let report = &mut |done: usize, total: usize| {
        progress
            .get_or_insert_with(|| Progress::new("restore", total as u64))
            .set(done as u64);
    };
    let rows = dump::restore(&db.conn, &mut reader, force, report)
        .await
        .map_err(|err| match err {
            Error::Io(message) => Error::Io(format!("{}: {message}", path.display())),
            other => other,
        })?;
    if let Some(progress) = progress {
        progress.finish();
    }
    say(&format!("restored {rows} row(s) from {}", path.display()));
    Ok(())
}
