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

/// Every root field answers over HTTP with the seeded content.
pub async fn every_root_field_answers(app: TestApp) {
    let data = app
        .data(
            r#"{
                article(slug: "de-stalinization") { slug version createdAt updatedAt }
                missing: article(slug: "no-such-article") { slug }
                articles { totalCount nodes { slug } }
                topic(slug: "secret-speech") { name reactions { title } reforms { title } articles { nodes { slug } } }
                topics(first: 3) { totalCount nodes { slug } pageInfo { hasNextPage } }
                reforms { totalCount nodes { slug section { heading } article { slug } } }
                reactions(filter: { topic: "hungarian-revolution-of-1956" }) { totalCount nodes { title } }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["article"]["version"], 1);
    assert!(data["missing"].is_null());
    assert_eq!(data["articles"]["totalCount"], 1);
    assert_eq!(data["topic"]["name"], "The Secret Speech");
    assert_eq!(
        data["topic"]["reactions"],
        json!([{ "title": "Public Reaction" }])
    );
    assert_eq!(
        data["topic"]["articles"]["nodes"],
        json!([{ "slug": "de-stalinization" }])
    );
    assert_eq!(data["topics"]["totalCount"], 10);
    assert_eq!(data["topics"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(data["topics"]["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(data["reforms"]["totalCount"], 4);
    let reform_slugs: Vec<&str> = data["reforms"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        reform_slugs,
        [
            "rehabilitation-of-victims",
            "easing-repression",
            "political-liberalization",
            "economic-reforms"
        ]
    );
    assert_eq!(
        data["reforms"]["nodes"][0]["section"]["heading"],
        "Key Reforms and Policies"
    );
    assert_eq!(
        data["reactions"],
        json!({ "totalCount": 1, "nodes": [{ "title": "International Impact" }] })
    );
    let created = data["article"]["createdAt"].as_str().unwrap();
    assert!(
        created.ends_with('Z') || created.ends_with("+00:00"),
        "UTC RFC 3339: {created}"
    );
}

/// Relations nest in both directions, many levels deep.
pub async fn relations_nest_deeply(app: TestApp) {
    let data = app
        .data(
            r#"{ article(slug: "de-stalinization") {
                section(slug: "key-reforms-and-policies") {
                    position
                    reforms { position topics { slug articles(first: 2) { nodes { section(slug: "impact-and-reactions") { article { reactions {
                        section { slug article { topics { name } } }
                    } } } } } } }
                }
                nothing: section(slug: "nope") { slug }
            } }"#,
            json!({}),
        )
        .await;
    let section = &data["article"]["section"];
    assert_eq!(section["position"], 2);
    assert!(data["article"]["nothing"].is_null());
    let reforms = section["reforms"].as_array().unwrap();
    assert_eq!(
        reforms
            .iter()
            .map(|r| r["position"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let first_topic = &reforms[0]["topics"][0];
    assert_eq!(first_topic["slug"], "joseph-stalin");
    let deep =
        &first_topic["articles"]["nodes"][0]["section"]["article"]["reactions"][0]["section"];
    assert_eq!(deep["slug"], "impact-and-reactions");
    assert_eq!(deep["article"]["topics"].as_array().unwrap().len(), 10);
}

/// `node` and `nodes` resolve every type from its ID, in order, with null for unknown IDs.
pub async fn node_round_trips_every_type(app: TestApp) {
    let data = app
        .data(
            r#"{ article(slug: "de-stalinization") {
                id sections { id } reforms { id } reactions { id } topics { id }
            } }"#,
            json!({}),
        )
        .await;
    let article = &data["article"];
    let ids = [
        ("Article", article["id"].clone()),
        ("Section", article["sections"][0]["id"].clone()),
        ("Reform", article["reforms"][0]["id"].clone()),
        ("Reaction", article["reactions"][0]["id"].clone()),
        ("Topic", article["topics"][0]["id"].clone()),
    ];
    for (typename, id) in &ids {
        let data = app
            .data(
                "query($id: ID!) { node(id: $id) { __typename id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["node"]["__typename"], *typename);
        assert_eq!(data["node"]["id"], *id);
    }
    // An ID that is well-formed but names nothing resolves to null.
    let unknown = "QXJ0aWNsZTo5OTk5OTk"; // Article:999999
    let mut list: Vec<serde_json::Value> = ids.iter().map(|(_, id)| id.clone()).collect();
    list.insert(2, json!(unknown));
    let data = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }",
            json!({ "ids": list }),
        )
        .await;
    let names: Vec<serde_json::Value> = data["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["__typename"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("Article"),
            json!("Section"),
            json!(null),
            json!("Reform"),
            json!("Reaction"),
            json!("Topic")
        ]
    );
    let single = app
        .data(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": unknown }),
        )
        .await;
    assert!(single["node"].is_null());
}

/// Article.markdown renders the whole article with points in place.
pub async fn markdown_renders_the_whole_article(app: TestApp) {
    let data = app
        .data(
            r#"{ article(slug: "de-stalinization") { markdown } }"#,
            json!({}),
        )
        .await;
    let markdown = data["article"]["markdown"].as_str().unwrap();
    assert!(markdown.starts_with("# De-Stalinization\n\nDe-Stalinization refers to"));
    assert!(
        markdown.contains(
            "## Key Reforms and Policies\n\n- **Rehabilitation of Victims:** Many victims"
        )
    );
    assert!(markdown.contains("## Related Topics"));
    assert!(markdown.ends_with('\n'));
}
