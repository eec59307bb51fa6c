//! Integration tests: every test runs against the real HTTP server, once on SQLite and once on
//! PostgreSQL (each on a fresh database, so they run in parallel).
//!
//! PostgreSQL tests use `ANNALS_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `off` disables them). When the server is
//! unreachable they are reported as ignored, with a banner saying so, unless `CI=true`, where
//! that is a failure.

mod cli;
#[allow(dead_code)] // shared helpers; not every test uses each
mod helpers;
mod read;
mod search;

use helpers::{Backend, TestApp, TestFn};
use libtest_mimic::{Arguments, Trial};

/// Lists test functions as `(name, fn)`; each runs on both backends.
macro_rules! tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        vec![$((concat!(stringify!($module), "::", stringify!($name)), (|app: TestApp| Box::pin($module::$name(app)) as _) as TestFn)),*]
    };
}

fn main() {
    let args = Arguments::from_args();
    let postgres = match helpers::postgres_url() {
        None => Err("ANNALS_TEST_POSTGRES_URL=off".to_owned()),
        Some(url) => helpers::postgres_available(&url).map_err(|e| format!("{url}: {e}")),
    };
    if let Err(why) = &postgres {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let banner = format!(
            "PostgreSQL tests SKIPPED ({why}).\nStart PostgreSQL or set ANNALS_TEST_POSTGRES_URL=postgres://USER@HOST:PORT/DB to run them."
        );
        if ci {
            eprintln!("{banner}\nCI=true: PostgreSQL tests must run.");
            std::process::exit(1);
        }
        eprintln!("\n*** {banner}\n");
    }

    let mut trials = Vec::new();
    for (name, test) in all_tests() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let label = match backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            };
            let trial = Trial::test(format!("{label}::{name}"), move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async move {
                    let app = TestApp::spawn(backend).await;
                    test(app).await;
                });
                Ok(())
            });
            trials.push(trial.with_ignored_flag(backend == Backend::Postgres && postgres.is_err()));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

fn all_tests() -> Vec<(&'static str, TestFn)> {
    tests![
        read::article_by_slug_serves_every_sentence_once,
        cli::export_reproduces_the_seed_byte_for_byte,
        cli::seeding_twice_changes_nothing,
        search::ranking_table_over_the_seed,
        search::snippets_escape_everything_but_marks,
        search::hostile_queries_never_fail_internally,
        search::paging_visits_every_hit_once,
        search::changes_are_searchable_at_once,
        search::migrate_down_and_up_rebuilds_the_index,
    ]
}
