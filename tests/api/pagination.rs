//! Relay pagination: forward and backward, with filters and orders, and its errors.

use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn with_synthetic(app: &TestApp, n: usize) {
    annals::store::seed::seed_synthetic(&app.db, n, &mut |_, _| {})
        .await
        .expect("synthetic seed");
}

/// Pages through `articles` with the given arguments; returns every slug in order.
async fn page_through(app: &TestApp, extra: &str, forward: bool, size: i32) -> Vec<String> {
    let query = if forward {
        format!(
            "query($c: String) {{ articles(first: {size}, after: $c{extra}) {{ edges {{ cursor node {{ slug }} }} pageInfo {{ hasNextPage hasPreviousPage endCursor startCursor }} }} }}"
        )
    } else {
        format!(
            "query($c: String) {{ articles(last: {size}, before: $c{extra}) {{ edges {{ cursor node {{ slug }} }} pageInfo {{ hasNextPage hasPreviousPage endCursor startCursor }} }} }}"
        )
    };
    let mut cursor = Value::Null;
    let mut slugs: Vec<String> = Vec::new();
    for page in 0..1000 {
        let data = app.data(&query, json!({ "c": cursor })).await;
        let conn = &data["articles"];
        let mut batch: Vec<String> = conn["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["slug"].as_str().unwrap().to_owned())
            .collect();
        let info = &conn["pageInfo"];
        assert!(batch.len() <= size as usize);
        if forward {
            assert_eq!(info["hasPreviousPage"], page > 0);
            slugs.extend(batch);
            if info["hasNextPage"] == false {
                return slugs;
            }
            cursor = info["endCursor"].clone();
        } else {
            assert_eq!(info["hasNextPage"], page > 0);
            batch.extend(slugs);
            slugs = batch;
            if info["hasPreviousPage"] == false {
                return slugs;
            }
            cursor = info["startCursor"].clone();
        }
    }
    panic!("pagination did not end");
}

async fn all_at_once(app: &TestApp, extra: &str) -> Vec<String> {
    let data = app
        .data(
            &format!("{{ articles(first: 100{extra}) {{ totalCount nodes {{ slug }} }} }}"),
            json!({}),
        )
        .await;
    let nodes = data["articles"]["nodes"].as_array().unwrap();
    assert_eq!(
        data["articles"]["totalCount"].as_u64().unwrap() as usize,
        nodes.len()
    );
    nodes
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Forward and backward paging visit every article once, in the same order as one big page,
/// for every order and with filters.
pub async fn pages_forward_and_backward_in_every_order(app: TestApp) {
    with_synthetic(&app, 30).await;
    let variants = [
        String::new(),
        ", orderBy: { field: TITLE, direction: DESC }".to_owned(),
        ", orderBy: { field: UPDATED_AT, direction: ASC }".to_owned(),
        ", orderBy: { field: CREATED_AT, direction: DESC }, filter: { titleContains: \"SYNTHETIC\" }".to_owned(),
        ", filter: { topic: \"synthetic-topic-7\" }, orderBy: { field: TITLE, direction: ASC }".to_owned(),
    ];
    for extra in &variants {
        let expected = all_at_once(&app, extra).await;
        assert!(!expected.is_empty(), "{extra}");
        let mut unique = expected.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), expected.len(), "duplicates in {extra}");
        assert_eq!(
            page_through(&app, extra, true, 7).await,
            expected,
            "forward {extra}"
        );
        assert_eq!(
            page_through(&app, extra, false, 7).await,
            expected,
            "backward {extra}"
        );
    }
    // The default order is creation time: the seed article came first.
    let default = all_at_once(&app, "").await;
    assert_eq!(default.len(), 31);
    assert_eq!(default[0], "de-stalinization");
    assert_eq!(default[1], "synthetic-1");
    assert_eq!(
        all_at_once(&app, ", filter: { titleContains: \"synthetic\" }")
            .await
            .len(),
        30
    );
}

/// Filters combine: slugs, topic, titleContains (case-insensitive, wildcards literal) and
/// updatedSince (inclusive).
pub async fn filters_combine(app: TestApp) {
    with_synthetic(&app, 12).await;
    let slugs = all_at_once(
        &app,
        ", filter: { slugs: [\"synthetic-3\", \"de-stalinization\", \"nope\"] }",
    )
    .await;
    assert_eq!(slugs, ["de-stalinization", "synthetic-3"]);
    assert_eq!(
        all_at_once(&app, ", filter: { titleContains: \"destal\" }")
            .await
            .len(),
        0
    );
    assert_eq!(
        all_at_once(&app, ", filter: { titleContains: \"de-STAL\" }").await,
        ["de-stalinization"]
    );
    assert_eq!(
        all_at_once(&app, ", filter: { titleContains: \"%\" }")
            .await
            .len(),
        0,
        "% is literal"
    );
    assert_eq!(
        all_at_once(&app, ", filter: { titleContains: \"_\" }")
            .await
            .len(),
        0,
        "_ is literal"
    );
    assert_eq!(
        all_at_once(&app, ", filter: { topic: \"gulag\" }").await,
        ["de-stalinization"]
    );
    assert_eq!(
        all_at_once(
            &app,
            ", filter: { topic: \"gulag\", titleContains: \"synthetic\" }"
        )
        .await
        .len(),
        0
    );

    let data = app
        .data(
            r#"{ article(slug: "synthetic-5") { updatedAt } }"#,
            json!({}),
        )
        .await;
    let since = data["article"]["updatedAt"].as_str().unwrap().to_owned();
    let data = app
        .data(
            "query($since: DateTime!) { articles(first: 100, filter: { updatedSince: $since, titleContains: \"synthetic\" }) { nodes { slug } } }",
            json!({ "since": since }),
        )
        .await;
    let found: Vec<&str> = data["articles"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        found.first(),
        Some(&"synthetic-5"),
        "updatedSince is inclusive: {found:?}"
    );
    assert_eq!(found.len(), 8);
    let body = app
        .query(
            "{ articles(filter: { updatedSince: \"yesterday\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_array(), "{body}");
}

/// Nested connections page per parent: each topic gets its own page of articles.
pub async fn nested_connections_page_per_parent(app: TestApp) {
    with_synthetic(&app, 200).await;
    let data = app
        .data(
            r#"{ topics(first: 100) { nodes { slug articles(first: 2) { totalCount edges { cursor node { slug } } pageInfo { hasNextPage endCursor } } } } }"#,
            json!({}),
        )
        .await;
    let topics = data["topics"]["nodes"].as_array().unwrap();
    let busy = topics
        .iter()
        .find(|t| t["articles"]["totalCount"].as_i64().unwrap() > 2)
        .expect("a topic with 3+ articles");
    assert_eq!(busy["articles"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(busy["articles"]["pageInfo"]["hasNextPage"], true);
    // The second page of that topic continues where the first ended.
    let slug = busy["slug"].as_str().unwrap();
    let total = busy["articles"]["totalCount"].as_i64().unwrap() as usize;
    let mut seen: Vec<String> = busy["articles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["slug"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = busy["articles"]["pageInfo"]["endCursor"].clone();
    loop {
        let data = app
            .data(
                "query($slug: String!, $c: String) { topic(slug: $slug) { articles(first: 2, after: $c) { nodes { slug } pageInfo { hasNextPage endCursor } } } }",
                json!({ "slug": slug, "c": cursor }),
            )
            .await;
        let conn = &data["topic"]["articles"];
        seen.extend(
            conn["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["slug"].as_str().unwrap().to_owned()),
        );
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        cursor = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), total);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), total);
}

/// Each topic's page of articles is the matching slice of that topic's whole list, forward
/// (`first`/`after`) and backward (`last`/`before`), for every topic of one request at once,
/// with the page flags of a slice (one statement per page shape on either backend).
pub async fn nested_pages_are_slices_of_each_parents_list(app: TestApp) {
    // Each synthetic article tags 5 of 200 topics: about 10 articles a topic.
    with_synthetic(&app, 400).await;
    let data = app
        .data(
            r#"{ topics(first: 100) { nodes { slug articles(first: 100) { totalCount edges { cursor node { slug } } } } } }"#,
            json!({}),
        )
        .await;
    // (topic slug, its article slugs, their cursors), for topics whose list fits one page.
    let mut lists: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for topic in data["topics"]["nodes"].as_array().unwrap() {
        let conn = &topic["articles"];
        let edges = conn["edges"].as_array().unwrap();
        if conn["totalCount"].as_u64().unwrap() as usize != edges.len() {
            continue;
        }
        lists.push((
            topic["slug"].as_str().unwrap().to_owned(),
            edges
                .iter()
                .map(|e| e["node"]["slug"].as_str().unwrap().to_owned())
                .collect(),
            edges
                .iter()
                .map(|e| e["cursor"].as_str().unwrap().to_owned())
                .collect(),
        ));
    }
    assert!(
        lists
            .iter()
            .filter(|(_, slugs, _)| slugs.len() >= 4)
            .count()
            >= 2,
        "two topics with 4+ articles"
    );
    let slugs_of = |conn: &Value| -> Vec<String> {
        conn["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["slug"].as_str().unwrap().to_owned())
            .collect()
    };
    // Every topic at once, from either end.
    for (args, forward) in [("first: 3", true), ("last: 3", false)] {
        let data = app
            .data(
                &format!(
                    "{{ topics(first: 100) {{ nodes {{ slug articles({args}) {{ nodes {{ slug }} pageInfo {{ hasNextPage hasPreviousPage }} }} }} }} }}"
                ),
                json!({}),
            )
            .await;
        for topic in data["topics"]["nodes"].as_array().unwrap() {
            let Some((_, all, _)) = lists.iter().find(|(slug, _, _)| topic["slug"] == **slug)
            else {
                continue;
            };
            let conn = &topic["articles"];
            let n = all.len();
            let (want, next, previous) = if forward {
                (&all[..n.min(3)], n > 3, false)
            } else {
                (&all[n.saturating_sub(3)..], false, n > 3)
            };
            assert_eq!(slugs_of(conn), want, "{args}: {topic:#}");
            assert_eq!(conn["pageInfo"]["hasNextPage"], next, "{args}: {topic:#}");
            assert_eq!(
                conn["pageInfo"]["hasPreviousPage"], previous,
                "{args}: {topic:#}"
            );
        }
    }
    // From a cursor, for several topics in one request.
    let busy: Vec<_> = lists
        .iter()
        .filter(|(_, slugs, _)| slugs.len() >= 4)
        .take(3)
        .collect();
    let query = "query($t: String!, $a: String!, $b: String!, $c: String!, $d: String!) { \
        topic(slug: $t) { \
          after: articles(first: 2, after: $a) { nodes { slug } pageInfo { hasNextPage hasPreviousPage } } \
          before: articles(last: 2, before: $b) { nodes { slug } pageInfo { hasNextPage hasPreviousPage } } \
          between: articles(first: 5, after: $c, before: $d) { nodes { slug } pageInfo { hasNextPage hasPreviousPage } } \
        } }";
    for (slug, all, cursors) in busy {
        let n = all.len();
        let data = app
            .data(
                query,
                json!({ "t": slug, "a": cursors[1], "b": cursors[n - 1], "c": cursors[0], "d": cursors[3] }),
            )
            .await;
        let topic = &data["topic"];
        assert_eq!(slugs_of(&topic["after"]), &all[2..4], "{topic:#}");
        assert_eq!(topic["after"]["pageInfo"]["hasNextPage"], n > 4);
        assert_eq!(topic["after"]["pageInfo"]["hasPreviousPage"], true);
        assert_eq!(slugs_of(&topic["before"]), &all[n - 3..n - 1], "{topic:#}");
        assert_eq!(topic["before"]["pageInfo"]["hasNextPage"], true);
        assert_eq!(topic["before"]["pageInfo"]["hasPreviousPage"], n > 3);
        assert_eq!(slugs_of(&topic["between"]), &all[1..3], "{topic:#}");
        assert_eq!(topic["between"]["pageInfo"]["hasNextPage"], false);
        assert_eq!(topic["between"]["pageInfo"]["hasPreviousPage"], true);
    }
}

/// Bad pagination arguments are BAD_USER_INPUT naming the argument; nothing panics.
pub async fn bad_pagination_arguments_are_refused(app: TestApp) {
    with_synthetic(&app, 3).await;
    let data = app.data("{ articles(first: 2, orderBy: { field: TITLE, direction: ASC }) { pageInfo { endCursor } } }", json!({})).await;
    let title_cursor = data["articles"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = app
        .data("{ topics(first: 1) { pageInfo { endCursor } } }", json!({}))
        .await;
    let topic_cursor = data["topics"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        (
            "{ articles(first: 101) { totalCount } }",
            json!({}),
            "first",
        ),
        ("{ articles(last: -1) { totalCount } }", json!({}), "last"),
        (
            "{ articles(first: 1, last: 1) { totalCount } }",
            json!({}),
            "first",
        ),
        (
            "query($c: String) { articles(after: $c) { totalCount } }",
            json!({ "c": title_cursor }),
            "after",
        ),
        (
            "query($c: String) { articles(before: $c) { totalCount } }",
            json!({ "c": topic_cursor }),
            "before",
        ),
        (
            "query($c: String) { articles(after: $c) { totalCount } }",
            json!({ "c": "forged" }),
            "after",
        ),
        (
            "query($c: String) { articles(after: $c) { totalCount } }",
            json!({ "c": "eyJsIjoiYXJ0aWNsZXM6Q3JlYXRlZEF0OkFTQyIsImsiOlsxXSwiaSI6MX0" }),
            "after",
        ),
        (
            "{ topic(slug: \"gulag\") { articles(first: 500) { totalCount } } }",
            json!({}),
            "first",
        ),
        (
            "{ reforms(first: 1000) { totalCount } }",
            json!({}),
            "first",
        ),
    ];
    for (query, variables, field) in cases {
        let body = app.query(query, variables).await;
        assert_eq!(
            TestApp::error_code(&body),
            "BAD_USER_INPUT",
            "{query}: {body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{query}: {body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(field), "message names {field}: {message}");
    }
    // first: 0 is allowed and returns an empty page.
    let data = app.data("{ articles(first: 0) { edges { cursor } pageInfo { hasNextPage startCursor } totalCount } }", json!({})).await;
    assert_eq!(data["articles"]["edges"], json!([]));
    assert_eq!(data["articles"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(data["articles"]["totalCount"], 4);
}
