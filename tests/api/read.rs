//! Reading content through GraphQL.

use serde_json::json;

use crate::helpers::{SEED, TestApp};

/// Every sentence of the seed is served verbatim, exactly once, across the article's fields.
pub async fn article_by_slug_serves_every_sentence_once(app: TestApp) {
    let data = app
        .data(
            r#"query($slug: String!) { article(slug: $slug) {
                title summary
                sections { heading body reforms { title description } reactions { title description } }
            } }"#,
            json!({ "slug": "de-stalinization" }),
        )
        .await;
    let article = &data["article"];
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    // Every line the API serves, put back into the seed's line format.
    let mut served = vec![text(&article["title"])];
    served.extend(text(&article["summary"]).lines().map(str::to_owned));
    for section in article["sections"].as_array().unwrap() {
        served.push(text(&section["heading"]));
        for line in text(&section["body"]).lines() {
            let point = line.strip_prefix("- **").and_then(|l| l.split_once(":** "));
            served.push(match point {
                Some((label, rest)) => format!("- {label}: {rest}"),
                None => line.to_owned(),
            });
        }
        for point in section["reforms"]
            .as_array()
            .unwrap()
            .iter()
            .chain(section["reactions"].as_array().unwrap())
        {
            served.push(format!(
                "- {}: {}",
                text(&point["title"]),
                text(&point["description"])
            ));
        }
    }
    let mut expected: Vec<String> = SEED.lines().map(str::to_owned).collect();
    served.sort();
    expected.sort();
    assert_eq!(
        served, expected,
        "the API must serve each line of the seed exactly once"
    );
}
