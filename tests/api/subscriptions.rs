//! Subscriptions: the graphql-transport-ws protocol at /graphql/ws, article change events on
//! both backends, events across server processes (PostgreSQL), and shutdown.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use annals::events::{ArticleEvent, ChangeKind};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::helpers::{Backend, SEED, ServeProcess, TestApp};

const SLUG: &str = "de-stalinization";
const CHANGES: &str = "subscription($slug: String) { articleChanged(slug: $slug) { kind articleId slug version article { title version } } }";

/// A graphql-transport-ws client.
struct Ws(WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>);

/// What the server sent next.
#[derive(Debug)]
enum Got {
    Json(Value),
    Close(u16, String),
    /// The connection ended without a close frame.
    Gone,
}

impl Ws {
    async fn connect(addr: impl std::fmt::Display) -> Self {
        Self::connect_with(addr, Some("graphql-transport-ws")).await
    }

    async fn connect_with(addr: impl std::fmt::Display, protocol: Option<&str>) -> Self {
        let mut request = format!("ws://{addr}/graphql/ws")
            .into_client_request()
            .expect("request");
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(protocol).unwrap(),
            );
        }
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket handshake");
        Self(stream)
    }

    /// Connects and completes `connection_init` / `connection_ack`.
    async fn ready(addr: impl std::fmt::Display) -> Self {
        let mut ws = Self::connect(addr).await;
        ws.send(json!({ "type": "connection_init", "payload": {} }))
            .await;
        assert_eq!(ws.json().await["type"], "connection_ack");
        ws
    }

    async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    async fn send_text(&mut self, text: String) {
        self.0.send(Message::text(text)).await.expect("send");
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message or close, within 15 s.
    async fn next(&mut self) -> Got {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let message = tokio::time::timeout_at(deadline, self.0.next())
                .await
                .expect("a message from the server within 15 s");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Got::Json(serde_json::from_str(text.as_str()).expect("JSON"));
                }
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Got::Close(frame.code.into(), frame.reason.to_string());
                }
                Some(Ok(Message::Close(None)) | Err(_)) | None => return Got::Gone,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next message, which must be JSON.
    async fn json(&mut self) -> Value {
        match self.next().await {
            Got::Json(value) => value,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The close frame the server sends next.
    async fn closed(&mut self) -> (u16, String) {
        match self.next().await {
            Got::Close(code, reason) => (code, reason),
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    /// Round-trips a `ping`: every message the server sent before the `pong`, which proves
    /// everything sent earlier was handled.
    async fn sync(&mut self) -> Vec<Value> {
        self.send(json!({ "type": "ping" })).await;
        let mut before = Vec::new();
        loop {
            let message = self.json().await;
            if message["type"] == "pong" {
                return before;
            }
            before.push(message);
        }
    }
}

/// Waits until the in-process server has `n` subscribers on its bus.
async fn subscribers(app: &TestApp, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.events.subscribers() < n {
        assert!(Instant::now() < deadline, "subscribers never reached {n}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The seed document with a paragraph no earlier call added, so that replacing an article
/// with it is a change (replacing with identical content writes nothing and announces nothing).
fn edited_seed() -> String {
    static EDITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let n = EDITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{SEED}\nEdit number {n}.")
}

/// Imports an edited seed document as `slug` (replacing it) through the `annals` command line.
fn cli_import(app: &TestApp, slug: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("edited.txt");
    std::fs::write(&file, edited_seed()).unwrap();
    let file = file.display().to_string();
    let (ok, _, stderr) = app.cli(&["import", &file, "--slug", slug, "--replace"]);
    assert!(ok, "annals import failed: {stderr}");
}

/// Imports an edited seed document as `slug` in this process through the editing layer,
/// which publishes on the app's bus after the commit, as a mutation does.
async fn import_in_process(app: &TestApp, slug: &str) -> ArticleEvent {
    import_through(app, slug, app.events.clone()).await
}

/// Imports an edited seed document as `slug` in this process, announcing it on `events`
/// (a publisher bus stands for another process: on PostgreSQL its events reach the
/// server only through NOTIFY).
async fn import_through(
    app: &TestApp,
    slug: &str,
    events: annals::events::EventBus,
) -> ArticleEvent {
    let editing = annals::editing::Editing::new(app.db.clone(), events);
    let request = annals::editing::import::ImportRequest {
        document: edited_seed(),
        slug: Some(slug.to_owned()),
        replace: true,
        reforms_under: None,
        reactions_under: None,
    };
    let article = annals::editing::import::import(&editing, "test", request)
        .await
        .unwrap_or_else(|e| panic!("import: {}", e.message()))
        .article;
    ArticleEvent {
        kind: if article.version == 1 {
            ChangeKind::Created
        } else {
            ChangeKind::Updated
        },
        article_id: article.id,
        slug: article.slug,
        version: article.version,
    }
}

/// Makes a committed change to `slug` the way this backend can announce it to the test's
/// server: the CLI on PostgreSQL (NOTIFY from another process), in-process on SQLite.
async fn change(app: &TestApp, slug: &str) {
    match app.backend {
        Backend::Postgres => cli_import(app, slug),
        Backend::Sqlite => {
            import_in_process(app, slug).await;
        }
    }
}

async fn article_id(app: &TestApp, slug: &str) -> String {
    let data = app
        .data(
            "query($slug: String!) { article(slug: $slug) { id } }",
            json!({ "slug": slug }),
        )
        .await;
    data["article"]["id"].as_str().unwrap().to_owned()
}

pub async fn an_event_arrives_after_a_committed_change(app: TestApp) {
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe("1", CHANGES, json!({ "slug": SLUG })).await;
    assert!(ws.sync().await.is_empty());
    subscribers(&app, 1).await;
    change(&app, SLUG).await;
    let message = ws.json().await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], "1");
    let change = &message["payload"]["data"]["articleChanged"];
    assert_eq!(change["kind"], "UPDATED");
    assert_eq!(change["slug"], SLUG);
    assert_eq!(change["version"], 2);
    assert_eq!(change["articleId"], article_id(&app, SLUG).await.as_str());
    assert_eq!(change["article"]["title"], "De-Stalinization");
    assert_eq!(change["article"]["version"], 2);
    // The stream stays open: completing it ends it quietly.
    ws.send(json!({ "id": "1", "type": "complete" })).await;
    assert!(ws.sync().await.is_empty());
}

pub async fn slug_filter_and_created_events(app: TestApp) {
    let mut all = Ws::ready(app.addr).await;
    all.subscribe("all", CHANGES, json!({ "slug": null })).await;
    let mut one = Ws::ready(app.addr).await;
    one.subscribe("one", CHANGES, json!({ "slug": SLUG })).await;
    let mut other = Ws::ready(app.addr).await;
    other
        .subscribe("new", CHANGES, json!({ "slug": "a-new-article" }))
        .await;
    for ws in [&mut all, &mut one, &mut other] {
        assert!(ws.sync().await.is_empty());
    }
    subscribers(&app, 3).await;

    change(&app, "a-new-article").await;
    change(&app, SLUG).await;

    let first = all.json().await;
    let created = &first["payload"]["data"]["articleChanged"];
    assert_eq!(created["kind"], "CREATED", "{first}");
    assert_eq!(created["slug"], "a-new-article");
    assert_eq!(created["version"], 1);
    let second = all.json().await;
    assert_eq!(second["payload"]["data"]["articleChanged"]["slug"], SLUG);

    // The slug subscriber's first event is its own article's: it skipped the other one.
    let mine = one.json().await;
    assert_eq!(mine["payload"]["data"]["articleChanged"]["slug"], SLUG);
    assert_eq!(mine["payload"]["data"]["articleChanged"]["kind"], "UPDATED");
    let theirs = other.json().await;
    assert_eq!(
        theirs["payload"]["data"]["articleChanged"]["slug"],
        "a-new-article"
    );
    // Nothing else for either: one more change to each one's article is the next thing each
    // hears (a process's subscribers get events in one order, so anything else would have
    // come first).
    change(&app, SLUG).await;
    let next = one.json().await;
    assert_eq!(
        next["payload"]["data"]["articleChanged"]["slug"], SLUG,
        "{next}"
    );
    assert_eq!(
        next["payload"]["data"]["articleChanged"]["version"], 3,
        "{next}"
    );
    change(&app, "a-new-article").await;
    let next = other.json().await;
    let changed = &next["payload"]["data"]["articleChanged"];
    assert_eq!(changed["slug"], "a-new-article", "{next}");
    assert_eq!(changed["kind"], "UPDATED", "{next}");
}

pub async fn an_invalid_slug_is_bad_user_input(app: TestApp) {
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe("1", CHANGES, json!({ "slug": "Not A Slug" }))
        .await;
    let message = ws.json().await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(TestApp::error_code(&message["payload"]), "BAD_USER_INPUT");
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["field"],
        "slug"
    );
    assert_eq!(ws.json().await, json!({ "id": "1", "type": "complete" }));
    assert_eq!(app.events.subscribers(), 0);
}

pub async fn operations_that_fail_validation_get_an_error_message(app: TestApp) {
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe("1", "subscription { noSuchField }", json!({}))
        .await;
    let message = ws.json().await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["id"], "1");
    assert_eq!(
        message["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    // An `error` ends the operation without `complete`; the id is free again.
    assert!(ws.sync().await.is_empty());
    ws.subscribe("1", "{ __typename }", json!({})).await;
    assert_eq!(ws.json().await["type"], "next");
    assert_eq!(ws.json().await["type"], "complete");
}

pub async fn queries_run_as_one_result(app: TestApp) {
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe(
        "q",
        "query($slug: String!) { article(slug: $slug) { title } }",
        json!({ "slug": SLUG }),
    )
    .await;
    assert_eq!(
        ws.json().await,
        json!({ "id": "q", "type": "next", "payload": {
            "data": { "article": { "title": "De-Stalinization" } },
            "extensions": { "cost": { "requested": 1, "limit": 500_000 } },
        } })
    );
    assert_eq!(ws.json().await, json!({ "id": "q", "type": "complete" }));
}

pub async fn mutations_over_websocket_are_forbidden(app: TestApp) {
    let revisions = app.count("revisions").await;
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe(
        "m",
        "mutation { deleteArticle(id: \"x\") { __typename } }",
        json!({}),
    )
    .await;
    let message = ws.json().await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["payload"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(app.count("revisions").await, revisions);
    assert_eq!(app.count("articles").await, 1);
}

/// The init timeout is a setting (3 s by default); shortened here so the test takes 300 ms.
pub async fn no_connection_init_within_3s_closes_4408(app: TestApp) {
    const INIT_TIMEOUT_MS: u64 = 300;
    let app = TestApp::spawn_with(app.backend, |config| {
        config.timings.ws_init_timeout_ms = INIT_TIMEOUT_MS;
    })
    .await;
    let started = Instant::now();
    let mut ws = Ws::connect(app.addr).await;
    let (code, reason) = ws.closed().await;
    let waited = started.elapsed();
    assert_eq!(code, 4408, "{reason}");
    assert_eq!(reason, "Connection initialisation timeout");
    assert!(
        waited >= Duration::from_millis(INIT_TIMEOUT_MS - 10)
            && waited < Duration::from_millis(INIT_TIMEOUT_MS + 2_000),
        "closed after {waited:?}"
    );
}

pub async fn a_duplicate_subscription_id_closes_4409(app: TestApp) {
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe("same", CHANGES, json!({})).await;
    ws.subscribe("same", CHANGES, json!({})).await;
    assert_eq!(
        ws.closed().await,
        (4409, "Subscriber for same already exists".to_owned())
    );
}

pub async fn subscribe_before_the_ack_closes_4401(app: TestApp) {
    let mut ws = Ws::connect(app.addr).await;
    ws.subscribe("1", CHANGES, json!({})).await;
    assert_eq!(ws.closed().await, (4401, "Unauthorized".to_owned()));
}

pub async fn a_second_connection_init_closes_4429(app: TestApp) {
    let mut ws = Ws::ready(app.addr).await;
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(
        ws.closed().await,
        (4429, "Too many initialisation requests".to_owned())
    );
}

pub async fn invalid_messages_close_4400(app: TestApp) {
    let invalid = [
        "not json".to_owned(),
        json!({ "type": "next", "id": "1", "payload": {} }).to_string(),
        json!({ "type": "subscribe", "payload": { "query": "{ __typename }" } }).to_string(),
        json!({ "type": "subscribe", "id": "", "payload": { "query": "{ __typename }" } })
            .to_string(),
        json!({ "type": "subscribe", "id": "1", "payload": { "variables": {} } }).to_string(),
        json!({ "type": "ping", "payload": "not an object" }).to_string(),
        json!({ "id": "1" }).to_string(),
    ];
    for text in invalid {
        let mut ws = Ws::ready(app.addr).await;
        ws.send_text(text.clone()).await;
        let (code, reason) = ws.closed().await;
        assert_eq!(code, 4400, "{text}: {reason}");
        assert!(reason.starts_with("Invalid message received"), "{reason}");
    }
    let mut ws = Ws::ready(app.addr).await;
    ws.0.send(Message::binary(b"{}".to_vec())).await.unwrap();
    assert_eq!(ws.closed().await.0, 4400);
    app.assert_healthy().await;
}

pub async fn a_socket_without_the_subprotocol_closes_4406(app: TestApp) {
    let mut ws = Ws::connect_with(app.addr, None).await;
    assert_eq!(
        ws.closed().await,
        (4406, "Subprotocol not acceptable".to_owned())
    );
}

pub async fn messages_are_bounded_at_64_kib(app: TestApp) {
    let mut ws = Ws::ready(app.addr).await;
    // Just under the bound: served (the query text is padded with insignificant spaces).
    let padding = " ".repeat(60 * 1024);
    ws.subscribe("1", &format!("{{ __typename {padding}}}"), json!({}))
        .await;
    assert_eq!(ws.json().await["type"], "next");
    assert_eq!(ws.json().await["type"], "complete");
    // Over it: the socket closes with 1009 (message too big).
    let padding = " ".repeat(65 * 1024);
    ws.subscribe("2", &format!("{{ __typename {padding}}}"), json!({}))
        .await;
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 1009, "{reason}");
    app.assert_healthy().await;
}

pub async fn at_most_100_subscriptions_per_socket(app: TestApp) {
    let mut ws = Ws::ready(app.addr).await;
    for i in 0..100 {
        ws.subscribe(&i.to_string(), CHANGES, json!({})).await;
    }
    ws.subscribe("100", CHANGES, json!({})).await;
    let refused = ws.sync().await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["type"], "error");
    assert_eq!(refused[0]["id"], "100");
    assert_eq!(
        refused[0]["payload"][0]["extensions"]["code"],
        "LIMIT_EXCEEDED"
    );
    assert_eq!(
        refused[0]["payload"][0]["extensions"]["limit"],
        "subscriptions"
    );
    subscribers(&app, 100).await;
    assert_eq!(app.events.subscribers(), 100);
    // Completing one makes room for another; the socket stayed open throughout.
    ws.send(json!({ "id": "0", "type": "complete" })).await;
    ws.subscribe("100", CHANGES, json!({})).await;
    assert!(ws.sync().await.is_empty());
    subscribers(&app, 100).await;
}

pub async fn ping_pong_and_complete(app: TestApp) {
    let mut ws = Ws::connect(app.addr).await;
    // ping is allowed before the ack, and its payload comes back.
    ws.send(json!({ "type": "ping", "payload": { "n": 1 } }))
        .await;
    assert_eq!(
        ws.json().await,
        json!({ "type": "pong", "payload": { "n": 1 } })
    );
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.json().await["type"], "connection_ack");
    ws.subscribe("x", CHANGES, json!({})).await;
    ws.subscribe("y", CHANGES, json!({})).await;
    assert!(ws.sync().await.is_empty());
    subscribers(&app, 2).await;
    ws.send(json!({ "id": "x", "type": "complete" })).await;
    assert!(ws.sync().await.is_empty());
    subscribers(&app, 1).await;
    assert_eq!(app.events.subscribers(), 1);
    change(&app, SLUG).await;
    let message = ws.json().await;
    assert_eq!(message["id"], "y", "{message}");
    // x's message, had it one, was ready as soon as y's: a second change's message for y
    // is the next thing on the socket only if x got nothing.
    change(&app, SLUG).await;
    let next = ws.json().await;
    assert_eq!(next["id"], "y", "x was completed: {next}");
    assert!(ws.sync().await.is_empty(), "x was completed");
}

pub async fn a_subscriber_that_falls_behind_is_told_and_completed(app: TestApp) {
    // A small buffer (ANNALS_SUBSCRIBER_BUFFER) fills sooner.
    let app = TestApp::spawn_with(app.backend, |c| c.limits.subscriber_buffer = 16).await;
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe("slow", "subscription { articleChanged { version article { sections { heading body reforms { title } reactions { title } } } } }", json!({}))
        .await;
    let early = ws.sync().await;
    assert!(early.is_empty(), "{early:?}");
    subscribers(&app, 1).await;
    let id = {
        use sea_orm::EntityTrait;
        annals::entities::article::Entity::find()
            .all(&app.db)
            .await
            .unwrap()[0]
            .id
    };
    // Far more events than the subscriber's buffer, faster than it resolves them.
    let burst = (1..=2_000).map(|version| {
        app.events.publish(ArticleEvent {
            kind: ChangeKind::Updated,
            article_id: id,
            slug: SLUG.to_owned(),
            version,
        })
    });
    futures::future::join_all(burst).await;
    let mut delivered = 0;
    let lagged = loop {
        let message = ws.json().await;
        match message["type"].as_str() {
            Some("next") if message["payload"].get("errors").is_none() => delivered += 1,
            Some("next") => break message,
            _ => panic!("unexpected {message}"),
        }
    };
    let error = &lagged["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "LIMIT_EXCEEDED", "{lagged}");
    assert_eq!(error["extensions"]["limit"], "subscriberBuffer");
    let missed = error["extensions"]["missed"].as_u64().unwrap();
    assert!(missed > 0, "{lagged}");
    assert!(delivered + missed as usize <= 2_000);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains(&missed.to_string()),
        "{lagged}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("more than 16 events behind"),
        "the configured buffer: {lagged}"
    );
    assert_eq!(ws.json().await, json!({ "id": "slow", "type": "complete" }));
    // The writer was never held up, and the socket still works.
    assert!(ws.sync().await.is_empty());
    assert_eq!(app.events.subscribers(), 0);
}

pub async fn two_server_processes_share_events(app: TestApp) {
    if app.backend != Backend::Postgres {
        return; // SQLite has no channel between processes.
    }
    let other = ServeProcess::start(&app, &[], Stdio::inherit()).await;
    let mut ws = Ws::ready(&other.addr).await;
    ws.subscribe("1", CHANGES, json!({ "slug": SLUG })).await;
    assert!(ws.sync().await.is_empty());
    // The other process subscribes when it first polls the stream; repeat the change until
    // one arrives (each is a committed change through this process's bus: NOTIFY).
    let mut sent = Vec::new();
    let message = loop {
        assert!(sent.len() < 10, "no event reached the other process");
        sent.push(import_in_process(&app, SLUG).await.version);
        if let Ok(Got::Json(message)) =
            tokio::time::timeout(Duration::from_secs(1), ws.next()).await
        {
            break message;
        }
    };
    let change = &message["payload"]["data"]["articleChanged"];
    assert_eq!(change["kind"], "UPDATED", "{message}");
    assert_eq!(change["slug"], SLUG);
    let version = change["version"].as_i64().unwrap() as i32;
    assert!(sent.contains(&version), "{version} not in {sent:?}");
    // The article field is read by the other process from the shared database.
    assert_eq!(change["article"]["title"], "De-Stalinization");

    // And a change through the command line (a third process) reaches it too.
    cli_import(&app, SLUG);
    let message = loop {
        let message = ws.json().await;
        let v = message["payload"]["data"]["articleChanged"]["version"]
            .as_i64()
            .unwrap() as i32;
        if !sent.contains(&v) {
            break message;
        }
    };
    let after_cli = sent.iter().max().unwrap() + 1;
    assert_eq!(
        message["payload"]["data"]["articleChanged"]["version"],
        after_cli
    );

    // And a mutation through this process's HTTP endpoint reaches the other process too.
    let id = message["payload"]["data"]["articleChanged"]["articleId"].clone();
    app.mutate_ok(
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { summary: \"Changed by a mutation.\" }) { article { version } } }",
        json!({ "id": id, "v": after_cli }),
    )
    .await;
    let message = ws.json().await;
    let change = &message["payload"]["data"]["articleChanged"];
    assert_eq!(change["kind"], "UPDATED", "{message}");
    assert_eq!(change["version"], after_cli + 1, "{message}");
    assert_eq!(change["article"]["version"], after_cli + 1, "{message}");
}

pub async fn sigterm_closes_sockets_with_1001_and_exits(app: TestApp) {
    let mut server = ServeProcess::start(&app, &[], Stdio::inherit()).await;
    let mut ws = Ws::ready(&server.addr).await;
    ws.subscribe("1", CHANGES, json!({})).await;
    assert!(ws.sync().await.is_empty());
    let started = Instant::now();
    server.signal("TERM");
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 1001, "{reason}");
    let status = server.exited(Duration::from_secs(30)).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

pub async fn the_listener_reconnects_after_its_connection_drops(app: TestApp) {
    if app.backend != Backend::Postgres {
        return; // LISTEN/NOTIFY is PostgreSQL's.
    }
    use sea_orm::ConnectionTrait;
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe("1", CHANGES, json!({ "slug": SLUG })).await;
    assert!(ws.sync().await.is_empty());
    subscribers(&app, 1).await;
    // The listener's connection: its last statement is its LISTEN, or the content-version
    // read it runs after each content notification.
    let killed = app
        .db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity \
             WHERE datname = current_database() AND (query LIKE 'LISTEN%' OR query = $1)",
            [annals::store::content_version::CURRENT.into()],
        ))
        .await
        .unwrap();
    assert_eq!(killed.len(), 1, "one LISTEN connection");
    // Notifications sent while it was down are lost; repeat until one arrives. They come
    // from another bus (as from another process): the server's own reach it without NOTIFY.
    let other = annals::events::EventBus::publisher(&app.db);
    let mut sent = Vec::new();
    let message = loop {
        assert!(sent.len() < 15, "the listener never came back");
        sent.push(import_through(&app, SLUG, other.clone()).await.version);
        if let Ok(Got::Json(message)) =
            tokio::time::timeout(Duration::from_secs(1), ws.next()).await
        {
            break message;
        }
    };
    let version = message["payload"]["data"]["articleChanged"]["version"]
        .as_i64()
        .unwrap() as i32;
    assert!(sent.contains(&version), "{message}");
}

/// On PostgreSQL a process's own events reach its subscribers without the round trip
/// through LISTEN, and its listener skips their notifications: each arrives once, and
/// before another process's event sent after it.
pub async fn own_events_arrive_directly_and_once(app: TestApp) {
    if app.backend != Backend::Postgres {
        return; // LISTEN/NOTIFY is PostgreSQL's.
    }
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe("1", CHANGES, json!({ "slug": SLUG })).await;
    assert!(ws.sync().await.is_empty());
    subscribers(&app, 1).await;
    let own = import_in_process(&app, SLUG).await;
    let message = ws.json().await;
    let version = |message: &Value| message["payload"]["data"]["articleChanged"]["version"].clone();
    assert_eq!(version(&message), own.version, "{message}");
    // Notifications arrive in the order they were sent: once another bus's event is here, a
    // duplicate of the own one would have arrived before it.
    let other = import_through(&app, SLUG, annals::events::EventBus::publisher(&app.db)).await;
    let message = ws.json().await;
    assert_eq!(version(&message), other.version, "{message}");
    assert!(ws.sync().await.is_empty());
}

/// The keepalive is a setting (12 s by default); shortened here so the test takes well under
/// a second.
pub async fn a_client_that_stops_answering_pings_is_dropped(app: TestApp) {
    const KEEPALIVE_MS: u64 = 200;
    let app = TestApp::spawn_with(app.backend, |config| {
        config.timings.ws_keepalive_ms = KEEPALIVE_MS;
    })
    .await;
    let mut ws = Ws::ready(app.addr).await;
    ws.subscribe("1", CHANGES, json!({})).await;
    assert!(ws.sync().await.is_empty());
    subscribers(&app, 1).await;
    // Not reading means not answering the server's pings (tungstenite answers on read): two
    // intervals without an answer, and a margin.
    tokio::time::sleep(Duration::from_millis(3 * KEEPALIVE_MS)).await;
    // The server gave up on this client: its subscription is gone...
    assert_eq!(app.events.subscribers(), 0);
    // ...and so is the connection, without a close handshake.
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.0.next())
            .await
            .expect("the connection ends")
        {
            Some(Ok(Message::Ping(_))) => {}
            Some(Ok(other)) => panic!("unexpected {other:?}"),
            None | Some(Err(_)) => break,
        }
    }
}

/// The server completes the close handshake: a client closing with 1000 gets 1000 back.
pub async fn a_close_frame_is_echoed(app: TestApp) {
    use tokio_tungstenite::tungstenite::protocol::{CloseFrame, frame::coding::CloseCode};
    let mut ws = Ws::ready(app.addr).await;
    ws.0.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    })))
    .await
    .expect("send close");
    assert_eq!(ws.closed().await.0, 1000);
    // Before the handshake too.
    let mut ws = Ws::connect(app.addr).await;
    ws.0.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: "".into(),
    })))
    .await
    .expect("send close");
    assert_eq!(ws.closed().await.0, 1001);
}

/// A query over WebSocket runs like one over HTTP: the same statements (one per relation
/// level, from a loader of its own) and the same cost.
pub async fn queries_over_websocket_get_what_http_gets(app: TestApp) {
    annals::store::seed::seed_synthetic(&app.db, 30, &mut |_, _| {})
        .await
        .expect("synthetic seed");
    let query = "{ articles(first: 30) { nodes { title sections { heading reforms { title } } topics { slug articles { nodes { title } } } } } }";
    let before = app.statements();
    let body = app.query(query, json!({})).await;
    let over_http = app.statements() - before;
    assert!(body.get("errors").is_none(), "{body}");

    let mut ws = Ws::ready(app.addr).await;
    let before = app.statements();
    ws.subscribe("q", query, json!({})).await;
    let message = ws.json().await;
    let over_ws = app.statements() - before;
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"].get("errors").is_none(), "{message}");
    assert_eq!(message["payload"]["data"], body["data"]);
    assert_eq!(message["payload"]["extensions"], body["extensions"]);
    assert_eq!(over_ws, over_http, "statements over WebSocket and HTTP");
    assert_eq!(ws.json().await["type"], "complete");
}

/// A query over WebSocket is stopped by the request time budget, like one over HTTP.
pub async fn queries_over_websocket_have_a_time_budget(app: TestApp) {
    let hurried = TestApp::spawn_with(app.backend, |c| c.request_timeout_ms = 0).await;
    let mut ws = Ws::ready(hurried.addr).await;
    ws.subscribe(
        "q",
        "{ articles { nodes { sections { body } } } }",
        json!({}),
    )
    .await;
    let message = ws.json().await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(
        message["payload"][0]["extensions"]["limit"], "timeout",
        "{message}"
    );
    // The socket stays usable.
    assert!(ws.sync().await.is_empty());
}

/// A dry run over WebSocket answers the cost in one `next`, for a subscription too.
pub async fn a_dry_run_over_websocket_answers_at_once(app: TestApp) {
    let mut ws = Ws::ready(app.addr).await;
    ws.send(json!({ "id": "d", "type": "subscribe", "payload": {
        "query": CHANGES, "extensions": { "dryRun": true },
    } }))
    .await;
    let message = ws.json().await;
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"]["data"].is_null(), "{message}");
    assert_eq!(
        message["payload"]["extensions"]["cost"]["requested"], 2,
        "{message}"
    );
    assert_eq!(ws.json().await["type"], "complete");
    assert_eq!(app.events.subscribers(), 0);
}

/// Publishes an `Updated` event for the seed article on the app's bus (NOTIFY on PostgreSQL).
async fn publish_seed_update(app: &TestApp, version: i32) {
    use sea_orm::EntityTrait;
    let id = annals::entities::article::Entity::find()
        .all(&app.db)
        .await
        .unwrap()[0]
        .id;
    app.events
        .publish(ArticleEvent {
            kind: ChangeKind::Updated,
            article_id: id,
            slug: SLUG.to_owned(),
            version,
        })
        .await;
}

/// One event costs the same statements for 1 and for 12 subscribers of the same selection
/// (spread over several sockets): the article is resolved once and the bytes fanned out.
pub async fn statements_per_event_do_not_grow_with_subscribers(app: TestApp) {
    const DEEP: &str = "subscription($slug: String) { articleChanged(slug: $slug) { version article { title sections { heading reforms { title } reactions { title } } topics { slug } } } }";
    let mut counts = Vec::new();
    for (round, n) in [1usize, 12].into_iter().enumerate() {
        let mut sockets = Vec::new();
        for _ in 0..n.div_ceil(4) {
            sockets.push(Ws::ready(app.addr).await);
        }
        let sockets_len = sockets.len();
        for i in 0..n {
            let ws = &mut sockets[i % sockets_len];
            ws.subscribe(&i.to_string(), DEEP, json!({ "slug": SLUG }))
                .await;
        }
        for ws in &mut sockets {
            assert!(ws.sync().await.is_empty());
        }
        subscribers(&app, n).await;
        // Two events each round; the fewer statements counts (a background statement of the
        // server, such as a pool upkeep, may land in one of them under load).
        let mut fewest = u64::MAX;
        for event in 0..2 {
            let before = app.statements();
            publish_seed_update(&app, 100 + 2 * round as i32 + event).await;
            let mut got = 0;
            for (s, ws) in sockets.iter_mut().enumerate() {
                let mine = (0..n).filter(|i| i % sockets_len == s).count();
                for _ in 0..mine {
                    let message = ws.json().await;
                    assert_eq!(message["type"], "next", "{message}");
                    assert!(message["payload"].get("errors").is_none(), "{message}");
                    let sections =
                        &message["payload"]["data"]["articleChanged"]["article"]["sections"];
                    assert!(!sections.as_array().unwrap().is_empty(), "{message}");
                    got += 1;
                }
            }
            assert_eq!(got, n);
            fewest = fewest.min(app.statements() - before);
        }
        counts.push(fewest);
        drop(sockets);
        let deadline = Instant::now() + Duration::from_secs(10);
        while app.events.subscribers() > 0 {
            assert!(Instant::now() < deadline, "subscribers never left");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert_eq!(
        counts[0], counts[1],
        "statements per event for 1 and 12 subscribers: {counts:?}"
    );
}

/// `max-websockets` caps the open sockets: one more is refused at the upgrade with 503, and
/// a closed socket makes room again.
pub async fn sockets_over_the_cap_are_refused_with_503(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |config| config.limits.websockets = 2).await;
    let first = Ws::ready(app.addr).await;
    let _second = Ws::ready(app.addr).await;
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    match tokio_tungstenite::connect_async(request.clone()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("expected 503, got {other:?}"),
    }
    app.assert_healthy().await;
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio_tungstenite::connect_async(request.clone()).await {
            Ok(_) => break,
            Err(tokio_tungstenite::tungstenite::Error::Http(response))
                if response.status() == 503 =>
            {
                assert!(
                    Instant::now() < deadline,
                    "the closed socket never made room"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(err) => panic!("unexpected {err}"),
        }
    }
}

/// One subscriber that stops reading, among fast ones sharing its execution: the fast ones get
/// every event in order and are never told they fell behind; the slow one, once it reads
/// again, gets what its buffer held, one LIMIT_EXCEEDED (`subscriberBuffer`) and `complete`.
/// Its memory is the shared ring's, not a queue of its own that grows with the event rate.
pub async fn a_slow_subscriber_does_not_hold_back_the_fast_ones(app: TestApp) {
    use std::sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    };
    const HEAVY: &str = "subscription { articleChanged(slug: \"de-stalinization\") { version article { sections { heading body } } } }";
    const EVENTS: i64 = 3_000;
    let mut fast = Vec::new();
    for _ in 0..4 {
        let mut ws = Ws::ready(app.addr).await;
        ws.subscribe("s", HEAVY, json!({})).await;
        assert!(ws.sync().await.is_empty());
        fast.push(ws);
    }
    // A small receive buffer, so the server's writes to it block soon after it stops reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(app.addr).await.unwrap();
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (stream, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .expect("WebSocket handshake");
    let mut slow = Ws(stream);
    slow.send(json!({ "type": "connection_init" })).await;
    assert_eq!(slow.json().await["type"], "connection_ack");
    slow.subscribe("s", HEAVY, json!({})).await;
    assert!(slow.sync().await.is_empty());
    subscribers(&app, 5).await;
    let progress: Vec<Arc<AtomicI64>> = (0..fast.len()).map(|_| Arc::default()).collect();
    let readers: Vec<_> = fast
        .into_iter()
        .zip(progress.clone())
        .map(|(mut ws, seen)| {
            tokio::spawn(async move {
                let mut versions = Vec::new();
                while (versions.len() as i64) < EVENTS {
                    let message = ws.json().await;
                    assert_eq!(message["type"], "next", "{message}");
                    assert!(
                        message["payload"].get("errors").is_none(),
                        "a fast subscriber was told it fell behind: {message}"
                    );
                    let version = message["payload"]["data"]["articleChanged"]["version"]
                        .as_i64()
                        .unwrap();
                    versions.push(version);
                    seen.store(version, Ordering::Relaxed);
                }
                versions
            })
        })
        .collect();
    let id = article_id_of_seed(&app).await;
    let paced = Instant::now();
    for version in 1..=EVENTS {
        // Keep within the fast subscribers' pace: the shared ring holds 256 results.
        while progress
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .min()
            .unwrap()
            < version - 64
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        app.events
            .publish(ArticleEvent {
                kind: ChangeKind::Updated,
                article_id: id,
                slug: SLUG.to_owned(),
                version: version as i32,
            })
            .await;
    }
    for reader in readers {
        let versions = tokio::time::timeout(Duration::from_secs(60), reader)
            .await
            .expect("the fast subscribers got every event")
            .unwrap();
        assert_eq!(versions, (1..=EVENTS).collect::<Vec<_>>());
    }
    // The slow subscriber reads again: what was buffered, then the lag error, then complete;
    // or, if its writer stayed blocked longer than the write timeout (a slow machine), its
    // socket was closed. Either way it held no more than its socket and the shared ring.
    let stalled = paced.elapsed();
    let mut delivered = 0;
    let lagged = loop {
        match slow.next().await {
            Got::Json(message) => match message["type"].as_str() {
                Some("next") if message["payload"].get("errors").is_none() => delivered += 1,
                Some("next") => break Some(message),
                _ => panic!("unexpected {message}"),
            },
            Got::Close(..) | Got::Gone => break None,
        }
    };
    let Some(lagged) = lagged else {
        assert!(
            stalled
                >= annals::config::Config::defaults("")
                    .timings
                    .ws_write_timeout()
                    - Duration::from_secs(1),
            "the slow socket was closed after {stalled:?}, before the write timeout"
        );
        return;
    };
    let error = &lagged["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "LIMIT_EXCEEDED", "{lagged}");
    assert_eq!(error["extensions"]["limit"], "subscriberBuffer", "{lagged}");
    assert!(
        delivered < EVENTS,
        "the slow subscriber missed nothing: {delivered}"
    );
    assert_eq!(slow.json().await, json!({ "id": "s", "type": "complete" }));
}

async fn article_id_of_seed(app: &TestApp) -> i64 {
    use sea_orm::EntityTrait;
    annals::entities::article::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.slug == SLUG)
        .expect("the seed article")
        .id
}
