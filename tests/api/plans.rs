//! Query plans answer exactly what the resolvers answer: two servers over one database, one
//! with plans (the default) and one without (`ANNALS_QUERY_PLANS=false`), asked the same
//! generated queries, must send the same bytes, the same cache headers, and the plan no more
//! statements.

use proptest::{
    prelude::*,
    strategy::{Strategy, ValueTree},
    test_runner::TestRunner,
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, get_graphql};

/// A server without plans beside `planned` (the test's own, with them), over the same database with
/// synthetic content (articles with sections, reforms, reactions and topics), and the slugs
/// of the three topics with the most articles.
async fn pair(planned: &TestApp) -> (TestApp, Vec<String>) {
    let (ok, _, stderr) = planned.cli(&["seed", "--synthetic", "100"]);
    assert!(ok, "seed: {stderr}");
    // An article without sections (and so without points): its `sections` are `[]`.
    planned
        .mutate_ok(
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { article { id } } }",
            json!({ "input": { "slug": "empty", "title": "Empty", "summary": "" } }),
        )
        .await;
    // A topic that tags nothing: its pages of articles are empty.
    planned
        .mutate_ok(
            "mutation($input: CreateTopicInput!) { createTopic(input: $input) { topic { id } } }",
            json!({ "input": { "slug": "empty", "name": "Empty" } }),
        )
        .await;
    let resolved = TestApp::spawn_on(
        planned.backend,
        TestDb::existing(planned.database_url.clone()),
        |c| c.query_plans = false,
    )
    .await;
    let data = resolved
        .data(
            "{ articles(first: 100) { nodes { topics { slug } } } }",
            json!({}),
        )
        .await;
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for article in data["articles"]["nodes"].as_array().unwrap() {
        for topic in article["topics"].as_array().unwrap() {
            *counts
                .entry(topic["slug"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    let mut busiest: Vec<(String, usize)> = counts.into_iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    assert!(
        busiest[0].1 >= 3,
        "a topic with a few articles: {busiest:?}"
    );
    let topics = busiest.into_iter().take(3).map(|(slug, _)| slug).collect();
    (resolved, topics)
}

/// POSTs `body`; the raw response bytes and the statements the server sent for it.
async fn raw(app: &TestApp, body: &Value) -> (Vec<u8>, u64) {
    let before = app.statements();
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(body)
        .send()
        .await
        .expect("POST /graphql");
    let bytes = response.bytes().await.expect("body").to_vec();
    (bytes, app.statements() - before)
}

/// GETs `query`; the surrogate keys of what the response read (the ETag is not compared: it
/// names the content version, which on SQLite each process counts for itself).
async fn surrogate_keys(app: &TestApp, query: &str) -> String {
    let response = get_graphql(app, query, &json!({}), &[]).await;
    response
        .headers()
        .get("surrogate-key")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// Asks both servers `body`: the same bytes, and the plan no more statements when it
/// succeeds. (When root fields fail, their errors come in the order they failed, which
/// depends on timing on either path: those answers must have the same errors in any order.)
async fn same_answer(planned: &TestApp, resolved: &TestApp, body: &Value) -> Value {
    let (plan_bytes, plan_statements) = raw(planned, body).await;
    let (resolver_bytes, resolver_statements) = raw(resolved, body).await;
    let answer: Value = serde_json::from_slice(&plan_bytes).expect("JSON");
    if answer.get("errors").is_some() {
        let resolved: Value = serde_json::from_slice(&resolver_bytes).expect("JSON");
        let sorted = |v: &Value| {
            let mut errors: Vec<String> = v["errors"]
                .as_array()
                .map(|e| e.iter().map(Value::to_string).collect())
                .unwrap_or_default();
            errors.sort();
            errors
        };
        assert_eq!(sorted(&answer), sorted(&resolved), "errors for {body}");
        assert_eq!(answer["data"], resolved["data"], "data for {body}");
        assert_eq!(
            answer["extensions"], resolved["extensions"],
            "extensions for {body}"
        );
        return answer;
    }
    assert_eq!(
        String::from_utf8_lossy(&plan_bytes),
        String::from_utf8_lossy(&resolver_bytes),
        "planned and resolved answers differ for {body}"
    );
    {
        assert!(
            plan_statements <= resolver_statements,
            "the plan sent {plan_statements} statements, the resolvers {resolver_statements}, for {body}"
        );
    }
    answer
}

/// How many queries `app`'s process has answered from a plan (the recorder is shared by
/// every server of this test process, so this only ever grows by at least this server's).
async fn planned_count(app: &TestApp) -> f64 {
    app.metrics_text()
        .await
        .lines()
        .find(|l| l.starts_with("annals_graphql_query_plans_total{path=\"planned\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Fields of `fields`, at least one, in any order, each maybe under an alias.
fn pick(fields: &'static [&'static str]) -> BoxedStrategy<Vec<String>> {
    proptest::sample::subsequence(fields, 1..=fields.len())
        .prop_shuffle()
        .prop_flat_map(|names| {
            let n = names.len();
            (Just(names), proptest::collection::vec(any::<bool>(), n))
        })
        .prop_map(|(names, aliased)| {
            names
                .into_iter()
                .zip(aliased)
                .map(|(f, a)| {
                    if a {
                        format!("a_{f}: {f}")
                    } else {
                        f.to_owned()
                    }
                })
                .collect()
        })
        .boxed()
}

/// `name { selection }`, maybe under an alias, maybe left out.
fn maybe_object(
    name: &'static str,
    inner: BoxedStrategy<Vec<String>>,
) -> BoxedStrategy<Vec<String>> {
    proptest::option::of((any::<bool>(), inner))
        .prop_map(move |o| match o {
            None => vec![],
            Some((aliased, fields)) => {
                let alias = if aliased {
                    format!("b_{name}: ")
                } else {
                    String::new()
                };
                vec![format!("{alias}{name} {{ {} }}", fields.join(" "))]
            }
        })
        .boxed()
}

/// The scalar fields of each planned type, `__typename` included.
const ARTICLE_SCALARS: &[&str] = &[
    "__typename",
    "id",
    "slug",
    "title",
    "summary",
    "version",
    "createdAt",
    "updatedAt",
];
const SECTION_SCALARS: &[&str] = &["__typename", "id", "slug", "heading", "position", "body"];
const POINT_SCALARS: &[&str] = &[
    "__typename",
    "id",
    "slug",
    "title",
    "description",
    "position",
];
const TOPIC_SCALARS: &[&str] = &["__typename", "id", "slug", "name", "description"];

/// A selection of `Article`: scalars, and maybe each relation.
fn article() -> BoxedStrategy<String> {
    (
        pick(ARTICLE_SCALARS),
        maybe_object("sections", pick(SECTION_SCALARS)),
        maybe_object("reforms", pick(POINT_SCALARS)),
        maybe_object("reactions", pick(POINT_SCALARS)),
        maybe_object("topics", pick(TOPIC_SCALARS)),
    )
        .prop_flat_map(|(a, b, c, d, e)| Just([a, b, c, d, e].concat()).prop_shuffle())
        .prop_map(|fields| fields.join(" "))
        .boxed()
}

/// Page arguments, some of them refused (the plan then falls back to the resolvers).
fn page_args() -> BoxedStrategy<String> {
    prop_oneof![
        4 => Just(String::new()),
        6 => (0..=6i32).prop_map(|n| format!("(first: {n})")),
        1 => Just("(first: 100)".to_owned()),
        3 => (1..=4i32).prop_map(|n| format!("(last: {n})")),
        1 => Just("(first: 101)".to_owned()),
        1 => Just("(first: 2, last: 2)".to_owned()),
        1 => Just("(after: \"not-a-cursor\")".to_owned()),
    ]
    .boxed()
}

/// A selection of `ArticleConnection`.
fn connection() -> BoxedStrategy<String> {
    const PAGE_INFO: &[&str] = &[
        "__typename",
        "hasNextPage",
        "hasPreviousPage",
        "startCursor",
        "endCursor",
    ];
    let edges = (
        pick(&["__typename", "cursor"]),
        proptest::option::of(article()),
    )
        .prop_map(|(mut fields, node)| {
            if let Some(node) = node {
                fields.push(format!("node {{ {node} }}"));
            }
            fields.join(" ")
        });
    (
        proptest::option::of(article()),
        proptest::option::of(edges),
        proptest::option::of(pick(PAGE_INFO)),
        any::<bool>(),
    )
        .prop_map(|(nodes, edges, info, typename)| {
            let mut fields = Vec::new();
            if let Some(nodes) = nodes {
                fields.push(format!("nodes {{ {nodes} }}"));
            }
            if let Some(edges) = edges {
                fields.push(format!("edges {{ {edges} }}"));
            }
            if let Some(info) = info {
                fields.push(format!("pageInfo {{ {} }}", info.join(" ")));
            }
            if typename || fields.is_empty() {
                fields.push("__typename".to_owned());
            }
            fields.join(" ")
        })
        .boxed()
}

/// A root field under response key `r{index}`, its topics among `topics` (or none such).
fn root_field(index: usize, topics: Vec<String>) -> BoxedStrategy<String> {
    let article_slug = prop_oneof![
        Just("de-stalinization"),
        Just("synthetic-1"),
        Just("synthetic-12"),
        Just("empty"),
        Just("missing"),
    ];
    let topic_slug = prop_oneof![
        3 => proptest::sample::select(topics),
        1 => Just("secret-speech".to_owned()),
        1 => Just("empty".to_owned()),
        1 => Just("missing".to_owned()),
    ];
    let topic = (
        pick(TOPIC_SCALARS),
        proptest::option::of((page_args(), connection())),
    )
        .prop_map(|(mut fields, articles)| {
            if let Some((args, connection)) = articles {
                fields.push(format!("articles{args} {{ {connection} }}"));
            }
            fields.join(" ")
        });
    prop_oneof![
        1 => Just(format!("r{index}: __typename")),
        3 => (article_slug, article())
            .prop_map(move |(slug, a)| format!("r{index}: article(slug: \"{slug}\") {{ {a} }}")),
        3 => (page_args(), connection())
            .prop_map(move |(args, c)| format!("r{index}: articles{args} {{ {c} }}")),
        3 => (topic_slug, topic)
            .prop_map(move |(slug, t)| format!("r{index}: topic(slug: \"{slug}\") {{ {t} }}")),
    ]
    .boxed()
}

/// A query of one to three root fields.
fn query(topics: Vec<String>) -> BoxedStrategy<String> {
    (1..=3usize)
        .prop_flat_map(move |n| {
            (0..n)
                .map(|i| root_field(i, topics.clone()))
                .collect::<Vec<_>>()
        })
        .prop_map(|fields| format!("{{ {} }}", fields.join(" ")))
        .boxed()
}

/// Generated reads (every field, alias, page argument and nesting the plans know, some with
/// refused arguments) answer byte for byte as the resolvers answer, with the same ETag and
/// surrogate keys and no more statements.
pub async fn planned_reads_answer_as_the_resolvers_do(app: TestApp) {
    let (resolved, topics) = pair(&app).await;
    let planned = app;
    // Generated up front: the generator is not `Send`, so it must not live across an await.
    let queries: Vec<String> = {
        let mut runner = TestRunner::deterministic();
        let strategy = query(topics);
        (0..80)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect()
    };
    let mut with_data = 0;
    let planned_before = planned_count(&planned).await;
    for (case, query) in queries.iter().enumerate() {
        let answer = same_answer(&planned, &resolved, &json!({ "query": query })).await;
        if answer.get("errors").is_none() {
            with_data += 1;
        }
        if case % 4 == 0 {
            assert_eq!(
                surrogate_keys(&planned, query).await,
                surrogate_keys(&resolved, query).await,
                "surrogate keys for {query}"
            );
        }
    }
    assert!(
        with_data >= 50,
        "most generated queries succeed ({with_data} of 80)"
    );
    // Every query that succeeded was answered from its plan (GETs count too).
    let planned_now = planned_count(&planned).await;
    assert!(
        planned_now - planned_before >= f64::from(with_data),
        "{with_data} answers, {} from plans",
        planned_now - planned_before
    );
}

const BENCH_QUERIES: &[&str] = &[
    include_str!("../../bench/queries/q1.graphql"),
    include_str!("../../bench/queries/q2.graphql"),
    include_str!("../../bench/queries/q3.graphql"),
];

/// The benchmark's queries, variables (given, defaulted, null) and cursors from a first page
/// answer as the resolvers answer.
pub async fn plans_read_variables_and_cursors_as_the_resolvers_do(app: TestApp) {
    let (resolved, topics) = pair(&app).await;
    let planned = app;
    for query in BENCH_QUERIES {
        same_answer(&planned, &resolved, &json!({ "query": query })).await;
    }
    let query = "query Q($slug: String!, $first: Int = 2, $after: String) {
        article(slug: $slug) { title sections { heading } }
        articles(first: $first, after: $after) {
            edges { cursor node { slug } } pageInfo { hasNextPage endCursor }
        }
    }";
    for variables in [
        json!({ "slug": "de-stalinization" }),
        json!({ "slug": "synthetic-3", "first": 5 }),
        json!({ "slug": "missing", "first": null }),
    ] {
        same_answer(
            &planned,
            &resolved,
            &json!({ "query": query, "variables": variables }),
        )
        .await;
    }
    // Page two of a topic's articles, through the cursor page one ended with.
    let topic = format!(
        "query T($after: String) {{ topic(slug: \"{}\") {{
            name articles(first: 2, after: $after) {{ nodes {{ title }} pageInfo {{ endCursor hasPreviousPage }} }}
        }} }}",
        topics[0]
    );
    let first = same_answer(&planned, &resolved, &json!({ "query": topic })).await;
    let cursor = first["data"]["topic"]["articles"]["pageInfo"]["endCursor"].clone();
    assert!(cursor.is_string(), "{first}");
    let second = same_answer(
        &planned,
        &resolved,
        &json!({ "query": topic, "variables": { "after": cursor } }),
    )
    .await;
    assert_eq!(
        second["data"]["topic"]["articles"]["pageInfo"]["hasPreviousPage"],
        true
    );
}

/// A plan loads each relation once for every article of the response, wherever the article
/// stands: the root article comes with its sections, the root topic with its page of
/// articles, and all those articles' sections in one statement, where the resolvers need one
/// per level.
pub async fn a_plan_loads_each_relation_once_for_the_whole_response(app: TestApp) {
    let (resolved, topics) = pair(&app).await;
    let planned = app;
    let query = format!(
        "{{ article(slug: \"de-stalinization\") {{ sections {{ heading }} }}
        topic(slug: \"{}\") {{ articles(first: 5) {{ nodes {{ sections {{ heading }} }} }} }} }}",
        topics[0]
    );
    let body = json!({ "query": query });
    let (_, plan_statements) = raw(&planned, &body).await;
    let (_, resolver_statements) = raw(&resolved, &body).await;
    // The article with its sections, the topic with its page; the page's sections (the
    // resolvers: the article, the topic; the root article's sections with the page; the
    // page's sections).
    assert_eq!((plan_statements, resolver_statements), (3, 5));
    same_answer(&planned, &resolved, &body).await;
}

/// A root article that asks for its sections is one statement (the sections joined to it),
/// where the resolvers send two, whatever it has: sections in document order, none, or no
/// article at all; asked for in two column shapes, it is still one statement.
pub async fn a_root_article_comes_with_its_sections_in_one_statement(app: TestApp) {
    let (resolved, _) = pair(&app).await;
    let planned = app;
    for (slug, sections) in [("de-stalinization", true), ("empty", false)] {
        for (fields, key) in [
            ("sections { heading body }", "sections"),
            ("title a: sections { id } b: sections { body }", "b"),
        ] {
            let body =
                json!({ "query": format!("{{ article(slug: \"{slug}\") {{ {fields} }} }}") });
            let (_, plan_statements) = raw(&planned, &body).await;
            let (_, resolver_statements) = raw(&resolved, &body).await;
            assert_eq!((plan_statements, resolver_statements), (1, 2), "{body}");
            let answer = same_answer(&planned, &resolved, &body).await;
            let rows = answer["data"]["article"][key].as_array().expect("sections");
            assert_eq!(!rows.is_empty(), sections, "{answer}");
        }
    }
    let body = json!({ "query": "{ article(slug: \"missing\") { sections { heading } } }" });
    assert_eq!(raw(&planned, &body).await.1, 1);
    let answer = same_answer(&planned, &resolved, &body).await;
    assert_eq!(answer["data"]["article"], Value::Null);

    let sql = planned
        .data_and_sql(
            "{ article(slug: \"de-stalinization\") { sections { heading } } }",
            json!({}),
        )
        .await
        .1;
    assert_eq!(sql.len(), 1, "{sql:#?}");
    assert!(sql[0].contains("JOIN sections s"), "{}", sql[0]);
    assert!(
        !sql[0].contains("body"),
        "a heading-only read loads no body: {}",
        sql[0]
    );
}

/// A planned answer over the response-size limit is refused as the resolvers refuse it.
pub async fn a_planned_answer_over_the_size_limit_is_refused(app: TestApp) {
    let (ok, _, stderr) = app.cli(&["seed", "--synthetic", "30"]);
    assert!(ok, "seed: {stderr}");
    let limit = |c: &mut annals::config::Config| c.limits.response_bytes = 20_000;
    let planned = TestApp::spawn_on(
        app.backend,
        TestDb::existing(app.database_url.clone()),
        limit,
    )
    .await;
    let resolved = TestApp::spawn_on(
        app.backend,
        TestDb::existing(app.database_url.clone()),
        |c| {
            limit(c);
            c.query_plans = false;
        },
    )
    .await;
    let body = json!({ "query": BENCH_QUERIES[1] });
    let answer = same_answer(&planned, &resolved, &body).await;
    TestApp::assert_error(&answer, "LIMIT_EXCEEDED", None);
    assert_eq!(answer["errors"][0]["extensions"]["limit"], "responseSize");
    // A small one still answers.
    let small = json!({ "query": "{ articles(first: 2) { nodes { title } } }" });
    let answer = same_answer(&planned, &resolved, &small).await;
    assert!(answer.get("errors").is_none(), "{answer}");
}

/// A root topic whose page of articles names no cursor is one statement (the page joined to
/// it), where the resolvers send two, whatever the page holds: articles in either direction,
/// none, or no topic at all. A cursor is checked against the topic's list first, so a page
/// after one is its own statement, as the resolvers send it.
pub async fn a_root_topic_comes_with_its_first_page_in_one_statement(app: TestApp) {
    let (resolved, topics) = pair(&app).await;
    let planned = app;
    let busiest = &topics[0];
    for (slug, articles) in [(busiest.as_str(), true), ("empty", false)] {
        for args in ["(first: 2)", "(last: 2)", "", "(first: 0)"] {
            let query = format!(
                "{{ topic(slug: \"{slug}\") {{ name articles{args} {{
                    pageInfo {{ hasNextPage hasPreviousPage endCursor }} nodes {{ slug }} }} }} }}"
            );
            let body = json!({ "query": query });
            let (_, plan_statements) = raw(&planned, &body).await;
            let (_, resolver_statements) = raw(&resolved, &body).await;
            assert_eq!((plan_statements, resolver_statements), (1, 2), "{body}");
            let answer = same_answer(&planned, &resolved, &body).await;
            let nodes = answer["data"]["topic"]["articles"]["nodes"]
                .as_array()
                .unwrap();
            assert_eq!(
                !nodes.is_empty(),
                articles && args != "(first: 0)",
                "{answer}"
            );
        }
    }
    let body = json!({ "query": "{ topic(slug: \"missing\") { articles { nodes { slug } } } }" });
    assert_eq!(raw(&planned, &body).await.1, 1);
    assert_eq!(
        same_answer(&planned, &resolved, &body).await["data"]["topic"],
        Value::Null
    );

    // After a cursor: the topic, then its page.
    let first = same_answer(
        &planned,
        &resolved,
        &json!({ "query": format!("{{ topic(slug: \"{busiest}\") {{ articles(first: 1) {{ pageInfo {{ endCursor }} }} }} }}") }),
    )
    .await;
    let cursor = &first["data"]["topic"]["articles"]["pageInfo"]["endCursor"];
    let body = json!({
        "query": "query($slug: String!, $after: String) { topic(slug: $slug) { articles(first: 2, after: $after) { nodes { slug sections { heading } } } } }",
        "variables": { "slug": busiest, "after": cursor },
    });
    let (_, plan_statements) = raw(&planned, &body).await;
    assert_eq!(plan_statements, 3, "{body}");
    let answer = same_answer(&planned, &resolved, &body).await;
    assert!(
        !answer["data"]["topic"]["articles"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{answer}"
    );
}
