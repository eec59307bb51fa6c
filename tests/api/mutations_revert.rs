//! Revision history and revertArticle.

use serde_json::{Value, json};

use crate::helpers::{SEED, TestApp};

const REVERT: &str = "mutation($id: ID!, $to: Int!, $v: Int!) { revertArticle(id: $id, toVersion: $to, expectedVersion: $v) { article { id version sections { heading } revision(version: 5) { change editor document } } } }";
const REVISIONS: &str = "query($first: Int, $after: String, $last: Int, $before: String) { article(slug: \"de-stalinization\") { revisions(first: $first, after: $after, last: $last, before: $before) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor startCursor } nodes { version change editor } } } }";

fn versions(data: &Value) -> Vec<i64> {
    data["article"]["revisions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["version"].as_i64().unwrap())
        .collect()
}

pub async fn revert_to_the_seed_reproduces_it_exactly(app: TestApp) {
    let seed = app.seed_article().await;
    let id = seed["id"].clone();
    app.mutate_ok("mutation($id: ID!) { updateArticle(id: $id, expectedVersion: 1, input: {title: \"Changed\", summary: \"Gone.\"}) { article { version } } }", json!({"id": id})).await;
    app.mutate_ok(
        "mutation($id: ID!) { deleteSection(id: $id) { deletedId } }",
        json!({"id": seed["sections"][1]["id"]}),
    )
    .await;
    app.mutate_ok(
        "mutation($id: ID!) { moveSection(id: $id, position: 1) { section { id } } }",
        json!({"id": seed["sections"][3]["id"]}),
    )
    .await;
    app.mutate_ok("mutation($id: ID!) { updateReaction(id: $id, input: {description: \"Edited.\"}) { reaction { id } } }", json!({"id": seed["sections"][2]["reactions"][0]["id"]})).await;
    assert_eq!(app.seed_article().await["version"], 5);
    let before = app.snapshot().await;
    for (vars, code) in [
        (json!({"id": id, "to": 1, "v": 4}), "CONFLICT"),
        (json!({"id": id, "to": 9, "v": 5}), "NOT_FOUND"),
        (
            json!({"id": "QXJ0aWNsZTo5OTk", "to": 1, "v": 1}),
            "NOT_FOUND",
        ),
        (json!({"id": "x", "to": 1, "v": 5}), "BAD_USER_INPUT"),
    ] {
        let body = app.mutate(REVERT, vars).await;
        TestApp::assert_error(&body, code, None);
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed revert wrote something"
        );
    }
    let data = app
        .mutate_ok(REVERT, json!({"id": id, "to": 1, "v": 5}))
        .await;
    let article = &data["revertArticle"]["article"];
    assert_eq!(article["id"], id);
    assert_eq!(article["version"], 6, "a revert is a new version");
    assert_eq!(article["sections"].as_array().unwrap().len(), 6);
    let (ok, out, err) = app.cli(&["export", "de-stalinization"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim_end_matches('\n'), SEED.trim_end_matches('\n'));
    let latest = app
        .data("{ article(slug: \"de-stalinization\") { revision(version: 6) { change editor document } first: revision(version: 1) { editor document } } }", json!({}))
        .await;
    assert_eq!(latest["article"]["revision"]["change"], "REVERTED");
    assert_eq!(latest["article"]["revision"]["editor"], "tester");
    assert_eq!(
        latest["article"]["revision"]["document"],
        latest["article"]["first"]["document"]
    );
    assert_eq!(latest["article"]["first"]["editor"], "seed");
    assert_eq!(
        latest["article"]["first"]["document"].as_str().unwrap(),
        SEED.trim_end_matches('\n')
    );
    // History was not rewritten: version 5 still holds the edited document.
    let five = app
        .data("{ article(slug: \"de-stalinization\") { revision(version: 5) { document } missing: revision(version: 7) { version } } }", json!({}))
        .await;
    assert!(
        five["article"]["revision"]["document"]
            .as_str()
            .unwrap()
            .starts_with("Changed {#de-stalinization}\nGone.")
    );
    assert!(five["article"]["missing"].is_null());
}

pub async fn revisions_page_newest_first(app: TestApp) {
    let id = app.seed_article().await["id"].clone();
    for v in 1..=4 {
        app.mutate_ok(
            "mutation($id: ID!, $v: Int!, $t: String!) { updateArticle(id: $id, expectedVersion: $v, input: {title: $t}) { article { version } } }",
            json!({"id": id, "v": v, "t": format!("Title {v}")}),
        )
        .await;
    }
    let page = app.data(REVISIONS, json!({"first": 2})).await;
    assert_eq!(versions(&page), [5, 4]);
    let revisions = &page["article"]["revisions"];
    assert_eq!(revisions["totalCount"], 5);
    assert_eq!(revisions["pageInfo"]["hasNextPage"], true);
    let next = app
        .data(
            REVISIONS,
            json!({"first": 2, "after": revisions["pageInfo"]["endCursor"]}),
        )
        .await;
    assert_eq!(versions(&next), [3, 2]);
    assert_eq!(
        next["article"]["revisions"]["pageInfo"]["hasPreviousPage"],
        true
    );
    let last = app.data(REVISIONS, json!({"last": 2})).await;
    assert_eq!(versions(&last), [2, 1]);
    let before = app
        .data(
            REVISIONS,
            json!({"last": 1, "before": last["article"]["revisions"]["pageInfo"]["startCursor"]}),
        )
        .await;
    assert_eq!(versions(&before), [3]);
    let bad = app.query(REVISIONS, json!({"after": "bogus"})).await;
    TestApp::assert_error(&bad, "BAD_USER_INPUT", Some("after"));
}
