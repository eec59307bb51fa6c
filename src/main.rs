//! The `annals` binary: parse the command line, start logging, run, and turn any failure into
//! one line on stderr and a non-zero exit.

use clap::Parser;

/// jemalloc instead of glibc's allocator: under load glibc's malloc/free took a third of the
/// server's CPU, and mimalloc (v3), which replaced it, kept 2-3x the memory a large response
/// needs (pages freed on another tokio worker than the one that allocated them). Measured
/// with oha against mimalloc v3 and v2 (bench/RESULTS.md, 4 December): Q2 at 64 clients
/// 391 / 414 / 457 req/s, peak RSS 135 / 92 / 39 MiB.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
