//! Database faults: a request cut off mid-statement, killed backends, an outage, readiness.
//!
//! PostgreSQL tests run over TLS where the server offers it (the shared server and the
//! clusters made by [`crate::cluster`] have `ssl = on`; `sslmode=prefer` is the default) and
//! check that TLS is really in use: the connection leak these tests guard against happened
//! only over TLS.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde_json::{Value, json};

use crate::{
    cluster::{self, Cluster},
    helpers::{Backend, TestApp, TestDb},
};

const READ: &str = "{ articles(first: 1) { totalCount } }";

/// One number from a query on `db`.
async fn number(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row");
    row.try_get::<i64>("", "n").expect("a number")
}

/// How many of the app's connections to its database are open over TLS, and in all.
async fn tls_connections(db: &DatabaseConnection) -> (i64, i64) {
    let sql = |tls: &str| {
        format!(
            "SELECT count(*)::bigint AS n FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.datname = current_database() AND a.application_name = 'annals' {tls}"
        )
    };
    (
        number(db, &sql("AND s.ssl")).await,
        number(db, &sql("")).await,
    )
}

/// POSTs `query` as `application/json`; returns status, `Retry-After`, body.
async fn post(app: &TestApp, query: &str) -> (u16, Option<String>, Value) {
    post_as(app, query, None).await
}

async fn post_as(
    app: &TestApp,
    query: &str,
    authorization: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query }));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("POST /graphql");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// GET `path`: status and body.
async fn probe(app: &TestApp, path: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(path))
        .send()
        .await
        .expect("GET probe");
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

/// Runs `n` reads at once; returns how many answered without errors.
async fn reads(app: &TestApp, n: usize) -> usize {
    let answers = futures::future::join_all((0..n).map(|_| post(app, READ))).await;
    answers
        .iter()
        .filter(|(status, _, body)| *status == 200 && body.get("errors").is_none())
        .count()
}

/// A request stopped at its time budget while its statement still runs (blocked on a table
/// lock) gives its connection back once the statement ends: after the lock, the pool is back
/// to full size, every connection idle in `pg_stat_activity`, and reads succeed. On SQLite,
/// requests cut off while waiting for a locked file leave the pool as usable.
pub async fn a_statement_cut_off_at_the_budget_leaks_no_connection(app: TestApp) {
    let pool_size = 2;
    let app = TestApp::spawn_with(app.backend, |c| {
        c.db_max_connections = pool_size;
        c.db_acquire_timeout_ms = 1_000;
        c.request_timeout_ms = 1_000;
        // Longer than the budget: the statement outlives the request that sent it.
        c.statement_timeout_ms = 2_500;
    })
    .await;
    assert_eq!(reads(&app, pool_size as usize).await, pool_size as usize);
    let locker = sea_orm::Database::connect(&app.database_url)
        .await
        .expect("a second connection");
    let hold = if app.backend == Backend::Postgres {
        let (tls, all) = tls_connections(&app.db).await;
        assert!(all >= 1 && tls == all, "{tls} of {all} connections use TLS");
        let hold = locker.begin().await.expect("begin");
        hold.execute_unprepared("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock articles");
        hold
    } else {
        // SQLite: take the write lock; writers wait for it (busy_timeout) past their budget.
        let hold = locker.begin().await.expect("begin");
        hold.execute_unprepared("UPDATE topics SET name = name")
            .await
            .expect("take the write lock");
        hold
    };
    let locked_at = Instant::now();
    let cut_off = if app.backend == Backend::Postgres {
        READ.to_owned()
    } else {
        "mutation { createTopic(input: {slug: \"while-locked\", name: \"Locked\"}) { topic { slug } } }"
            .to_owned()
    };
    let token = format!("Bearer {}", crate::helpers::TOKEN);
    let answers =
        futures::future::join_all((0..4).map(|_| post_as(&app, &cut_off, Some(&token)))).await;
    for (status, retry_after, body) in &answers {
        assert_eq!(*status, 503, "{body}");
        assert!(retry_after.is_some(), "{body}");
        // Cut off by the budget, or (waiting for one of the pool's connections) by the
        // acquire timeout, whichever came first.
        let stopped = body["errors"][0]["extensions"]["limit"] == "timeout"
            || TestApp::error_code(body) == "DB_UNAVAILABLE";
        assert!(stopped, "{body}");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
        // Execution had begun: `data` is present, and null.
        assert!(body.get("data").is_some_and(Value::is_null), "{body}");
    }
    assert!(
        locked_at.elapsed() < Duration::from_secs(3),
        "the budget held: {:?}",
        locked_at.elapsed()
    );
    // Past the statement timeout (PostgreSQL) or with the writers gone (SQLite).
    tokio::time::sleep(Duration::from_millis(3_000).saturating_sub(locked_at.elapsed())).await;
    hold.rollback().await.expect("release the lock");
    // The pool gets every connection back.
    let settled = Instant::now();
    let mut ok = 0;
    while settled.elapsed() < Duration::from_secs(5) {
        ok = reads(&app, pool_size as usize).await;
        if ok == pool_size as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ok, pool_size as usize, "reads after the lock");
    if app.backend == Backend::Postgres {
        let pool = app.db.get_postgres_connection_pool();
        let started = Instant::now();
        while pool.num_idle() < pool.size() as usize && started.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            pool.num_idle(),
            pool.size() as usize,
            "every connection back in the pool"
        );
        assert!(pool.size() as u32 <= pool_size, "size {}", pool.size());
        let open = number(
            &locker,
            "SELECT count(*)::bigint AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'annals'",
        )
        .await;
        let busy = number(
            &locker,
            "SELECT count(*)::bigint AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'annals' AND state <> 'idle'",
        )
        .await;
        // The event listener holds one more connection of its own, outside the pool.
        assert!(
            open <= i64::from(pool.size()) + 1,
            "{open} server connections for a pool of {}",
            pool.size()
        );
        assert_eq!(busy, 0, "connections still busy on the server");
        let (tls, all) = tls_connections(&app.db).await;
        assert_eq!(tls, all, "{tls} of {all} connections use TLS");
    } else {
        let data = app
            .mutate_ok(
                "mutation { createTopic(input: {slug: \"after-lock\", name: \"After\"}) { topic { slug } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["createTopic"]["topic"]["slug"], "after-lock");
        assert_eq!(
            app.count("topics WHERE slug = 'while-locked'").await,
            0,
            "a cut-off mutation wrote nothing"
        );
    }
    locker.close().await.ok();
}

/// Killing every server connection of the pool (`pg_terminate_backend`) costs no request
/// that was not in flight: reads that find a dead connection run again on a tested one. A
/// mutation is never run again: it fails with `DB_UNAVAILABLE` and writes nothing.
pub async fn terminating_every_backend_costs_only_requests_in_flight(app: TestApp) {
    if app.backend != Backend::Postgres {
        // SQLite has no server connections to kill; its faults are the locked-file cases.
        return;
    }
    let pool_size = 4;
    let app = TestApp::spawn_with(app.backend, |c| c.db_max_connections = pool_size).await;
    let admin = sea_orm::Database::connect(&app.database_url)
        .await
        .expect("an admin connection");
    let kill = "SELECT count(pg_terminate_backend(pid))::bigint AS n FROM pg_stat_activity \
                WHERE datname = current_database() AND application_name = 'annals' \
                AND pid <> pg_backend_pid()";
    for round in 0..3 {
        assert_eq!(reads(&app, 8).await, 8, "warm-up, round {round}");
        let (tls, all) = tls_connections(&admin).await;
        assert!(all >= 1 && tls == all, "{tls} of {all} connections use TLS");
        let killed = number(&admin, kill).await;
        assert!(killed >= 1, "nothing to kill");
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Nothing was in flight: nothing may fail.
        for batch in 0..3 {
            assert_eq!(
                reads(&app, 4).await,
                4,
                "round {round}, batch {batch} after the kill"
            );
        }
    }
    // In flight: a burst of reads with the kill in the middle loses at most what was running.
    let burst = async {
        let mut failed = 0;
        for _ in 0..10 {
            failed += 4 - reads(&app, 4).await;
        }
        failed
    };
    let killer = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        number(&admin, kill).await
    };
    let (failed, _) = tokio::join!(burst, killer);
    assert!(failed <= pool_size as usize, "{failed} reads failed");

    // A mutation on a dead connection is not run again.
    assert_eq!(reads(&app, 4).await, 4);
    number(&admin, kill).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let topics = number(&admin, "SELECT count(*)::bigint AS n FROM topics").await;
    let token = format!("Bearer {}", crate::helpers::TOKEN);
    let (status, retry_after, body) = post_as(
        &app,
        "mutation { createTopic(input: {slug: \"after-kill\", name: \"After\"}) { topic { slug } } }",
        Some(&token),
    )
    .await;
    // Which connection the pool hands out after the kill depends on timing (a fresh one
    // replaces a dead one as soon as it is noticed): either the mutation met a dead connection
    // and answered 503 with nothing written, or it ran once on a live one. Never twice, and
    // never an answer that disagrees with what is stored.
    let now = number(&admin, "SELECT count(*)::bigint AS n FROM topics").await;
    if status == 503 {
        assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
        assert_eq!(TestApp::error_code(&body), "DB_UNAVAILABLE", "{body}");
        assert_eq!(now, topics, "the failed mutation wrote nothing");
    } else {
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"]["createTopic"]["topic"]["slug"], "after-kill",
            "{body}"
        );
        assert_eq!(now, topics + 1, "the mutation ran exactly once");
    }
    assert_eq!(reads(&app, 4).await, 4, "reads after the failed mutation");
    admin.close().await.ok();
}

/// While the database is down, requests answer 503 `DB_UNAVAILABLE` with `Retry-After`, one
/// error per request, `data` present; `/readyz` says 503 and `/healthz` 200. Within a second
/// of the database coming back, the same process serves again. PostgreSQL only, on a
/// cluster of the test's own (it is stopped and started).
pub async fn an_outage_answers_503_and_recovers_within_a_second(app: TestApp) {
    if app.backend != Backend::Postgres {
        return;
    }
    if !cluster::available() {
        assert!(
            !crate::helpers::in_ci(),
            "CI=true: this test needs pg_createcluster (Debian's postgresql-common)"
        );
        eprintln!("outage test skipped: no pg_createcluster on this machine");
        return;
    }
    drop(app);
    let cluster = Cluster::start(&[]);
    cluster.create_database("annals").await;
    let app = TestApp::spawn_on(
        Backend::Postgres,
        TestDb::existing(cluster.url("annals")),
        |c| c.db_acquire_timeout_ms = 1_000,
    )
    .await;
    assert_eq!(reads(&app, 4).await, 4);
    let (tls, all) = tls_connections(&app.db).await;
    assert!(all >= 1 && tls == all, "{tls} of {all} connections use TLS");
    assert_eq!(probe(&app, "/readyz").await.0, 200);

    cluster.stop();
    // Many fields that each need the database: still one error.
    let wide = "{ articles(first: 5) { totalCount nodes { title } } topics { nodes { slug } } \
                a: article(slug: \"de-stalinization\") { title sections { heading } } \
                b: article(slug: \"none\") { title } }";
    for query in [READ, wide] {
        let started = Instant::now();
        let (status, retry_after, body) = post(&app, query).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
        assert_eq!(TestApp::error_code(&body), "DB_UNAVAILABLE", "{body}");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 1, "{body}");
        assert!(body.get("data").is_some(), "data must be present: {body}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "answered after {:?}",
            started.elapsed()
        );
    }
    // Plain JSON clients get the same status.
    let (status, _) = app.post_json(&json!({ "query": READ })).await;
    assert_eq!(status, 503);
    let (status, reason) = probe(&app, "/readyz").await;
    assert_eq!(status, 503, "{reason}");
    assert!(reason.starts_with("not ready: "), "{reason}");
    assert_eq!(probe(&app, "/healthz").await.0, 200);

    cluster.resume();
    let back = Instant::now();
    loop {
        let (status, _, body) = post(&app, READ).await;
        if status == 200 && body.get("errors").is_none() {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(1),
            "still failing {:?} after the database came back: {body}",
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered = back.elapsed();
    eprintln!("outage: serving again {recovered:?} after the database came back");
    assert!(
        recovered < Duration::from_secs(1),
        "recovered after {recovered:?}"
    );
    assert_eq!(probe(&app, "/readyz").await.0, 200);
    assert_eq!(reads(&app, 8).await, 8);
    app.mutate_ok(
        "mutation { createTopic(input: {slug: \"after-outage\", name: \"After\"}) { topic { slug } } }",
        json!({}),
    )
    .await;
    drop(app);
    drop(cluster);
}

/// A statement that runs out of `statement_timeout` (here: blocked by a table lock) answers
/// 503 `TIMEOUT` with `Retry-After`, `data` present; on SQLite a write that cannot get the
/// locked file within its busy timeout answers 503 `DB_UNAVAILABLE` and writes nothing.
pub async fn a_statement_timeout_answers_503_timeout(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |c| c.statement_timeout_ms = 300).await;
    let locker = sea_orm::Database::connect(&app.database_url)
        .await
        .expect("a second connection");
    let hold = locker.begin().await.expect("begin");
    let token = format!("Bearer {}", crate::helpers::TOKEN);
    let (query, code) = if app.backend == Backend::Postgres {
        hold.execute_unprepared("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock articles");
        (READ, "TIMEOUT")
    } else {
        hold.execute_unprepared("UPDATE topics SET name = name")
            .await
            .expect("take the write lock");
        (
            "mutation { createTopic(input: {slug: \"locked-out\", name: \"Locked\"}) { topic { slug } } }",
            "DB_UNAVAILABLE",
        )
    };
    let (status, retry_after, body) = post_as(&app, query, Some(&token)).await;
    hold.rollback().await.expect("release the lock");
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
    assert_eq!(TestApp::error_code(&body), code, "{body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
    assert!(body.get("data").is_some(), "{body}");
    let text = body.to_string().to_lowercase();
    assert!(!text.contains("select") && !text.contains("sqlx"), "{body}");
    assert_eq!(app.count("topics WHERE slug = 'locked-out'").await, 0);
    assert_eq!(reads(&app, 2).await, 2, "reads after the lock");
    locker.close().await.ok();
}

/// The time budget runs from the request's arrival: a body that takes longer than the budget
/// to arrive gets 503 as soon as it is read, not a fresh budget.
pub async fn the_budget_counts_from_arrival(app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(app.backend, |c| c.request_timeout_ms = 600).await;
    let body = json!({ "query": READ }).to_string();
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let (first, rest) = body.split_at(5);
    stream.write_all(first.as_bytes()).await.expect("body");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let sent = Instant::now();
    stream.write_all(rest.as_bytes()).await.expect("body");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
        .await
        .expect("an answer")
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"timeout\""), "{answer}");
    assert!(
        sent.elapsed() < Duration::from_millis(300),
        "answered {:?} after the body",
        sent.elapsed()
    );
    assert_eq!(reads(&app, 1).await, 1);
}

/// `/readyz` answers 200 when the database answers and no migration is pending, 503 with the
/// reason otherwise; `/healthz` does not ask the database.
pub async fn readyz_follows_the_database(app: TestApp) {
    let (status, body) = probe(&app, "/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    let latest = "(SELECT MAX(version) FROM seaql_migrations)";
    let version = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT version, applied_at FROM seaql_migrations WHERE version = {latest}"),
        ))
        .await
        .expect("the latest migration")
        .expect("a row");
    let name: String = version.try_get("", "version").unwrap();
    let applied_at: i64 = version.try_get("", "applied_at").unwrap();
    app.db
        .execute_unprepared(&format!(
            "DELETE FROM seaql_migrations WHERE version = '{name}'"
        ))
        .await
        .expect("forget the latest migration");
    let (status, body) = probe(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("1 migration(s) pending"), "{body}");
    assert!(body.contains(&name), "{body}");
    assert_eq!(probe(&app, "/healthz").await.0, 200);
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{name}', {applied_at})"
        ))
        .await
        .expect("restore the migration row");
    assert_eq!(probe(&app, "/readyz").await.0, 200);
}
