//! Error paths of the read API: codes, locations, and no leaks.

use serde_json::json;

use crate::helpers::TestApp;

/// A syntax error is GRAPHQL_PARSE_FAILED with its location.
pub async fn syntax_errors_have_a_location(app: TestApp) {
    let body = app
        .query("{\n  article(slug: \"x\") {\n    title\n", json!({}))
        .await;
    assert_eq!(TestApp::error_code(&body), "GRAPHQL_PARSE_FAILED", "{body}");
    assert!(
        body["errors"][0]["locations"][0]["line"].as_u64().is_some(),
        "{body}"
    );
    assert!(
        body.get("data").is_none(),
        "no data entry on a parse failure: {body}"
    );
    app.assert_healthy().await;
}

/// An unknown field is GRAPHQL_VALIDATION_FAILED with its location.
pub async fn unknown_fields_have_a_location(app: TestApp) {
    let body = app
        .query("{\n  article(slug: \"x\") {\n    colour\n  }\n}", json!({}))
        .await;
    assert_eq!(
        TestApp::error_code(&body),
        "GRAPHQL_VALIDATION_FAILED",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["locations"][0],
        json!({ "line": 3, "column": 5 }),
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
}

/// A malformed ID is BAD_USER_INPUT naming the argument.
pub async fn malformed_ids_are_bad_input(app: TestApp) {
    for id in ["", "not-base64!", "QmFuYW5hOjE", "QXJ0aWNsZTp4"] {
        let body = app
            .query(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(TestApp::error_code(&body), "BAD_USER_INPUT", "{id}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "id");
    }
    let body = app
        .query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ["QXJ0aWNsZTox", "nope"] }),
        )
        .await;
    assert_eq!(TestApp::error_code(&body), "BAD_USER_INPUT", "{body}");
    let too_many: Vec<String> = (0..101).map(|_| "QXJ0aWNsZTox".to_owned()).collect();
    let body = app
        .query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": too_many }),
        )
        .await;
    assert_eq!(TestApp::error_code(&body), "BAD_USER_INPUT", "{body}");
}

/// A database failure reaches the client as INTERNAL with a request id, never as SQL.
pub async fn internal_errors_do_not_leak(app: TestApp) {
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("DROP TABLE reaction_topics")
        .await
        .unwrap();
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", "test-request-42")
        .json(&json!({ "query": "{ reactions { nodes { title topics { slug } } } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(TestApp::error_code(&body), "INTERNAL", "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["requestId"], "test-request-42");
    let text = body.to_string().to_lowercase();
    for leak in [
        "select",
        "reaction_topics",
        "sqlx",
        "no such table",
        "relation",
        "panicked",
    ] {
        assert!(!text.contains(leak), "leaked {leak:?}: {body}");
    }
    app.assert_healthy().await;
}

/// Introspection can be turned off, and field suggestions go with it.
pub async fn introspection_can_be_turned_off(app: TestApp) {
    let data = app
        .data("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    let closed = TestApp::spawn_with(app.backend, |c| c.introspection = false).await;
    let body = closed
        .query("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(body["errors"].is_array(), "{body}");
    let body = closed
        .query("{ articel(slug: \"x\") { title } }", json!({}))
        .await;
    assert_eq!(TestApp::error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert!(!body.to_string().contains("Did you mean"), "{body}");
    let body = app
        .query("{ articel(slug: \"x\") { title } }", json!({}))
        .await;
    assert!(
        body.to_string().contains("Did you mean"),
        "suggestions stay on with introspection: {body}"
    );
}

/// Introspection shows a description on every type, field, argument, input field and enum
/// value of the schema (tools display them).
pub async fn every_schema_element_is_described(app: TestApp) {
    let data = app
        .data(
            "{ __schema { types { name description fields(includeDeprecated: true) { name description args { name description } } inputFields { name description } enumValues(includeDeprecated: true) { name description } } } }",
            json!({}),
        )
        .await;
    let mut missing = Vec::new();
    let described = |v: &serde_json::Value| {
        v["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
            continue;
        }
        if !described(ty) {
            missing.push(name.to_owned());
        }
        let empty = vec![];
        for field in ty["fields"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .chain(ty["inputFields"].as_array().unwrap_or(&empty))
        {
            if !described(field) {
                missing.push(format!("{name}.{}", field["name"]));
            }
            for arg in field["args"].as_array().unwrap_or(&empty) {
                if !described(arg) {
                    missing.push(format!("{name}.{}({})", field["name"], arg["name"]));
                }
            }
        }
        for value in ty["enumValues"].as_array().unwrap_or(&empty) {
            if !described(value) {
                missing.push(format!("{name}.{}", value["name"]));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "undescribed schema elements: {missing:?}"
    );
}
