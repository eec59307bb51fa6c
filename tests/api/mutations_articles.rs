//! createArticle, updateArticle, deleteArticle: happy paths, every error path, and the
//! optimistic-concurrency race.

use serde_json::{Value, json};

use crate::helpers::{EDITOR, TestApp};

const CREATE: &str = "mutation($input: CreateArticleInput!) { createArticle(input: $input) { article { id slug title summary version createdAt updatedAt revisions { totalCount nodes { version editor change nodeId document } } } } }";
const UPDATE: &str = "mutation($id: ID!, $v: Int!, $input: UpdateArticleInput!) { updateArticle(id: $id, expectedVersion: $v, input: $input) { article { id slug title version updatedAt revision(version: 2) { change editor nodeId } } } }";
const DELETE: &str = "mutation($id: ID!) { deleteArticle(id: $id) { deletedId } }";

pub async fn create_article_records_version_one(app: TestApp) {
    let data = app
        .mutate_ok(
            CREATE,
            json!({"input": {"slug": "the-thaw", "title": "  The Thaw  ", "summary": "A period.\nOf relaxation."}}),
        )
        .await;
    let article = &data["createArticle"]["article"];
    assert_eq!(article["slug"], "the-thaw");
    assert_eq!(article["title"], "The Thaw", "titles are stored trimmed");
    assert_eq!(article["version"], 1);
    assert_eq!(article["createdAt"], article["updatedAt"]);
    let revisions = &article["revisions"];
    assert_eq!(revisions["totalCount"], 1);
    assert_eq!(revisions["nodes"][0]["editor"], EDITOR);
    assert_eq!(revisions["nodes"][0]["change"], "ARTICLE_CREATED");
    assert_eq!(
        revisions["nodes"][0]["document"],
        "The Thaw\nA period.\nOf relaxation."
    );
    let read = app
        .data("{ article(slug: \"the-thaw\") { id } }", json!({}))
        .await;
    assert_eq!(read["article"]["id"], article["id"]);
}

pub async fn create_article_errors_write_nothing(app: TestApp) {
    let before = app.snapshot().await;
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({"slug": "Bad Slug", "title": "T", "summary": ""}),
            "BAD_USER_INPUT",
            Some("slug"),
        ),
        (
            json!({"slug": "a--b", "title": "T", "summary": ""}),
            "BAD_USER_INPUT",
            Some("slug"),
        ),
        (
            json!({"slug": "x".repeat(101), "title": "T", "summary": ""}),
            "BAD_USER_INPUT",
            Some("slug"),
        ),
        (
            json!({"slug": "ok", "title": "   ", "summary": ""}),
            "BAD_USER_INPUT",
            Some("title"),
        ),
        (
            json!({"slug": "ok", "title": "x".repeat(301), "summary": ""}),
            "BAD_USER_INPUT",
            Some("title"),
        ),
        (
            json!({"slug": "ok", "title": "two\nlines", "summary": ""}),
            "BAD_USER_INPUT",
            Some("title"),
        ),
        (
            json!({"slug": "ok", "title": "T", "summary": "bell\u{7}"}),
            "BAD_USER_INPUT",
            Some("summary"),
        ),
        (
            json!({"slug": "ok", "title": "T", "summary": "x".repeat(100_001)}),
            "BAD_USER_INPUT",
            Some("summary"),
        ),
        (
            json!({"slug": "de-stalinization", "title": "T", "summary": ""}),
            "CONFLICT",
            None,
        ),
    ];
    for (input, code, field) in cases {
        let body = app.mutate(CREATE, json!({ "input": input })).await;
        TestApp::assert_error(&body, code, field);
        assert!(body["data"].is_null(), "{body:#}");
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed createArticle wrote something"
        );
    }
    // Unicode is kept as given and counted in characters.
    let data = app
        .mutate_ok(
            CREATE,
            json!({"input": {"slug": "ok", "title": "é".repeat(300), "summary": "Ünïcödé ✓"}}),
        )
        .await;
    assert_eq!(data["createArticle"]["article"]["summary"], "Ünïcödé ✓");
}

pub async fn update_article_bumps_version_and_noop_does_not(app: TestApp) {
    let seed = app.seed_article().await;
    let id = seed["id"].clone();
    let data = app
        .mutate_ok(
            UPDATE,
            json!({"id": id, "v": 1, "input": {"title": "De-Stalinisation", "slug": "de-stalinisation"}}),
        )
        .await;
    let article = &data["updateArticle"]["article"];
    assert_eq!(article["version"], 2);
    assert_eq!(article["slug"], "de-stalinisation");
    assert_ne!(article["updatedAt"], seed["updatedAt"]);
    assert_eq!(article["revision"]["change"], "ARTICLE_UPDATED");
    assert_eq!(article["revision"]["editor"], EDITOR);
    assert_eq!(article["revision"]["nodeId"], id);
    // The same values again: a no-op, nothing changes.
    let before = app.snapshot().await;
    let data = app
        .mutate_ok(
            UPDATE,
            json!({"id": id, "v": 2, "input": {"title": "De-Stalinisation"}}),
        )
        .await;
    assert_eq!(data["updateArticle"]["article"]["version"], 2);
    assert_eq!(app.snapshot().await, before);
}

pub async fn update_article_errors_write_nothing(app: TestApp) {
    let seed = app.seed_article().await;
    let id = seed["id"].as_str().unwrap().to_owned();
    app.mutate_ok(
        CREATE,
        json!({"input": {"slug": "other", "title": "Other", "summary": ""}}),
    )
    .await;
    let before = app.snapshot().await;
    let section = seed["sections"][0]["id"].clone();
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({"id": id, "v": 7, "input": {"title": "New"}}),
            "CONFLICT",
            None,
        ),
        (
            json!({"id": id, "v": 1, "input": {"slug": "other"}}),
            "CONFLICT",
            None,
        ),
        (
            json!({"id": id, "v": 1, "input": {"slug": "No!"}}),
            "BAD_USER_INPUT",
            Some("slug"),
        ),
        (
            json!({"id": id, "v": 1, "input": {"title": ""}}),
            "BAD_USER_INPUT",
            Some("title"),
        ),
        (
            json!({"id": "QXJ0aWNsZTo5OTk", "v": 1, "input": {"title": "New"}}),
            "NOT_FOUND",
            None,
        ),
        (
            json!({"id": "not-an-id", "v": 1, "input": {"title": "New"}}),
            "BAD_USER_INPUT",
            Some("id"),
        ),
        (
            json!({"id": section, "v": 1, "input": {"title": "New"}}),
            "BAD_USER_INPUT",
            Some("id"),
        ),
    ];
    for (vars, code, field) in cases {
        let body = app.mutate(UPDATE, vars).await;
        TestApp::assert_error(&body, code, field);
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed updateArticle wrote something"
        );
    }
    let stale = app
        .mutate(UPDATE, json!({"id": id, "v": 7, "input": {"title": "New"}}))
        .await;
    assert_eq!(
        stale["errors"][0]["extensions"]["currentVersion"], 1,
        "{stale:#}"
    );
}

pub async fn concurrent_updates_with_one_expected_version_one_wins(app: TestApp) {
    let id = app.seed_article().await["id"].clone();
    let attempts = (0..8).map(|i| {
        let vars = json!({"id": id, "v": 1, "input": {"title": format!("Title {i}")}});
        let app = &app;
        async move { app.mutate(UPDATE, vars).await }
    });
    let results = futures::future::join_all(attempts).await;
    let won: Vec<&Value> = results
        .iter()
        .filter(|b| b.get("errors").is_none())
        .collect();
    let lost: Vec<&Value> = results
        .iter()
        .filter(|b| b.get("errors").is_some())
        .collect();
    assert_eq!(won.len(), 1, "exactly one update wins: {results:#?}");
    for body in &lost {
        TestApp::assert_error(body, "CONFLICT", None);
        assert_eq!(body["errors"][0]["extensions"]["currentVersion"], 2);
    }
    let article = app.seed_article().await;
    assert_eq!(article["version"], 2);
    assert_eq!(app.count("revisions").await, 2);
}

pub async fn delete_article_removes_everything_in_it(app: TestApp) {
    let id = app.seed_article().await["id"].clone();
    let data = app.mutate_ok(DELETE, json!({"id": id})).await;
    assert_eq!(data["deleteArticle"]["deletedId"], id);
    for table in [
        "articles",
        "sections",
        "reforms",
        "reactions",
        "article_topics",
        "revisions",
    ] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    assert!(app.count("topics").await > 0, "topics survive");
    let before = app.snapshot().await;
    let again = app.mutate(DELETE, json!({"id": id})).await;
    TestApp::assert_error(&again, "NOT_FOUND", None);
    let malformed = app.mutate(DELETE, json!({"id": "%%%"})).await;
    TestApp::assert_error(&malformed, "BAD_USER_INPUT", Some("id"));
    assert_eq!(app.snapshot().await, before);
}
