//! Reforms and reactions: create, update, delete with dense positions and every error path.

use serde_json::{Value, json};

use crate::helpers::TestApp;

const CREATE_REFORM: &str = "mutation($input: CreateReformInput!) { createReform(input: $input) { reform { id slug title description position section { id } article { version } } } }";
const UPDATE_REFORM: &str = "mutation($id: ID!, $input: UpdateReformInput!) { updateReform(id: $id, input: $input) { reform { id slug title description article { version } } } }";
const DELETE_REFORM: &str = "mutation($id: ID!) { deleteReform(id: $id) { deletedId } }";
const CREATE_REACTION: &str = "mutation($input: CreateReactionInput!) { createReaction(input: $input) { reaction { id slug title position article { version } } } }";
const UPDATE_REACTION: &str = "mutation($id: ID!, $input: UpdateReactionInput!) { updateReaction(id: $id, input: $input) { reaction { id title description article { version } } } }";
const DELETE_REACTION: &str = "mutation($id: ID!) { deleteReaction(id: $id) { deletedId } }";

fn slugs(section: &Value, kind: &str) -> Vec<String> {
    let points = section[kind].as_array().unwrap();
    for (i, p) in points.iter().enumerate() {
        assert_eq!(p["position"], i + 1, "positions are dense: {points:#?}");
    }
    points
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn reform_lifecycle_keeps_positions_dense(app: TestApp) {
    let seed = app.seed_article().await;
    let section = seed["sections"][1]["id"].clone();
    let data = app
        .mutate_ok(
            CREATE_REFORM,
            json!({"input": {"sectionId": section, "title": "Easing Repression", "description": "Again.", "position": 2}}),
        )
        .await;
    let reform = data["createReform"]["reform"].clone();
    assert_eq!(
        reform["slug"], "easing-repression-2",
        "derived slugs avoid taken ones"
    );
    assert_eq!(reform["position"], 2);
    assert_eq!(reform["section"]["id"], section);
    assert_eq!(reform["article"]["version"], 2);
    let seed = app.seed_article().await;
    assert_eq!(
        slugs(&seed["sections"][1], "reforms"),
        [
            "rehabilitation-of-victims",
            "easing-repression-2",
            "easing-repression",
            "political-liberalization",
            "economic-reforms"
        ]
    );
    let data = app
        .mutate_ok(UPDATE_REFORM, json!({"id": reform["id"], "input": {"description": "Changed.", "slug": "second-easing"}}))
        .await;
    assert_eq!(data["updateReform"]["reform"]["description"], "Changed.");
    assert_eq!(data["updateReform"]["reform"]["slug"], "second-easing");
    assert_eq!(data["updateReform"]["reform"]["article"]["version"], 3);
    let first = seed["sections"][1]["reforms"][0]["id"].clone();
    app.mutate_ok(DELETE_REFORM, json!({"id": first})).await;
    let seed = app.seed_article().await;
    assert_eq!(
        slugs(&seed["sections"][1], "reforms"),
        [
            "second-easing",
            "easing-repression",
            "political-liberalization",
            "economic-reforms"
        ]
    );
    assert_eq!(seed["version"], 4);
    let rev = app
        .data(
            "{ article(slug: \"de-stalinization\") { revision(version: 4) { change nodeId } } }",
            json!({}),
        )
        .await;
    assert_eq!(rev["article"]["revision"]["change"], "REFORM_DELETED");
    assert_eq!(rev["article"]["revision"]["nodeId"], first);
}

pub async fn reaction_lifecycle(app: TestApp) {
    let seed = app.seed_article().await;
    // Reactions may stand under any section, e.g. Legacy, which has none yet.
    let legacy = seed["sections"][3]["id"].clone();
    let data = app
        .mutate_ok(CREATE_REACTION, json!({"input": {"sectionId": legacy, "title": "Historians", "description": "Debated it."}}))
        .await;
    let reaction = data["createReaction"]["reaction"].clone();
    assert_eq!(reaction["position"], 1);
    assert_eq!(reaction["slug"], "historians");
    let data = app
        .mutate_ok(
            UPDATE_REACTION,
            json!({"id": reaction["id"], "input": {"title": "Historians Abroad"}}),
        )
        .await;
    assert_eq!(
        data["updateReaction"]["reaction"]["title"],
        "Historians Abroad"
    );
    assert_eq!(data["updateReaction"]["reaction"]["article"]["version"], 3);
    let data = app
        .mutate_ok(DELETE_REACTION, json!({"id": reaction["id"]}))
        .await;
    assert_eq!(data["deleteReaction"]["deletedId"], reaction["id"]);
    assert_eq!(app.count("reactions").await, 3);
    assert_eq!(app.seed_article().await["version"], 4);
}

pub async fn point_errors_write_nothing(app: TestApp) {
    let seed = app.seed_article().await;
    let section = seed["sections"][1]["id"].clone();
    let reform = seed["sections"][1]["reforms"][0]["id"].clone();
    let reaction = seed["sections"][2]["reactions"][0]["id"].clone();
    let before = app.snapshot().await;
    let creates: Vec<(&str, Value, &str, Option<&str>)> = vec![
        (
            CREATE_REFORM,
            json!({"sectionId": section, "title": "T", "description": "d", "position": 6}),
            "BAD_USER_INPUT",
            Some("position"),
        ),
        (
            CREATE_REFORM,
            json!({"sectionId": section, "title": "T", "description": "d", "position": -1}),
            "BAD_USER_INPUT",
            Some("position"),
        ),
        (
            CREATE_REFORM,
            json!({"sectionId": section, "title": "A\nb", "description": "d"}),
            "BAD_USER_INPUT",
            Some("title"),
        ),
        (
            CREATE_REFORM,
            json!({"sectionId": section, "title": "T", "description": "\u{1b}[31m"}),
            "BAD_USER_INPUT",
            Some("description"),
        ),
        (
            CREATE_REFORM,
            json!({"sectionId": section, "title": "T", "description": "d", "slug": "economic-reforms"}),
            "CONFLICT",
            None,
        ),
        (
            CREATE_REFORM,
            json!({"sectionId": "U2VjdGlvbjo5OTk", "title": "T", "description": "d"}),
            "NOT_FOUND",
            None,
        ),
        (
            CREATE_REFORM,
            json!({"sectionId": reform, "title": "T", "description": "d"}),
            "BAD_USER_INPUT",
            Some("sectionId"),
        ),
        (
            CREATE_REACTION,
            json!({"sectionId": section, "title": "T", "description": "d", "slug": "public-reaction"}),
            "CONFLICT",
            None,
        ),
        (
            CREATE_REACTION,
            json!({"sectionId": "U2VjdGlvbjo5OTk", "title": "T", "description": "d"}),
            "NOT_FOUND",
            None,
        ),
    ];
    for (query, input, code, field) in creates {
        let body = app.mutate(query, json!({ "input": input })).await;
        TestApp::assert_error(&body, code, field);
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed create wrote something"
        );
    }
    let others: Vec<(&str, Value, &str)> = vec![
        (
            UPDATE_REFORM,
            json!({"id": reform, "input": {"slug": "economic-reforms"}}),
            "CONFLICT",
        ),
        (
            UPDATE_REFORM,
            json!({"id": reform, "input": {"title": ""}}),
            "BAD_USER_INPUT",
        ),
        (
            UPDATE_REFORM,
            json!({"id": "UmVmb3JtOjk5OQ", "input": {"title": "T"}}),
            "NOT_FOUND",
        ),
        (
            UPDATE_REFORM,
            json!({"id": reaction, "input": {"title": "T"}}),
            "BAD_USER_INPUT",
        ),
        (
            UPDATE_REACTION,
            json!({"id": "UmVhY3Rpb246OTk5", "input": {"title": "T"}}),
            "NOT_FOUND",
        ),
        (DELETE_REFORM, json!({"id": "UmVmb3JtOjk5OQ"}), "NOT_FOUND"),
        (
            DELETE_REACTION,
            json!({"id": "UmVhY3Rpb246OTk5"}),
            "NOT_FOUND",
        ),
        (DELETE_REACTION, json!({"id": "?"}), "BAD_USER_INPUT"),
    ];
    for (query, vars, code) in others {
        let body = app.mutate(query, vars).await;
        TestApp::assert_error(&body, code, None);
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed mutation wrote something"
        );
    }
}
