//! The cost model: realistic reads pass and show their cost, bombs and deep queries are refused
//! naming the right limit, a dry run costs what the real run costs, and budgets are spent,
//! refused and refilled.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestApp};

/// The nested topics query of issue #14, with `totalCount` and `description`.
pub const TOPICS_QUERY: &str = "{ topics(first: 50) { totalCount nodes { id slug name description articles(first: 50) { totalCount nodes { id slug topics { id } } } reforms { id title topics { id } } reactions { id title topics { id } } } } }";

/// 100 x 100 x 100 nested connections.
pub const BOMB: &str = "{ topics(first: 100) { nodes { articles(first: 100) { nodes { revisions(first: 100) { nodes { version } } } } } } }";

/// Cost caps the server documents (see README and `graphql::cost`).
const TAGS: u64 = annals::editing::validate::MAX_TOPICS_PER_ITEM as u64;

/// What `TOPICS_QUERY` costs: 50 topics, each with 50 articles and up to 100 reforms and 100
/// reactions (the documented charge for a topic's points), each with its tags.
fn topics_query_cost() -> u64 {
    let points = annals::graphql::cost::TOPIC_POINTS_CHARGE;
    50 * (1 + 50 * (1 + TAGS) + 2 * points * (1 + TAGS))
}

fn cost_of(body: &Value) -> (u64, u64) {
    let cost = &body["extensions"]["cost"];
    (
        cost["requested"]
            .as_u64()
            .unwrap_or_else(|| panic!("no cost: {body}")),
        cost["limit"].as_u64().unwrap(),
    )
}

/// Sends `body` with `extensions.dryRun`.
async fn dry_run(app: &TestApp, query: &str) -> Value {
    app.post_json(&json!({ "query": query, "extensions": { "dryRun": true } }))
        .await
        .1
}

/// Every ID of the seed.
async fn seed_ids(app: &TestApp) -> Vec<String> {
    let data = app
        .data(
            "{ articles { nodes { id sections { id reforms { id } reactions { id } } } } topics(first: 100) { nodes { id } } }",
            json!({}),
        )
        .await;
    let mut ids = Vec::new();
    fn collect(value: &Value, ids: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("id", Value::String(id)) => ids.push(id.clone()),
                        _ => collect(value, ids),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, ids)),
            _ => {}
        }
    }
    collect(&data, &mut ids);
    ids
}

/// The topics query and `nodes` over every seed ID succeed, with their cost.
pub async fn realistic_reads_pass_with_their_cost(app: TestApp) {
    let body = app.query(TOPICS_QUERY, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["data"]["topics"]["totalCount"].as_i64().unwrap() > 0);
    assert_eq!(cost_of(&body), (topics_query_cost(), 500_000), "{body}");

    let ids = seed_ids(&app).await;
    assert!(ids.len() > 10 && ids.len() <= 100, "{}", ids.len());
    let body = app
        .query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Article { title } ... on Section { heading } ... on Topic { name } } }",
            json!({ "ids": ids }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let nodes = body["data"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), ids.len());
    assert!(nodes.iter().all(|n| n["id"].is_string()), "{body}");
    assert_eq!(
        cost_of(&body).0,
        ids.len() as u64,
        "one node per ID: {body}"
    );

    // An Apollo-style normalized query: __typename and id everywhere are free.
    let body = app
        .query(
            "{ articles(first: 10) { __typename totalCount pageInfo { __typename hasNextPage endCursor } edges { __typename cursor node { __typename id slug sections { __typename id heading } } } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let sections = annals::editing::validate::MAX_SECTIONS_PER_ARTICLE as u64;
    assert_eq!(cost_of(&body).0, 10 * (1 + sections));
}

/// The nested-connection bomb is refused as `complexity` before executing; a query 20 levels
/// deep is refused as `depth` although it is also far too costly; each says so.
pub async fn bombs_and_deep_queries_name_their_limit(app: TestApp) {
    let before = app.statements();
    let body = app.query(BOMB, json!({})).await;
    assert_eq!(TestApp::error_code(&body), "LIMIT_EXCEEDED", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "complexity");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1010100"),
        "{body}"
    );
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(cost_of(&body), (1_010_100, 500_000));
    assert_eq!(app.statements(), before, "refused before execution");

    let mut deep = String::from("{ article(slug: \"de-stalinization\") { ");
    for i in 0..18 {
        deep.push_str(if i % 2 == 0 {
            "sections { "
        } else {
            "article { "
        });
    }
    deep.push_str("slug");
    deep.push_str(&" }".repeat(20));
    let body = app.query(&deep, json!({})).await;
    assert_eq!(TestApp::error_code(&body), "LIMIT_EXCEEDED", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "depth", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nest"),
        "{body}"
    );
}

/// A dry run reports the cost the real run reports, executes nothing and charges nothing.
pub async fn a_dry_run_costs_what_the_real_run_costs(app: TestApp) {
    for query in [
        TOPICS_QUERY,
        BOMB,
        "{ article(slug: \"de-stalinization\") { title } }",
    ] {
        let before = app.statements();
        let dry = dry_run(&app, query).await;
        assert_eq!(app.statements(), before, "a dry run sends no statement");
        assert!(dry["data"].is_null(), "{dry}");
        let real = app.query(query, json!({})).await;
        assert_eq!(cost_of(&dry), cost_of(&real), "{query}");
    }
    let dry = dry_run(&app, TOPICS_QUERY).await;
    assert!(dry.get("errors").is_none(), "{dry}");
    assert_eq!(cost_of(&dry).0, topics_query_cost());

    // A mutation dry run changes nothing.
    let id = app.seed_article().await["id"].as_str().unwrap().to_owned();
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .json(&json!({
            "query": "mutation($id: ID!) { deleteArticle(id: $id) { deletedId } }",
            "variables": { "id": id },
            "extensions": { "dryRun": true },
        }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(app.count("articles").await, 1);

    // Also over GET.
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            ("query", "{ articles { nodes { id } } }"),
            ("extensions", "{\"dryRun\":true}"),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(cost_of(&body).0, 20, "{body}");
}

fn header(response: &reqwest::Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// With budgets on, each query spends its cost; one over the rest is refused with `rate`,
/// `retryAfter` and the headers; after waiting, the budget has refilled. Editors have a
/// budget of their own.
pub async fn budgets_are_spent_refused_and_refilled(app: TestApp) {
    let off = app.post_json(&json!({ "query": "{ __typename }" })).await.1;
    assert!(
        off["extensions"]["cost"].get("remaining").is_none(),
        "off by default"
    );

    let per_minute = 60_000;
    let metered = TestApp::spawn_with(app.backend, |c| {
        c.limits.cost_budget_per_minute = per_minute;
    })
    .await;
    // 100 articles with their tags: 100 * (1 + 12) = 1,300 points.
    let query = "{ articles(first: 100) { nodes { id topics { id } } } }";
    let send = |accept: &'static str| {
        metered
            .client
            .post(metered.url("/graphql"))
            .header("accept", accept)
            .json(&json!({ "query": query }))
            .send()
    };
    let dry = dry_run(&metered, query).await;
    assert_eq!(cost_of(&dry).0, 1_300);
    assert_eq!(dry["extensions"]["cost"]["remaining"], per_minute, "{dry}");

    let mut last_remaining = per_minute;
    let refused = loop {
        let response = send("application/json").await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), Some(per_minute));
        let remaining = header(&response, "ratelimit-remaining").unwrap();
        assert!(header(&response, "ratelimit-reset").is_some());
        let body: Value = response.json().await.unwrap();
        if body.get("errors").is_some() {
            break body;
        }
        assert!(
            remaining < last_remaining,
            "{remaining} after {last_remaining}"
        );
        assert_eq!(body["extensions"]["cost"]["remaining"], remaining, "{body}");
        last_remaining = remaining;
    };
    assert!(
        last_remaining < 1_300 + 100,
        "spent the budget first: {last_remaining}"
    );
    assert_eq!(TestApp::error_code(&refused), "LIMIT_EXCEEDED", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["limit"], "rate");
    let retry_after = refused["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{refused}");
    assert!(refused.get("data").is_none(), "{refused}");

    // Under graphql-response+json a refusal is 429 with Retry-After.
    let response = send("application/graphql-response+json").await.unwrap();
    assert_eq!(response.status(), 429);
    assert!(header(&response, "retry-after").is_some());

    // An editor spends a budget of their own.
    let body = metered
        .query_as(Some(&format!("Bearer {TOKEN}")), query, json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    tokio::time::sleep(Duration::from_secs(retry_after + 1)).await;
    let response = send("application/json").await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body.get("errors").is_none(), "refilled: {body}");
}

/// The caps the cost model relies on hold: sections, points and tags per article, through the
/// mutations and the importer, refused with BAD_USER_INPUT and nothing written.
pub async fn caps_are_enforced(app: TestApp) {
    use annals::editing::validate::{
        MAX_POINTS_PER_ARTICLE, MAX_SECTIONS_PER_ARTICLE, MAX_TOPICS_PER_ITEM,
    };
    let article = app.seed_article().await;
    let article_id = article["id"].as_str().unwrap().to_owned();
    let section_id = article["sections"][0]["id"].as_str().unwrap().to_owned();

    const SECTION: &str = "mutation($a: ID!, $h: String!) { createSection(input: { articleId: $a, heading: $h }) { section { id } } }";
    let sections = article["sections"].as_array().unwrap().len();
    for i in sections..MAX_SECTIONS_PER_ARTICLE {
        app.mutate_ok(
            SECTION,
            json!({ "a": article_id, "h": format!("Part {i}") }),
        )
        .await;
    }
    let before = app.snapshot().await;
    let body = app
        .mutate(SECTION, json!({ "a": article_id, "h": "One too many" }))
        .await;
    TestApp::assert_error(&body, "BAD_USER_INPUT", Some("articleId"));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("50"),
        "{body}"
    );
    assert_eq!(app.snapshot().await, before);

    const REFORM: &str = "mutation($s: ID!, $t: String!) { createReform(input: { sectionId: $s, title: $t, description: \"D.\" }) { reform { id } } }";
    let points = article["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reforms"].as_array().unwrap().len() + s["reactions"].as_array().unwrap().len())
        .sum::<usize>();
    for i in points..MAX_POINTS_PER_ARTICLE {
        app.mutate_ok(
            REFORM,
            json!({ "s": section_id, "t": format!("Point {i}") }),
        )
        .await;
    }
    let before = app.snapshot().await;
    let body = app
        .mutate(REFORM, json!({ "s": section_id, "t": "One too many" }))
        .await;
    TestApp::assert_error(&body, "BAD_USER_INPUT", Some("sectionId"));
    assert_eq!(app.snapshot().await, before);

    const TOPIC: &str =
        "mutation($s: String!) { createTopic(input: { slug: $s, name: $s }) { topic { id } } }";
    const TAG: &str =
        "mutation($c: ID!, $t: ID!) { tagTopic(contentId: $c, topicId: $t) { topic { id } } }";
    let tags = article["topics"].as_array().unwrap().len();
    let mut topic_ids = Vec::new();
    for i in 0..=(MAX_TOPICS_PER_ITEM - tags) {
        let data = app
            .mutate_ok(TOPIC, json!({ "s": format!("cap-topic-{i}") }))
            .await;
        topic_ids.push(
            data["createTopic"]["topic"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let (last, fill) = topic_ids.split_last().unwrap();
    for topic in fill {
        app.mutate_ok(TAG, json!({ "c": article_id, "t": topic }))
            .await;
    }
    // Tagging again with a topic already there is still a no-op, not a refusal.
    let tagged = article["topics"][0]["id"].as_str().unwrap();
    app.mutate_ok(TAG, json!({ "c": article_id, "t": tagged }))
        .await;
    let before = app.snapshot().await;
    let body = app.mutate(TAG, json!({ "c": article_id, "t": last })).await;
    TestApp::assert_error(&body, "BAD_USER_INPUT", Some("contentId"));
    assert_eq!(app.snapshot().await, before);

    // The importer: one section, or one point, over the cap is refused.
    const IMPORT: &str = "mutation($doc: String!, $ru: [String!]) { importArticle(document: $doc, reformsUnder: $ru) { article { id } } }";
    let many_sections: String = (0..=MAX_SECTIONS_PER_ARTICLE)
        .map(|i| format!("Heading {i}\nText.\n"))
        .collect();
    let many_points: String = (0..=MAX_POINTS_PER_ARTICLE)
        .map(|i| format!("- Point {i}: Text.\n"))
        .collect();
    for (doc, reforms_under) in [
        (format!("Capped\nA summary.\n{many_sections}"), json!(null)),
        (
            format!("Capped\nA summary.\nChanges\n{many_points}"),
            json!(["Changes"]),
        ),
    ] {
        let before = app.snapshot().await;
        let body = app
            .mutate(IMPORT, json!({ "doc": doc, "ru": reforms_under }))
            .await;
        TestApp::assert_error(&body, "BAD_USER_INPUT", Some("document"));
        assert_eq!(app.snapshot().await, before);
    }
}

/// Behind a trusted proxy (`trusted-proxies`), each forwarded client has a budget of its own;
/// without that setting `X-Forwarded-For` is the client's to write and is ignored, so the
/// connection's address (here one for all) names one shared budget.
pub async fn budgets_behind_a_trusted_proxy_follow_the_forwarded_client(app: TestApp) {
    let query = "{ articles(first: 100) { nodes { id topics { id } } } }";
    let remaining_after = |app: &TestApp, forwarded: &'static str| {
        let request = app
            .client
            .post(app.url("/graphql"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "query": query }));
        async move {
            let response = request.send().await.expect("POST /graphql");
            header(&response, "ratelimit-remaining").expect("a budget header")
        }
    };
    for trusting in [true, false] {
        let metered = TestApp::spawn_with(app.backend, |c| {
            c.limits.cost_budget_per_minute = 60_000;
            if trusting {
                c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            }
        })
        .await;
        let first = remaining_after(&metered, "198.51.100.1").await;
        let again = remaining_after(&metered, "198.51.100.1").await;
        assert!(again < first, "the same client spends one budget");
        let other = remaining_after(&metered, "198.51.100.2").await;
        if trusting {
            assert_eq!(other, first, "another forwarded client starts full");
        } else {
            assert!(
                other < again,
                "an untrusted header changes nothing: {other} vs {again}"
            );
        }
    }
}
