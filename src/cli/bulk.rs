//! `annals import`, `annals export` and `annals list`: articles in and out, one or many.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use chrono::{DateTime, Utc};

use super::{progress::Progress, say, say_exactly};
use crate::{
    cache::{Changes, Purger},
    content::diff::{ChangeOp, ContentChange, NodeKind},
    db::Db,
    editing::{
        Editing,
        import::{self, ImportRequest, Plan},
    },
    error::{Error, Result},
    events::EventBus,
    store::{self, articles::ArticleFilter},
};

/// The editor name recorded on revisions made by `annals import`.
pub const CLI_EDITOR: &str = "cli";

/// What `annals import` was asked to do.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The documents to import; `-` reads one from standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The article's slug (default: derived from the title; one document only).
    #[arg(long)]
    pub slug: Option<String>,
    /// Replace the article with the same slug if it exists, as one new version.
    #[arg(long)]
    pub replace: bool,
    /// Parse and validate, and say what would change, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Treat the points under this heading as reforms (repeatable; overrides the default rule).
    #[arg(long = "reforms-under", value_name = "HEADING")]
    pub reforms_under: Vec<String>,
    /// Treat the points under this heading as reactions (repeatable; overrides the default rule).
    #[arg(long = "reactions-under", value_name = "HEADING")]
    pub reactions_under: Vec<String>,
}

fn read_document(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|err| Error::Io(format!("cannot read standard input: {err}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
        .map_err(|err| Error::Io(format!("cannot read {}: {err}", path.display())))
}

fn name(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".into()
    } else {
        path.display().to_string()
    }
}

/// Imports (or, with `dry_run`, plans) one document; the line to print on success. Each
/// commit queues its surrogate keys on `purger`, if purges are configured.
async fn import_one(
    db: &Db,
    args: &ImportArgs,
    path: &Path,
    purger: Option<&Purger>,
) -> Result<String> {
    let request = ImportRequest {
        document: read_document(path)?,
        slug: args.slug.clone(),
        replace: args.replace,
        reforms_under: (!args.reforms_under.is_empty()).then(|| args.reforms_under.clone()),
        reactions_under: (!args.reactions_under.is_empty()).then(|| args.reactions_under.clone()),
    };
    // On PostgreSQL the committed change reaches running servers through NOTIFY.
    let editing = Editing::new(db.conn.clone(), EventBus::publisher(&db.conn))
        .with_changes(Changes::new(None, purger.cloned()));
    let outcome = if args.dry_run {
        import::plan(&editing, request)
            .await
            .map(|plan| match plan {
                Plan::Create { slug, sections } => {
                    format!("would create {slug} ({sections} sections)")
                }
                Plan::Replace { slug, changes } => {
                    let mut text = format!("would replace {slug}: {} change(s)", changes.len());
                    for change in &changes {
                        text.push_str("\n  ");
                        text.push_str(&describe(change));
                    }
                    text
                }
                Plan::Unchanged { slug } => {
                    format!("{slug} unchanged: it already has this content")
                }
            })
    } else {
        import::import(&editing, CLI_EDITOR, request)
            .await
            .map(|imported| {
                let a = &imported.article;
                if imported.changed {
                    format!("imported {} (version {})", a.slug, a.version)
                } else {
                    format!(
                        "{} unchanged: it already has this content (version {})",
                        a.slug, a.version
                    )
                }
            })
    };
    outcome.map_err(|err| match err {
        Error::BadUserInput { message, .. } => Error::Io(format!("{}: {message}", name(path))),
        Error::Conflict { message, .. } => Error::conflict(format!(
            "{}: {}",
            name(path),
            message.replace("import with replace", "pass --replace")
        )),
        other => other,
    })
}

/// One change of a dry run, on one line: what, which node, which field, from and to.
fn describe(change: &ContentChange) -> String {
    let node = match change.node {
        NodeKind::Article => "article",
        NodeKind::Section => "section",
        NodeKind::Reform => "reform",
        NodeKind::Reaction => "reaction",
    };
    let short = |v: &Option<String>| {
        let v = v.as_deref().unwrap_or_default();
        if v.chars().count() > 40 {
            format!("{:?}...", v.chars().take(40).collect::<String>())
        } else {
            format!("{v:?}")
        }
    };
    match change.op {
        ChangeOp::Added => format!("+ {node} {}: {}", change.slug, short(&change.new)),
        ChangeOp::Removed => format!("- {node} {}: {}", change.slug, short(&change.old)),
        ChangeOp::Moved | ChangeOp::Changed => format!(
            "~ {node} {} {}: {} -> {}",
            change.slug,
            change.field.unwrap_or_default(),
            short(&change.old),
            short(&change.new)
        ),
    }
}

/// Imports every document, each in its own transaction, and says how it went. One failure
/// does not stop the others; any failure makes the command fail. With `purger`, what was
/// committed is purged from the CDN before the command returns (see [`Purger::flush`]).
pub async fn import(db: &Db, args: ImportArgs, purger: Option<Purger>) -> Result<()> {
    let result = import_all(db, &args, purger.as_ref()).await;
    if let Some(purger) = purger
        && !purger.flush(PURGE_WAIT).await
    {
        eprintln!(
            "annals: warning: the purge webhook did not take every change within {} s; \
             cached answers expire with max-age",
            PURGE_WAIT.as_secs()
        );
    }
    result
}

/// How long `annals import` waits for its purges before it exits: enough for every retry
/// of [`crate::cache::purge`] (6 tries from 200 ms, 5 s each at most).
const PURGE_WAIT: std::time::Duration = std::time::Duration::from_secs(45);

async fn import_all(db: &Db, args: &ImportArgs, purger: Option<&Purger>) -> Result<()> {
    if args.files.len() > 1 && args.slug.is_some() {
        return Err(Error::Io(
            "--slug names one article; import several documents without it".into(),
        ));
    }
    if args.files.iter().filter(|f| *f == Path::new("-")).count() > 1 {
        return Err(Error::Io("standard input (-) can be read only once".into()));
    }
    if args.files.len() == 1 {
        say(&import_one(db, args, &args.files[0], purger).await?);
        return Ok(());
    }
    let mut progress = Progress::new("import", args.files.len() as u64);
    let (mut ok, mut failed) = (0, Vec::new());
    for path in &args.files {
        match import_one(db, args, path, purger).await {
            Ok(line) => {
                say(&line);
                ok += 1;
            }
            Err(err) => {
                eprintln!("annals: {}", err.message());
                failed.push(name(path));
            }
        }
        progress.inc();
    }
    progress.finish();
    let verb = if args.dry_run { "checked" } else { "imported" };
    say(&format!("{ok} {verb}, {} failed", failed.len()));
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Io(format!(
            "{} of {} documents failed: {}",
            failed.len(),
            args.files.len(),
            failed.join(", ")
        )))
    }
}

/// Prints one article's document, exactly as `Article.document` gives it.
pub async fn export_one(db: &Db, slug: &str) -> Result<()> {
    match store::content::export(&db.conn, slug).await? {
        Some(text) => say_exactly(&text),
        None => return Err(Error::not_found(format!("no article with slug {slug:?}"))),
    }
    Ok(())
}

/// Articles rendered per batch of snapshots.
const EXPORT_CHUNK: usize = 500;

/// Writes every article to `DIR/SLUG.txt` and the topics to `DIR/topics.json`.
pub async fn export_all(db: &Db, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|err| Error::Io(format!("cannot create {}: {err}", dir.display())))?;
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text)
            .map_err(|err| Error::Io(format!("cannot write {}: {err}", path.display())))
    };
    let articles = store::articles::all(&db.conn).await?;
    let mut progress = Progress::new("export", articles.len() as u64);
    let mut done = 0;
    for chunk in articles.chunks(EXPORT_CHUNK) {
        let snapshots = store::snapshots::load_many(&db.conn, chunk).await?;
        for (article, snapshot) in chunk.iter().zip(snapshots) {
            let text = crate::content::render_document(&snapshot.document());
            write(dir.join(format!("{}.txt", article.slug)), &text)?;
        }
        done += chunk.len();
        progress.set(done as u64);
    }
    progress.finish();
    let topics = store::topics::catalog(&db.conn).await?;
    #[derive(serde::Serialize)]
    struct TopicsFile<'a> {
        topics: &'a [store::topics::TopicEntry],
    }
    let json = serde_json::to_string_pretty(&TopicsFile { topics: &topics })
        .map_err(|err| Error::internal_caused("cannot encode topics", err))?;
    write(dir.join("topics.json"), &(json + "\n"))?;
    say(&format!(
        "exported {} article(s) and {} topic(s) to {}",
        articles.len(),
        topics.len(),
        dir.display()
    ));
    Ok(())
}

/// Lists articles: a table for people, or JSON for scripts.
pub async fn list(
    db: &Db,
    json: bool,
    topic: Option<String>,
    title_contains: Option<String>,
    updated_since: Option<DateTime<Utc>>,
) -> Result<()> {
    let filter = ArticleFilter {
        slugs: None,
        topic,
        title_contains,
        updated_since,
    };
    let rows = store::articles::summaries(&db.conn, &filter).await?;
    if json {
        let text = serde_json::to_string_pretty(&rows)
            .map_err(|err| Error::internal_caused("cannot encode the list", err))?;
        say(&text);
        return Ok(());
    }
    let slug_width = rows.iter().map(|r| r.slug.len()).max().unwrap_or(4).max(4);
    say(&format!(
        "{:slug_width$}  {:>7}  {:20}  {:>8}  {:>7}  {:>9}  TITLE",
        "SLUG", "VERSION", "UPDATED", "SECTIONS", "REFORMS", "REACTIONS"
    ));
    for r in &rows {
        say(&format!(
            "{:slug_width$}  {:>7}  {:20}  {:>8}  {:>7}  {:>9}  {}",
            r.slug,
            r.version,
            r.updated_at.format("%Y-%m-%dT%H:%M:%SZ"),
            r.sections,
            r.reforms,
            r.reactions,
            r.title
        ));
    }
    Ok(())
}
