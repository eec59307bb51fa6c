//! The `annals` command line: parsing and running each subcommand.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use migration::{Migrator, MigratorTrait};

use crate::{
    config::Config,
    db::Db,
    editing::{
        Editing,
        import::{self, ImportRequest},
    },
    error::{Error, Result},
    events::EventBus,
    graphql::{build_schema, sdl},
    startup::{App, shutdown_signal},
    store,
};

/// The editor name recorded on revisions made by `annals import`.
pub const CLI_EDITOR: &str = "cli";

/// Annals: a GraphQL content service for structured history articles.
#[derive(Debug, Parser)]
#[command(name = "annals", version, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub config: Config,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, seed an empty database, and serve GraphQL and GraphiQL (the default).
    Serve,
    /// Apply or inspect schema migrations.
    Migrate {
        /// What to do.
        #[arg(value_enum, default_value_t = MigrateAction::Up)]
        action: MigrateAction,
    },
    /// Seed the De-Stalinization article and its topics (idempotent).
    Seed {
        /// Also add this many deterministic synthetic articles, for load tests.
        #[arg(long, value_name = "N")]
        synthetic: Option<usize>,
    },
    /// Import an article from a plain-text document.
    Import {
        /// The document to import (title on the first line, then summary, headings and points).
        file: PathBuf,
        /// The article's slug (default: derived from the title).
        #[arg(long)]
        slug: Option<String>,
        /// Replace the article with this slug if it exists, as one new version.
        #[arg(long)]
        replace: bool,
        /// Treat the points under this heading as reforms (repeatable; overrides the default rule).
        #[arg(long = "reforms-under", value_name = "HEADING")]
        reforms_under: Vec<String>,
        /// Treat the points under this heading as reactions (repeatable; overrides the default rule).
        #[arg(long = "reactions-under", value_name = "HEADING")]
        reactions_under: Vec<String>,
    },
    /// Print an article as a plain-text document.
    Export {
        /// The article's slug.
        slug: String,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
}

/// Migration actions.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Undo the newest migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
    /// Undo every migration (dropping all data), then apply them all again.
    Fresh,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = App::build(config).await?;
            app.run(shutdown_signal()).await;
        }
        Command::Migrate { action } => {
            let db = Db::connect(&config).await?;
            match action {
                MigrateAction::Up => store::migrate(&db.conn).await?,
                MigrateAction::Down => Migrator::down(&db.conn, Some(1)).await?,
                MigrateAction::Fresh => {
                    Migrator::refresh(&db.conn).await?;
                    store::migrate(&db.conn).await?;
                }
                MigrateAction::Status => {
                    for migration in Migrator::get_migration_with_status(&db.conn).await? {
                        println!("{}\t{}", migration.name(), migration.status());
                    }
                }
            }
        }
        Command::Seed { synthetic } => {
            let db = Db::connect(&config).await?;
            store::migrate(&db.conn).await?;
            let report = store::seed::seed(&db.conn).await?;
            println!("seed: {} article(s) created", report.articles_created);
            if let Some(count) = synthetic {
                let started = std::time::Instant::now();
                let report = store::seed::seed_synthetic(&db.conn, count).await?;
                println!(
                    "synthetic: {} article(s) created in {:.1}s",
                    report.articles_created,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Command::Import {
            file,
            slug,
            replace,
            reforms_under,
            reactions_under,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|err| Error::Io(format!("cannot read {}: {err}", file.display())))?;
            let db = Db::connect(&config).await?;
            store::migrate(&db.conn).await?;
            let request = ImportRequest {
                document: text,
                slug,
                replace,
                reforms_under: (!reforms_under.is_empty()).then_some(reforms_under),
                reactions_under: (!reactions_under.is_empty()).then_some(reactions_under),
            };
            let editing = // On PostgreSQL the committed change reaches running servers through NOTIFY.
            Editing::new(db.conn.clone(), EventBus::publisher(&db.conn));
            let imported = match import::import(&editing, CLI_EDITOR, request).await {
                Ok(imported) => imported,
                Err(Error::BadUserInput { message, .. }) => {
                    return Err(Error::Io(format!("{}: {message}", file.display())));
                }
                Err(Error::Conflict { message, .. }) => {
                    return Err(Error::conflict(
                        message.replace("import with replace", "pass --replace"),
                    ));
                }
                Err(err) => return Err(err),
            };
            let article = &imported.article;
            if imported.changed {
                println!("imported {} (version {})", article.slug, article.version);
            } else {
                println!(
                    "{} unchanged: it already has this content (version {})",
                    article.slug, article.version
                );
            }
        }
        Command::Export { slug } => {
            let db = Db::connect(&config).await?;
            match store::content::export(&db.conn, &slug).await? {
                // Exactly the document, as Article.document and Revision.document give it.
                Some(text) => print!("{text}"),
                None => return Err(Error::not_found(format!("no article with slug {slug:?}"))),
            }
        }
        Command::Schema => {
            let schema = build_schema(&config.limits, true, None);
            print!("{}", sdl(&schema));
        }
    }
    Ok(())
}
