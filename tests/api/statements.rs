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
