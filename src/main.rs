//! The `annals` binary: parse the command line, start logging, run, and turn any failure into
//! one line on stderr and a non-zero exit.

use clap::Parser;

/// mimalloc instead of glibc's allocator: a GraphQL response allocates a value per field, and
/// under load glibc's malloc/free took a third of the server's CPU (see bench/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = annals::cli::Cli::parse();
    annals::telemetry::init(&cli.config());
    match annals::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("annals: {}", err.message());
            std::process::ExitCode::FAILURE
        }
    }
}
