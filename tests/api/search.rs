//! `Query.search`: matching, ranking, snippets, hostile input, paging and freshness.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{SEED, TestApp};

const SEARCH: &str = r#"query($query: String!, $first: Int, $after: String, $types: [SearchType!]) {
    search(query: $query, first: $first, after: $after, types: $types) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node {
            score snippet
            node {
                __typename
                ... on Article { label: title }
                ... on Section { label: heading }
                ... on Reform { label: title }
                ... on Reaction { label: title }
                ... on Topic { label: name }
            }
        } }
    }
}"#;

/// `(type, label)` of each hit, in rank order.
fn hits(search: &Value) -> Vec<(String, String)> {
    search["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let node = &e["node"]["node"];
            (
                node["__typename"].as_str().unwrap().to_owned(),
                node["label"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn search(app: &TestApp, query: &str, types: Option<&[&str]>) -> Value {
    app.data(
        SEARCH,
        json!({ "query": query, "first": 100, "types": types }),
    )
    .await["search"]
        .clone()
}

/// One row of the ranking table: a query (and kinds), its top hit, and all its hits.
struct Case {
    query: &'static str,
    types: Option<&'static [&'static str]>,
    top: Option<(&'static str, &'static str)>,
    all: &'static [(&'static str, &'static str)],
}

const fn case(
    query: &'static str,
    top: (&'static str, &'static str),
    all: &'static [(&'static str, &'static str)],
) -> Case {
    Case {
        query,
        types: None,
        top: Some(top),
        all,
    }
}

/// Expected hits over the seed, derived from seeds/de-stalinization.txt and seeds/topics.json.
/// Both backends must return exactly these sets with exactly these top hits.
const CASES: &[Case] = &[
    // Stemming: "rehabilitated victims" finds "Rehabilitation of Victims".
    case(
        "rehabilitated victims",
        ("Reform", "Rehabilitation of Victims"),
        &[("Reform", "Rehabilitation of Victims")],
    ),
    // The reaction mentions "the Hungarian Revolution of 1956"; the topic is named after it.
    case(
        "Hungarian revolution",
        ("Topic", "Hungarian Revolution of 1956"),
        &[
            ("Topic", "Hungarian Revolution of 1956"),
            ("Reaction", "International Impact"),
        ],
    ),
    // A name match outranks mentions in descriptions and bodies.
    case(
        "stalin",
        ("Topic", "Joseph Stalin"),
        &[
            ("Topic", "Joseph Stalin"),
            ("Article", "De-Stalinization"),
            ("Reaction", "Public Reaction"),
            ("Topic", "The Secret Speech"),
            ("Section", "Historical Context"),
            ("Topic", "Hungarian Revolution of 1956"),
            ("Topic", "Mikhail Gorbachev"),
            ("Topic", "Gulag"),
            ("Reform", "Rehabilitation of Victims"),
            ("Topic", "Nikita Khrushchev"),
            ("Section", "Legacy"),
            ("Reaction", "International Impact"),
        ],
    ),
    case(
        "Khrushchev",
        ("Topic", "Khrushchev Thaw"),
        &[
            ("Topic", "Khrushchev Thaw"),
            ("Reaction", "Consequences for Khrushchev"),
            ("Topic", "Nikita Khrushchev"),
            ("Topic", "20th Party Congress"),
            ("Topic", "The Secret Speech"),
            ("Reform", "Political Liberalization"),
            ("Section", "Historical Context"),
        ],
    ),
    case(
        "secret speech",
        ("Topic", "The Secret Speech"),
        &[
            ("Topic", "The Secret Speech"),
            ("Topic", "20th Party Congress"),
            ("Section", "Historical Context"),
        ],
    ),
    // A quoted phrase.
    case(
        r#""secret speech""#,
        ("Topic", "The Secret Speech"),
        &[
            ("Topic", "The Secret Speech"),
            ("Topic", "20th Party Congress"),
            ("Section", "Historical Context"),
        ],
    ),
    // A phrase with a stop word inside.
    case(
        r#""cult of personality""#,
        ("Topic", "Joseph Stalin"),
        &[
            ("Topic", "Joseph Stalin"),
            ("Topic", "The Secret Speech"),
            ("Section", "Historical Context"),
            ("Article", "De-Stalinization"),
        ],
    ),
    case(
        "gulag",
        ("Topic", "Gulag"),
        &[("Topic", "Gulag"), ("Reform", "Easing Repression")],
    ),
    case(
        "forced labor camps",
        ("Reform", "Easing Repression"),
        &[("Reform", "Easing Repression"), ("Topic", "Gulag")],
    ),
    case(
        "Gorbachev",
        ("Topic", "Mikhail Gorbachev"),
        &[
            ("Topic", "Mikhail Gorbachev"),
            ("Topic", "Perestroika and Glasnost"),
            ("Topic", "Dissolution of the Soviet Union"),
            ("Section", "Legacy"),
        ],
    ),
    case(
        "perestroika glasnost",
        ("Topic", "Perestroika and Glasnost"),
        &[
            ("Topic", "Perestroika and Glasnost"),
            ("Topic", "Dissolution of the Soviet Union"),
            ("Section", "Legacy"),
        ],
    ),
    // OR.
    case(
        "thaw OR gulag",
        ("Topic", "Khrushchev Thaw"),
        &[
            ("Topic", "Khrushchev Thaw"),
            ("Topic", "Gulag"),
            ("Reform", "Easing Repression"),
            ("Reform", "Political Liberalization"),
        ],
    ),
    case(
        "reforms OR reactions",
        ("Section", "Impact and Reactions"),
        &[
            ("Section", "Impact and Reactions"),
            ("Section", "Key Reforms and Policies"),
            ("Reform", "Economic Reforms"),
            ("Reaction", "Public Reaction"),
            ("Topic", "Mikhail Gorbachev"),
            ("Reaction", "Consequences for Khrushchev"),
            ("Article", "De-Stalinization"),
            ("Section", "Legacy"),
        ],
    ),
    // -exclusion of a word, and of a phrase.
    case(
        "khrushchev -speech",
        ("Reaction", "Consequences for Khrushchev"),
        &[
            ("Reaction", "Consequences for Khrushchev"),
            ("Topic", "Nikita Khrushchev"),
        ],
    ),
    case(
        r#"khrushchev -"secret speech""#,
        ("Topic", "Khrushchev Thaw"),
        &[
            ("Topic", "Khrushchev Thaw"),
            ("Reaction", "Consequences for Khrushchev"),
            ("Topic", "Nikita Khrushchev"),
            ("Reform", "Political Liberalization"),
        ],
    ),
    case(
        "20th congress",
        ("Topic", "20th Party Congress"),
        &[
            ("Topic", "20th Party Congress"),
            ("Section", "Historical Context"),
        ],
    ),
    case(
        "1956",
        ("Topic", "Hungarian Revolution of 1956"),
        &[
            ("Topic", "Hungarian Revolution of 1956"),
            ("Topic", "20th Party Congress"),
            ("Topic", "The Secret Speech"),
            ("Reaction", "International Impact"),
            ("Section", "Historical Context"),
        ],
    ),
    case(
        "dissolution soviet union",
        ("Topic", "Dissolution of the Soviet Union"),
        &[
            ("Topic", "Dissolution of the Soviet Union"),
            ("Topic", "Perestroika and Glasnost"),
            ("Section", "Legacy"),
        ],
    ),
    // A hyphenated word is a phrase of its parts.
    case(
        "De-Stalinization",
        ("Article", "De-Stalinization"),
        &[
            ("Article", "De-Stalinization"),
            ("Topic", "Hungarian Revolution of 1956"),
            ("Topic", "Mikhail Gorbachev"),
            ("Topic", "Gulag"),
            ("Topic", "Nikita Khrushchev"),
            ("Topic", "Joseph Stalin"),
            ("Topic", "The Secret Speech"),
            ("Section", "Legacy"),
            ("Reaction", "International Impact"),
            ("Section", "Historical Context"),
        ],
    ),
    case(
        "party hardliners",
        ("Reaction", "Consequences for Khrushchev"),
        &[
            ("Reaction", "Consequences for Khrushchev"),
            ("Topic", "Nikita Khrushchev"),
        ],
    ),
    // The types filter.
    Case {
        query: "Hungarian revolution",
        types: Some(&["REACTION"]),
        top: Some(("Reaction", "International Impact")),
        all: &[("Reaction", "International Impact")],
    },
    Case {
        query: "stalin",
        types: Some(&["ARTICLE", "SECTION"]),
        top: Some(("Article", "De-Stalinization")),
        all: &[
            ("Article", "De-Stalinization"),
            ("Section", "Historical Context"),
            ("Section", "Legacy"),
        ],
    },
    Case {
        query: "stalin",
        types: Some(&[]),
        top: None,
        all: &[],
    },
    // Only stop words, only punctuation, only exclusions: no hits, no error.
    Case {
        query: "the of and",
        types: None,
        top: None,
        all: &[],
    },
    Case {
        query: "?! ... -- ()",
        types: None,
        top: None,
        all: &[],
    },
    Case {
        query: "-stalin",
        types: None,
        top: None,
        all: &[],
    },
];

/// The ranking table: each query returns exactly the expected set, with the expected top hit,
/// on both backends; every hit has a marked snippet; totalCount agrees with the hits.
pub async fn ranking_table_over_the_seed(app: TestApp) {
    assert!(CASES.len() >= 15);
    let mut failures = Vec::new();
    for case in CASES {
        let result = search(&app, case.query, case.types).await;
        let got = hits(&result);
        let got_set: BTreeSet<(String, String)> = got.iter().cloned().collect();
        let want_set: BTreeSet<(String, String)> = case
            .all
            .iter()
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .collect();
        let got_top = got.first().map(|(t, l)| (t.as_str(), l.as_str()));
        if got_set != want_set || got_top != case.top || got.len() != want_set.len() {
            failures.push(format!(
                "{:?} {:?}: got {got:?}, want top {:?} of {want_set:?}",
                case.query, case.types, case.top
            ));
        }
        assert_eq!(
            result["totalCount"],
            json!(case.all.len()),
            "{:?}",
            case.query
        );
        let scores: Vec<f64> = result["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["score"].as_f64().unwrap())
            .collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "{:?}: scores must not increase: {scores:?}",
            case.query
        );
        for edge in result["edges"].as_array().unwrap() {
            let snippet = edge["node"]["snippet"].as_str().unwrap();
            assert!(
                snippet.contains("<mark>") && snippet.contains("</mark>"),
                "{:?}: snippet without a match: {snippet:?}",
                case.query
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Markup in content comes back escaped; only our <mark> tags are markup, and content cannot
/// forge them with the private-use characters the database marks matches with.
pub async fn snippets_escape_everything_but_marks(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let backend = app.db.get_database_backend();
    let placeholders = match backend {
        sea_orm::DbBackend::Postgres => "($1, $2, $3)",
        _ => "(?, ?, ?)",
    };
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            format!("INSERT INTO topics (slug, name, description) VALUES {placeholders}"),
            [
                "script-zanzibar".into(),
                r#"Zanzibar <script>alert("x")</script>"#.into(),
                "Tom & Jerry's \u{E000}forged\u{E001} <b>Zanzibar</b> notes".into(),
            ],
        ))
        .await
        .expect("insert a topic");
    let result = search(&app, "zanzibar", None).await;
    assert_eq!(
        hits(&result),
        vec![(
            "Topic".to_owned(),
            r#"Zanzibar <script>alert("x")</script>"#.to_owned()
        )]
    );
    let snippet = result["edges"][0]["node"]["snippet"].as_str().unwrap();
    assert!(snippet.contains("&lt;script&gt;"), "{snippet}");
    assert!(snippet.contains("<mark>Zanzibar</mark>"), "{snippet}");
    let unmarked = snippet.replace("<mark>", "").replace("</mark>", "");
    assert!(
        !unmarked.contains('<') && !unmarked.contains('>') && !unmarked.contains('"'),
        "only <mark> may be markup: {snippet}"
    );
    assert!(!snippet.contains("<mark>forged"), "{snippet}");

    // The description's markup, when that is the best excerpt, is escaped as well.
    let result = search(&app, "jerry zanzibar notes", None).await;
    let snippet = result["edges"][0]["node"]["snippet"].as_str().unwrap();
    assert!(snippet.contains("&amp;"), "{snippet}");
    assert!(snippet.contains("&lt;b&gt;"), "{snippet}");
    assert!(!snippet.contains("<mark>forged"), "{snippet}");
}

/// Queries an attacker or a careless client might send never reach the database unescaped:
/// too long or empty is BAD_USER_INPUT on `query`; anything else is an ordinary search.
pub async fn hostile_queries_never_fail_internally(app: TestApp) {
    let (articles, topics) = (app.count("articles").await, app.count("topics").await);
    let statements_before = app.statements();
    for (query, code) in [
        ("x".repeat(10_000), "BAD_USER_INPUT"),
        ("stalin ".repeat(1_500), "BAD_USER_INPUT"),
        (String::new(), "BAD_USER_INPUT"),
        (" \t\n ".to_owned(), "BAD_USER_INPUT"),
    ] {
        let body = app
            .query(SEARCH, json!({ "query": query, "first": 5 }))
            .await;
        assert_eq!(TestApp::error_code(&body), code, "{body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "query",
            "{body:#}"
        );
    }
    assert_eq!(
        app.statements(),
        statements_before,
        "refused queries must not reach the database"
    );

    let hostile = [
        r#"""""""""#.to_owned(),
        r#""unbalanced stalin"#.to_owned(),
        r#"stalin""#.to_owned(),
        r"\\\\ \' \0 stalin\".to_owned(),
        "title:stalin body:khrushchev :: ::: a:b".to_owned(),
        "((stalin) OR (khrushchev".to_owned(),
        "NEAR(stalin khrushchev, 2)".to_owned(),
        "stal* *".to_owned(),
        "^stalin ^".to_owned(),
        "AND OR NOT".to_owned(),
        "stalin AND OR NOT khrushchev".to_owned(),
        "stalin NOT khrushchev".to_owned(),
        "- -- --- -stalin".to_owned(),
        "stalin\0khrushchev \0 \0".to_owned(),
        "\0".to_owned(),
        "{} [] <script> ' ; DROP TABLE articles; --".to_owned(),
        "'); DELETE FROM topics; --".to_owned(),
        "\u{E000}stalin\u{E001}".to_owned(),
        "\"".repeat(999),
        "\\".repeat(1_000),
        "(".repeat(1_000),
        "or ".repeat(333),
        "stalin -".repeat(100),
        "\"a b\" ".repeat(166),
        "-\"\" -\"".to_owned(),
        "!@#$%^&*()_+=|~`".to_owned(),
        "日本語 Ünïcödé ß 🚀".to_owned(),
    ];
    for query in hostile {
        let body = app
            .query(SEARCH, json!({ "query": query, "first": 5 }))
            .await;
        assert!(
            body.get("errors").is_none(),
            "{query:?} must be an ordinary search: {body:#}"
        );
        assert!(body["data"]["search"]["edges"].is_array(), "{body:#}");
    }
    let body = app
        .query(
            SEARCH,
            json!({ "query": "stalin\0khrushchev", "first": 100 }),
        )
        .await;
    assert!(
        !hits(&body["data"]["search"]).is_empty(),
        "NUL separates words: {body:#}"
    );
    assert_eq!(app.count("articles").await, articles);
    assert_eq!(app.count("topics").await, topics);
    app.assert_healthy().await;
}

/// Paging with first: 2 visits every hit exactly once, in the order of one big page.
pub async fn paging_visits_every_hit_once(app: TestApp) {
    let query = "stalin OR khrushchev OR soviet OR reforms";
    let all = search(&app, query, None).await;
    let expected = hits(&all);
    assert!(expected.len() > 10, "{expected:?}");
    assert_eq!(all["totalCount"], json!(expected.len()));

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = app
            .data(
                SEARCH,
                json!({ "query": query, "first": 2, "after": after }),
            )
            .await["search"]
            .clone();
        pages += 1;
        assert!(pages <= expected.len(), "paging does not end");
        let rows = hits(&page);
        assert!(rows.len() <= 2);
        assert_eq!(page["pageInfo"]["hasPreviousPage"], json!(after.is_some()));
        seen.extend(rows);
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, expected, "pages must neither repeat nor skip a hit");

    // Cursors belong to one search; forged ones and page sizes over 100 are refused.
    let cursor = all["edges"][0]["cursor"].as_str().unwrap();
    for variables in [
        json!({ "query": "gulag", "after": cursor }),
        json!({ "query": query, "after": cursor, "types": ["TOPIC"] }),
        json!({ "query": query, "after": "not-a-cursor" }),
        json!({ "query": query, "first": 101 }),
        json!({ "query": query, "first": -1 }),
    ] {
        let body = app.query(SEARCH, variables.clone()).await;
        assert_eq!(
            TestApp::error_code(&body),
            "BAD_USER_INPUT",
            "{variables}: {body:#}"
        );
    }
}

/// The real write path (`annals import --replace`) is searchable as soon as it returns: new
/// words are found, removed ones are gone, on every kind of row it rewrote.
pub async fn changes_are_searchable_at_once(app: TestApp) {
    assert_eq!(
        hits(&search(&app, "rehabilitated victims", None).await).len(),
        1
    );
    assert!(hits(&search(&app, "zeppelin", None).await).is_empty());

    let changed = SEED
        .replace("Rehabilitation of Victims", "Zeppelin Restitution")
        .replace(
            "Impact and Reactions",
            "Impact and Reactions of the Zeppelin",
        )
        .replacen(
            "De-Stalinization refers",
            "De-Stalinization (a zeppelin of reforms) refers",
            1,
        );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changed.txt");
    std::fs::write(&file, changed).unwrap();
    let (ok, _, stderr) = app.cli(&[
        "import",
        file.to_str().unwrap(),
        "--slug",
        "de-stalinization",
        "--replace",
    ]);
    assert!(ok, "import failed: {stderr}");

    let found: BTreeSet<(String, String)> = hits(&search(&app, "zeppelin", None).await)
        .into_iter()
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("Article", "De-Stalinization"),
        ("Section", "Impact and Reactions of the Zeppelin"),
        ("Reform", "Zeppelin Restitution"),
    ]
    .into_iter()
    .map(|(t, l)| (t.to_owned(), l.to_owned()))
    .collect();
    assert_eq!(found, want);
    assert!(
        hits(&search(&app, "rehabilitation", None).await)
            .iter()
            .all(|(_, label)| label != "Rehabilitation of Victims"),
        "the replaced reform's old title must be gone from the index"
    );
    // Rows deleted by the replacement (all old sections, reforms, reactions) leave no hits
    // behind: every hit still resolves, so the count matches the edges.
    let result = search(&app, "stalin OR khrushchev OR soviet", None).await;
    assert_eq!(result["totalCount"], json!(hits(&result).len()));
}

/// `annals migrate down` drops the search index and `up` rebuilds it from existing content.
pub async fn migrate_down_and_up_rebuilds_the_index(app: TestApp) {
    let before = hits(&search(&app, "stalin", None).await);
    // Undo every step after the search migration, then the search migration itself.
    let (_, status, _) = app.cli(&["migrate", "status"]);
    let after_search = status
        .lines()
        .skip_while(|l| !l.contains("_search"))
        .count();
    assert!(after_search >= 1, "{status}");
    for _ in 0..after_search {
        let (ok, _, stderr) = app.cli(&["migrate", "down"]);
        assert!(ok, "migrate down failed: {stderr}");
    }
    let body = app
        .query(SEARCH, json!({ "query": "stalin", "first": 5 }))
        .await;
    assert_eq!(TestApp::error_code(&body), "INTERNAL", "{body:#}");
    assert!(
        !body.to_string().to_lowercase().contains("search_fts")
            && !body.to_string().contains("tsvector"),
        "internal errors must not leak SQL: {body}"
    );
    let (ok, _, stderr) = app.cli(&["migrate", "up"]);
    assert!(ok, "migrate up failed: {stderr}");
    assert_eq!(hits(&search(&app, "stalin", None).await), before);

    // `migrate fresh` drops the index with everything else (SQLite's FTS5 table and its
    // triggers included) and builds it again; seeding fills it through the triggers.
    let (ok, _, stderr) = app.cli(&["migrate", "fresh"]);
    assert!(ok, "migrate fresh failed: {stderr}");
    assert!(hits(&search(&app, "stalin", None).await).is_empty());
    let (ok, _, stderr) = app.cli(&["seed"]);
    assert!(ok, "seed failed: {stderr}");
    let after: BTreeSet<(String, String)> = hits(&search(&app, "stalin", None).await)
        .into_iter()
        .collect();
    assert_eq!(after, before.into_iter().collect());
}

/// A change made by a mutation is searchable as soon as the mutation returns, and a deleted
/// item is gone from the results.
pub async fn mutations_are_searchable_when_they_return(app: TestApp) {
    assert!(hits(&search(&app, "zeppelin", None).await).is_empty());
    let data = app
        .data(
            r#"{ article(slug: "de-stalinization") { reforms { id title } } }"#,
            json!({}),
        )
        .await;
    let reform = &data["article"]["reforms"][0];
    assert_eq!(reform["title"], "Rehabilitation of Victims");
    app.mutate_ok(
        "mutation($id: ID!) { updateReform(id: $id, input: { title: \"Zeppelin Amnesty\" }) { reform { title } } }",
        json!({ "id": reform["id"] }),
    )
    .await;
    let found = hits(&search(&app, "zeppelin", None).await);
    assert_eq!(
        found,
        [("Reform".to_owned(), "Zeppelin Amnesty".to_owned())]
    );
    app.mutate_ok(
        "mutation($id: ID!) { deleteReform(id: $id) { deletedId } }",
        json!({ "id": reform["id"] }),
    )
    .await;
    assert!(hits(&search(&app, "zeppelin", None).await).is_empty());
}
