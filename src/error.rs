//! The one error type of Annals and its mapping to GraphQL error codes.
//!
//! Store and domain code return [`Error`]; the GraphQL layer turns it into a response error in
//! exactly one place ([`Error::extend`] through `async_graphql::ErrorExtensions`). Database
//! errors are logged with their cause and reach the client only as `INTERNAL`.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

/// Stable `extensions.code` values.
pub mod code {
    /// The client sent a value that is not acceptable.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// Something the client named does not exist.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// The change clashes with the current state (taken slug, stale version).
    pub const CONFLICT: &str = "CONFLICT";
    /// No valid editor token.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The token is valid but may not do this.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// A request went over a configured limit.
    pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";
    /// The server failed; details are in its log under the request id.
    pub const INTERNAL: &str = "INTERNAL";
    /// The database cannot be reached or lost the connection (down, restarting, locked,
    /// out of connections): retry after `extensions.retryAfter` seconds.
    pub const DB_UNAVAILABLE: &str = "DB_UNAVAILABLE";
    /// A database statement ran longer than `statement_timeout` and was cancelled; retryable.
    pub const TIMEOUT: &str = "TIMEOUT";
    /// The request is not valid GraphQL syntax.
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The request does not validate against the schema.
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// A persisted query's hash is not known here (message `PersistedQueryNotFound`, as
    /// Apollo's protocol has it): send it again with its query text.
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// Trusted-documents mode: the operation is not one of the registered documents.
    pub const PERSISTED_QUERY_NOT_TRUSTED: &str = "PERSISTED_QUERY_NOT_TRUSTED";

    use async_graphql::ServerError;

    /// How far a request got when an error arose, which decides the code of an error that
    /// async-graphql raised without one.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Phase {
        /// Parsing the query text.
        Parse,
        /// Validating the document, selecting the operation, checking limits.
        Validation,
        /// Executing the operation.
        Execution,
    }

    /// The message async-graphql gives a subscription sent to `Schema::execute`.
    pub const SUBSCRIPTION_OVER_HTTP: &str = "Subscriptions are not supported on this transport.";

    /// Gives `err`, an error async-graphql raised itself, its `extensions.code` by turning it
    /// into the [`super::Error`] it stands for (errors from [`super::Error`] carry their code
    /// already and are left alone). async-graphql's fixed messages become sentences that say
    /// what to do (the messages relied on are pinned by a unit test); a parse error becomes
    /// one line (its position is in `locations`). Its own limits are not used: the guards
    /// check depth and directives themselves, so no limit is recognised by its message.
    pub fn label(err: &mut ServerError, phase: Phase) {
        if err
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some())
        {
            return;
        }
        let message = err.message.as_str();
        let error = if message == "Operation name required in request." {
            super::Error::bad_input(
                "operationName",
                "The document holds several operations; name the one to run in operationName.",
            )
        } else if let Some(name) = message.strip_prefix("Unknown operation named ") {
            super::Error::bad_input(
                "operationName",
                format!("The document has no operation named {name}."),
            )
        } else if message == SUBSCRIPTION_OVER_HTTP {
            super::Error::bad_request(
                "Subscriptions are not supported over HTTP; subscribe over WebSocket at /graphql/ws (protocol graphql-transport-ws).",
            )
        } else if let Some(name) = message
            .strip_prefix("Variable ")
            .and_then(|m| m.strip_suffix(" is not defined."))
        {
            super::Error::bad_request(format!(
                "Variable \"${name}\" has no default value and was not provided."
            ))
        } else {
            match phase {
                Phase::Parse => super::Error::ParseFailed(one_line(err)),
                Phase::Validation => super::Error::ValidationFailed(err.message.clone()),
                // async-graphql's own argument and input coercion errors.
                Phase::Execution => super::Error::bad_request(err.message.clone()),
            }
        };
        let labelled = error.into_server_error();
        err.message = labelled.message;
        match (&mut err.extensions, labelled.extensions) {
            (Some(ext), Some(added)) => {
                for key in ["code", "field"] {
                    if let Some(value) = added.get(key) {
                        ext.set(key, value.clone());
                    }
                }
            }
            (ext, added) => *ext = added,
        }
    }

    /// A parse error's multi-line diagram as one sentence, e.g. `Syntax error at line 3,
    /// column 5: expected selection.`
    fn one_line(err: &ServerError) -> String {
        let lines: Vec<&str> = err.message.lines().map(str::trim).collect();
        let what = lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("= "))
            .map(str::to_owned)
            .unwrap_or_else(|| {
                lines
                    .iter()
                    .filter(|l| !l.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            });
        let what = what.trim_end_matches('.');
        match err.locations.first() {
            Some(pos) => format!(
                "Syntax error at line {}, column {}: {what}.",
                pos.line, pos.column
            ),
            None => format!("Syntax error: {what}."),
        }
    }
}

/// Everything that can go wrong in Annals, from a client's mistake to a database failure.
///
/// It deliberately does not implement `Display`: async-graphql converts any `Display` type into
/// an error without extensions, so without it the compiler forces every conversion through
/// [`ErrorExtensions`], which attaches `extensions.code`.
#[derive(Debug)]
pub enum Error {
    /// The input is invalid; `field` names the argument or input field when there is one.
    BadUserInput {
        /// A sentence for a person.
        message: String,
        /// The offending argument or input field.
        field: Option<String>,
    },
    /// A named thing does not exist.
    NotFound(String),
    /// The change clashes with what is stored.
    Conflict {
        /// A sentence for a person.
        message: String,
        /// The article's current version, for a stale `expectedVersion`.
        current_version: Option<i32>,
    },
    /// No valid editor token was presented.
    Unauthenticated(String),
    /// The request is understood and authenticated, but this server does not allow it
    /// (e.g. a mutation against a database served read-only).
    Forbidden(String),
    /// A subscriber fell more than its buffer behind and missed `missed` events or results:
    /// `LIMIT_EXCEEDED` (limit `subscriberBuffer`, with `missed`); its stream completes.
    Lagged {
        /// Events (or shared results) it missed.
        missed: u64,
        /// How many it could have buffered.
        buffer: usize,
    },
    /// The request went over a configured limit.
    LimitExceeded {
        /// Which limit, e.g. `depth`.
        limit: &'static str,
        /// A sentence for a person.
        message: String,
    },
    /// The database failed.
    Database(DbErr),
    /// The database cannot serve right now (down, restarting, unreachable, out of
    /// connections, the connection was lost mid-request, the file is locked): `DB_UNAVAILABLE`.
    Unavailable(DbFault),
    /// A statement ran out of its `statement_timeout` (or `lock_timeout`): `TIMEOUT`.
    Timeout(DbFault),
    /// What the operator asked for cannot be done: a file, an address or a setting named on
    /// the command line or at start-up is unusable. The message is the one line shown.
    Io(String),
    /// Something the server should never meet (a row it just wrote is missing, a stored value
    /// it wrote cannot be read, a task it started died): `INTERNAL`. `context` says what was
    /// being done; `context` and the whole chain of `source` go to the log, never to a client.
    Internal {
        /// What was being done, for the log.
        context: String,
        /// The cause, when there is one.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The request is not valid GraphQL syntax (`GRAPHQL_PARSE_FAILED`).
    ParseFailed(String),
    /// The document does not validate against the schema, or uses what this server does not
    /// allow (`GRAPHQL_VALIDATION_FAILED`).
    ValidationFailed(String),
    /// A persisted query's hash is not known here (`PERSISTED_QUERY_NOT_FOUND`); its message
    /// is Apollo's fixed `PersistedQueryNotFound`.
    PersistedQueryNotFound,
    /// Trusted-documents mode refused an operation that is not registered
    /// (`PERSISTED_QUERY_NOT_TRUSTED`).
    PersistedQueryNotTrusted(String),
}

/// Shorthand for results in Annals.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Unique constraints a client can run into, by PostgreSQL name and SQLite `table.column` text.
const UNIQUE_CONSTRAINTS: &[(&str, &str, &str)] = &[
    (
        "articles_slug_key",
        "articles.slug",
        "an article with this slug already exists",
    ),
    (
        "sections_article_slug_key",
        "sections.article_id, sections.slug",
        "this article already has a section with this slug",
    ),
    (
        "reforms_article_slug_key",
        "reforms.article_id, reforms.slug",
        "this article already has a reform with this slug",
    ),
    (
        "reactions_article_slug_key",
        "reactions.article_id, reactions.slug",
        "this article already has a reaction with this slug",
    ),
    (
        "topics_slug_key",
        "topics.slug",
        "a topic with this slug already exists",
    ),
];

impl Error {
    /// A `BAD_USER_INPUT` error naming the offending field.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A `NOT_FOUND` error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// A `CONFLICT` error.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            current_version: None,
        }
    }

    /// An `INTERNAL` error: something the server should never meet (a row it just wrote is
    /// missing, a stored value it wrote cannot be read). `context` says what, for the log only.
    pub fn internal(context: impl Into<String>) -> Self {
        Self::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// An `INTERNAL` error caused by `source`; the log gets `context` and the whole cause chain.
    pub fn internal_caused(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }

    /// A `BAD_USER_INPUT` error about the request as a whole (no one field).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadUserInput {
            message: message.into(),
            field: None,
        }
    }

    /// A `LIMIT_EXCEEDED` error naming the limit.
    pub fn limit(limit: &'static str, message: impl Into<String>) -> Self {
        Self::LimitExceeded {
            limit,
            message: message.into(),
        }
    }

    /// This error as a GraphQL response error without a position.
    pub fn into_server_error(self) -> async_graphql::ServerError {
        let error = self.extend();
        let mut server = async_graphql::ServerError::new(error.message, None);
        server.source = error.source;
        server.extensions = error.extensions;
        server
    }

    /// A sentence for a person (and, for database errors, the operator).
    pub fn message(&self) -> String {
        match self {
            Self::BadUserInput { message, .. }
            | Self::Conflict { message, .. }
            | Self::LimitExceeded { message, .. } => message.clone(),
            Self::NotFound(message)
            | Self::Unauthenticated(message)
            | Self::Forbidden(message)
            | Self::Io(message)
            | Self::ParseFailed(message)
            | Self::ValidationFailed(message)
            | Self::PersistedQueryNotTrusted(message) => message.clone(),
            Self::PersistedQueryNotFound => "PersistedQueryNotFound".to_owned(),
            Self::Lagged { missed, buffer } => format!(
                "This subscription fell more than {buffer} events behind and missed {missed}; it is completed. Subscribe again and re-read the articles you show."
            ),
            Self::Internal { context, source } => {
                let mut text = context.clone();
                let mut cause = source
                    .as_deref()
                    .map(|err| err as &(dyn std::error::Error + 'static));
                while let Some(err) = cause {
                    text.push_str(": ");
                    text.push_str(&err.to_string());
                    cause = err.source();
                }
                text
            }
            Self::Database(err) => format!("database error: {err}"),
            Self::Unavailable(fault) | Self::Timeout(fault) => fault.detail.clone(),
        }
    }

    /// The stable `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUserInput { .. } => code::BAD_USER_INPUT,
            Self::NotFound(_) => code::NOT_FOUND,
            Self::Conflict { .. } => code::CONFLICT,
            Self::Unauthenticated(_) => code::UNAUTHENTICATED,
            Self::Forbidden(_) => code::FORBIDDEN,
            Self::LimitExceeded { .. } | Self::Lagged { .. } => code::LIMIT_EXCEEDED,
            Self::Database(_) | Self::Io(_) | Self::Internal { .. } => code::INTERNAL,
            Self::Unavailable(_) => code::DB_UNAVAILABLE,
            Self::Timeout(_) => code::TIMEOUT,
            Self::ParseFailed(_) => code::GRAPHQL_PARSE_FAILED,
            Self::ValidationFailed(_) => code::GRAPHQL_VALIDATION_FAILED,
            Self::PersistedQueryNotFound => code::PERSISTED_QUERY_NOT_FOUND,
            Self::PersistedQueryNotTrusted(_) => code::PERSISTED_QUERY_NOT_TRUSTED,
        }
    }
}

/// Seconds a client should wait before retrying a `DB_UNAVAILABLE` or `TIMEOUT` answer
/// (`extensions.retryAfter`, and the `Retry-After` header over HTTP).
pub const RETRY_AFTER_SECS: u32 = 1;

/// What went wrong with the database, for the log and for deciding what happens next.
///
/// It travels with the GraphQL error as its `source` (never serialized), so the executor can
/// log it once per request, answer one error per request, and retry a read whose connection
/// was lost.
#[derive(Debug, Clone)]
pub struct DbFault {
    /// The driver's description, for the server log only.
    pub detail: String,
    /// The connection broke under the statement (terminated by the server, reset, closed):
    /// the database may be fine, so a read is worth one more try on another connection.
    pub connection_lost: bool,
}

/// How a database error should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The connection broke under the statement.
    ConnectionLost,
    /// The database cannot serve now (down, starting, full, locked, pool exhausted).
    Unavailable,
    /// A statement ran out of its time.
    Timeout,
}

/// Sorts a database error into the faults a client can retry, or `None` for a real failure.
fn classify(err: &DbErr) -> Option<Fault> {
    use sea_orm::{ConnAcquireErr, RuntimeErr, sqlx};
    let sqlx_err = match err {
        // The pool had no connection within its acquire timeout, or is closed.
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            return Some(Fault::Unavailable);
        }
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return None,
    };
    match &**sqlx_err {
        sqlx::Error::Io(_) => Some(Fault::ConnectionLost),
        sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Some(Fault::Unavailable),
        sqlx::Error::Database(db) => {
            let code = db.code()?;
            let message = db.message();
            match code.as_ref() {
                // query_canceled: by statement_timeout, or by an operator (pg_cancel_backend).
                "57014" if message.contains("statement timeout") => Some(Fault::Timeout),
                "57014" => Some(Fault::Unavailable),
                // lock_not_available: lock_timeout ran out.
                "55P03" => Some(Fault::Timeout),
                // admin_shutdown (pg_terminate_backend, a fast shutdown), crash_shutdown.
                "57P01" | "57P02" => Some(Fault::ConnectionLost),
                // cannot_connect_now (starting up, shutting down), database_dropped.
                "57P03" | "57P04" | "57P05" => Some(Fault::Unavailable),
                // connection_exception and its subclasses.
                c if c.starts_with("08") => Some(Fault::ConnectionLost),
                // insufficient_resources: too many connections, disk full, out of memory.
                c if c.starts_with("53") => Some(Fault::Unavailable),
                // SQLite (result codes, extended codes keep the primary in the low byte):
                // BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
                c => match c.parse::<u32>().map(|n| n & 0xff) {
                    Ok(5 | 6 | 8 | 10 | 13 | 14) => Some(Fault::Unavailable),
                    _ => None,
                },
            }
        }
        _ => None,
    }
}

impl From<DbErr> for Error {
    /// Unique violations of known constraints become `CONFLICT`; an unreachable database or
    /// a lost connection `DB_UNAVAILABLE`; a statement timeout `TIMEOUT`; everything else
    /// stays internal.
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            for (pg_name, sqlite_columns, message) in UNIQUE_CONSTRAINTS {
                if detail.contains(pg_name) || detail.contains(sqlite_columns) {
                    return Self::conflict(*message);
                }
            }
        }
        let fault = |connection_lost| DbFault {
            detail: format!("database error: {err}"),
            connection_lost,
        };
        match classify(&err) {
            Some(Fault::ConnectionLost) => Self::Unavailable(fault(true)),
            Some(Fault::Unavailable) => Self::Unavailable(fault(false)),
            Some(Fault::Timeout) => Self::Timeout(fault(false)),
            None => Self::Database(err),
        }
    }
}

impl ErrorExtensions for Error {
    /// The one place an error gets its `extensions.code` (and the fields that go with it:
    /// `field`, `currentVersion`, `limit`, `retryAfter`).
    fn extend(&self) -> async_graphql::Error {
        let message = match self {
            // Never echo SQL or driver text to a client; the log has it.
            Self::Database(_) | Self::Io(_) | Self::Internal { .. } => {
                tracing::error!(error = %self.message(), "internal error");
                "Internal server error; see the server log.".to_string()
            }
            // Logged once per request by the executor, which finds the fault in `source`.
            Self::Unavailable(_) => {
                "The database is unavailable right now; retry in a moment.".to_string()
            }
            Self::Timeout(_) => {
                "A database statement took too long and was cancelled; retry, or ask for less."
                    .to_string()
            }
            other => other.message(),
        };
        let mut error = async_graphql::Error::new(message);
        if let Self::Unavailable(fault) | Self::Timeout(fault) = self {
            error.source = Some(std::sync::Arc::new(fault.clone()));
        }
        error.extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::BadUserInput {
                    field: Some(field), ..
                } => ext.set("field", field.as_str()),
                Self::Conflict {
                    current_version: Some(version),
                    ..
                } => ext.set("currentVersion", *version),
                Self::LimitExceeded { limit, .. } => ext.set("limit", *limit),
                Self::Lagged { missed, .. } => {
                    ext.set("limit", "subscriberBuffer");
                    ext.set("missed", *missed);
                }
                Self::Unavailable(_) | Self::Timeout(_) => ext.set("retryAfter", RETRY_AFTER_SECS),
                _ => {}
            }
        })
    }
}

impl From<Error> for async_graphql::Error {
    fn from(err: Error) -> Self {
        err.extend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use code::Phase;
    use sea_orm::ConnAcquireErr;

    /// [`code::label`] recognises four fixed messages of async-graphql (none of them a
    /// limit). This pins them: an upgrade that rewords one fails here rather than sending
    /// clients a worse error.
    #[tokio::test]
    async fn the_async_graphql_messages_label_relies_on_are_pinned() {
        use async_graphql::{EmptyMutation, Object, Schema, Subscription, futures_util::Stream};

        struct Query;
        #[Object]
        impl Query {
            async fn value(&self, n: Option<i32>) -> Option<i32> {
                n
            }
        }
        struct Ticks;
        #[Subscription]
        impl Ticks {
            async fn ticks(&self) -> impl Stream<Item = i32> {
                async_graphql::futures_util::stream::iter([1])
            }
        }
        let schema = Schema::build(Query, EmptyMutation, Ticks).finish();
        let first_error = |query: &'static str| {
            let schema = schema.clone();
            async move {
                let response = schema.execute(query).await;
                response.errors.into_iter().next().expect("an error")
            }
        };
        let cases = [
            (
                "query A { value } query B { value }",
                "Operation name required in request.",
                Phase::Validation,
                code::BAD_USER_INPUT,
            ),
            (
                "subscription { ticks }",
                code::SUBSCRIPTION_OVER_HTTP,
                Phase::Validation,
                code::BAD_USER_INPUT,
            ),
            (
                "query ($n: Int!) { value(n: $n) }",
                "Variable n is not defined.",
                Phase::Validation,
                code::BAD_USER_INPUT,
            ),
        ];
        for (query, message, phase, code) in cases {
            let mut err = first_error(query).await;
            assert!(err.message.starts_with(message), "{query}: {}", err.message);
            code::label(&mut err, phase);
            let labelled = err.extensions.as_ref().and_then(|x| x.get("code"));
            assert_eq!(labelled, Some(&async_graphql::Value::from(code)), "{query}");
            assert_ne!(err.message, message, "{query}: rewritten for a person");
        }
        let named = schema
            .execute(async_graphql::Request::new("query A { value }").operation_name("B"))
            .await;
        let mut err = named.errors.into_iter().next().expect("an error");
        assert_eq!(err.message, r#"Unknown operation named "B""#);
        code::label(&mut err, Phase::Validation);
        assert_eq!(err.message, r#"The document has no operation named "B"."#);
    }

    #[test]
    fn internal_errors_log_their_whole_cause_chain_and_tell_the_client_nothing() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer failure")]
        struct Outer(#[source] std::io::Error);
        let err = Error::internal_caused(
            "writing the snapshot",
            Outer(std::io::Error::other("disk on fire")),
        );
        assert_eq!(err.code(), code::INTERNAL);
        assert_eq!(
            err.message(),
            "writing the snapshot: outer failure: disk on fire"
        );
        let extended = err.extend();
        assert!(!extended.message.contains("disk"), "{}", extended.message);
    }

    #[test]
    fn database_faults_are_retryable_codes() {
        let exhausted = Error::from(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
        assert_eq!(exhausted.code(), code::DB_UNAVAILABLE);
        let extended = exhausted.extend();
        assert_eq!(
            extended
                .extensions
                .as_ref()
                .and_then(|x| x.get("retryAfter")),
            Some(&async_graphql::Value::from(RETRY_AFTER_SECS))
        );
        let fault = extended
            .source
            .as_ref()
            .and_then(|s| s.downcast_ref::<DbFault>())
            .expect("the fault travels as the source");
        assert!(!fault.connection_lost);
        assert!(!extended.message.contains("pool"), "{}", extended.message);
        // A real failure stays internal.
        let broken = Error::from(DbErr::Custom("no such table".into()));
        assert_eq!(broken.code(), code::INTERNAL);
    }

    /// Every known unique constraint, violated on SQLite, becomes `CONFLICT` with its own
    /// sentence; an unknown one stays internal. (PostgreSQL names the constraint instead; the
    /// integration tests cover that backend.)
    #[tokio::test]
    async fn unique_violations_of_known_constraints_are_conflicts() {
        use sea_orm::{ConnectionTrait, Database};
        let db = Database::connect("sqlite::memory:").await.unwrap();
        for (_, columns, message) in UNIQUE_CONSTRAINTS {
            let (table, _) = columns.split_once('.').unwrap();
            let columns: Vec<&str> = columns
                .split(", ")
                .map(|c| c.split_once('.').unwrap().1)
                .collect();
            let list = columns.join(", ");
            db.execute_unprepared(&format!(
                "CREATE TABLE {table} ({}, UNIQUE ({list}))",
                columns
                    .iter()
                    .map(|c| format!("{c} TEXT"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .await
            .unwrap();
            let values = vec!["'x'"; columns.len()].join(", ");
            let insert = format!("INSERT INTO {table} ({list}) VALUES ({values})");
            db.execute_unprepared(&insert).await.unwrap();
            let err = Error::from(db.execute_unprepared(&insert).await.unwrap_err());
            assert_eq!(err.code(), code::CONFLICT, "{table}: {err:?}");
            assert_eq!(err.message(), *message);
        }
        db.execute_unprepared("CREATE TABLE other (name TEXT UNIQUE)")
            .await
            .unwrap();
        let insert = "INSERT INTO other (name) VALUES ('x')";
        db.execute_unprepared(insert).await.unwrap();
        let err = Error::from(db.execute_unprepared(insert).await.unwrap_err());
        assert_eq!(err.code(), code::INTERNAL, "{err:?}");
    }
}
