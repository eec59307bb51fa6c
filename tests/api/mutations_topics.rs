//! Topics and tagging: what bumps an article's version and what does not.

use serde_json::{Value, json};

use crate::helpers::TestApp;

const CREATE: &str = "mutation($input: CreateTopicInput!) { createTopic(input: $input) { topic { id slug name description } } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateTopicInput!) { updateTopic(id: $id, input: $input) { topic { id slug name description } } }";
const DELETE: &str = "mutation($id: ID!) { deleteTopic(id: $id) { deletedId } }";
const TAG: &str = "mutation($t: ID!, $c: ID!) { tagTopic(topicId: $t, contentId: $c) { topic { slug articles { totalCount } reforms { slug } } } }";
const UNTAG: &str = "mutation($t: ID!, $c: ID!) { untagTopic(topicId: $t, contentId: $c) { topic { slug articles { totalCount } } } }";

pub async fn topic_crud_changes_no_article(app: TestApp) {
    let data = app
        .mutate_ok(
            CREATE,
            json!({"input": {"slug": "thaw", "name": " The Thaw "}}),
        )
        .await;
    let topic = data["createTopic"]["topic"].clone();
    assert_eq!(topic["name"], "The Thaw");
    assert_eq!(topic["description"], "");
    let data = app
        .mutate_ok(
            UPDATE,
            json!({"id": topic["id"], "input": {"description": "Khrushchev's thaw."}}),
        )
        .await;
    assert_eq!(
        data["updateTopic"]["topic"]["description"],
        "Khrushchev's thaw."
    );
    let data = app.mutate_ok(DELETE, json!({"id": topic["id"]})).await;
    assert_eq!(data["deleteTopic"]["deletedId"], topic["id"]);
    assert_eq!(
        app.seed_article().await["version"],
        1,
        "untagged topics touch no article"
    );
}

pub async fn tagging_bumps_the_article_once(app: TestApp) {
    let seed = app.seed_article().await;
    let topic = app
        .mutate_ok(CREATE, json!({"input": {"slug": "thaw", "name": "Thaw"}}))
        .await["createTopic"]["topic"]["id"]
        .clone();
    let reform = seed["sections"][1]["reforms"][2]["id"].clone();
    let data = app.mutate_ok(TAG, json!({"t": topic, "c": reform})).await;
    assert_eq!(
        data["tagTopic"]["topic"]["reforms"][0]["slug"],
        "political-liberalization"
    );
    assert_eq!(app.seed_article().await["version"], 2);
    // Tagging again is a no-op.
    let before = app.snapshot().await;
    app.mutate_ok(TAG, json!({"t": topic, "c": reform})).await;
    assert_eq!(app.snapshot().await, before);
    let data = app
        .mutate_ok(TAG, json!({"t": topic, "c": seed["id"]}))
        .await;
    assert_eq!(data["tagTopic"]["topic"]["articles"]["totalCount"], 1);
    let data = app
        .mutate_ok(UNTAG, json!({"t": topic, "c": seed["id"]}))
        .await;
    assert_eq!(data["untagTopic"]["topic"]["articles"]["totalCount"], 0);
    let article = app.seed_article().await;
    assert_eq!(article["version"], 4);
    let rev = app
        .data("{ article(slug: \"de-stalinization\") { revisions(first: 3) { nodes { version change nodeId } } } }", json!({}))
        .await;
    let changes: Vec<&Value> = rev["article"]["revisions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(changes[0]["change"], "TOPIC_UNTAGGED");
    assert_eq!(changes[1]["change"], "TOPIC_TAGGED");
    assert_eq!(changes[1]["nodeId"], seed["id"]);
    assert_eq!(changes[2]["nodeId"], reform);
    // Untagging what is not tagged is a no-op.
    let before = app.snapshot().await;
    app.mutate_ok(UNTAG, json!({"t": topic, "c": seed["id"]}))
        .await;
    assert_eq!(app.snapshot().await, before);
}

pub async fn deleting_a_topic_bumps_each_tagged_article(app: TestApp) {
    let seed = app.seed_article().await;
    let stalin = seed["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "joseph-stalin")
        .unwrap()["id"]
        .clone();
    let tags = app.count("article_topics").await
        + app.count("reform_topics").await
        + app.count("reaction_topics").await;
    app.mutate_ok(DELETE, json!({"id": stalin})).await;
    let after = app.count("article_topics").await
        + app.count("reform_topics").await
        + app.count("reaction_topics").await;
    assert_eq!(
        after,
        tags - 3,
        "the article, reform and reaction tags are gone"
    );
    let rev = app
        .data("{ article(slug: \"de-stalinization\") { version revision(version: 2) { change nodeId editor } } }", json!({}))
        .await;
    assert_eq!(
        rev["article"]["version"], 2,
        "one new version, not one per tag"
    );
    assert_eq!(rev["article"]["revision"]["change"], "TOPIC_UNTAGGED");
    assert_eq!(rev["article"]["revision"]["nodeId"], stalin);
}

pub async fn topic_errors_write_nothing(app: TestApp) {
    let seed = app.seed_article().await;
    let topic = seed["topics"][0]["id"].clone();
    let section = seed["sections"][0]["id"].clone();
    let before = app.snapshot().await;
    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        (
            CREATE,
            json!({"input": {"slug": "joseph-stalin", "name": "Again"}}),
            "CONFLICT",
            None,
        ),
        (
            CREATE,
            json!({"input": {"slug": "ok", "name": ""}}),
            "BAD_USER_INPUT",
            Some("name"),
        ),
        (
            CREATE,
            json!({"input": {"slug": "-ok", "name": "N"}}),
            "BAD_USER_INPUT",
            Some("slug"),
        ),
        (
            UPDATE,
            json!({"id": topic, "input": {"slug": "secret-speech"}}),
            "CONFLICT",
            None,
        ),
        (
            UPDATE,
            json!({"id": "VG9waWM6OTk5", "input": {"name": "N"}}),
            "NOT_FOUND",
            None,
        ),
        (DELETE, json!({"id": "VG9waWM6OTk5"}), "NOT_FOUND", None),
        (DELETE, json!({"id": section}), "BAD_USER_INPUT", Some("id")),
        (
            TAG,
            json!({"t": topic, "c": section}),
            "BAD_USER_INPUT",
            Some("contentId"),
        ),
        (
            TAG,
            json!({"t": "VG9waWM6OTk5", "c": seed["id"]}),
            "NOT_FOUND",
            None,
        ),
        (
            TAG,
            json!({"t": topic, "c": "UmVmb3JtOjk5OQ"}),
            "NOT_FOUND",
            None,
        ),
        (
            TAG,
            json!({"t": topic, "c": "QXJ0aWNsZTo5OTk"}),
            "NOT_FOUND",
            None,
        ),
        (
            UNTAG,
            json!({"t": topic, "c": "bad"}),
            "BAD_USER_INPUT",
            Some("contentId"),
        ),
    ];
    for (query, vars, code, field) in cases {
        let body = app.mutate(query, vars).await;
        TestApp::assert_error(&body, code, field);
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed topic mutation wrote something"
        );
    }
}
