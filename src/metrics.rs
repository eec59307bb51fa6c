//! Prometheus metrics: every series Annals exports, recorded through the `metrics` facade and
//! rendered in the Prometheus text format by `metrics-exporter-prometheus`.
//!
//! The recorder is process-global and installed by the server ([`install`]); without it (the
//! command-line tools) every recording is a no-op. Counters and histograms are recorded where
//! things happen (the execution path, the pool's statement callback, the event bus); gauges of
//! state that already has an owner (pool, sockets, subscriptions, permits) are read when
//! `/metrics` is scraped, so they cannot drift.
//!
//! No label takes unbounded values: operation names are the first [`MAX_OPERATION_NAMES`]
//! distinct names this process has seen, later ones are `other`, anonymous documents
//! `anonymous`, and requests whose operation could not be selected `none`; codes are the
//! server's own `extensions.code` strings.

use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Build information: `version` and `commit` labels, value 1.
pub const BUILD_INFO: &str = "annals_build_info";
/// GraphQL operations by `operation`, `type` and `code` (the first error's code, or `OK`).
pub const REQUESTS: &str = "annals_graphql_requests_total";
/// Time from receiving a GraphQL operation to its response, by `operation` and `type`.
pub const REQUEST_DURATION: &str = "annals_graphql_request_duration_seconds";
/// The cost of each costed operation, by `type`.
pub const QUERY_COST: &str = "annals_graphql_query_cost";
/// GraphQL executions by `state`: `running` (holding a permit) or `waiting` for one.
pub const EXECUTIONS: &str = "annals_graphql_executions";
/// SQL statements sent, by `kind` (`select`, `insert`, `update`, `delete`, `other`) and
/// `outcome` (`ok`, `error`).
pub const STATEMENTS: &str = "annals_db_statements_total";
/// Time each SQL statement took (not counting the wait for a connection), by `kind`.
pub const STATEMENT_DURATION: &str = "annals_db_statement_duration_seconds";
/// Connections of the pool by `state`: `idle` or `in_use`.
pub const POOL_CONNECTIONS: &str = "annals_db_pool_connections";
/// The pool's largest size (`ANNALS_DB_MAX_CONNECTIONS`).
pub const POOL_MAX: &str = "annals_db_pool_max_connections";
/// Open WebSocket connections.
pub const WEBSOCKETS: &str = "annals_websocket_connections";
/// Active subscriptions (each subscriber of a shared execution counts).
pub const SUBSCRIPTIONS: &str = "annals_subscriptions_active";
/// Distinct shared subscription executions.
pub const SUBSCRIPTION_EXECUTIONS: &str = "annals_subscription_executions";
/// Article events this process published (after a commit).
pub const EVENTS_PUBLISHED: &str = "annals_events_published_total";
/// Article events that reached this process's bus (its own, and other processes' over
/// LISTEN/NOTIFY on PostgreSQL).
pub const EVENTS_RECEIVED: &str = "annals_events_received_total";
/// Subscription results handed to subscribers' sockets.
pub const EVENTS_DELIVERED: &str = "annals_events_delivered_total";
/// Events subscribers missed because they fell too far behind.
pub const EVENTS_DROPPED: &str = "annals_events_dropped_total";

/// Queries answered from a query plan (`path="planned"`) or whose plan gave up and was
/// resolved instead (`path="fallback"`); queries without a plan are not counted.
pub const PLANS: &str = "annals_graphql_query_plans_total";
/// Queries by where they read: `target` (`primary`, `replica`) and `reason` (`replica`;
/// for the primary: `no_replica` in rotation, `lsn_wait` ran out, `sticky` editor).
pub const READS: &str = "annals_db_reads_total";
/// Whether each read replica (`replica`: its index in `ANNALS_READ_DATABASE_URL`) is in
/// rotation (1) or not (0).
pub const REPLICA_UP: &str = "annals_db_replica_in_rotation";
/// How far each read replica was behind the primary at the last check, in seconds.
pub const REPLICA_LAG: &str = "annals_db_replica_lag_seconds";
/// Connections of each read replica's pool by `replica` and `state` (`idle`, `in_use`), as
/// of the last check.
pub const REPLICA_POOL: &str = "annals_db_replica_pool_connections";

/// Anonymous query answers served from the in-process response cache.
pub const RESPONSE_CACHE_HITS: &str = "annals_response_cache_hits_total";
/// GET requests answered `304 Not Modified` (the client's ETag was current).
pub const NOT_MODIFIED: &str = "annals_http_not_modified_total";

/// How many distinct operation names get a label of their own.
pub const MAX_OPERATION_NAMES: usize = 64;
/// Longest operation name that gets a label of its own.
const MAX_NAME_LENGTH: usize = 100;

const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const STATEMENT_SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
const COST: &[f64] = &[
    1.0,
    10.0,
    50.0,
    100.0,
    500.0,
    1_000.0,
    5_000.0,
    10_000.0,
    50_000.0,
    100_000.0,
    500_000.0,
    1_000_000.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(STATEMENT_DURATION.into()),
                        STATEMENT_SECONDS,
                    )
                })
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(QUERY_COST.into()), COST))
                .expect("bucket lists are not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder (a test's) wins; rendering then shows nothing of ours.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            // Series without labels exist from the start, at 0, so a rate over them works
            // before the first event.
            for name in [
                EVENTS_PUBLISHED,
                EVENTS_RECEIVED,
                EVENTS_DELIVERED,
                EVENTS_DROPPED,
                RESPONSE_CACHE_HITS,
                NOT_MODIFIED,
            ] {
                counter!(name).increment(0);
            }
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "commit" => commit())
                .set(1.0);
            handle
        })
        .clone()
}

/// The commit this binary was built from, or `unknown`.
pub fn commit() -> &'static str {
    option_env!("ANNALS_GIT_COMMIT").unwrap_or("unknown")
}

fn describe() {
    describe_gauge!(BUILD_INFO, "Annals version and git commit (value 1).");
    describe_counter!(
        REQUESTS,
        "GraphQL operations by operation name, type and outcome code."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from receiving a GraphQL operation to its response."
    );
    describe_histogram!(
        QUERY_COST,
        "Query cost (the most nodes it can return) of each costed operation."
    );
    describe_gauge!(
        EXECUTIONS,
        "GraphQL executions running (holding a permit) or waiting for a permit."
    );
    describe_counter!(STATEMENTS, "SQL statements sent, by kind and outcome.");
    describe_counter!(
        PLANS,
        "Queries answered from a query plan (planned) or resolved after their plan gave up (fallback)."
    );
    describe_histogram!(
        STATEMENT_DURATION,
        Unit::Seconds,
        "Time each SQL statement took, not counting the wait for a connection."
    );
    describe_gauge!(
        POOL_CONNECTIONS,
        "Database pool connections, idle or in use."
    );
    describe_gauge!(POOL_MAX, "The database pool's largest size.");
    describe_counter!(
        READS,
        "Queries by where they read (primary or replica) and why."
    );
    describe_gauge!(
        REPLICA_UP,
        "Whether each read replica is in rotation (1) or not (0)."
    );
    describe_gauge!(
        REPLICA_POOL,
        "Connections of each read replica's pool, idle or in use."
    );
    describe_gauge!(
        REPLICA_LAG,
        Unit::Seconds,
        "How far each read replica was behind the primary at the last check."
    );
    describe_gauge!(WEBSOCKETS, "Open WebSocket connections.");
    describe_gauge!(SUBSCRIPTIONS, "Active subscriptions.");
    describe_gauge!(
        SUBSCRIPTION_EXECUTIONS,
        "Distinct shared subscription executions."
    );
    describe_counter!(
        EVENTS_PUBLISHED,
        "Article events published by this process."
    );
    describe_counter!(
        EVENTS_RECEIVED,
        "Article events that reached this process's event bus."
    );
    describe_counter!(
        EVENTS_DELIVERED,
        "Subscription results handed to subscribers."
    );
    describe_counter!(
        EVENTS_DROPPED,
        "Events subscribers missed because they fell too far behind."
    );
    describe_counter!(
        RESPONSE_CACHE_HITS,
        "Anonymous query answers served from the in-process response cache."
    );
    describe_counter!(NOT_MODIFIED, "GET requests answered 304 Not Modified.");
}

/// Drains histogram samples into their buckets; the server calls this every few seconds, so
/// memory stays flat between scrapes.
pub fn upkeep() {
    if let Some(handle) = HANDLE.get() {
        handle.run_upkeep();
    }
}

/// The `operation` label for an operation named `name` (`None`: anonymous).
pub fn operation_label(name: Option<&str>) -> String {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES
        .get_or_init(|| Names::new(MAX_OPERATION_NAMES))
        .label(name)
}

/// The operation names that have a label of their own: the first `max` seen.
struct Names {
    seen: Mutex<HashSet<String>>,
    max: usize,
}

impl Names {
    fn new(max: usize) -> Self {
        Self {
            seen: Mutex::default(),
            max,
        }
    }

    fn label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".to_owned();
        };
        if name.len() > MAX_NAME_LENGTH {
            return "other".to_owned();
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(name) || seen.len() < self.max {
            seen.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }
}

/// One finished GraphQL operation.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    /// `query`, `mutation`, `subscription`, or `none` when no operation was selected.
    pub kind: &'static str,
    /// The label from [`operation_label`] (or `none`).
    pub name: &'a str,
    /// The first error's `extensions.code`, or `OK`.
    pub code: &'a str,
    /// The operation's cost, when it got as far as being costed.
    pub cost: Option<u64>,
    /// How long it took, when that means something (not for subscriptions).
    pub elapsed: Option<Duration>,
}

/// Records one finished operation: its count, duration and cost.
pub fn record_operation(op: &Operation<'_>) {
    counter!(REQUESTS, "operation" => op.name.to_owned(), "type" => op.kind, "code" => op.code.to_owned())
        .increment(1);
    if let Some(elapsed) = op.elapsed {
        metrics::histogram!(REQUEST_DURATION, "operation" => op.name.to_owned(), "type" => op.kind)
            .record(elapsed.as_secs_f64());
    }
    if let Some(cost) = op.cost {
        metrics::histogram!(QUERY_COST, "type" => op.kind).record(cost as f64);
    }
}

/// Records one SQL statement.
pub fn record_statement(sql: &str, elapsed: Duration, failed: bool) {
    let kind = statement_kind(sql);
    let outcome = if failed { "error" } else { "ok" };
    counter!(STATEMENTS, "kind" => kind, "outcome" => outcome).increment(1);
    metrics::histogram!(STATEMENT_DURATION, "kind" => kind).record(elapsed.as_secs_f64());
}

/// The first keyword of a statement, as a label.
pub fn statement_kind(sql: &str) -> &'static str {
    let word = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    for kind in ["select", "insert", "update", "delete"] {
        if word.eq_ignore_ascii_case(kind) {
            return kind;
        }
    }
    "other"
}

/// Counts `n` events of a counter without labels (`EVENTS_*`).
pub fn count(name: &'static str, n: u64) {
    counter!(name).increment(n);
}

/// A handle on counter `name`, for counts made per subscriber per event: incrementing it
/// skips the recorder's look-up of the series that [`count`] makes each time. Take it after
/// the recorder is installed (a handle taken before stays a no-op).
pub fn counter_handle(name: &'static str) -> metrics::Counter {
    counter!(name)
}

/// Counts one query that ran from its plan or fell back ([`PLANS`]).
pub fn count_plan(path: &'static str) {
    counter!(PLANS, "path" => path).increment(1);
}

/// Counts one query routed to `target` for `reason` ([`READS`]).
pub fn read_routed(target: &'static str, reason: &'static str) {
    counter!(READS, "target" => target, "reason" => reason).increment(1);
}

/// Sets a replica pool's connection gauges ([`REPLICA_POOL`]).
pub fn replica_pool(index: usize, in_use: u64, idle: u64) {
    let label = index.to_string();
    gauge!(REPLICA_POOL, "replica" => label.clone(), "state" => "in_use").set(in_use as f64);
    gauge!(REPLICA_POOL, "replica" => label, "state" => "idle").set(idle as f64);
}

/// Sets a replica's rotation and lag gauges ([`REPLICA_UP`], [`REPLICA_LAG`]).
pub fn replica_health(index: usize, in_rotation: bool, lag: Option<Duration>) {
    let label = index.to_string();
    gauge!(REPLICA_UP, "replica" => label.clone()).set(if in_rotation { 1.0 } else { 0.0 });
    if let Some(lag) = lag {
        gauge!(REPLICA_LAG, "replica" => label).set(lag.as_secs_f64());
    }
}

/// What `/metrics` reads at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Pool connections in use.
    pub pool_in_use: u64,
    /// Pool connections idle.
    pub pool_idle: u64,
    /// The pool's largest size.
    pub pool_max: u64,
    /// Executions holding a permit.
    pub running: u64,
    /// Executions waiting for a permit.
    pub waiting: u64,
    /// Open WebSocket connections.
    pub websockets: u64,
    /// Active subscriptions.
    pub subscriptions: u64,
    /// Shared subscription executions.
    pub subscription_executions: u64,
}

/// Sets the scrape-time gauges and renders every series in the Prometheus text format.
pub fn render(gauges: &Gauges) -> String {
    let handle = install();
    gauge!(POOL_CONNECTIONS, "state" => "in_use").set(gauges.pool_in_use as f64);
    gauge!(POOL_CONNECTIONS, "state" => "idle").set(gauges.pool_idle as f64);
    gauge!(POOL_MAX).set(gauges.pool_max as f64);
    gauge!(EXECUTIONS, "state" => "running").set(gauges.running as f64);
    gauge!(EXECUTIONS, "state" => "waiting").set(gauges.waiting as f64);
    gauge!(WEBSOCKETS).set(gauges.websockets as f64);
    gauge!(SUBSCRIPTIONS).set(gauges.subscriptions as f64);
    gauge!(SUBSCRIPTION_EXECUTIONS).set(gauges.subscription_executions as f64);
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_kinds() {
        assert_eq!(statement_kind("SELECT 1"), "select");
        assert_eq!(statement_kind("  insert INTO x"), "insert");
        assert_eq!(statement_kind("UPDATE\"x\""), "update");
        assert_eq!(
            statement_kind("WITH x AS (SELECT 1) SELECT * FROM x"),
            "other"
        );
        assert_eq!(statement_kind(""), "other");
    }

    #[test]
    fn operation_names_are_capped() {
        let names = Names::new(3);
        assert_eq!(names.label(None), "anonymous");
        assert_eq!(names.label(Some(&"x".repeat(101))), "other");
        assert_eq!(names.label(Some("First")), "First");
        assert_eq!(names.label(Some("Second")), "Second");
        assert_eq!(names.label(Some("Third")), "Third");
        assert_eq!(names.label(Some("OneTooMany")), "other");
        // A name seen before the cap keeps its label.
        assert_eq!(names.label(Some("First")), "First");
        assert_eq!(names.label(Some("Second")), "Second");
    }
}
