//! Every setting Annals reads, in one place: command-line flags with environment fallbacks.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;

use crate::auth::EditorTokens;

/// The default database: an SQLite file in the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://annals.db?mode=rwc";

/// The settings every subcommand shares: where the database is, and how to log.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Database URL: `sqlite://FILE?mode=rwc` (embedded, the default) or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `annals=debug,info`.
    #[arg(long, env = "ANNALS_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "ANNALS_LOG_JSON", default_value_t = false, global = true)]
    pub log_json: bool,
}

/// Where the database is, how the server listens and which limits guard it.
///
/// Each field is a flag and an environment variable; flags win. A value that does not parse
/// stops start-up with one line naming the setting. The flags belong to `annals serve` (and
/// the bare `annals`); the database URL and logging come from [`Common`], shared by every
/// subcommand.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL (from [`Common`]).
    #[arg(skip = String::from(DEFAULT_DATABASE_URL))]
    pub database_url: String,

    /// Address the HTTP server listens on.
    #[arg(long, env = "ANNALS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address of a listener of its own for the Prometheus `/metrics` endpoint. Unset:
    /// `/metrics` is served on the main address; set: only there.
    #[arg(long, env = "ANNALS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Log filter (from [`Common`]).
    #[arg(skip = String::from("info"))]
    pub log: String,

    /// JSON log lines (from [`Common`]).
    #[arg(skip)]
    pub log_json: bool,

    /// Serve GraphQL introspection (`__schema`, `__type`); off also turns field suggestions off.
    #[arg(long, env = "ANNALS_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// Run the common reads (an article, a page of articles, a topic's articles, with their
    /// sections, reforms, reactions and topics) from a query plan: one batched load per level
    /// and the response written directly, instead of field by field. Same answers; off is for
    /// comparing the two.
    #[arg(long, env = "ANNALS_QUERY_PLANS", default_value_t = true, action = clap::ArgAction::Set)]
    pub query_plans: bool,

    /// Largest number of pooled database connections.
    #[arg(long, env = "ANNALS_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// How long a request may wait for a pooled connection, in milliseconds.
    #[arg(long, env = "ANNALS_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000)]
    pub db_acquire_timeout_ms: u64,

    /// Longest a single SQL statement may run on PostgreSQL, in milliseconds.
    #[arg(long, env = "ANNALS_STATEMENT_TIMEOUT_MS", default_value_t = 5_000)]
    pub statement_timeout_ms: u64,

    /// Longest a whole HTTP request may take, in milliseconds.
    #[arg(long, env = "ANNALS_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// Proxies in front of the server (comma-separated addresses or CIDR ranges, e.g.
    /// `127.0.0.1,10.0.0.0/8`). For a request that comes from one, the client's address (which
    /// names an anonymous reader's cost budget) is the last `X-Forwarded-For` entry that is
    /// not a trusted proxy itself; empty: always the connection's address.
    #[arg(long, env = "ANNALS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Origins allowed to call the API from a browser (comma-separated); empty turns CORS off.
    #[arg(long, env = "ANNALS_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Editor tokens, comma-separated `name:token` (a bare token is named `editor`). Prefer the
    /// environment variable to the flag: command lines are visible to other local users.
    #[arg(
        long,
        env = "ANNALS_EDITOR_TOKENS",
        hide_env_values = true,
        value_parser = parse_editor_tokens
    )]
    pub editor_tokens: Option<EditorTokens>,

    /// A file of editor tokens: one `name:token` per line; `#` starts a comment.
    #[arg(long, env = "ANNALS_EDITOR_TOKENS_FILE")]
    pub editor_tokens_file: Option<PathBuf>,

    /// Most persisted queries clients may register (automatic persisted queries); past it
    /// the least recently used are evicted. Trusted documents do not count and stay.
    #[arg(long, env = "ANNALS_PERSISTED_QUERIES_MAX", default_value_t = 10_000)]
    pub persisted_queries_max: u64,

    /// Trusted-documents mode: only operations registered with `annals persisted add` run
    /// (by hash or by their exact text), and clients cannot register new ones. Requests with
    /// a valid editor token may run anything (GraphiQL).
    #[arg(long, env = "ANNALS_TRUSTED_DOCUMENTS", default_value_t = false, action = clap::ArgAction::Set)]
    pub trusted_documents: bool,

    /// Limits that guard the public endpoint.
    #[command(flatten)]
    pub limits: Limits,

    /// HTTP caching, the response cache and CDN purges.
    #[command(flatten)]
    pub caching: Caching,

    /// Timings of the server: WebSocket protocol, shutdown, pool upkeep.
    #[command(flatten)]
    pub timings: Timings,

    /// PostgreSQL read replicas and read-your-writes.
    #[command(flatten)]
    pub replication: Replication,
}

/// Where queries may read besides the primary, and how stale a replica may be.
///
/// Queries (over HTTP and WebSocket) read from a healthy replica; mutations, their read-back,
/// subscriptions and cacheable GET answers read the primary. A replica is healthy while it
/// answers and is at most `replica-max-lag-ms` behind; with none healthy, reads go to the
/// primary.
#[derive(Debug, Clone, Args)]
pub struct Replication {
    /// PostgreSQL streaming replicas to read from (comma-separated URLs); empty: every read
    /// goes to the primary.
    #[arg(
        long = "read-database-url",
        env = "ANNALS_READ_DATABASE_URL",
        value_delimiter = ','
    )]
    pub read_database_urls: Vec<String>,
    /// A replica further behind the primary than this (milliseconds) is taken out of rotation
    /// until it catches up.
    #[arg(
        long = "replica-max-lag-ms",
        env = "ANNALS_REPLICA_MAX_LAG_MS",
        default_value_t = 5_000
    )]
    pub max_lag_ms: u64,
    /// How long a read that sends `Annals-Min-LSN` may wait for a replica to replay it, in
    /// milliseconds, before the primary serves it instead.
    #[arg(
        long = "replica-wait-ms",
        env = "ANNALS_REPLICA_WAIT_MS",
        default_value_t = 200
    )]
    pub wait_ms: u64,
    /// How often each replica's health and replay position are checked, in milliseconds.
    #[arg(
        long = "replica-check-ms",
        env = "ANNALS_REPLICA_CHECK_MS",
        default_value_t = 500
    )]
    pub check_ms: u64,
    /// After a mutation, reads with the same `Authorization` header go to the primary for this
    /// long (milliseconds; per process); 0: off, read-your-writes relies on `Annals-Min-LSN`.
    #[arg(
        long = "sticky-primary-ms",
        env = "ANNALS_STICKY_PRIMARY_MS",
        default_value_t = 0
    )]
    pub sticky_primary_ms: u64,
}

/// What clients and CDNs may keep, what this process keeps, and whom to tell of changes.
#[derive(Debug, Clone, Args)]
pub struct Caching {
    /// `max-age` of anonymous query answers over GET, in seconds (`Cache-Control: public`).
    #[arg(
        long = "cache-max-age",
        env = "ANNALS_CACHE_MAX_AGE",
        default_value_t = 60
    )]
    pub max_age_secs: u32,
    /// `stale-while-revalidate` of anonymous query answers over GET, in seconds.
    #[arg(
        long = "cache-stale-while-revalidate",
        env = "ANNALS_CACHE_STALE_WHILE_REVALIDATE",
        default_value_t = 60
    )]
    pub stale_while_revalidate_secs: u32,
    /// Bytes of anonymous query answers this process keeps in memory (least recently used
    /// evicted first); 0 turns the response cache off.
    #[arg(
        long = "response-cache-bytes",
        env = "ANNALS_RESPONSE_CACHE_BYTES",
        default_value_t = 64 * 1024 * 1024
    )]
    pub response_cache_bytes: usize,
    /// How often the content version is read from the database besides notifications, in
    /// milliseconds: the longest a change by a writer that cannot notify (another process on
    /// SQLite) goes unnoticed.
    #[arg(
        long = "content-version-poll-ms",
        env = "ANNALS_CONTENT_VERSION_POLL_MS",
        default_value_t = 1_000
    )]
    pub content_version_poll_ms: u64,
    /// URL to POST the surrogate keys of every committed change to (see README, Caching).
    #[arg(long = "purge-url", env = "ANNALS_PURGE_URL")]
    pub purge_url: Option<String>,
}

/// How long the server waits for things: WebSocket clients, shutdown, pooled connections.
/// The defaults suit production; tests shorten them to run in milliseconds.
#[derive(Debug, Clone, Copy, Args)]
pub struct Timings {
    /// How long a WebSocket client may take to send `connection_init`, in milliseconds; then
    /// the socket is closed with 4408.
    #[arg(
        long = "ws-init-timeout-ms",
        env = "ANNALS_WS_INIT_TIMEOUT_MS",
        default_value_t = 3_000
    )]
    pub ws_init_timeout_ms: u64,
    /// How often the server pings an idle WebSocket, in milliseconds; a client that sends
    /// nothing back for two intervals is dropped.
    #[arg(
        long = "ws-keepalive-ms",
        env = "ANNALS_WS_KEEPALIVE_MS",
        default_value_t = 12_000
    )]
    pub ws_keepalive_ms: u64,
    /// How long one WebSocket write may take, in milliseconds, before the socket is dropped.
    #[arg(
        long = "ws-write-timeout-ms",
        env = "ANNALS_WS_WRITE_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub ws_write_timeout_ms: u64,
    /// On shutdown, how long open WebSockets get to close after the 1001 close frame, in
    /// milliseconds.
    #[arg(
        long = "ws-shutdown-grace-ms",
        env = "ANNALS_WS_SHUTDOWN_GRACE_MS",
        default_value_t = 3_000
    )]
    pub ws_shutdown_grace_ms: u64,
    /// On shutdown, how long requests in flight get to finish, in milliseconds.
    #[arg(
        long = "shutdown-grace-ms",
        env = "ANNALS_SHUTDOWN_GRACE_MS",
        default_value_t = 25_000
    )]
    pub shutdown_grace_ms: u64,
    /// A pooled connection idle longer than this (milliseconds) is pinged before it is used,
    /// so one the server or a proxy dropped is replaced first.
    #[arg(
        long = "db-idle-check-ms",
        env = "ANNALS_DB_IDLE_CHECK_MS",
        default_value_t = 30_000
    )]
    pub db_idle_check_ms: u64,
    /// How long opening one database connection may take, in milliseconds.
    #[arg(
        long = "db-connect-timeout-ms",
        env = "ANNALS_DB_CONNECT_TIMEOUT_MS",
        default_value_t = 5_000
    )]
    pub db_connect_timeout_ms: u64,
}

impl Timings {
    /// [`Self::ws_init_timeout_ms`] as a duration.
    pub fn ws_init_timeout(&self) -> Duration {
        Duration::from_millis(self.ws_init_timeout_ms)
    }
    /// [`Self::ws_keepalive_ms`] as a duration (at least 1 ms: an interval cannot be zero).
    pub fn ws_keepalive(&self) -> Duration {
        Duration::from_millis(self.ws_keepalive_ms.max(1))
    }
    /// [`Self::ws_write_timeout_ms`] as a duration.
    pub fn ws_write_timeout(&self) -> Duration {
        Duration::from_millis(self.ws_write_timeout_ms)
    }
    /// [`Self::ws_shutdown_grace_ms`] as a duration.
    pub fn ws_shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.ws_shutdown_grace_ms)
    }
    /// [`Self::shutdown_grace_ms`] as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
    /// [`Self::db_idle_check_ms`] as a duration.
    pub fn db_idle_check(&self) -> Duration {
        Duration::from_millis(self.db_idle_check_ms)
    }
    /// [`Self::db_connect_timeout_ms`] as a duration.
    pub fn db_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.db_connect_timeout_ms)
    }
}

/// Limits on what one request may ask for. Going over one is a `LIMIT_EXCEEDED` error naming it.
#[derive(Debug, Clone, Copy, Args)]
pub struct Limits {
    /// Deepest selection nesting.
    #[arg(long = "max-depth", env = "ANNALS_MAX_DEPTH", default_value_t = 15)]
    pub depth: usize,
    /// Highest query cost: the most nodes a query may return, where a connection multiplies
    /// its children by `first`/`last` (default 20) and a list by its documented bound.
    #[arg(
        long = "max-complexity",
        env = "ANNALS_MAX_COMPLEXITY",
        default_value_t = 500_000
    )]
    pub complexity: usize,
    /// Cost points each client may spend per minute (an editor by token, an anonymous reader
    /// by IP address); 0 turns budgets off. Each server process keeps its own buckets.
    #[arg(
        long = "cost-budget-per-minute",
        env = "ANNALS_COST_BUDGET_PER_MINUTE",
        default_value_t = 0
    )]
    pub cost_budget_per_minute: u64,
    /// Most aliases in one operation.
    #[arg(long = "max-aliases", env = "ANNALS_MAX_ALIASES", default_value_t = 30)]
    pub aliases: usize,
    /// Most root fields in one operation.
    #[arg(
        long = "max-root-fields",
        env = "ANNALS_MAX_ROOT_FIELDS",
        default_value_t = 20
    )]
    pub root_fields: usize,
    /// Most directives on one field.
    #[arg(
        long = "max-directives",
        env = "ANNALS_MAX_DIRECTIVES",
        default_value_t = 5
    )]
    pub directives: usize,
    /// Deepest nesting of list/object value literals.
    #[arg(
        long = "max-value-nesting",
        env = "ANNALS_MAX_VALUE_NESTING",
        default_value_t = 64
    )]
    pub nesting: usize,
    /// Most field selections after fragment expansion.
    #[arg(
        long = "max-selections",
        env = "ANNALS_MAX_SELECTIONS",
        default_value_t = 10_000
    )]
    pub selections: usize,
    /// Largest query text in bytes.
    #[arg(long = "max-query-bytes", env = "ANNALS_MAX_QUERY_BYTES", default_value_t = 64 * 1024)]
    pub query_bytes: usize,
    /// Largest request body in bytes.
    #[arg(long = "max-body-bytes", env = "ANNALS_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub body_bytes: usize,
    /// Most operations in one batched request.
    #[arg(long = "max-batch", env = "ANNALS_MAX_BATCH", default_value_t = 10)]
    pub batch: usize,
    /// Most request headers; more is answered with 431.
    #[arg(
        long = "max-headers",
        env = "ANNALS_MAX_HEADERS",
        default_value_t = 100
    )]
    pub headers: usize,
    /// How long a client may take to send its request headers, in milliseconds (slowloris guard).
    #[arg(
        long = "header-read-timeout-ms",
        env = "ANNALS_HEADER_READ_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub header_read_timeout_ms: u64,
    /// How long a client may take to send a whole request body once its headers arrived, in
    /// milliseconds (a body trickled a byte at a time is answered 408 and the connection freed).
    #[arg(
        long = "body-read-timeout-ms",
        env = "ANNALS_BODY_READ_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub body_read_timeout_ms: u64,
    /// Most GraphQL requests executing at once; more wait their turn (within their time
    /// budget). Bounds memory under load: each execution holds its whole response.
    #[arg(
        long = "max-concurrent-requests",
        env = "ANNALS_MAX_CONCURRENT_REQUESTS",
        default_value_t = 16
    )]
    pub concurrent_requests: usize,
    /// Largest response in bytes (the JSON of its keys and values, counted while executing);
    /// a query that would produce more is stopped with `LIMIT_EXCEEDED` (`responseSize`).
    #[arg(
        long = "max-response-bytes",
        env = "ANNALS_MAX_RESPONSE_BYTES",
        default_value_t = 8 * 1024 * 1024
    )]
    pub response_bytes: u64,
    /// Response bytes all executions together may hold (memory-aware admission): each query
    /// reserves its estimated size (from its cost) before it runs and waits while the total is
    /// reserved; growing past the estimate never waits. At least `max-response-bytes`.
    #[arg(
        long = "response-memory-bytes",
        env = "ANNALS_RESPONSE_MEMORY_BYTES",
        default_value_t = 8 * 1024 * 1024
    )]
    pub response_memory_bytes: u64,
    /// Most WebSocket connections (`/graphql/ws`) open at once on this process; one more is
    /// refused at the upgrade with 503. Each open socket holds a file descriptor and a few KiB.
    #[arg(
        long = "max-websockets",
        env = "ANNALS_MAX_WEBSOCKETS",
        default_value_t = 10_000
    )]
    pub websockets: usize,
    /// Events (or shared subscription results) a subscriber may fall behind before it is told
    /// with `LIMIT_EXCEEDED` (`subscriberBuffer`) and completed. Memory per live article is
    /// about this many payloads; the writers never wait.
    #[arg(
        long = "subscriber-buffer",
        env = "ANNALS_SUBSCRIBER_BUFFER",
        default_value_t = 256,
        value_parser = clap::value_parser!(u32).range(1..=65_536)
    )]
    pub subscriber_buffer: u32,
}

impl Config {
    /// Takes the shared settings from `common`.
    pub fn with(mut self, common: Common) -> Self {
        self.database_url = common.database_url;
        self.log = common.log;
        self.log_json = common.log_json;
        self
    }

    /// The configuration with every documented default and the given database. The process
    /// environment is not consulted (no `ANNALS_*` variable leaks in), so tests and tools get
    /// the same settings whatever shell runs them.
    pub fn defaults(database_url: impl Into<String>) -> Self {
        use clap::FromArgMatches;
        // An empty command line with every `env` fallback removed yields the defaults alone.
        let matches = defaults_command().get_matches_from(["annals"]);
        let mut config = Defaults::from_arg_matches(&matches)
            .expect("defaults parse")
            .config;
        config.database_url = database_url.into();
        config
    }

    /// The same as [`Config::defaults`]: every default and the given database, never the
    /// environment.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self::defaults(database_url)
    }

    /// Every configured editor token (flag or variable, plus the file), or one line naming a
    /// malformed entry or an unreadable file.
    pub fn editors(&self) -> crate::error::Result<EditorTokens> {
        let mut tokens = self.editor_tokens.clone().unwrap_or_default();
        if let Some(path) = &self.editor_tokens_file {
            tokens.extend(EditorTokens::read_file(path)?);
        }
        tokens.check()?;
        Ok(tokens)
    }

    /// Per-request time budget.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// Every setting as a command line of its own.
#[derive(clap::Parser)]
struct Defaults {
    #[command(flatten)]
    config: Config,
}

/// The command [`Config::defaults`] parses: every setting, no environment fallbacks.
fn defaults_command() -> clap::Command {
    <Defaults as clap::CommandFactory>::command().mut_args(|arg| arg.env(None))
}

/// An address (one host) or a CIDR range.
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            format!("`{text}` is neither an IP address nor a CIDR range such as 10.0.0.0/8")
        })
}

/// Never fails, so clap cannot echo a token in a parse error; see [`EditorTokens::check`].
fn parse_editor_tokens(text: &str) -> Result<EditorTokens, std::convert::Infallible> {
    Ok(EditorTokens::parse_list(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_never_read_the_environment() {
        let command = defaults_command();
        let with_env: Vec<_> = command
            .get_arguments()
            .filter(|arg| arg.get_env().is_some())
            .map(|arg| arg.get_id().to_string())
            .collect();
        assert!(with_env.is_empty(), "{with_env:?}");
        // The real command does have them: the test above is not vacuous.
        let real = <Defaults as clap::CommandFactory>::command();
        assert!(real.get_arguments().any(|arg| arg.get_env().is_some()));
    }
}
