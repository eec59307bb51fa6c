//! Who may write: every mutation refuses a missing, malformed or unknown token without
//! writing anything, and works with a configured one.

use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestApp};

/// Every mutation of the contract, in an order in which each succeeds with a valid token.
/// `VERSION` in the variables is replaced by the seed article's current version.
fn every_mutation(seed: &Value) -> Vec<(&'static str, &'static str, Value)> {
    let article = &seed["id"];
    let section = &seed["sections"][0]["id"];
    let reform = &seed["sections"][1]["reforms"][0]["id"];
    let reaction = &seed["sections"][2]["reactions"][0]["id"];
    let topic = &seed["topics"][0]["id"];
    vec![
        (
            "createTopic",
            "mutation { createTopic(input: {slug: \"auth\", name: \"Auth\"}) { topic { id } } }",
            json!({}),
        ),
        (
            "updateTopic",
            "mutation($id: ID!) { updateTopic(id: $id, input: {name: \"Renamed\"}) { topic { id } } }",
            json!({"id": topic}),
        ),
        (
            "untagTopic",
            "mutation($t: ID!, $c: ID!) { untagTopic(topicId: $t, contentId: $c) { topic { id } } }",
            json!({"t": topic, "c": article}),
        ),
        (
            "tagTopic",
            "mutation($t: ID!, $c: ID!) { tagTopic(topicId: $t, contentId: $c) { topic { id } } }",
            json!({"t": topic, "c": article}),
        ),
        (
            "createArticle",
            "mutation { createArticle(input: {slug: \"auth\", title: \"Auth\", summary: \"\"}) { article { id } } }",
            json!({}),
        ),
        (
            "updateArticle",
            "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: {title: \"Retitled\"}) { article { id } } }",
            json!({"id": article, "v": "VERSION"}),
        ),
        (
            "createSection",
            "mutation($id: ID!) { createSection(input: {articleId: $id, heading: \"Auth\"}) { section { id } } }",
            json!({"id": article}),
        ),
        (
            "updateSection",
            "mutation($id: ID!) { updateSection(id: $id, input: {body: \"Edited.\"}) { section { id } } }",
            json!({"id": section}),
        ),
        (
            "moveSection",
            "mutation($id: ID!) { moveSection(id: $id, position: 2) { section { id } } }",
            json!({"id": section}),
        ),
        (
            "createReform",
            "mutation($id: ID!) { createReform(input: {sectionId: $id, title: \"Auth\", description: \"d\"}) { reform { id } } }",
            json!({"id": section}),
        ),
        (
            "updateReform",
            "mutation($id: ID!) { updateReform(id: $id, input: {description: \"Edited.\"}) { reform { id } } }",
            json!({"id": reform}),
        ),
        (
            "createReaction",
            "mutation($id: ID!) { createReaction(input: {sectionId: $id, title: \"Auth\", description: \"d\"}) { reaction { id } } }",
            json!({"id": section}),
        ),
        (
            "updateReaction",
            "mutation($id: ID!) { updateReaction(id: $id, input: {description: \"Edited.\"}) { reaction { id } } }",
            json!({"id": reaction}),
        ),
        (
            "deleteReform",
            "mutation($id: ID!) { deleteReform(id: $id) { deletedId } }",
            json!({"id": reform}),
        ),
        (
            "deleteReaction",
            "mutation($id: ID!) { deleteReaction(id: $id) { deletedId } }",
            json!({"id": reaction}),
        ),
        (
            "deleteSection",
            "mutation($id: ID!) { deleteSection(id: $id) { deletedId } }",
            json!({"id": section}),
        ),
        (
            "importArticle",
            "mutation { importArticle(document: \"Imported\\nSummary.\\nPart\\n- A: b\") { article { id } } }",
            json!({}),
        ),
        (
            "revertArticle",
            "mutation($id: ID!, $v: Int!) { revertArticle(id: $id, toVersion: 1, expectedVersion: $v) { article { id } } }",
            json!({"id": article, "v": "VERSION"}),
        ),
        (
            "deleteTopic",
            "mutation($id: ID!) { deleteTopic(id: $id) { deletedId } }",
            json!({"id": topic}),
        ),
        (
            "deleteArticle",
            "mutation($id: ID!) { deleteArticle(id: $id) { deletedId } }",
            json!({"id": article}),
        ),
    ]
}

async fn with_version(app: &TestApp, mut vars: Value) -> Value {
    if vars.get("v").is_some_and(|v| v == "VERSION") {
        vars["v"] = app.seed_article().await["version"].clone();
    }
    vars
}

pub async fn every_mutation_needs_a_valid_token(app: TestApp) {
    let seed = app.seed_article().await;
    let mutations = every_mutation(&seed);
    assert_eq!(mutations.len(), 20, "the contract has 20 mutations");
    let wrong = [
        None,
        Some("".to_owned()),
        Some(TOKEN.to_owned()),
        Some(format!("Basic {TOKEN}")),
        Some("Bearer".to_owned()),
        Some(format!("Bearer {TOKEN}x")),
        Some("Bearer wrong-token".to_owned()),
    ];
    for (name, query, vars) in mutations {
        let vars = with_version(&app, vars).await;
        let before = app.snapshot().await;
        for header in &wrong {
            let body = app.query_as(header.as_deref(), query, vars.clone()).await;
            assert_eq!(
                TestApp::error_code(&body),
                "UNAUTHENTICATED",
                "{name} with {header:?}: {body:#}"
            );
            assert!(body["data"].is_null(), "{name}: {body:#}");
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(!message.contains(TOKEN), "the token is never echoed");
            assert_eq!(
                app.snapshot().await,
                before,
                "{name} with {header:?} wrote something"
            );
        }
        let body = app
            .query_as(Some(&format!("bearer  {TOKEN}")), query, vars)
            .await;
        assert!(
            body.get("errors").is_none(),
            "{name} with the right token: {body:#}"
        );
    }
    // Reads stay public.
    let body = app
        .query_as(None, "{ topics { totalCount } }", json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
}

pub async fn without_configured_tokens_every_mutation_is_refused(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |config| config.editor_tokens = None).await;
    let seed = app.seed_article().await;
    let before = app.snapshot().await;
    for (name, query, vars) in every_mutation(&seed) {
        let vars = with_version(&app, vars).await;
        let body = app.mutate(query, vars).await;
        assert_eq!(
            TestApp::error_code(&body),
            "UNAUTHENTICATED",
            "{name}: {body:#}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("no editor tokens configured"), "{message}");
    }
    assert_eq!(app.snapshot().await, before);
}

pub async fn tokens_file_names_editors(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens");
    std::fs::write(
        &path,
        "# editors\nalice:alice-secret-token\n\n  bare-secret-token\n",
    )
    .unwrap();
    let file = path.clone();
    let app = TestApp::spawn_with(app.backend, move |config| {
        config.editor_tokens = None;
        config.editor_tokens_file = Some(file);
    })
    .await;
    let create =
        "mutation($s: String!) { createTopic(input: {slug: $s, name: \"N\"}) { topic { id } } }";
    let update = "mutation($v: Int!, $t: String!) { updateArticle(id: \"QXJ0aWNsZTox\", expectedVersion: $v, input: {title: $t}) { article { revision(version: $v) { version } revisions(first: 1) { nodes { editor } } } } }";
    let body = app
        .query_as(Some("Bearer alice-secret-token"), create, json!({"s": "a"}))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let body = app
        .query_as(
            Some("Bearer alice-secret-token"),
            update,
            json!({"v": 1, "t": "One"}),
        )
        .await;
    assert_eq!(
        body["data"]["updateArticle"]["article"]["revisions"]["nodes"][0]["editor"], "alice",
        "{body:#}"
    );
    let body = app
        .query_as(
            Some("Bearer bare-secret-token"),
            update,
            json!({"v": 2, "t": "Two"}),
        )
        .await;
    assert_eq!(
        body["data"]["updateArticle"]["article"]["revisions"]["nodes"][0]["editor"], "editor",
        "{body:#}"
    );
    let body = app
        .query_as(Some(&format!("Bearer {TOKEN}")), create, json!({"s": "b"}))
        .await;
    assert_eq!(TestApp::error_code(&body), "UNAUTHENTICATED");
}
