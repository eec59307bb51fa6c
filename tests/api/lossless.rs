//! Lossless content: export, import, revisions and revert keep every article exactly.

use serde_json::{Value, json};

use crate::helpers::{Backend, SEED, TestApp, TestDb};

/// The whole tree of an article (no ids), its version and its text document.
const TREE: &str = "query($slug: String!) { article(slug: $slug) { id slug title summary version document \
    topics { slug } \
    sections { id slug position heading body \
      reforms { id slug position title description topics { slug } } \
      reactions { id slug position title description topics { slug } } } } }";

const CREATE_SECTION: &str = "mutation($input: CreateSectionInput!) { createSection(input: $input) { section { id slug } } }";
const CREATE_REFORM: &str =
    "mutation($input: CreateReformInput!) { createReform(input: $input) { reform { id slug } } }";
const CREATE_REACTION: &str = "mutation($input: CreateReactionInput!) { createReaction(input: $input) { reaction { id slug } } }";
const UPDATE_SECTION: &str = "mutation($id: ID!, $input: UpdateSectionInput!) { updateSection(id: $id, input: $input) { section { id } } }";
const REVERT: &str = "mutation($id: ID!, $to: Int!, $v: Int!) { revertArticle(id: $id, toVersion: $to, expectedVersion: $v) { article { version } } }";
const IMPORT: &str = "mutation($doc: String!, $slug: String, $replace: Boolean) { importArticle(document: $doc, slug: $slug, replace: $replace) { article { slug version } } }";

async fn article(app: &TestApp, slug: &str) -> Value {
    app.data(TREE, json!({ "slug": slug })).await["article"].clone()
}

/// The tree without ids, version and article slug: what two copies must share.
fn content(article: &Value) -> Value {
    let mut tree = article.clone();
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("id");
                map.values_mut().for_each(strip);
            }
            Value::Array(list) => list.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut tree);
    let map = tree.as_object_mut().unwrap();
    map.remove("version");
    map.remove("slug");
    map.remove("document");
    tree
}

/// Every id in the tree, in order.
fn ids(article: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(id)) = map.get("id") {
                    out.push(id.clone());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(list) => list.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(article, &mut out);
    out
}

async fn revert(app: &TestApp, id: &Value, to: i64, expected: i64) -> i64 {
    let data = app
        .mutate_ok(REVERT, json!({"id": id, "to": to, "v": expected}))
        .await;
    data["revertArticle"]["article"]["version"]
        .as_i64()
        .unwrap()
}

/// Edits the seed article the ways the old text format could not hold; returns the version.
async fn tricky_edits(app: &TestApp) -> i64 {
    let seed = app.seed_article().await;
    let id = seed["id"].clone();
    let neutral = app
        .mutate_ok(
            CREATE_SECTION,
            json!({"input": {"articleId": id, "heading": "Section At Three", "position": 3}}),
        )
        .await["createSection"]["section"]["id"]
        .clone();
    app.mutate_ok(
        CREATE_REFORM,
        json!({"input": {"sectionId": neutral, "title": "Amnesty: 1953", "description": "First line.\nSecond line\n\n- not a point"}}),
    )
    .await;
    app.mutate_ok(
        CREATE_REACTION,
        json!({"input": {"sectionId": neutral, "title": "Unrest {1956}", "description": "In Poland and Hungary."}}),
    )
    .await;
    app.mutate_ok(
        UPDATE_SECTION,
        json!({"id": seed["sections"][1]["id"], "input": {"body": "See also the Prague Spring\n- **X:** y\n\n\\ backslash"}}),
    )
    .await;
    for heading in [
        "A Heading, With Punctuation & Ünïcode!",
        "What Was the Thaw?",
        "- Looks like a point",
        "## Not markdown",
    ] {
        let body = app
            .mutate(
                CREATE_SECTION,
                json!({"input": {"articleId": id, "heading": heading, "body": "Para."}}),
            )
            .await;
        assert!(body.get("errors").is_none(), "{heading}: {body:#}");
    }
    app.mutate_ok(
        CREATE_SECTION,
        json!({"input": {"articleId": id, "heading": "Custom Slug", "slug": "legacy-2"}}),
    )
    .await;
    app.seed_article().await["version"].as_i64().unwrap()
}

pub async fn a_reform_under_a_neutral_heading_survives_revert(app: TestApp) {
    let version = tricky_edits(&app).await;
    let before = article(&app, "de-stalinization").await;
    let reform_ids = ids(&before["sections"][2]);
    assert_eq!(before["sections"][2]["heading"], "Section At Three");
    assert_eq!(
        before["sections"][2]["reforms"][0]["title"],
        "Amnesty: 1953"
    );
    let id = before["id"].clone();
    assert_eq!(revert(&app, &id, 1, version).await, version + 1);
    let seed = article(&app, "de-stalinization").await;
    assert_eq!(seed["sections"].as_array().unwrap().len(), 6);
    let (ok, out, _) = app.cli(&["export", "de-stalinization"]);
    assert!(ok);
    assert_eq!(out, SEED, "revert to version 1 is the seed again");
    // Forward again, to the version with the tricky content: the same tree.
    assert_eq!(revert(&app, &id, version, version + 1).await, version + 2);
    let again = article(&app, "de-stalinization").await;
    assert_eq!(content(&again), content(&before));
    assert_eq!(again["document"], before["document"]);
    // Nodes that lived through both reverts kept their ids; the deleted ones came back new.
    assert_eq!(
        ids(&again["sections"][0]),
        ids(&before["sections"][0]),
        "a section that always existed keeps its id"
    );
    assert_ne!(ids(&again["sections"][2]), reform_ids);
}

pub async fn tricky_content_survives_export_and_import(app: TestApp) {
    tricky_edits(&app).await;
    let original = article(&app, "de-stalinization").await;
    let document = original["document"].as_str().unwrap().to_owned();
    assert!(document.contains("## What Was the Thaw?"), "{document}");
    let data = app
        .mutate_ok(IMPORT, json!({"doc": document, "slug": "copy"}))
        .await;
    assert_eq!(data["importArticle"]["article"]["slug"], "copy");
    let copy = article(&app, "copy").await;
    let mut expected = content(&original);
    // Topic tags are not part of the text format.
    fn untag(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("topics") {
                    map.insert("topics".into(), json!([]));
                }
                map.values_mut().for_each(untag);
            }
            Value::Array(list) => list.iter_mut().for_each(untag),
            _ => {}
        }
    }
    untag(&mut expected);
    assert_eq!(content(&copy), expected);
    // The same document but for its slug, which the copy's title line now names.
    let copied = document.replacen("De-Stalinization\n", "De-Stalinization {#copy}\n", 1);
    assert_eq!(copy["document"], copied.as_str());
    // The command line's export is the same text, byte for byte.
    let (ok, out, err) = app.cli(&["export", "copy"]);
    assert!(ok, "{err}");
    assert_eq!(out, copied);
    // Imported without a slug option, the document's own slug is used (and is taken now).
    let body = app.mutate(IMPORT, json!({"doc": copied})).await;
    TestApp::assert_error(&body, "CONFLICT", None);
}

pub async fn revision_documents_equal_the_export_at_each_version(app: TestApp) {
    let seed = app.seed_article().await;
    let id = seed["id"].clone();
    let mut documents = vec![article(&app, "de-stalinization").await["document"].clone()];
    for (i, heading) in ["No End Punctuation", "Ends With One.", "Ünïcode?"]
        .iter()
        .enumerate()
    {
        app.mutate_ok(
            CREATE_SECTION,
            json!({"input": {"articleId": id, "heading": heading, "body": format!("Body {i}\n")}}),
        )
        .await;
        documents.push(article(&app, "de-stalinization").await["document"].clone());
    }
    for (n, document) in documents.iter().enumerate() {
        let data = app
            .data(
                "query($v: Int!) { article(slug: \"de-stalinization\") { revision(version: $v) { document snapshot { schemaVersion sections { heading } } } } }",
                json!({"v": n + 1}),
            )
            .await;
        let revision = &data["article"]["revision"];
        assert_eq!(&revision["document"], document, "version {}", n + 1);
        assert_eq!(revision["snapshot"]["schemaVersion"], 1);
        assert_eq!(
            revision["snapshot"]["sections"].as_array().unwrap().len(),
            6 + n
        );
    }
    assert_eq!(documents[0], SEED);
}

pub async fn reverting_to_the_current_version_changes_nothing(app: TestApp) {
    let version = tricky_edits(&app).await;
    let before = article(&app, "de-stalinization").await;
    let rows = app.snapshot().await;
    assert_eq!(revert(&app, &before["id"], version, version).await, version);
    assert_eq!(app.snapshot().await, rows);
    assert_eq!(article(&app, "de-stalinization").await, before);
    assert_eq!(app.count("revisions").await, version);
}

pub async fn an_identical_replace_is_a_no_op_with_the_same_ids(app: TestApp) {
    let before = article(&app, "de-stalinization").await;
    let rows = app.snapshot().await;
    let data = app
        .mutate_ok(
            IMPORT,
            json!({"doc": SEED, "slug": "de-stalinization", "replace": true}),
        )
        .await;
    assert_eq!(data["importArticle"]["article"]["version"], 1);
    assert_eq!(app.snapshot().await, rows);
    let (ok, _, err) = {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), SEED).unwrap();
        app.cli(&[
            "import",
            file.path().to_str().unwrap(),
            "--slug",
            "de-stalinization",
            "--replace",
        ])
    };
    assert!(ok, "{err}");
    assert_eq!(
        app.snapshot().await,
        rows,
        "the CLI's identical replace wrote"
    );
    // A changed description: one new version, and every node keeps its id and tags.
    let changed = SEED.replacen("Many victims", "Numerous victims", 1);
    let data = app
        .mutate_ok(
            IMPORT,
            json!({"doc": changed, "slug": "de-stalinization", "replace": true}),
        )
        .await;
    assert_eq!(data["importArticle"]["article"]["version"], 2);
    let after = article(&app, "de-stalinization").await;
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(
        after["sections"][1]["reforms"][0]["topics"],
        before["sections"][1]["reforms"][0]["topics"]
    );
    assert!(
        after["sections"][1]["reforms"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Numerous victims")
    );
}

pub async fn a_taken_derived_slug_gets_a_suffix(app: TestApp) {
    for expected in ["de-stalinization-2", "de-stalinization-3"] {
        let data = app.mutate_ok(IMPORT, json!({"doc": SEED})).await;
        assert_eq!(data["importArticle"]["article"]["slug"], expected);
    }
    let body = app
        .mutate(IMPORT, json!({"doc": SEED, "slug": "de-stalinization"}))
        .await;
    TestApp::assert_error(&body, "CONFLICT", None);
}

pub async fn diff_lists_typed_changes(app: TestApp) {
    let seed = app.seed_article().await;
    let id = seed["id"].clone();
    app.mutate_ok(
        UPDATE_SECTION,
        json!({"id": seed["sections"][3]["id"], "input": {"heading": "Legacy Today"}}),
    )
    .await;
    app.mutate_ok(
        "mutation($id: ID!) { deleteReform(id: $id) { deletedId } }",
        json!({"id": seed["sections"][1]["reforms"][0]["id"]}),
    )
    .await;
    let query = "query($from: Int!, $to: Int!) { article(slug: \"de-stalinization\") { diff(from: $from, to: $to) { op nodeType nodeId slug field oldValue newValue } } }";
    let data = app.data(query, json!({"from": 1, "to": 3})).await;
    let changes = data["article"]["diff"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!(changes[0]["op"], "CHANGED");
    assert_eq!(changes[0]["nodeType"], "SECTION");
    assert_eq!(changes[0]["nodeId"], seed["sections"][3]["id"]);
    assert_eq!(changes[0]["field"], "heading");
    assert_eq!(changes[0]["oldValue"], "Legacy");
    assert_eq!(changes[0]["newValue"], "Legacy Today");
    assert_eq!(changes[1]["op"], "REMOVED");
    assert_eq!(changes[1]["nodeType"], "REFORM");
    assert_eq!(changes[1]["oldValue"], "Rehabilitation of Victims");
    // The other way round is what a revert to version 1 would do.
    let back = app.data(query, json!({"from": 3, "to": 1})).await;
    assert_eq!(back["article"]["diff"][1]["op"], "ADDED");
    let same = app.data(query, json!({"from": 2, "to": 2})).await;
    assert_eq!(same["article"]["diff"], json!([]));
    let body = app.query(query, json!({"from": 1, "to": 9})).await;
    TestApp::assert_error(&body, "NOT_FOUND", None);
    let _ = id;
}

pub async fn a_corrupt_snapshot_is_internal_and_restores_nothing(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let seed = app.seed_article().await;
    app.mutate_ok(
        UPDATE_SECTION,
        json!({"id": seed["sections"][3]["id"], "input": {"heading": "Legacy Today"}}),
    )
    .await;
    app.db
        .execute_unprepared(
            "UPDATE revisions SET snapshot = '{\"schema\": 1, \"slug\": 3' WHERE version = 1",
        )
        .await
        .unwrap();
    let rows = app.snapshot().await;
    let body = app
        .mutate(REVERT, json!({"id": seed["id"], "to": 1, "v": 2}))
        .await;
    TestApp::assert_error(&body, "INTERNAL", None);
    let text = body.to_string();
    assert!(!text.contains("snapshot"), "no detail leaks: {text}");
    assert_eq!(
        app.snapshot().await,
        rows,
        "a failed revert wrote something"
    );
    let body = app
        .query(
            "{ article(slug: \"de-stalinization\") { revision(version: 1) { snapshot { title } } } }",
            json!({}),
        )
        .await;
    TestApp::assert_error(&body, "INTERNAL", None);
    app.assert_healthy().await;
}

/// A database written by the previous schema (revisions with text only) is migrated so that
/// every old revision can be restored.
pub async fn old_revisions_are_migrated_and_revertable(app: TestApp) {
    use annals::config::Config;
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, sea_query::Query};

    let backend = app.backend;
    drop(app);
    let old = TestDb::create(backend).await;
    let db = sea_orm::Database::connect(&old.url).await.unwrap();
    Migrator::up(&db, Some(3)).await.unwrap();
    let at = chrono::Utc::now();
    let v1 = "Old Article\nIntro.\nKey Reforms\n- First: One.\nNotes\nA paragraph.";
    let v2 = "Old Article\nIntro.\nKey Reforms\n- First: One.\n- Second: Two.\nNotes\nA paragraph.";
    let insert = |table: &str, columns: &[&str], values: Vec<sea_orm::Value>| {
        let mut q = Query::insert();
        q.into_table(sea_orm::sea_query::Alias::new(table))
            .columns(columns.iter().map(|c| sea_orm::sea_query::Alias::new(*c)))
            .values_panic(values.into_iter().map(Into::into));
        q.clone()
    };
    let statements = [
        insert(
            "articles",
            &[
                "id",
                "slug",
                "title",
                "summary",
                "version",
                "created_at",
                "updated_at",
            ],
            vec![
                1i64.into(),
                "old-article".into(),
                "Old Article".into(),
                "Intro.".into(),
                2i32.into(),
                at.into(),
                at.into(),
            ],
        ),
        insert(
            "sections",
            &["id", "article_id", "position", "slug", "heading", "body"],
            vec![
                1i64.into(),
                1i64.into(),
                1i32.into(),
                "key-reforms".into(),
                "Key Reforms".into(),
                "".into(),
            ],
        ),
        insert(
            "sections",
            &["id", "article_id", "position", "slug", "heading", "body"],
            vec![
                2i64.into(),
                1i64.into(),
                2i32.into(),
                "notes".into(),
                "Notes".into(),
                "A paragraph.".into(),
            ],
        ),
        insert(
            "reforms",
            &[
                "id",
                "article_id",
                "section_id",
                "position",
                "slug",
                "title",
                "description",
            ],
            vec![
                1i64.into(),
                1i64.into(),
                1i64.into(),
                1i32.into(),
                "first".into(),
                "First".into(),
                "One.".into(),
            ],
        ),
        insert(
            "reforms",
            &[
                "id",
                "article_id",
                "section_id",
                "position",
                "slug",
                "title",
                "description",
            ],
            vec![
                2i64.into(),
                1i64.into(),
                1i64.into(),
                2i32.into(),
                "second".into(),
                "Second".into(),
                "Two.".into(),
            ],
        ),
        insert(
            "revisions",
            &[
                "article_id",
                "version",
                "created_at",
                "editor",
                "change",
                "document",
            ],
            vec![
                1i64.into(),
                1i32.into(),
                at.into(),
                "cli".into(),
                "ARTICLE_CREATED".into(),
                v1.into(),
            ],
        ),
        insert(
            "revisions",
            &[
                "article_id",
                "version",
                "created_at",
                "editor",
                "change",
                "document",
            ],
            vec![
                1i64.into(),
                2i32.into(),
                at.into(),
                "cli".into(),
                "ARTICLE_IMPORTED".into(),
                v2.into(),
            ],
        ),
    ];
    for statement in &statements {
        db.execute(statement).await.unwrap();
    }
    if backend == Backend::Postgres {
        for table in ["articles", "sections", "reforms"] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"
            ))
            .await
            .unwrap();
        }
    }
    db.close().await.unwrap();

    // The real start-up path: migrate (which fills in the snapshots), then serve.
    let app = TestApp::spawn_on(backend, old, |_: &mut Config| {}).await;
    let data = app
        .data(
            "{ article(slug: \"old-article\") { revisions { nodes { version document snapshot { sections { heading reforms { id title } } } } } } }",
            json!({}),
        )
        .await;
    let nodes = data["article"]["revisions"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0]["document"], v2, "the stored document is kept");
    assert_eq!(
        nodes[0]["snapshot"]["sections"][0]["reforms"][1]["title"],
        "Second"
    );
    assert_eq!(
        nodes[1]["snapshot"]["sections"][0]["reforms"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let id = app
        .data("{ article(slug: \"old-article\") { id } }", json!({}))
        .await["article"]["id"]
        .clone();
    assert_eq!(revert(&app, &id, 1, 2).await, 3);
    let (ok, out, err) = app.cli(&["export", "old-article"]);
    assert!(ok, "{err}");
    assert_eq!(out, v1);
    assert_eq!(revert(&app, &id, 2, 3).await, 4);
    let (_, out, _) = app.cli(&["export", "old-article"]);
    assert_eq!(out, v2);
}

/// The expected `TREE` content (no ids, no tags) of a generated document.
fn expected(doc: &annals::content::Document) -> Value {
    let points = |list: &[annals::content::PointDoc]| -> Value {
        list.iter()
            .enumerate()
            .map(|(i, p)| {
                json!({"slug": p.slug, "position": i + 1, "title": p.title,
                       "description": p.description, "topics": []})
            })
            .collect()
    };
    json!({
        "title": doc.title,
        "summary": doc.summary,
        "topics": [],
        "sections": doc.sections.iter().enumerate().map(|(i, s)| json!({
            "slug": s.slug, "position": i + 1, "heading": s.heading, "body": s.body,
            "reforms": points(&s.reforms), "reactions": points(&s.reactions),
        })).collect::<Vec<_>>(),
    })
}

/// Generated articles (seeded, a few hundred in all) through the real API on both backends:
/// export → import gives the same tree; every version's `Revision.document` equals the
/// export at that version; a revert to any earlier version gives exactly its tree.
pub async fn generated_articles_round_trip_through_the_database(app: TestApp) {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    // Generated up front: the generator is not `Send`, so it must not live across an await.
    let mut docs = {
        let mut runner = TestRunner::deterministic();
        let strategy = crate::arbitrary::document();
        (0..120 + 12 * 4)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect::<Vec<_>>()
            .into_iter()
    };
    let mut generate = || docs.next().expect("enough generated documents");
    for case in 0..120 {
        let mut doc = generate();
        let slug = format!("gen-{case}");
        doc.slug = Some(slug.clone());
        let text = annals::content::render_document(&doc);
        let body = app.mutate(IMPORT, json!({"doc": text, "slug": slug})).await;
        assert!(
            body.get("errors").is_none(),
            "case {case}: {body:#}\n---\n{text}"
        );
        let stored = article(&app, &slug).await;
        assert_eq!(content(&stored), expected(&doc), "case {case}\n---\n{text}");
        assert_eq!(stored["document"], text, "case {case}");
    }
    for chain in 0..12 {
        let slug = format!("chain-{chain}");
        let mut versions: Vec<(Value, Value)> = Vec::new();
        for step in 0..4 {
            let mut doc = generate();
            doc.slug = Some(slug.clone());
            let text = annals::content::render_document(&doc);
            let body = app
                .mutate(
                    IMPORT,
                    json!({"doc": text, "slug": slug, "replace": step > 0}),
                )
                .await;
            assert!(body.get("errors").is_none(), "{body:#}\n---\n{text}");
            let stored = article(&app, &slug).await;
            // Identical content makes no version; count only the versions that exist.
            if stored["version"].as_u64() == Some(versions.len() as u64 + 1) {
                versions.push((content(&stored), stored["document"].clone()));
            }
        }
        let id = article(&app, &slug).await["id"].clone();
        let known = versions.len() as i64;
        let mut current = known;
        for target in [2, 1, 3].into_iter().filter(|v| *v <= known) {
            let data = app
                .data(
                    "query($slug: String!, $v: Int!) { article(slug: $slug) { revision(version: $v) { document } } }",
                    json!({"slug": slug, "v": target}),
                )
                .await;
            assert_eq!(
                data["article"]["revision"]["document"],
                versions[target as usize - 1].1,
                "chain {chain}: Revision.document of version {target}"
            );
            current = revert(&app, &id, target, current).await;
            let stored = article(&app, &slug).await;
            assert_eq!(
                content(&stored),
                versions[target as usize - 1].0,
                "chain {chain}: revert to {target}"
            );
        }
    }
}
