//! Observability: `/metrics` scraped and parsed as the Prometheus text format (on the main
//! listener and on a listener of its own), traces exported over OTLP to a receiver in the test,
//! and the access log of a server process.
//!
//! The metrics recorder is process-global and shared by every in-process test app, so these
//! tests assert on growth of series labelled with names only they use, never on totals.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use prometheus_parse::{Scrape, Value as Sample};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::helpers::{ServeProcess, TestApp};

/// Every series the README lists (histograms by their `_count`).
const SERIES: &[&str] = &[
    "annals_build_info",
    "annals_graphql_requests_total",
    "annals_graphql_request_duration_seconds_count",
    "annals_graphql_query_cost_count",
    "annals_graphql_executions",
    "annals_db_statements_total",
    "annals_db_statement_duration_seconds_count",
    "annals_db_pool_connections",
    "annals_db_pool_max_connections",
    "annals_websocket_connections",
    "annals_subscriptions_active",
    "annals_subscription_executions",
    "annals_events_published_total",
    "annals_events_received_total",
    "annals_events_delivered_total",
    "annals_events_dropped_total",
];

/// One parsed scrape.
struct Metrics(Scrape);

impl Metrics {
    /// GETs `url` and parses it, checking the media type of the text format.
    async fn scrape(app: &TestApp, url: &str) -> Self {
        let response = app.client.get(url).send().await.expect("GET /metrics");
        assert_eq!(response.status(), 200);
        let media = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(media.starts_with("text/plain; version=0.0.4"), "{media}");
        let text = response.text().await.unwrap();
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("exposition");
        // Every sample line parsed into a sample: nothing was silently skipped.
        let lines = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        let buckets: usize = scrape
            .samples
            .iter()
            .map(|s| match &s.value {
                Sample::Histogram(b) => b.len(),
                _ => 1,
            })
            .sum();
        assert_eq!(buckets, lines, "every line is a sample:\n{text}");
        Self(scrape)
    }

    /// The sum of the samples of `name` whose labels include `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    }

    fn has(&self, name: &str) -> bool {
        self.0.samples.iter().any(|s| s.metric == name)
    }

    /// The type the scrape declares for `name` (as its samples were parsed).
    fn kind(&self, name: &str) -> Option<&str> {
        self.0
            .samples
            .iter()
            .find(|s| s.metric == name)
            .map(|s| match s.value {
                Sample::Counter(_) => "counter",
                Sample::Gauge(_) => "gauge",
                Sample::Histogram(_) => "histogram",
                Sample::Summary(_) => "summary",
                Sample::Untyped(_) => "untyped",
            })
    }
}

const PROBE: &str =
    "query MetricsProbe { article(slug: \"de-stalinization\") { title sections { heading } } }";
const CHANGES: &str = "subscription MetricsWatch { articleChanged { kind version } }";

/// A graphql-transport-ws socket, acknowledged.
async fn socket(
    app: &TestApp,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(
        json!({ "type": "connection_init" }).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    ws
}

async fn next_json(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a message within 15 s")
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// Scrapes until `check` holds (the gauges are shared with other tests' apps, which may set
/// them between this app's sampling and rendering), at most 5 times.
async fn eventually(app: &TestApp, url: &str, check: impl Fn(&Metrics) -> bool) -> Metrics {
    for _ in 0..5 {
        let metrics = Metrics::scrape(app, url).await;
        if check(&metrics) {
            return metrics;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scraped gauges never matched");
}

pub async fn metrics_list_every_series_and_grow_as_requests_run(app: TestApp) {
    let url = app.url("/metrics");
    let before = Metrics::scrape(&app, &url).await;
    let ok = [
        ("operation", "MetricsProbe"),
        ("type", "query"),
        ("code", "OK"),
    ];
    for _ in 0..3 {
        app.data(PROBE, json!({})).await;
    }
    let body = app.query("query MetricsProbeBad { nope }", json!({})).await;
    TestApp::assert_error(&body, "GRAPHQL_VALIDATION_FAILED", None);
    let body = app
        .query_as(
            None,
            "mutation MetricsProbeWrite { deleteTopic(id: \"VG9waWM6MQ==\") { deletedId } }",
            json!({}),
        )
        .await;
    TestApp::assert_error(&body, "UNAUTHENTICATED", None);

    // A subscriber, and a change it hears about.
    let mut ws = socket(&app).await;
    ws.send(Message::text(
        json!({ "id": "1", "type": "subscribe", "payload": { "query": CHANGES } }).to_string(),
    ))
    .await
    .unwrap();
    let watching = eventually(&app, &url, |m| {
        m.value("annals_websocket_connections", &[]) >= 1.0
            && m.value("annals_subscriptions_active", &[]) >= 1.0
    })
    .await;
    assert!(watching.value("annals_subscription_executions", &[]) >= 1.0);
    let article = app.seed_article().await;
    app.mutate_ok(
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { summary: \"Measured.\" }) { article { version } } }",
        json!({ "id": article["id"], "v": article["version"] }),
    )
    .await;
    let event = next_json(&mut ws).await;
    assert_eq!(
        event["payload"]["data"]["articleChanged"]["kind"], "UPDATED",
        "{event}"
    );
    let after = Metrics::scrape(&app, &url).await;

    for name in SERIES {
        assert!(after.has(name), "{name} is missing");
    }
    assert_eq!(after.kind("annals_graphql_requests_total"), Some("counter"));
    assert_eq!(
        after.kind("annals_graphql_request_duration_seconds"),
        Some("histogram")
    );
    assert_eq!(after.kind("annals_db_pool_connections"), Some("gauge"));
    assert_eq!(
        after.value(
            "annals_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    let grew = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    // Both backends' tests run these names at once: at least this test's share.
    assert!(grew("annals_graphql_requests_total", &ok) >= 3.0);
    let probe = [("operation", "MetricsProbe"), ("type", "query")];
    assert!(grew("annals_graphql_request_duration_seconds_count", &probe) >= 3.0);
    assert!(
        grew(
            "annals_graphql_requests_total",
            &[
                ("operation", "MetricsProbeBad"),
                ("code", "GRAPHQL_VALIDATION_FAILED")
            ]
        ) >= 1.0
    );
    assert!(
        grew(
            "annals_graphql_requests_total",
            &[
                ("operation", "MetricsProbeWrite"),
                ("type", "mutation"),
                ("code", "UNAUTHENTICATED")
            ]
        ) >= 1.0
    );
    assert!(grew("annals_graphql_query_cost_count", &[("type", "query")]) >= 3.0);
    // Each probe is at least two statements (the article, its sections).
    assert!(
        grew(
            "annals_db_statements_total",
            &[("kind", "select"), ("outcome", "ok")]
        ) >= 6.0
    );
    assert!(
        grew(
            "annals_db_statement_duration_seconds_count",
            &[("kind", "select")]
        ) >= 6.0
    );
    assert!(grew("annals_events_published_total", &[]) >= 1.0);
    assert!(grew("annals_events_received_total", &[]) >= 1.0);
    assert!(grew("annals_events_delivered_total", &[]) >= 1.0);
    assert!(after.value("annals_db_pool_max_connections", &[]) >= 1.0);
    let pool = after.value("annals_db_pool_connections", &[("state", "idle")])
        + after.value("annals_db_pool_connections", &[("state", "in_use")]);
    assert!(pool >= 1.0, "the pool has a connection after queries");
    // The histogram's buckets are cumulative and end with +Inf = count.
    let buckets = after
        .0
        .samples
        .iter()
        .find(|s| {
            s.metric == "annals_graphql_request_duration_seconds"
                && s.labels.get("operation") == Some("MetricsProbe")
        })
        .expect("the probe's duration histogram");
    let Sample::Histogram(buckets) = &buckets.value else {
        panic!("not a histogram");
    };
    assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
    assert!(buckets.last().unwrap().less_than.is_infinite());
    let count = after.value("annals_graphql_request_duration_seconds_count", &probe);
    assert_eq!(buckets.last().unwrap().count, count);

    // The socket closed: the gauges say so.
    drop(ws);
    eventually(&app, &url, |m| {
        m.value("annals_websocket_connections", &[]) == 0.0
    })
    .await;
}

pub async fn metrics_can_have_a_listener_of_their_own(app: TestApp) {
    let separate = TestApp::spawn_with(app.backend, |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let addr = separate.metrics_addr.expect("a metrics listener");
    assert_ne!(addr, separate.addr);
    // Not on the main listener any more.
    let main = separate
        .client
        .get(separate.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
    separate.data(PROBE, json!({})).await;
    let metrics = Metrics::scrape(&separate, &format!("http://{addr}/metrics")).await;
    for name in SERIES.iter().filter(|n| !n.starts_with("annals_events")) {
        assert!(metrics.has(name), "{name} is missing");
    }
    // Only /metrics is there.
    let other = separate
        .client
        .get(format!("http://{addr}/graphql?query=%7B__typename%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    // And the default app serves it on its main listener.
    assert!(app.metrics_addr.is_none());
    Metrics::scrape(&app, &app.url("/metrics")).await;
}

/// An `annals serve` process on the test's database, with `env` set and stderr captured (at
/// `info`, unless `env` says otherwise).
struct Server(ServeProcess);

impl Server {
    async fn start(app: &TestApp, env: &[(&str, &str)]) -> Self {
        let env: Vec<(&str, &str)> = [("ANNALS_LOG", "info")]
            .into_iter()
            .chain(env.iter().copied())
            .collect();
        Self(ServeProcess::start(app, &env, Stdio::piped()).await)
    }

    /// POSTs `query` with `X-Request-Id: id` (and any extra headers); returns the body.
    async fn post(&self, app: &TestApp, id: &str, query: &str, headers: &[(&str, &str)]) -> Value {
        let mut request = app
            .client
            .post(self.0.url("/graphql"))
            .header("x-request-id", id)
            .json(&json!({ "query": query }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// Stops the process with SIGTERM and waits for it; its stderr.
    fn stop(self) -> String {
        self.0.stop()
    }
}

pub async fn each_request_writes_one_access_line_without_colours(app: TestApp) {
    let server = Server::start(&app, &[]).await;
    let body = server
        .post(
            &app,
            "log-probe-query",
            "query LogProbe { articles(first: 1) { totalCount } }",
            &[],
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let body = server.post(&app, "log-probe-bad", "{ nope }", &[]).await;
    TestApp::assert_error(&body, "GRAPHQL_VALIDATION_FAILED", None);
    let response = app
        .client
        .get(server.0.url("/healthz"))
        .header("x-request-id", "log-probe-health")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let logs = server.stop();
    assert!(
        !logs.contains('\u{1b}'),
        "ANSI escape codes in piped logs:\n{logs}"
    );
    let line = |id: &str| {
        let lines: Vec<&str> = logs.lines().filter(|l| l.contains(id)).collect();
        assert_eq!(lines.len(), 1, "one line for {id}:\n{logs}");
        lines[0].to_owned()
    };
    let query = line("request_id=log-probe-query");
    for part in [
        " INFO ",
        "annals::access",
        "method=POST",
        "path=/graphql",
        "operation=LogProbe",
        "operation_type=query",
        "code=OK",
        "status=200",
        "duration_ms=",
    ] {
        assert!(query.contains(part), "{part:?} not in {query}");
    }
    assert!(query.contains("cost="), "{query}");
    let bad = line("request_id=log-probe-bad");
    assert!(bad.contains("code=GRAPHQL_VALIDATION_FAILED"), "{bad}");
    assert!(bad.contains("operation=anonymous"), "{bad}");
    let health = line("request_id=log-probe-health");
    assert!(
        health.contains("path=/healthz") && health.contains("status=200"),
        "{health}"
    );
    assert!(!health.contains("operation="), "{health}");

    // As JSON lines: the same fields, each once.
    let server = Server::start(&app, &[("ANNALS_LOG_JSON", "true")]).await;
    server
        .post(
            &app,
            "log-probe-json",
            "query LogProbe { articles(first: 1) { totalCount } }",
            &[],
        )
        .await;
    let logs = server.stop();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .filter(|l: &Value| l["span"]["request_id"] == "log-probe-json")
        .collect();
    assert_eq!(lines.len(), 1, "{logs}");
    let line = &lines[0];
    assert_eq!(line["target"], "annals::access");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["span"]["operation"], "LogProbe");
    assert_eq!(line["span"]["code"], "OK");
    assert_eq!(line["span"]["status"], 200);
    assert!(line["fields"]["duration_ms"].is_number(), "{line}");
    assert!(line.get("spans").is_none(), "{line}");
}

/// A tiny OTLP/HTTP receiver: records the body of every `POST /v1/traces`.
async fn receiver() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    use axum::{Router, body::Bytes, extract::State, routing::post};
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let router = Router::new()
        .route(
            "/v1/traces",
            post(
                |State(received): State<Arc<Mutex<Vec<Vec<u8>>>>>, body: Bytes| async move {
                    received.lock().unwrap().push(body.to_vec());
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), received)
}

/// The spans of every export so far, by span name.
fn spans(
    received: &Mutex<Vec<Vec<u8>>>,
) -> (
    HashMap<String, Vec<opentelemetry_proto::tonic::trace::v1::Span>>,
    Vec<String>,
) {
    use opentelemetry_proto::tonic::{
        collector::trace::v1::ExportTraceServiceRequest, common::v1::any_value,
    };
    use prost::Message as _;
    let mut by_name: HashMap<String, Vec<_>> = HashMap::new();
    let mut services = Vec::new();
    for body in received.lock().unwrap().iter() {
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        for resource in request.resource_spans {
            for attribute in resource.resource.iter().flat_map(|r| &r.attributes) {
                if attribute.key == "service.name"
                    && let Some(any_value::Value::StringValue(name)) =
                        attribute.value.as_ref().and_then(|v| v.value.clone())
                {
                    services.push(name);
                }
            }
            for scope in resource.scope_spans {
                for span in scope.spans {
                    by_name.entry(span.name.clone()).or_default().push(span);
                }
            }
        }
    }
    (by_name, services)
}

/// A span's string attribute.
fn attribute(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| match &v.value {
            Some(Value::StringValue(s)) => Some(s.clone()),
            Some(Value::IntValue(i)) => Some(i.to_string()),
            _ => None,
        })
}

pub async fn traces_are_exported_over_otlp(app: TestApp) {
    let (endpoint, received) = receiver().await;
    let server = Server::start(
        &app,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("ANNALS_LOG", "warn"),
        ],
    )
    .await;
    // A caller's trace context continues here.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{caller_span}-01");
    let body = server
        .post(
            &app,
            "otlp-probe",
            "query OtlpProbe { article(slug: \"de-stalinization\") { title sections { heading reforms { title } } } }",
            &[("traceparent", &traceparent)],
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let request = {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (spans, _) = spans(&received);
            let found = spans.get("request").and_then(|requests| {
                requests
                    .iter()
                    .find(|s| attribute(s, "request_id").as_deref() == Some("otlp-probe"))
                    .cloned()
            });
            // The statements of the request come in the same or an earlier export.
            if let Some(request) = found
                && spans.contains_key("SELECT")
            {
                break request;
            }
            assert!(Instant::now() < deadline, "no request span arrived");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let logs = server.stop();
    let (spans, services) = spans(&received);
    assert!(services.iter().all(|s| s == "annals"), "{services:?}");
    assert_eq!(
        hex(&request.trace_id),
        trace_id,
        "the caller's trace continues"
    );
    assert_eq!(hex(&request.parent_span_id), caller_span);
    assert_eq!(
        attribute(&request, "operation").as_deref(),
        Some("OtlpProbe")
    );
    assert_eq!(attribute(&request, "code").as_deref(), Some("OK"));
    assert!(
        attribute(&request, "cost").is_some_and(|c| c != "0"),
        "{request:?}"
    );
    assert_eq!(attribute(&request, "status").as_deref(), Some("200"));
    // One `load` per relation level (sections, then reforms), children of the request.
    let loads: Vec<_> = spans["load"]
        .iter()
        .filter(|s| s.parent_span_id == request.span_id)
        .collect();
    let keys: Vec<String> = loads.iter().filter_map(|s| attribute(s, "key")).collect();
    assert!(keys.iter().any(|k| k == "SectionsOfArticle"), "{keys:?}");
    assert!(keys.iter().any(|k| k == "PointsOfSection"), "{keys:?}");
    // Each load's statement is its child, timed inside it.
    for load in &loads {
        let statements: Vec<_> = spans["SELECT"]
            .iter()
            .filter(|s| s.parent_span_id == load.span_id)
            .collect();
        assert_eq!(statements.len(), 1, "one statement per load: {load:?}");
        let statement = statements[0];
        assert_eq!(statement.trace_id, request.trace_id);
        assert!(statement.end_time_unix_nano >= statement.start_time_unix_nano);
        assert!(statement.end_time_unix_nano <= load.end_time_unix_nano);
        assert!(statement.start_time_unix_nano >= request.start_time_unix_nano);
        assert!(
            attribute(statement, "db.query.text").is_some_and(|q| q.starts_with("SELECT")),
            "{statement:?}"
        );
    }
    // The article itself is read by the resolver: a statement directly under the request.
    assert!(
        spans["SELECT"]
            .iter()
            .any(|s| s.parent_span_id == request.span_id),
        "{logs}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
