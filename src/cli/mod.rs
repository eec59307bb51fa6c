//! The `annals` command line: parsing and running each subcommand (one file per family).

mod archive;
mod bulk;
mod persisted;
mod progress;
mod token;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use migration::{Migrator, MigratorTrait};

use self::progress::Progress;
use crate::{
    cache::Purger,
    config::{Common, Config},
    db::Db,
    error::{Error, Result},
    graphql::{build_schema, sdl},
    startup::{App, shutdown_signal},
    store,
};

pub use bulk::CLI_EDITOR;

/// Annals: a GraphQL content service for structured history articles.
///
/// With no subcommand, `annals` serves (and takes the server settings `annals serve --help`
/// lists).
#[derive(Debug, Parser)]
#[command(
    name = "annals",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    after_help = "Run `annals COMMAND --help` for one command's settings and an example."
)]
pub struct Cli {
    /// The database and logging settings, shared by every subcommand.
    #[command(flatten)]
    pub common: Common,
    /// The server settings of the bare `annals` (the same as `annals serve`).
    #[command(flatten)]
    pub server: Config,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The complete configuration this command line runs with.
    pub fn config(&self) -> Config {
        let server = match &self.command {
            Some(Command::Serve(config)) => (**config).clone(),
            _ => self.server.clone(),
        };
        server.with(self.common.clone())
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, seed an empty database, and serve GraphQL and GraphiQL (the default).
    #[command(after_help = "Example:\n  annals serve --listen 0.0.0.0:8080")]
    Serve(Box<Config>),
    /// Apply or inspect schema migrations.
    #[command(after_help = "Example:\n  annals migrate status")]
    Migrate {
        /// What to do.
        #[arg(value_enum, default_value_t = MigrateAction::Up)]
        action: MigrateAction,
    },
    /// Seed the De-Stalinization article and its topics (idempotent).
    #[command(after_help = "Example:\n  annals seed --synthetic 10000")]
    Seed {
        /// Also add this many deterministic synthetic articles, for load tests.
        #[arg(long, value_name = "N")]
        synthetic: Option<usize>,
    },
    /// Import articles from documents in the Annals text format, each in its own transaction.
    #[command(
        after_help = "Examples:\n  annals import thaw.txt --slug thaw --replace\n  annals import --dry-run articles/*.txt\n  cat thaw.txt | annals import -"
    )]
    Import(bulk::ImportArgs),
    /// Print an article in the Annals text format, or write every article to a directory.
    #[command(
        after_help = "Examples:\n  annals export de-stalinization > copy.txt\n  annals export --all --dir backup/"
    )]
    Export {
        /// The article's slug.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        slug: Option<String>,
        /// Export every article (one SLUG.txt each) and topics.json into --dir.
        #[arg(long, requires = "dir")]
        all: bool,
        /// The directory for --all (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// List the articles: slug, version, last change, counts and title.
    #[command(after_help = "Example:\n  annals list --topic khrushchev --json")]
    List {
        /// Print JSON (an array of objects) instead of a table.
        #[arg(long)]
        json: bool,
        /// Only articles tagged with the topic of this slug.
        #[arg(long, value_name = "SLUG")]
        topic: Option<String>,
        /// Only titles containing this text, ignoring case.
        #[arg(long, value_name = "TEXT")]
        title_contains: Option<String>,
        /// Only articles changed at or after this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        updated_since: Option<DateTime<Utc>>,
    },
    /// Write the whole database (articles, topics, tags, revisions) to one archive.
    #[command(after_help = "Example:\n  annals dump annals.dump.gz")]
    Dump {
        /// The archive to write (gzip-compressed JSON Lines); `-` is standard output.
        file: PathBuf,
    },
    /// Restore an archive made by `annals dump` into an empty database, in one transaction.
    #[command(
        after_help = "Example (SQLite to PostgreSQL):\n  annals dump all.gz && DATABASE_URL=postgres://localhost/annals annals restore all.gz"
    )]
    Restore {
        /// The archive to read; `-` is standard input.
        file: PathBuf,
        /// Replace everything in a database that is not empty.
        #[arg(long)]
        force: bool,
    },
    /// Register trusted documents (persisted queries) from client build output, list, remove.
    #[command(
        subcommand,
        after_help = "Example:\n  annals persisted add persisted-query-manifest.json"
    )]
    Persisted(PersistedCommand),
    /// Make editor tokens and check tokens files.
    #[command(subcommand, after_help = "Example:\n  annals token new alice")]
    Token(TokenCommand),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  annals completions bash > /etc/bash_completion.d/annals")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(after_help = "Example:\n  annals man | man -l -")]
    Man,
    /// Print the GraphQL schema (SDL).
    #[command(after_help = "Example:\n  annals schema > schema.graphql")]
    Schema,
}

/// `annals token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new random token for NAME, and the hashed line for the tokens file.
    #[command(after_help = "Example:\n  annals token new alice")]
    New {
        /// The editor's name, recorded on every revision they make.
        name: String,
    },
    /// Check a tokens file and list the editors it names.
    #[command(after_help = "Example:\n  annals token check /etc/annals/tokens")]
    Check {
        /// The file (default: ANNALS_EDITOR_TOKENS_FILE).
        file: Option<PathBuf>,
    },
}

/// `annals persisted` subcommands.
#[derive(Debug, Subcommand)]
pub enum PersistedCommand {
    /// Register the documents of each file as trusted (never evicted; the only ones that run
    /// under ANNALS_TRUSTED_DOCUMENTS=true): Apollo's persisted-query manifest,
    /// graphql-codegen's persisted documents JSON (SHA-256), or a .graphql file.
    #[command(
        after_help = "Examples:\n  annals persisted add persisted-query-manifest.json\n  annals persisted add persisted-documents.json queries/*.graphql"
    )]
    Add {
        /// The files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// List stored documents: hash, `trusted` or `auto` (registered by a client), name.
    #[command(after_help = "Example:\n  annals persisted list")]
    List,
    /// Remove the document with this hash.
    #[command(after_help = "Example:\n  annals persisted remove 3f1c...e9")]
    Remove {
        /// Its SHA-256 (64 hexadecimal digits).
        hash: String,
    },
}

/// Writes `text` and a newline to standard output. A reader that went away (`annals list |
/// head`) ends the program quietly, as it does other command-line tools, instead of a panic.
pub(crate) fn say(text: &str) {
    say_exactly(&format!("{text}\n"));
}

/// Writes exactly `text` to standard output; see [`say`].
pub(crate) fn say_exactly(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(err) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("annals: cannot write to standard output: {err}");
        std::process::exit(1);
    }
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

/// Runs `work` on a maintenance connection, then closes it properly whether `work`
/// succeeded or not (on SQLite that checkpoints the write-ahead log into the file).
async fn maintenance(config: &Config, work: impl AsyncFnOnce(&Db) -> Result<()>) -> Result<()> {
    let db = Db::connect_for_maintenance(config).await?;
    let result = work(&db).await;
    db.close().await;
    result
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let config = cli.config();
    match cli
        .command
        .unwrap_or(Command::Serve(Box::new(config.clone())))
    {
        Command::Serve(_) => {
            let app = App::build(config).await?;
            app.run(shutdown_signal()).await;
        }
        Command::Migrate { action } => {
            maintenance(&config, async |db| {
                match action {
                    MigrateAction::Up => store::migrate(&db.conn).await?,
                    MigrateAction::Down => Migrator::down(&db.conn, Some(1)).await?,
                    MigrateAction::Fresh => {
                        Migrator::refresh(&db.conn).await?;
                        store::migrate(&db.conn).await?;
                    }
                    MigrateAction::Status => {
                        for migration in Migrator::get_migration_with_status(&db.conn).await? {
                            say(&format!("{}\t{}", migration.name(), migration.status()));
                        }
                    }
                }
                Ok(())
            })
            .await?;
        }
        Command::Seed { synthetic } => {
            maintenance(&config, async |db| {
                store::migrate(&db.conn).await?;
                let report = store::seed::seed(&db.conn).await?;
                say(&format!(
                    "seed: {} article(s) created",
                    report.articles_created
                ));
                if let Some(count) = synthetic {
                    let mut bar: Option<Progress> = None;
                    let report =
                        store::seed::seed_synthetic(&db.conn, count, &mut |done, total| {
                            bar.get_or_insert_with(|| Progress::new("synthetic", total as u64))
                                .set(done as u64);
                        })
                        .await?;
                    if let Some(bar) = bar {
                        bar.finish();
                    }
                    say(&format!(
                        "synthetic: {} article(s) created",
                        report.articles_created
                    ));
                }
                Ok(())
            })
            .await?;
        }
        Command::Import(args) => {
            maintenance(&config, async |db| {
                store::migrate(&db.conn).await?;
                let purger = config.caching.purge_url.clone().map(Purger::start);
                bulk::import(db, args, purger).await?;
                Ok(())
            })
            .await?;
        }
        Command::Export { slug, all, dir } => {
            maintenance(&config, async |db| {
                match (slug, all, dir) {
                    (Some(slug), _, _) => bulk::export_one(db, &slug).await?,
                    (None, true, Some(dir)) => bulk::export_all(db, &dir).await?,
                    _ => return Err(Error::Io("export needs a slug, or --all --dir DIR".into())),
                }
                Ok(())
            })
            .await?;
        }
        Command::List {
            json,
            topic,
            title_contains,
            updated_since,
        } => {
            maintenance(&config, async |db| {
                bulk::list(db, json, topic, title_contains, updated_since).await?;
                Ok(())
            })
            .await?;
        }
        Command::Dump { file } => {
            maintenance(&config, async |db| {
                archive::dump(db, &file).await?;
                Ok(())
            })
            .await?;
        }
        Command::Restore { file, force } => {
            maintenance(&config, async |db| {
                store::migrate(&db.conn).await?;
                archive::restore(db, &file, force).await?;
                Ok(())
            })
            .await?;
        }
        Command::Persisted(command) => {
            let max_bytes = config.limits.query_bytes;
            maintenance(&config, async |db| {
                store::migrate(&db.conn).await?;
                match command {
                    PersistedCommand::Add { files } => persisted::add(db, &files, max_bytes).await,
                    PersistedCommand::List => persisted::list(db).await,
                    PersistedCommand::Remove { hash } => persisted::remove(db, &hash).await,
                }
            })
            .await?;
        }
        Command::Token(TokenCommand::New { name }) => token::new(&name)?,
        Command::Token(TokenCommand::Check { file }) => {
            let file = file.or(config.editor_tokens_file.clone()).ok_or_else(|| {
                Error::Io("name a tokens file, or set ANNALS_EDITOR_TOKENS_FILE".into())
            })?;
            token::check(&file)?;
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "annals", &mut script);
            say_exactly(&String::from_utf8_lossy(&script));
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|err| Error::Io(format!("cannot render the manual page: {err}")))?;
            say_exactly(&String::from_utf8_lossy(&page));
        }
        Command::Schema => {
            let schema = build_schema(&config.limits, true, None);
            say_exactly(&sdl(&schema));
        }
    }
    Ok(())
}
