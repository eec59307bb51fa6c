//! Logging setup. SQL statements are never logged at INFO, and bound values never at all.

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::Config;

/// Starts the global tracing subscriber (logs go to stderr).
pub fn init(config: &Config) {
    // sqlx and sea_orm would log statements (and with them content) at INFO/DEBUG.
    let filter = EnvFilter::try_new(format!("{},sqlx=warn,sea_orm=warn", config.log))
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if config.log_json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
