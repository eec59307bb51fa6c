//! importArticle: the same importer as `annals import`, over GraphQL.

use serde_json::json;

use crate::helpers::{SEED, TestApp};

const IMPORT: &str = "mutation($doc: String!, $slug: String, $replace: Boolean, $ru: [String!], $au: [String!]) { importArticle(document: $doc, slug: $slug, replace: $replace, reformsUnder: $ru, reactionsUnder: $au) { article { id slug title version reforms { slug } reactions { slug } revision(version: 1) { editor change } } } }";

const DOC: &str = "The Thaw\nA period of relaxation.\nChanges\n- Amnesty: Prisoners were freed.\nResponses\n- Writers: They wrote.";

pub async fn import_creates_then_replaces_as_one_version(app: TestApp) {
    let data = app
        .mutate_ok(
            IMPORT,
            json!({"doc": DOC, "ru": ["changes"], "au": ["Responses"]}),
        )
        .await;
    let article = data["importArticle"]["article"].clone();
    assert_eq!(
        article["slug"], "the-thaw",
        "the slug is derived from the title"
    );
    assert_eq!(article["version"], 1);
    assert_eq!(article["reforms"][0]["slug"], "amnesty");
    assert_eq!(article["reactions"][0]["slug"], "writers");
    assert_eq!(article["revision"]["editor"], "tester");
    let before = app.snapshot().await;
    let body = app
        .mutate(IMPORT, json!({"doc": DOC, "slug": "the-thaw"}))
        .await;
    TestApp::assert_error(&body, "CONFLICT", None);
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused import wrote something"
    );
    let data = app
        .mutate_ok(IMPORT, json!({"doc": format!("{DOC}\nLegacy\nIt lasted."), "slug": "the-thaw", "replace": true}))
        .await;
    let replaced = &data["importArticle"]["article"];
    assert_eq!(replaced["id"], article["id"], "replace keeps the article");
    assert_eq!(replaced["version"], 2);
    let rev = app
        .data(
            "{ article(slug: \"the-thaw\") { revision(version: 2) { change document } } }",
            json!({}),
        )
        .await;
    assert_eq!(rev["article"]["revision"]["change"], "ARTICLE_IMPORTED");
    assert!(
        rev["article"]["revision"]["document"]
            .as_str()
            .unwrap()
            .ends_with("Legacy\nIt lasted.")
    );
    // Importing the seed under a new slug gives the same export.
    app.mutate_ok(IMPORT, json!({"doc": SEED, "slug": "copy"}))
        .await;
    let (ok, out, err) = app.cli(&["export", "copy"]);
    assert!(ok, "{err}");
    // The seed but for the slug, which the title line names since it is not the derived one.
    let expected = SEED.replacen("De-Stalinization\n", "De-Stalinization {#copy}\n", 1);
    assert_eq!(out, expected);
}

pub async fn import_errors_write_nothing(app: TestApp) {
    let before = app.snapshot().await;
    let cases = [
        (json!({"doc": "   "}), "BAD_USER_INPUT", "document", "empty"),
        (
            json!({"doc": "Title\nSummary.\n- Point: before any heading."}),
            "BAD_USER_INPUT",
            "document",
            "line 3",
        ),
        (
            json!({"doc": "Title\nHeading\n- no label here"}),
            "BAD_USER_INPUT",
            "document",
            "line 3",
        ),
        (
            json!({"doc": DOC, "ru": ["Nope"]}),
            "BAD_USER_INPUT",
            "reformsUnder",
            "Nope",
        ),
        (
            json!({"doc": DOC, "slug": "Not A Slug"}),
            "BAD_USER_INPUT",
            "slug",
            "slug",
        ),
        (
            json!({"doc": format!("{}\nSummary.", "x".repeat(301))}),
            "BAD_USER_INPUT",
            "document",
            "title",
        ),
        (
            json!({"doc": SEED, "slug": "de-stalinization"}),
            "CONFLICT",
            "",
            "already exists",
        ),
    ];
    for (vars, code, field, needle) in cases {
        let body = app.mutate(IMPORT, vars).await;
        TestApp::assert_error(&body, code, (!field.is_empty()).then_some(field));
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
        assert_eq!(
            app.snapshot().await,
            before,
            "a failed import wrote something"
        );
    }
}

pub async fn cli_import_records_editor_cli(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("thaw.txt");
    std::fs::write(&path, DOC).unwrap();
    let (ok, out, err) = app.cli(&["import", path.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("imported the-thaw (version 1)"), "{out}");
    let (ok, _, err) = app.cli(&["import", path.to_str().unwrap(), "--slug", "the-thaw"]);
    assert!(!ok);
    assert!(err.contains("--replace"), "{err}");
    // Replacing with the same content changes nothing; with new content, one new version.
    let (ok, out, err) = app.cli(&["import", "--replace", path.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.contains("unchanged") && out.contains("version 1"),
        "{out}"
    );
    std::fs::write(&path, format!("{DOC}\nLegacy\nIt lasted.")).unwrap();
    let (ok, out, err) = app.cli(&["import", "--replace", path.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("version 2"), "{out}");
    let rev = app
        .data(
            "{ article(slug: \"the-thaw\") { revisions { nodes { version editor change } } } }",
            json!({}),
        )
        .await;
    let nodes = &rev["article"]["revisions"]["nodes"];
    assert_eq!(nodes[0]["editor"], "cli");
    assert_eq!(nodes[0]["change"], "ARTICLE_IMPORTED");
    assert_eq!(nodes[1]["editor"], "cli");
    assert_eq!(nodes[1]["change"], "ARTICLE_CREATED");
}
