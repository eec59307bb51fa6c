//! Responses exactly as the GraphQL specification wants them: keys in selection order,
//! `data: null` when execution failed, and `extensions.code` on every error.

use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestApp};

/// POSTs `body` and returns the raw response text.
async fn raw(app: &TestApp, body: &Value) -> String {
    app.client
        .post(app.url("/graphql"))
        .json(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The keys of every object in `text`, in the order they were written, depth first.
fn key_order(text: &str) -> Vec<String> {
    // async-graphql's Value keeps object keys in order (serde_json's sorts them).
    let value: async_graphql::Value = serde_json::from_str(text).expect("JSON");
    let mut keys = Vec::new();
    fn walk(value: &async_graphql::Value, prefix: &str, keys: &mut Vec<String>) {
        match value {
            async_graphql::Value::Object(map) => {
                for (key, value) in map {
                    let path = format!("{prefix}{key}");
                    keys.push(path.clone());
                    walk(value, &format!("{path}."), keys);
                }
            }
            async_graphql::Value::List(items) => {
                if let Some(first) = items.first() {
                    walk(first, &format!("{prefix}0."), keys);
                }
            }
            _ => {}
        }
    }
    walk(&value, "", &mut keys);
    keys
}

/// Keys come in the order of the selection set (not sorted), for a nested query, an aliased
/// query, and an error response.
pub async fn keys_follow_the_selection_order(app: TestApp) {
    let text = raw(
        &app,
        &json!({ "query": "{ articles(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { version title slug id } cursor } } article(slug: \"de-stalinization\") { title version } }" }),
    )
    .await;
    assert_eq!(
        key_order(&text),
        [
            "data",
            "data.articles",
            "data.articles.totalCount",
            "data.articles.pageInfo",
            "data.articles.pageInfo.hasNextPage",
            "data.articles.pageInfo.endCursor",
            "data.articles.edges",
            "data.articles.edges.0.node",
            "data.articles.edges.0.node.version",
            "data.articles.edges.0.node.title",
            "data.articles.edges.0.node.slug",
            "data.articles.edges.0.node.id",
            "data.articles.edges.0.cursor",
            "data.article",
            "data.article.title",
            "data.article.version",
            "extensions",
            "extensions.cost",
            "extensions.cost.requested",
            "extensions.cost.limit",
        ],
        "{text}"
    );

    let text = raw(
        &app,
        &json!({ "query": "{ zeta: article(slug: \"de-stalinization\") { z: title a: slug } alpha: __typename }" }),
    )
    .await;
    let keys = key_order(&text);
    assert_eq!(
        keys[..6],
        [
            "data",
            "data.zeta",
            "data.zeta.z",
            "data.zeta.a",
            "data.alpha",
            "extensions"
        ],
        "{text}"
    );

    // An execution error: errors first, each error reading message, locations, path,
    // extensions; then data.
    let text = raw(
        &app,
        &json!({ "query": "{ zeta: __typename node(id: \"nope\") { id } }" }),
    )
    .await;
    let keys = key_order(&text);
    assert_eq!(
        keys[..9],
        [
            "errors",
            "errors.0.message",
            "errors.0.locations",
            "errors.0.locations.0.line",
            "errors.0.locations.0.column",
            "errors.0.path",
            "errors.0.extensions",
            "errors.0.extensions.code",
            "errors.0.extensions.field",
        ],
        "{text}"
    );
    assert_eq!(keys[9..12], ["data", "data.zeta", "data.node"], "{text}");
    // Batches are written the same way.
    let text = raw(
        &app,
        &json!([{ "query": "{ b: __typename a: __typename }" }]),
    )
    .await;
    assert!(
        text.starts_with(r#"[{"data":{"b":"Query","a":"Query"}"#),
        "{text}"
    );
}

/// When execution started and failed up to the root, `data` is present and `null`; a request
/// error before execution has no `data` at all.
pub async fn a_failed_execution_has_data_null(app: TestApp) {
    let text = raw(
        &app,
        &json!({ "query": "{ articles(first: -1) { totalCount } }" }),
    )
    .await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(TestApp::error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body["errors"][0]["path"].is_array(), "{body}");
    assert!(
        body.as_object().unwrap().contains_key("data") && body["data"].is_null(),
        "{text}"
    );
    // graphql-response+json: an execution error is still 200.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ articles(first: -1) { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // A non-null field that fails makes its nearest nullable ancestor null: here the article
    // (Topic.articles, the topic in [Topic!]! and Article.topics are all non-null) ...
    let body = app
        .query(
            "{ zeta: __typename article(slug: \"de-stalinization\") { slug topics { slug articles(first: -1) { totalCount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(TestApp::error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        body["data"],
        json!({ "zeta": "Query", "article": null }),
        "{body}"
    );
    // ... and here everything up to data (topics is non-null).
    let body = app
        .query(
            "{ topics(first: 1) { nodes { slug articles(first: -1) { totalCount } } } }",
            json!({}),
        )
        .await;
    assert!(
        body.as_object().unwrap().contains_key("data") && body["data"].is_null(),
        "{body}"
    );

    let body = app.query("{ nope }", json!({})).await;
    assert!(body.get("data").is_none(), "{body}");
    // A required variable left out is refused before execution too.
    let body = app
        .query(
            "query($slug: String!) { article(slug: $slug) { title } }",
            json!({}),
        )
        .await;
    assert_eq!(TestApp::error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body.get("data").is_none(), "{body}");
}

/// One error case: a request, what code its errors carry, and what else they must say.
struct Case {
    name: &'static str,
    body: Value,
    code: &'static str,
    /// `extensions.limit` or `extensions.field`, when expected.
    detail: Option<&'static str>,
    /// Text the message must contain.
    says: &'static str,
    authorized: bool,
}

fn case(name: &'static str, body: Value, code: &'static str) -> Case {
    Case {
        name,
        body,
        code,
        detail: None,
        says: "",
        authorized: false,
    }
}

impl Case {
    fn detail(mut self, detail: &'static str) -> Self {
        self.detail = Some(detail);
        self
    }
    fn says(mut self, text: &'static str) -> Self {
        self.says = text;
        self
    }
    fn authorized(mut self) -> Self {
        self.authorized = true;
        self
    }
}

/// Every error the endpoint produces carries `extensions.code`: parse, validation, unknown
/// operation, missing operation name, subscription over HTTP, each limit, each domain error.
pub async fn every_error_carries_a_code(app: TestApp) {
    let q = |query: &str| json!({ "query": query });
    let article = app.seed_article().await;
    let article_id = article["id"].as_str().unwrap().to_owned();
    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    let roots: String = (0..21).map(|_| "__typename ").collect();
    let mut fan_out = String::from("{ ...F0 }\n");
    for i in 0..24 {
        fan_out.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    fan_out.push_str("fragment F24 on Query { __typename }\n");
    let mut deep = String::from("{ article(slug: \"de-stalinization\") { ");
    for i in 0..18 {
        deep.push_str(if i % 2 == 0 {
            "section(slug: \"legacy\") { "
        } else {
            "article { "
        });
    }
    deep.push_str("slug");
    deep.push_str(&" }".repeat(20));
    let cases = vec![
        case("parse", q("{ article(slug: \"x\") {\n title\n"), "GRAPHQL_PARSE_FAILED")
            .says("Syntax error at line"),
        case("validation", q("{ colour }"), "GRAPHQL_VALIDATION_FAILED"),
        case(
            "unknown operation",
            json!({ "query": "query A { __typename } query B { __typename }", "operationName": "C" }),
            "BAD_USER_INPUT",
        )
        .detail("operationName")
        .says("no operation named \"C\""),
        case(
            "missing operation name",
            q("query A { __typename } query B { __typename }"),
            "BAD_USER_INPUT",
        )
        .detail("operationName")
        .says("operationName"),
        case(
            "subscription over HTTP",
            q("subscription { articleChanged { kind } }"),
            "BAD_USER_INPUT",
        )
        .says("/graphql/ws"),
        case(
            "missing variable",
            q("query($slug: String!) { article(slug: $slug) { title } }"),
            "BAD_USER_INPUT",
        )
        .says("Variable \"$slug\" of required type \"String!\" was not provided."),
        case("malformed body", json!({ "query": 1 }), "BAD_USER_INPUT"),
        case("querySize", q(&format!("{}\n{{ __typename }}", "#".repeat(64 * 1024))), "LIMIT_EXCEEDED")
            .detail("querySize"),
        case(
            "nesting",
            q(&format!("{{ __typename(x: {}1{}) }}", "[".repeat(65), "]".repeat(65))),
            "LIMIT_EXCEEDED",
        )
        .detail("nesting"),
        case("selections", q(&fan_out), "LIMIT_EXCEEDED").detail("selections"),
        case("rootFields", q(&format!("{{ {roots} }}")), "LIMIT_EXCEEDED").detail("rootFields"),
        case(
            "aliases",
            q(&format!("{{ article(slug: \"x\") {{ {aliases} }} }}")),
            "LIMIT_EXCEEDED",
        )
        .detail("aliases"),
        case(
            "directives",
            q(&format!("{{ __typename {} }}", "@skip(if: false) ".repeat(6))),
            "LIMIT_EXCEEDED",
        )
        .detail("directives"),
        case("depth", q(&deep), "LIMIT_EXCEEDED").detail("depth"),
        case("complexity", q(crate::cost::BOMB), "LIMIT_EXCEEDED").detail("complexity"),
        case(
            "batch",
            Value::Array((0..11).map(|_| q("{ __typename }")).collect()),
            "LIMIT_EXCEEDED",
        )
        .detail("batch"),
        case("bad input", q("{ node(id: \"nope\") { id } }"), "BAD_USER_INPUT").detail("id"),
        case(
            "not found",
            json!({
                "query": "mutation($id: ID!) { deleteArticle(id: $id) { deletedId } }",
                "variables": { "id": "QXJ0aWNsZTo5OTk5" },
            }),
            "NOT_FOUND",
        )
        .authorized(),
        case(
            "conflict",
            json!({
                "query": "mutation($id: ID!) { updateArticle(id: $id, expectedVersion: 99, input: { title: \"T\" }) { article { version } } }",
                "variables": { "id": article_id },
            }),
            "CONFLICT",
        )
        .authorized(),
        case(
            "unauthenticated",
            q("mutation { createTopic(input: { slug: \"t\", name: \"T\" }) { topic { id } } }"),
            "UNAUTHENTICATED",
        ),
        case(
            "bodySize",
            q(&format!("{{ __typename }} #{}", "x".repeat(1024 * 1024))),
            "LIMIT_EXCEEDED",
        )
        .detail("bodySize"),
    ];
    // Limits that need a server configured for them: no time at all, a budget of 1 point.
    let hurried = TestApp::spawn_with(app.backend, |c| c.request_timeout_ms = 0).await;
    let metered = TestApp::spawn_with(app.backend, |c| c.limits.cost_budget_per_minute = 1).await;
    let elsewhere = [
        (
            &hurried,
            case(
                "timeout",
                q("{ articles { nodes { sections { body } } } }"),
                "LIMIT_EXCEEDED",
            )
            .detail("timeout"),
        ),
        (
            &metered,
            case("rate", q("{ articles { nodes { id } } }"), "LIMIT_EXCEEDED").detail("rate"),
        ),
    ];
    let cases = cases.into_iter().map(|c| (&app, c)).chain(elsewhere);
    for (app, case) in cases {
        let mut request = app.client.post(app.url("/graphql")).json(&case.body);
        if case.authorized {
            request = request.header("authorization", format!("Bearer {TOKEN}"));
        }
        let body: Value = request.send().await.unwrap().json().await.unwrap();
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no errors: {body}", case.name));
        for err in errors {
            assert_eq!(
                err["extensions"]["code"], case.code,
                "{}: {body}",
                case.name
            );
            let message = err["message"].as_str().unwrap();
            assert!(
                !message.contains('\n'),
                "{}: one line: {message}",
                case.name
            );
            assert!(message.contains(case.says), "{}: {message}", case.name);
        }
        if let Some(detail) = case.detail {
            let ext = &errors[0]["extensions"];
            assert!(
                ext["limit"] == detail || ext["field"] == detail,
                "{}: {body}",
                case.name
            );
        }
        assert!(
            body["extensions"]["cost"]["limit"].is_u64(),
            "{}: every response shows the cost: {body}",
            case.name
        );
    }
    // A database failure is INTERNAL (with the request id; see errors::internal_errors_do_not_leak).
    use sea_orm::ConnectionTrait;
    let broken = TestApp::spawn_with(app.backend, |_| {}).await;
    broken
        .db
        .execute_unprepared("DROP TABLE article_topics")
        .await
        .unwrap();
    let body = broken
        .query("{ articles { nodes { topics { id } } } }", json!({}))
        .await;
    for err in body["errors"].as_array().expect("errors") {
        assert_eq!(err["extensions"]["code"], "INTERNAL", "{body}");
    }
    let body = app.query("{ article(slug: \"x\") {", json!({})).await;
    assert!(
        body["errors"][0]["locations"][0]["column"].is_u64(),
        "{body}"
    );
}
