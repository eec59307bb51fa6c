//! No N+1: the statements one request sends depend on the query's shape, not on row counts.

use serde_json::json;

use crate::helpers::TestApp;

const QUERY: &str = r#"query($n: Int!) { articles(first: $n) { nodes {
    title
    sections { heading body }
    reforms { title description }
    reactions { title description }
    topics { slug name articles { nodes { title } } }
} } }"#;

/// "First N articles with sections, reforms, reactions and topics, and every topic's
/// articles' titles" costs the same number of statements, at most 8, for 5 and 50 articles.
pub async fn statement_count_is_independent_of_rows(app: TestApp) {
    annals::store::seed::seed_synthetic(&app.db, 60, &mut |_, _| {})
        .await
        .expect("synthetic seed");
    let mut counts = Vec::new();
    for n in [5, 50] {
        let before = app.statements();
        let data = app.data(QUERY, json!({ "n": n })).await;
        let after = app.statements();
        let nodes = data["articles"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), n);
        assert!(
            nodes
                .iter()
                .skip(1)
                .all(|a| a["sections"].as_array().unwrap().len() == 6)
        );
        counts.push(after - before);
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 5 and 50 articles: {counts:?}"
    );
    assert!(counts[0] <= 8, "at most 8 statements, got {}", counts[0]);
}

/// The statements of `sql` that read rows of `table` (`sections s`, `reforms p`...), on its
/// own or left-joined to the row they belong to (a planned root article comes with its
/// sections); not those that only join it to look something up (a point's section).
fn reading<'a>(sql: &'a [String], table: &str) -> Vec<&'a String> {
    let (from, join) = (format!("FROM {table}"), format!("LEFT JOIN {table}"));
    sql.iter()
        .filter(|text| text.contains(&from) || text.contains(&join))
        .collect()
}

/// A heading-only sections query selects no `body`; asking for `body` (directly, through a
/// fragment, or through `document`, which renders it) selects it, in the same one statement.
/// The same holds for an article's `summary` and a point's `description`; the answers are
/// the same either way.
pub async fn columns_are_selected_only_when_asked(app: TestApp) {
    let article = r#"article(slug: "de-stalinization")"#;
    let (narrow, sql) = app
        .data_and_sql(
            &format!("{{ {article} {{ title sections {{ heading }} }} }}"),
            json!({}),
        )
        .await;
    let sections = reading(&sql, "sections s");
    assert_eq!(sections.len(), 1, "one sections statement: {sql:#?}");
    assert!(!sections[0].contains("body"), "no body: {}", sections[0]);
    let articles = reading(&sql, "articles a");
    assert_eq!(articles.len(), 1, "{sql:#?}");
    assert!(!articles[0].contains("summary"), "{}", articles[0]);

    let (full, sql) = app
        .data_and_sql(
            &format!("{{ {article} {{ summary sections {{ heading body }} }} }}"),
            json!({}),
        )
        .await;
    let sections = reading(&sql, "sections s");
    assert_eq!(sections.len(), 1, "{sql:#?}");
    assert!(sections[0].contains("s.body"), "body: {}", sections[0]);
    assert!(reading(&sql, "articles a")[0].contains("a.summary"));
    let headings = |data: &serde_json::Value| -> Vec<serde_json::Value> {
        data["article"]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["heading"].clone())
            .collect()
    };
    assert_eq!(headings(&narrow), headings(&full));
    assert!(!headings(&full).is_empty());
    assert!(
        full["article"]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| !s["body"].as_str().unwrap().is_empty()),
        "{full:#}"
    );

    // Two fields of one level needing different shapes: the wider is loaded once.
    for query in [
        format!("{{ {article} {{ sections {{ heading }} document }} }}"),
        format!(
            "{{ {article} {{ sections {{ heading }} more: sections {{ ...B }} }} }} \
             fragment B on Section {{ body }}"
        ),
    ] {
        let (data, sql) = app.data_and_sql(&query, json!({})).await;
        let sections = reading(&sql, "sections s");
        assert_eq!(sections.len(), 1, "{query}: {sql:#?}");
        assert!(sections[0].contains("s.body"), "{query}: {}", sections[0]);
        assert_eq!(
            headings(&data),
            headings(&full),
            "{query}: the same sections"
        );
    }

    let (narrow, sql) = app
        .data_and_sql(
            &format!("{{ {article} {{ sections {{ reforms {{ title }} }} }} }}"),
            json!({}),
        )
        .await;
    let reforms = reading(&sql, "reforms p");
    assert_eq!(reforms.len(), 1, "{sql:#?}");
    assert!(!reforms[0].contains("description"), "{}", reforms[0]);
    let (full, sql) = app
        .data_and_sql(
            &format!("{{ {article} {{ sections {{ reforms {{ title description }} }} }} }}"),
            json!({}),
        )
        .await;
    assert!(reading(&sql, "reforms p")[0].contains("p.description"));
    let titles = |data: &serde_json::Value| -> Vec<serde_json::Value> {
        data["article"]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["reforms"].as_array().unwrap().clone())
            .map(|r| r["title"].clone())
            .collect()
    };
    assert_eq!(titles(&narrow), titles(&full));
    assert!(!titles(&full).is_empty());
}

/// A topic's page of articles and an article's page of revisions are one statement each:
/// on PostgreSQL a `LATERAL ... LIMIT` per parent, on SQLite a window function.
pub async fn child_pages_are_lateral_on_postgres(app: TestApp) {
    let (data, sql) = app
        .data_and_sql(
            r#"{ topics(first: 5) { nodes { slug articles(first: 1) {
                 pageInfo { hasNextPage } nodes { title revisions(first: 1) { nodes { version } } }
               } } } }"#,
            json!({}),
        )
        .await;
    let topics = data["topics"]["nodes"].as_array().unwrap();
    assert!(
        topics
            .iter()
            .any(|t| t["articles"]["nodes"].as_array().unwrap().len() == 1),
        "{data:#}"
    );
    let lateral = app.backend == crate::helpers::Backend::Postgres;
    for from in ["article_topics", "revisions r"] {
        let pages = reading(&sql, from);
        assert_eq!(pages.len(), 1, "{from}: {sql:#?}");
        assert_eq!(pages[0].contains("LATERAL"), lateral, "{}", pages[0]);
        assert_eq!(pages[0].contains("ROW_NUMBER"), !lateral, "{}", pages[0]);
    }
    // Only the columns asked for: no summary, document or snapshot.
    for text in &sql {
        for large in ["summary", "document", "snapshot"] {
            assert!(!text.contains(large), "{large}: {text}");
        }
    }
}
