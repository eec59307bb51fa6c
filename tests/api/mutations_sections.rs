//! createSection, updateSection, moveSection, deleteSection: dense positions, derived slugs,
//! version bumps, and every error path.

use serde_json::{Value, json};

use crate::helpers::TestApp;

const CREATE: &str = "mutation($input: CreateSectionInput!) { createSection(input: $input) { section { id slug position heading body article { version } } } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateSectionInput!) { updateSection(id: $id, input: $input) { section { id slug heading body article { version revision(version: 2) { change nodeId } } } } }";
const MOVE: &str = "mutation($id: ID!, $p: Int!) { moveSection(id: $id, position: $p) { section { id position article { version } } } }";
const DELETE: &str = "mutation($id: ID!) { deleteSection(id: $id) { deletedId } }";

/// The seed article's section headings in order, asserting positions are 1..n.
async fn headings(app: &TestApp) -> Vec<String> {
    let article = app.seed_article().await;
    let sections = article["sections"].as_array().unwrap();
    for (i, s) in sections.iter().enumerate() {
        assert_eq!(s["position"], i + 1, "positions are dense: {sections:#?}");
    }
    sections
        .iter()
        .map(|s| s["heading"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn create_section_shifts_positions_and_derives_slugs(app: TestApp) {
    let id = app.seed_article().await["id"].clone();
    let first = app
        .mutate_ok(
            CREATE,
            json!({"input": {"articleId": id, "heading": "Prelude", "position": 1}}),
        )
        .await;
    let section = &first["createSection"]["section"];
    assert_eq!(section["position"], 1);
    assert_eq!(section["slug"], "prelude");
    assert_eq!(section["body"], "");
    assert_eq!(section["article"]["version"], 2);
    let taken = app
        .mutate_ok(CREATE, json!({"input": {"articleId": id, "heading": "Legacy", "body": "More.", "position": 4}}))
        .await;
    assert_eq!(taken["createSection"]["section"]["slug"], "legacy-2");
    let again = app
        .mutate_ok(
            CREATE,
            json!({"input": {"articleId": id, "heading": "Legacy"}}),
        )
        .await;
    assert_eq!(again["createSection"]["section"]["slug"], "legacy-3");
    assert_eq!(
        again["createSection"]["section"]["position"], 9,
        "omitted position appends"
    );
    assert_eq!(again["createSection"]["section"]["article"]["version"], 4);
    assert_eq!(
        headings(&app).await,
        [
            "Prelude",
            "Historical Context",
            "Key Reforms and Policies",
            "Legacy",
            "Impact and Reactions",
            "Legacy",
            "External Links",
            "Related Topics",
            "Legacy"
        ]
    );
}

pub async fn section_errors_write_nothing(app: TestApp) {
    let seed = app.seed_article().await;
    let id = seed["id"].clone();
    let before = app.snapshot().await;
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({"articleId": id, "heading": "H", "position": 0}),
            "BAD_USER_INPUT",
            Some("position"),
        ),
        (
            json!({"articleId": id, "heading": "H", "position": 8}),
            "BAD_USER_INPUT",
            Some("position"),
        ),
        (
            json!({"articleId": id, "heading": "Two\nlines"}),
            "BAD_USER_INPUT",
            Some("heading"),
        ),
        (
            json!({"articleId": id, "heading": ""}),
            "BAD_USER_INPUT",
            Some("heading"),
        ),
        (
            json!({"articleId": id, "heading": "H", "body": "nul\u{0}"}),
            "BAD_USER_INPUT",
            Some("body"),
        ),
        (
            json!({"articleId": id, "heading": "H", "slug": "Legacy"}),
            "BAD_USER_INPUT",
            Some("slug"),
        ),
        (
            json!({"articleId": id, "heading": "H", "slug": "legacy"}),
            "CONFLICT",
            None,
        ),
        (
            json!({"articleId": "QXJ0aWNsZTo5OTk", "heading": "H"}),
            "NOT_FOUND",
            None,
        ),
        (
            json!({"articleId": "nope", "heading": "H"}),
            "BAD_USER_INPUT",
            Some("articleId"),
        ),
    ];
    for (input, code, field) in cases {
        let body = app.mutate(CREATE, json!({ "input": input })).await;
        TestApp::assert_error(&body, code, field);
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed createSection wrote something"
        );
    }
    let section = seed["sections"][0]["id"].clone();
    let updates: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({"id": section, "input": {"slug": "legacy"}}),
            "CONFLICT",
            None,
        ),
        (
            json!({"id": section, "input": {"heading": "Why?\nBecause"}}),
            "BAD_USER_INPUT",
            Some("heading"),
        ),
        (
            json!({"id": "U2VjdGlvbjo5OTk", "input": {"heading": "H"}}),
            "NOT_FOUND",
            None,
        ),
    ];
    for (vars, code, field) in updates {
        let body = app.mutate(UPDATE, vars).await;
        TestApp::assert_error(&body, code, field);
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed updateSection wrote something"
        );
    }
    for (vars, code) in [
        (json!({"id": section, "p": 0}), "BAD_USER_INPUT"),
        (json!({"id": section, "p": 7}), "BAD_USER_INPUT"),
        (json!({"id": "U2VjdGlvbjo5OTk", "p": 1}), "NOT_FOUND"),
    ] {
        let body = app.mutate(MOVE, vars).await;
        TestApp::assert_error(&body, code, None);
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed moveSection wrote something"
        );
    }
    let body = app.mutate(DELETE, json!({"id": "U2VjdGlvbjo5OTk"})).await;
    TestApp::assert_error(&body, "NOT_FOUND", None);
    assert_eq!(app.snapshot().await, before);
}

pub async fn update_section_changes_fields_and_noop_keeps_version(app: TestApp) {
    let seed = app.seed_article().await;
    let section = seed["sections"][3]["id"].clone();
    let data = app
        .mutate_ok(UPDATE, json!({"id": section, "input": {"heading": "Aftermath", "body": "Line one.\n\tLine two."}}))
        .await;
    let s = &data["updateSection"]["section"];
    assert_eq!(s["heading"], "Aftermath");
    assert_eq!(s["slug"], "legacy", "a slug is not re-derived");
    assert_eq!(s["article"]["version"], 2);
    assert_eq!(s["article"]["revision"]["change"], "SECTION_UPDATED");
    assert_eq!(s["article"]["revision"]["nodeId"], section);
    let before = app.snapshot().await;
    app.mutate_ok(
        UPDATE,
        json!({"id": section, "input": {"heading": "Aftermath"}}),
    )
    .await;
    assert_eq!(app.snapshot().await, before, "a no-op changes nothing");
}

pub async fn move_and_delete_keep_positions_dense(app: TestApp) {
    let seed = app.seed_article().await;
    let ids: Vec<Value> = seed["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    // Historical Context from 1 to 4.
    let moved = app.mutate_ok(MOVE, json!({"id": ids[0], "p": 4})).await;
    assert_eq!(moved["moveSection"]["section"]["position"], 4);
    assert_eq!(moved["moveSection"]["section"]["article"]["version"], 2);
    assert_eq!(
        headings(&app).await,
        [
            "Key Reforms and Policies",
            "Impact and Reactions",
            "Legacy",
            "Historical Context",
            "External Links",
            "Related Topics"
        ]
    );
    // Related Topics from 6 to 1.
    app.mutate_ok(MOVE, json!({"id": ids[5], "p": 1})).await;
    assert_eq!(
        headings(&app).await,
        [
            "Related Topics",
            "Key Reforms and Policies",
            "Impact and Reactions",
            "Legacy",
            "Historical Context",
            "External Links"
        ]
    );
    // Moving to where it is: a no-op.
    let before = app.snapshot().await;
    app.mutate_ok(MOVE, json!({"id": ids[5], "p": 1})).await;
    assert_eq!(app.snapshot().await, before);
    // Deleting Key Reforms and Policies deletes its four reforms and closes the gap.
    let reforms = app.count("reforms").await;
    let data = app.mutate_ok(DELETE, json!({"id": ids[1]})).await;
    assert_eq!(data["deleteSection"]["deletedId"], ids[1]);
    assert_eq!(app.count("reforms").await, reforms - 4);
    assert_eq!(
        headings(&app).await,
        [
            "Related Topics",
            "Impact and Reactions",
            "Legacy",
            "Historical Context",
            "External Links"
        ]
    );
    let article = app.seed_article().await;
    assert_eq!(article["version"], 4);
    let revision = app
        .data(
            "{ article(slug: \"de-stalinization\") { revision(version: 4) { change nodeId } } }",
            json!({}),
        )
        .await;
    assert_eq!(revision["article"]["revision"]["change"], "SECTION_DELETED");
    assert_eq!(revision["article"]["revision"]["nodeId"], ids[1]);
}
