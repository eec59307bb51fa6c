//! Persisted queries: Apollo's automatic persisted queries (APQ) over POST and GET, their
//! bounds and bad input, trusted-documents mode, `annals persisted`, and documents shared by
//! two servers on one database.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TOKEN, TestApp, TestDb};

const QUERY: &str = "query Topic($slug: String!) { topic(slug: $slug) { slug name } }";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn extension(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs a hash-only request (`query` absent).
async fn by_hash(app: &TestApp, hash: &str, variables: Value) -> (u16, Value) {
    app.post_json(&json!({ "variables": variables, "extensions": extension(hash) }))
        .await
}

/// POSTs the text with its hash.
async fn with_text(app: &TestApp, query: &str, variables: Value) -> (u16, Value) {
    app.post_json(&json!({
        "query": query,
        "variables": variables,
        "extensions": extension(&sha256(query)),
    }))
    .await
}

async fn get(app: &TestApp, params: &[(&str, String)]) -> (u16, Value) {
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(params)
        .send()
        .await
        .expect("GET /graphql");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn assert_not_found(body: &Value) {
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body:#}"
    );
    TestApp::assert_error(body, "PERSISTED_QUERY_NOT_FOUND", None);
    assert!(body.get("data").is_none(), "{body:#}");
}

fn khrushchev() -> Value {
    json!({ "slug": "nikita-khrushchev" })
}

/// Miss, register, hit: the protocol Apollo's link speaks, under both response media types.
pub async fn persisted_apq_miss_register_hit(app: TestApp) {
    let hash = sha256(QUERY);
    let (status, body) = by_hash(&app, &hash, khrushchev()).await;
    assert_eq!(status, 200, "{body:#}");
    assert_not_found(&body);
    // Under application/graphql-response+json the same error comes with 400 (a request
    // error); Apollo's link reads the body either way.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "extensions": extension(&hash), "variables": khrushchev() }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_not_found(&response.json().await.unwrap());
    assert_eq!(app.count("persisted_queries").await, 0);

    let (status, body) = with_text(&app, QUERY, khrushchev()).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["data"]["topic"]["slug"], "nikita-khrushchev",
        "{body:#}"
    );
    assert_eq!(app.count("persisted_queries").await, 1);

    // Known: no statement for the text (the cache answers), and the stored text runs.
    let before = app.statements();
    let (status, body) = by_hash(&app, &hash, khrushchev()).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["data"]["topic"]["name"], "Nikita Khrushchev",
        "{body:#}"
    );
    let plain = app.statements();
    app.data(QUERY, khrushchev()).await;
    assert_eq!(
        plain - before,
        app.statements() - plain,
        "a hit costs what the text costs"
    );
    // Registering again is harmless.
    let (_, body) = with_text(&app, QUERY, khrushchev()).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(app.count("persisted_queries").await, 1);
}

/// GET with the hash only runs a known query; a stored mutation is refused with 405.
pub async fn persisted_apq_over_get(app: TestApp) {
    let hash = sha256(QUERY);
    let ext = extension(&hash).to_string();
    let vars = khrushchev().to_string();
    let (status, body) = get(
        &app,
        &[("extensions", ext.clone()), ("variables", vars.clone())],
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert_not_found(&body);
    // Registered over GET too (a query).
    let (status, body) = get(
        &app,
        &[
            ("query", QUERY.to_owned()),
            ("extensions", ext.clone()),
            ("variables", vars.clone()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["data"]["topic"]["slug"], "nikita-khrushchev");
    let (status, body) = get(&app, &[("extensions", ext), ("variables", vars)]).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["data"]["topic"]["slug"], "nikita-khrushchev",
        "{body:#}"
    );
    // Without a query or a hash GET still says what it needs.
    let (status, _) = get(&app, &[("variables", "{}".to_owned())]).await;
    assert_eq!(status, 400);

    // A mutation registered over POST, then sent by hash over GET.
    let mutation =
        "mutation M($input: CreateTopicInput!) { createTopic(input: $input) { topic { slug } } }";
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({
            "query": mutation,
            "variables": { "input": { "slug": "apq-topic", "name": "APQ" } },
            "extensions": extension(&sha256(mutation)),
        }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["data"]["createTopic"]["topic"]["slug"], "apq-topic",
        "{body:#}"
    );
    let topics = app.count("topics").await;
    let response = app
        .client
        .get(app.url("/graphql"))
        .bearer_auth(TOKEN)
        .query(&[
            ("extensions", extension(&sha256(mutation)).to_string()),
            (
                "variables",
                json!({ "input": { "slug": "apq-topic-2", "name": "APQ" } }).to_string(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(app.count("topics").await, topics, "the GET ran nothing");
}

/// Malformed extensions, wrong hashes and oversize documents: clear codes, nothing stored.
pub async fn persisted_apq_bad_input(app: TestApp) {
    let bad = [
        json!({ "persistedQuery": "abc" }),
        json!({ "persistedQuery": { "version": 2, "sha256Hash": sha256(QUERY) } }),
        json!({ "persistedQuery": { "sha256Hash": sha256(QUERY) } }),
        json!({ "persistedQuery": { "version": 1 } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": 12 } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc123" } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "z".repeat(64) } }),
    ];
    for extensions in bad {
        for query in [None, Some(QUERY)] {
            let mut body = json!({ "variables": khrushchev(), "extensions": extensions });
            if let Some(query) = query {
                body["query"] = json!(query);
            }
            let (status, response) = app.post_json(&body).await;
            assert_eq!(status, 200, "{response:#}");
            TestApp::assert_error(
                &response,
                "BAD_USER_INPUT",
                Some("extensions.persistedQuery"),
            );
        }
    }
    // The text does not hash to the hash.
    let (_, body) = app
        .post_json(&json!({
            "query": QUERY,
            "variables": khrushchev(),
            "extensions": extension(&sha256("{ topics(first: 2) { nodes { slug } } }")),
        }))
        .await;
    TestApp::assert_error(
        &body,
        "BAD_USER_INPUT",
        Some("extensions.persistedQuery.sha256Hash"),
    );
    // A document that does not validate runs nothing and is not stored.
    let invalid = "{ topic(slug: \"nikita-khrushchev\") { nope } }";
    let (_, body) = with_text(&app, invalid, json!({})).await;
    TestApp::assert_error(&body, "GRAPHQL_VALIDATION_FAILED", None);
    let (_, body) = by_hash(&app, &sha256(invalid), json!({})).await;
    assert_not_found(&body);
    assert_eq!(app.count("persisted_queries").await, 0);
    // Upper-case hex is the same hash.
    let (_, body) = app
        .post_json(&json!({
            "query": QUERY,
            "variables": khrushchev(),
            "extensions": extension(&sha256(QUERY).to_ascii_uppercase()),
        }))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let (_, body) = by_hash(&app, &sha256(QUERY), khrushchev()).await;
    assert!(body.get("errors").is_none(), "{body:#}");

    // Over the query-size limit: refused before anything, not stored.
    let small = TestApp::spawn_with(app.backend, |c| c.limits.query_bytes = 100).await;
    let long = format!(
        "{{ topics(first: 2) {{ nodes {{ slug }} }} }} # {}",
        "x".repeat(200)
    );
    let (status, body) = with_text(&small, &long, json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    TestApp::assert_error(&body, "LIMIT_EXCEEDED", None);
    assert_eq!(body["errors"][0]["extensions"]["limit"], "querySize");
    assert_eq!(small.count("persisted_queries").await, 0);
}

/// Past `persisted-queries-max` the least recently used documents are evicted, in the table
/// every replica shares.
pub async fn persisted_apq_eviction(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |c| c.persisted_queries_max = 3).await;
    let queries: Vec<String> = (0..5)
        .map(|i| format!("query Q{i} {{ topics(first: 2) {{ nodes {{ slug }} }} }}"))
        .collect();
    for query in &queries {
        let (_, body) = with_text(&app, query, json!({})).await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    assert_eq!(app.count("persisted_queries").await, 3);
    // A fresh server on the same database (an empty cache) sees what the table kept.
    let other = TestApp::spawn_on(
        app.backend,
        TestDb::existing(app.database_url.clone()),
        |c| c.persisted_queries_max = 3,
    )
    .await;
    for (i, query) in queries.iter().enumerate() {
        let (_, body) = by_hash(&other, &sha256(query), json!({})).await;
        if i < 2 {
            assert_not_found(&body);
        } else {
            assert!(body.get("errors").is_none(), "Q{i}: {body:#}");
        }
    }
}

/// Registered through one server, run by hash through another on the same database.
pub async fn persisted_shared_across_servers(app: TestApp) {
    let other = TestApp::spawn_on(
        app.backend,
        TestDb::existing(app.database_url.clone()),
        |_| {},
    )
    .await;
    let hash = sha256(QUERY);
    assert_not_found(&by_hash(&other, &hash, khrushchev()).await.1);
    let (_, body) = with_text(&app, QUERY, khrushchev()).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let (_, body) = by_hash(&other, &hash, khrushchev()).await;
    assert_eq!(
        body["data"]["topic"]["slug"], "nikita-khrushchev",
        "{body:#}"
    );
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn apollo_manifest(operations: &[(&str, &str)]) -> String {
    json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": operations
            .iter()
            .map(|(name, body)| json!({ "id": sha256(body), "name": name, "type": "query", "body": body }))
            .collect::<Vec<_>>(),
    })
    .to_string()
}

/// Trusted-documents mode: only registered documents run (by hash or text); clients cannot
/// register; an editor token runs anything.
pub async fn persisted_trusted_documents(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |c| c.trusted_documents = true).await;
    let other = "{ topics(first: 2) { nodes { slug } } }";
    let (status, body) = app.post_json(&json!({ "query": other })).await;
    assert_eq!(status, 200);
    TestApp::assert_error(&body, "PERSISTED_QUERY_NOT_TRUSTED", None);
    let (_, body) = with_text(&app, other, json!({})).await;
    TestApp::assert_error(&body, "PERSISTED_QUERY_NOT_TRUSTED", None);
    let (_, body) = by_hash(&app, &sha256(other), json!({})).await;
    TestApp::assert_error(&body, "PERSISTED_QUERY_NOT_TRUSTED", None);
    assert_eq!(
        app.count("persisted_queries").await,
        0,
        "clients cannot register"
    );

    let dir = tempfile::tempdir().unwrap();
    let manifest = write(&dir, "manifest.json", &apollo_manifest(&[("Topic", QUERY)]));
    let (ok, stdout, stderr) = app.cli(&["persisted", "add", &manifest]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 trusted document"), "{stdout}");
    let (_, body) = by_hash(&app, &sha256(QUERY), khrushchev()).await;
    assert_eq!(
        body["data"]["topic"]["slug"], "nikita-khrushchev",
        "{body:#}"
    );
    let (_, body) = with_text(&app, QUERY, khrushchev()).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let body = app.query(QUERY, khrushchev()).await;
    assert!(
        body.get("errors").is_none(),
        "the registered text runs as text: {body:#}"
    );

    // An editor (GraphiQL) runs anything.
    let body = app
        .query_as(Some(&format!("Bearer {TOKEN}")), other, json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let body = app.query_as(Some("Bearer wrong"), other, json!({})).await;
    TestApp::assert_error(&body, "PERSISTED_QUERY_NOT_TRUSTED", None);
}

/// `annals persisted add` reads Apollo's manifest, graphql-codegen's persisted documents and
/// .graphql files; `list` shows them, `remove` forgets one; bad input is one line and a
/// non-zero exit.
pub async fn persisted_cli_add_list_remove(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let a = "query A { topics(first: 2) { nodes { slug } } }";
    let b = "query B { topic(slug: \"nikita-khrushchev\") { name } }";
    let c = "query C { topics(first: 2) { nodes { name } } }\n";
    let apollo = write(&dir, "apollo.json", &apollo_manifest(&[("A", a)]));
    let codegen = write(
        &dir,
        "persisted-documents.json",
        &json!({ sha256(b): b }).to_string(),
    );
    let plain = write(&dir, "c.graphql", c);
    let (ok, stdout, stderr) = app.cli(&["persisted", "add", &apollo, &codegen, &plain]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("3 trusted document(s) registered from 3 file(s)"),
        "{stdout}"
    );
    let (ok, stdout, stderr) = app.cli(&["persisted", "list"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(
        stdout.contains(&format!("{}\ttrusted\tA", sha256(a))),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{}\ttrusted\t-", sha256(b))),
        "{stdout}"
    );
    // The server runs them by hash.
    for doc in [a, b, c] {
        let (_, body) = by_hash(&app, &sha256(doc), json!({})).await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    let (ok, _, stderr) = app.cli(&["persisted", "remove", &sha256(c)]);
    assert!(ok, "{stderr}");
    assert_eq!(app.count("persisted_queries").await, 2);

    let failure = |args: &[&str], expect: &str| {
        let (ok, _, stderr) = app.cli(args);
        assert!(!ok, "expected failure: {args:?}");
        let stderr = stderr.trim_end();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(expect), "{expect:?} in {stderr:?}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    failure(&["persisted", "add", "/no/such/file.json"], "cannot read");
    let broken = write(&dir, "broken.json", "{ \"format\": ");
    failure(&["persisted", "add", &broken], "not valid JSON");
    let wrong = write(
        &dir,
        "wrong.json",
        &json!({ "0".repeat(64): a }).to_string(),
    );
    failure(&["persisted", "add", &wrong], "not the SHA-256");
    let sha1 = write(&dir, "sha1.json", &json!({ "a".repeat(40): a }).to_string());
    failure(&["persisted", "add", &sha1], "hashAlgorithm");
    let unparsable = write(&dir, "bad.graphql", "query {");
    failure(&["persisted", "add", &unparsable], "not a GraphQL document");
    failure(&["persisted", "remove", "nope"], "not a SHA-256");
    failure(&["persisted", "remove", &sha256(c)], "no persisted query");
    // A failing file among good ones writes nothing.
    let d = write(
        &dir,
        "d.graphql",
        "query D { topics(first: 2) { nodes { slug } } }",
    );
    failure(&["persisted", "add", &d, &wrong], "not the SHA-256");
    assert_eq!(app.count("persisted_queries").await, 2);
}

/// One graphql-transport-ws exchange: `connection_init` (with `payload`), one `subscribe`,
/// and the first message answering it.
async fn over_websocket(app: &TestApp, init: Value, payload: Value) -> Value {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(
        json!({ "type": "connection_init", "payload": init }).to_string(),
    ))
    .await
    .unwrap();
    let ack = read_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws.send(Message::text(
        json!({ "id": "1", "type": "subscribe", "payload": payload }).to_string(),
    ))
    .await
    .unwrap();
    read_json(&mut ws).await
}

async fn read_json(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(15), ws.next())
            .await
            .expect("an answer within 15 s");
        match message {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

/// Over WebSocket the protocol applies too: a known hash runs, a stored mutation is still
/// refused (also behind an empty text, over GET as well), and trusted mode holds.
pub async fn persisted_over_websocket(app: TestApp) {
    let (_, body) = with_text(&app, QUERY, khrushchev()).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let answer = over_websocket(
        &app,
        json!({}),
        json!({ "query": "", "variables": khrushchev(), "extensions": extension(&sha256(QUERY)) }),
    )
    .await;
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(
        answer["payload"]["data"]["topic"]["slug"],
        "nikita-khrushchev"
    );

    let mutation = "mutation { deleteArticle(id: \"QXJ0aWNsZTox\") { __typename } }";
    // Register the mutation's text without deleting anything: a dry run.
    let (_, body) = app
        .post_json(&json!({
            "query": mutation,
            "extensions": { "dryRun": true, "persistedQuery": { "version": 1, "sha256Hash": sha256(mutation) } },
        }))
        .await;
    let stored = app.count("persisted_queries").await;
    assert_eq!(stored, 2, "the dry run passed the guards: {body:#}");
    let answer = over_websocket(
        &app,
        json!({ "authorization": format!("Bearer {TOKEN}") }),
        json!({ "query": "", "extensions": extension(&sha256(mutation)) }),
    )
    .await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"], "FORBIDDEN",
        "{answer}"
    );
    let response = app
        .client
        .get(app.url("/graphql"))
        .bearer_auth(TOKEN)
        .query(&[
            ("query", String::new()),
            ("extensions", extension(&sha256(mutation)).to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(app.count("articles").await, 1, "nothing was deleted");

    // Trusted mode over the socket.
    let trusted = TestApp::spawn_with(app.backend, |c| c.trusted_documents = true).await;
    let answer = over_websocket(
        &trusted,
        json!({}),
        json!({ "query": QUERY, "variables": khrushchev() }),
    )
    .await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_TRUSTED"
    );
}
