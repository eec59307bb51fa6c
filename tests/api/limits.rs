//! The guards of the public endpoint: each refuses an input just over its limit with
//! LIMIT_EXCEEDED naming it, and the server keeps serving.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::TestApp;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// Sends a query accepting application/graphql-response+json; returns status and body.
async fn strict(app: &TestApp, query: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", GRAPHQL_RESPONSE)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn assert_limit(app: &TestApp, query: &str, limit: &str) {
    let started = Instant::now();
    let (status, body) = strict(app, query).await;
    assert_eq!(
        TestApp::error_code(&body),
        "LIMIT_EXCEEDED",
        "{limit}: {body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["limit"], limit, "{body}");
    assert_eq!(status, 400, "{limit}: graphql-response+json gets 400");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{limit} refused promptly"
    );
    // The same request as application/json is 200 with the same error.
    let (status, body) = app.post_json(&json!({ "query": query })).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["extensions"]["limit"], limit);
    app.assert_healthy().await;
}

/// Deeply nested value literals are refused before the parser can overflow its stack.
pub async fn value_nesting_is_refused(app: TestApp) {
    for levels in [65, 2_000, 10_000] {
        let query = format!(
            "{{ __typename(x: {}1{}) }}",
            "[".repeat(levels),
            "]".repeat(levels)
        );
        assert_limit(&app, &query, "nesting").await;
    }
    let object = format!(
        "{{ __typename(x: {}1{}) }}",
        "{a: ".repeat(3_000),
        "}".repeat(3_000)
    );
    assert_limit(&app, &object, "nesting").await;
}

/// Fragment fan-out is counted before expansion and refused at once.
pub async fn fragment_fan_out_is_refused(app: TestApp) {
    let mut query = String::from("{ article(slug: \"de-stalinization\") { ...F0 } }\n");
    for i in 0..24 {
        query.push_str(&format!(
            "fragment F{i} on Article {{ ...F{} ...F{} }}\n",
            i + 1,
            i + 1
        ));
    }
    query.push_str("fragment F24 on Article { title }\n");
    assert_limit(&app, &query, "selections").await;
}

/// Depth, complexity, aliases, root fields, directives and query size each have a limit.
pub async fn shape_limits_are_enforced(app: TestApp) {
    // Depth 16 (limit 15), through single objects so complexity stays low:
    // article > section > article > section > ... > slug.
    let nest = |depth: usize| {
        let wrappers = depth - 2; // the root article and the innermost field
        let mut query = String::from("{ article(slug: \"de-stalinization\") { ");
        for i in 0..wrappers {
            query.push_str(if i % 2 == 0 {
                "section(slug: \"legacy\") { "
            } else {
                "article { "
            });
        }
        query.push_str("slug");
        query.push_str(&" }".repeat(wrappers + 2));
        query
    };
    assert_limit(&app, &nest(16), "depth").await;
    app.data(&nest(15), json!({})).await;

    // 100 x 100 x 100 nested connections: up to 1,010,100 nodes, over the 500,000 limit.
    assert_limit(&app, "{ topics(first: 100) { nodes { articles(first: 100) { nodes { revisions(first: 100) { nodes { version } } } } } } }", "complexity").await;
    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    assert_limit(
        &app,
        &format!("{{ article(slug: \"x\") {{ {aliases} }} }}"),
        "aliases",
    )
    .await;
    let roots: String = (0..21).map(|_| "__typename ").collect();
    assert_limit(&app, &format!("{{ {roots} }}"), "rootFields").await;
    let directives = "@skip(if: false) ".repeat(6);
    assert_limit(
        &app,
        &format!("{{ __typename {directives} }}"),
        "directives",
    )
    .await;
    let padding = "#".repeat(64 * 1024);
    assert_limit(&app, &format!("{padding}\n{{ __typename }}"), "querySize").await;
}

/// A body over 1 MiB is 413, also when streamed without a length, and memory stays bounded.
pub async fn oversized_bodies_are_refused(app: TestApp) {
    let big = json!({ "query": format!("{{ __typename }} #{}", "x".repeat(1024 * 1024)) });
    let (status, body) = app.post_json(&big).await;
    assert_eq!(status, 413);
    assert_eq!(
        body["errors"][0]["extensions"]["limit"], "bodySize",
        "{body}"
    );
    // A 50 MiB body streamed in chunks with no Content-Length.
    let chunks =
        futures::stream::iter((0..50).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024 * 1024])));
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    }
    app.assert_healthy().await;
}

/// A batch holds at most 10 operations.
pub async fn batches_are_bounded(app: TestApp) {
    let ten: Vec<Value> = (0..10)
        .map(|_| json!({ "query": "{ __typename }" }))
        .collect();
    let (status, body) = app.post_json(&Value::Array(ten)).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 10);
    let eleven: Vec<Value> = (0..11)
        .map(|_| json!({ "query": "{ __typename }" }))
        .collect();
    let (status, body) = app.post_json(&Value::Array(eleven)).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["limit"], "batch", "{body}");
    app.assert_healthy().await;
}

/// A request over its time budget is stopped with a clear error.
pub async fn slow_requests_time_out(app: TestApp) {
    let hurried = TestApp::spawn_with(app.backend, |c| c.request_timeout_ms = 0).await;
    let (status, body) = hurried
        .post_json(&json!({ "query": "{ articles { nodes { sections { body } } } }" }))
        .await;
    assert_eq!(status, 503);
    assert_eq!(
        body["errors"][0]["extensions"]["limit"], "timeout",
        "{body}"
    );
    hurried.assert_healthy().await;
}

/// More than 100 headers is 431; a client that never finishes its headers is cut off.
pub async fn header_abuse_is_refused(app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut request = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..101 {
        request.push_str(&format!("X-H{i}: v\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = vec![0; 64];
    let n = stream.read(&mut response).await.unwrap();
    let head = String::from_utf8_lossy(&response[..n]);
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");

    let slow = TestApp::spawn_with(app.backend, |c| c.limits.header_read_timeout_ms = 300).await;
    let mut stream = tokio::net::TcpStream::connect(slow.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buffer = vec![0; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
        .await
        .expect("server cut the connection")
        .unwrap_or(0);
    assert!(started.elapsed() < Duration::from_secs(5));
    let head = String::from_utf8_lossy(&buffer[..n]);
    assert!(n == 0 || head.starts_with("HTTP/1.1 408"), "{head}");
    slow.assert_healthy().await;
}

/// Every PostgreSQL statement runs under `statement_timeout`; a request that cannot get a
/// pooled connection gives up well within its budget. Either way the server keeps serving.
pub async fn database_time_limits_hold(app: TestApp) {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if app.backend == crate::helpers::Backend::Postgres {
        let strict = TestApp::spawn_with(app.backend, |c| c.statement_timeout_ms = 50).await;
        let started = Instant::now();
        let slow = strict
            .db
            .execute_unprepared("SELECT pg_sleep(2)")
            .await
            .expect_err("pg_sleep(2) must be cancelled");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "cancelled after {:?}",
            started.elapsed()
        );
        assert!(slow.to_string().contains("statement timeout"), "{slow}");
        strict.assert_healthy().await;
    }
    let starved = TestApp::spawn_with(app.backend, |c| {
        c.db_max_connections = 1;
        c.db_acquire_timeout_ms = 200;
    })
    .await;
    let hold = starved.db.begin().await.expect("take the only connection");
    let started = Instant::now();
    let (status, body) = starved
        .post_json(&json!({ "query": "{ articles { totalCount } }" }))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up after {:?}",
        started.elapsed()
    );
    // An exhausted pool is the database being unavailable, not a server bug: retryable.
    assert_eq!(status, 503, "{body}");
    assert_eq!(TestApp::error_code(&body), "DB_UNAVAILABLE", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 1, "{body}");
    hold.rollback().await.unwrap();
    starved.data("{ articles { totalCount } }", json!({})).await;
    starved.assert_healthy().await;
}

const FULL_ARTICLE: &str = "{ article(slug: \"de-stalinization\") { title summary sections { heading body reforms { title description topics { name } } reactions { title description } } } }";

/// A response that grows past `max-response-bytes` while executing is stopped and answered
/// with one LIMIT_EXCEEDED error naming `responseSize` (execution had begun: `data` is null,
/// HTTP 200 even under graphql-response+json); the same query under the limit answers in full.
pub async fn responses_over_the_size_limit_are_refused(app: TestApp) {
    let full = app.data(FULL_ARTICLE, json!({})).await;
    let size = serde_json::to_vec(&full).unwrap().len() as u64;
    assert!(size > 2_000, "the seed article is {size} bytes");
    let small = TestApp::spawn_with(app.backend, move |c| {
        c.limits.response_bytes = size / 2;
    })
    .await;
    let (status, body) = strict(&small, FULL_ARTICLE).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(TestApp::error_code(&body), "LIMIT_EXCEEDED", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "responseSize");
    assert_eq!(
        body["errors"].as_array().unwrap().len(),
        1,
        "one error: {body}"
    );
    assert!(body["data"].is_null(), "{body}");
    // Smaller answers still come through on the same server, and the limit is not cumulative.
    for _ in 0..3 {
        let title = small
            .data(
                "{ article(slug: \"de-stalinization\") { title } }",
                json!({}),
            )
            .await;
        assert_eq!(title["article"]["title"], full["article"]["title"]);
    }
    // Just over the response's own size passes.
    let roomy = TestApp::spawn_with(app.backend, move |c| {
        c.limits.response_bytes = size + size / 4;
    })
    .await;
    assert_eq!(roomy.data(FULL_ARTICLE, json!({})).await, full);
}

/// With a response memory budget of one response, concurrent large queries wait their turn
/// and all complete (admission queues; it never deadlocks or fails them).
pub async fn large_queries_queue_for_response_memory(app: TestApp) {
    let tight = TestApp::spawn_with(app.backend, |c| {
        c.limits.response_bytes = 256 * 1024;
        c.limits.response_memory_bytes = 256 * 1024;
    })
    .await;
    let expected = tight.data(FULL_ARTICLE, json!({})).await;
    let queries = (0..8).map(|_| tight.data(FULL_ARTICLE, json!({})));
    for body in futures::future::join_all(queries).await {
        assert_eq!(body, expected);
    }
    tight.assert_healthy().await;
}
