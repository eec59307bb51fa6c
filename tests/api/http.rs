//! GraphQL over HTTP: methods, media types and status codes.

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// GET runs queries; mutations over GET are refused with 405 and `Allow: POST`.
pub async fn get_runs_queries_but_not_mutations(app: TestApp) {
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            (
                "query",
                "query Q($s: String!) { article(slug: $s) { title } }",
            ),
            ("variables", r#"{"s":"de-stalinization"}"#),
            ("operationName", "Q"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["article"]["title"], "De-Stalinization");

    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let response = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(response.status(), 400);
}

/// Media types: application/graphql-response+json gets 400 for requests that fail before
/// execution; application/json gets 200; other content types are 415.
pub async fn media_types_follow_the_spec(app: TestApp) {
    let send = |accept: &'static str, body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header("accept", accept)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = send(
        "application/graphql-response+json",
        r#"{"query":"{ nope"}"#,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    let response = send(
        "application/json",
        r#"{"query":"{ nope"}"#,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let response = send(
        "application/graphql-response+json",
        r#"{"query":"{ __typename }"}"#,
        "application/json; charset=utf-8",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let response = send("application/json", "{ __typename }", "application/graphql")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");
    for bad in [
        r#"{"query": 1}"#,
        "not json",
        r#"{"variables": {}}"#,
        r#"{"query":"{ __typename }","variables":[]}"#,
    ] {
        let response = send("application/json", bad, "application/json")
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            TestApp::error_code(&body),
            "BAD_USER_INPUT",
            "{bad}: {body}"
        );
    }
    let response = send(
        "application/json",
        "query={__typename}",
        "application/x-www-form-urlencoded",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 415);
    let response = send(
        "text/html",
        r#"{"query":"{ __typename }"}"#,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 406);
}

/// Batches run every operation and answer in order.
pub async fn batches_answer_in_order(app: TestApp) {
    let (status, body) = app
        .post_json(&json!([
            { "query": "{ article(slug: \"de-stalinization\") { title } }" },
            { "query": "{ topics { totalCount } }" },
        ]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["data"]["article"]["title"], "De-Stalinization");
    assert_eq!(body[1]["data"]["topics"]["totalCount"], 10);
}

/// GraphiQL is served at / with its assets from the binary.
pub async fn graphiql_is_served_offline(app: TestApp) {
    let page = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("https://"), "no external URLs in the page");
    // The page names the script by a content-hashed URL, cached for good; the page is not.
    let js_url = page
        .match_indices("/assets/graphiql/")
        .map(|(at, _)| {
            page[at..]
                .chars()
                .take_while(|c| *c != '"')
                .collect::<String>()
        })
        .find(|u| u.ends_with("/graphiql.min.js"))
        .expect("the page names graphiql.min.js");
    assert_eq!(js_url.split('/').count(), 5, "hashed: {js_url}");
    let js = app.client.get(app.url(&js_url)).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(js.bytes().await.unwrap().len() > 100_000);
    let page_cache = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page_cache.headers()["cache-control"], "no-cache");
}

/// CORS is off by default and answers only configured origins when on.
pub async fn cors_is_off_unless_configured(app: TestApp) {
    let preflight = |app: &TestApp, origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
            .send()
    };
    let response = preflight(&app, "https://example.org").await.unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let open = TestApp::spawn_with(app.backend, |c| {
        c.cors_origins = vec!["https://example.org".into()];
    })
    .await;
    let response = preflight(&open, "https://example.org").await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://example.org"
    );
    let response = preflight(&open, "https://evil.example").await.unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// GraphQL answers and GraphiQL are compressed by the client's Accept-Encoding (gzip, br,
/// zstd) from 1 KiB up, decode to exactly the uncompressed answer, and say `Vary:
/// Accept-Encoding`; small answers and clients that ask for nothing get plain bytes.
pub async fn responses_are_compressed_by_accept_encoding(app: TestApp) {
    let big = json!({ "query": "{ article(slug: \"de-stalinization\") { title sections { heading body } } }" });
    let fetch = |encoding: Option<&'static str>, body: serde_json::Value| {
        let mut request = app.client.post(app.url("/graphql")).json(&body);
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        async move {
            let response = request.send().await.unwrap();
            let encoding = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            let vary = response
                .headers()
                .get("vary")
                .map(|v| v.to_str().unwrap().to_owned());
            let bytes = response.bytes().await.unwrap().to_vec();
            (encoding, vary, bytes)
        }
    };
    let (encoding, _, plain) = fetch(None, big.clone()).await;
    assert_eq!(encoding, None);
    assert!(plain.len() > 1024, "the answer is {} bytes", plain.len());
    for name in ["gzip", "br", "zstd"] {
        let (encoding, vary, packed) = fetch(Some(name), big.clone()).await;
        assert_eq!(encoding.as_deref(), Some(name));
        assert!(
            vary.unwrap_or_default()
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{name}: Vary"
        );
        assert!(packed.len() < plain.len(), "{name} made it smaller");
        let unpacked = crate::helpers::decode(name, &packed);
        assert_eq!(unpacked, plain, "{name} decodes to the same answer");
    }
    let (encoding, _, _) = fetch(Some("gzip"), json!({ "query": "{ __typename }" })).await;
    assert_eq!(encoding, None, "small answers stay plain");
    let page = app
        .client
        .get(app.url("/"))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-encoding"], "br");
}
