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
    let telemetry = annals::telemetry::init(&cli.config());
    let result = annals::cli::run(cli).await;
    // Buffered spans are exported before the process exits.
    telemetry.shutdown().await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("annals: {}", err.message());
            std::process::ExitCode::FAILURE
        }
    }
}
