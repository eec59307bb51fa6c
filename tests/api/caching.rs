//! HTTP caching: Cache-Control, strong ETags and 304 without SQL, surrogate keys, the purge
//! webhook, and the in-process response cache (never stale after a returned mutation, and
//! invalidated across processes on PostgreSQL).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};

use crate::helpers::{Backend, TOKEN, TestApp, TestDb, get_graphql as get};

const ARTICLE: &str =
    "query($slug: String!) { article(slug: $slug) { id title version sections { heading } } }";
const UPDATE: &str = "mutation($id: ID!, $v: Int!, $title: String!) { updateArticle(id: $id, expectedVersion: $v, input: { title: $title }) { article { version } } }";

/// A GET of `query` with `variables`, with extra headers; returns the response.
fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn cached_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.caching.response_cache_bytes = 16 * 1024 * 1024;
    })
    .await
}

fn slug() -> Value {
    json!({ "slug": "de-stalinization" })
}

async fn article(app: &TestApp) -> (String, i64, String) {
    let data = app.data(ARTICLE, slug()).await;
    let article = &data["article"];
    (
        article["id"].as_str().unwrap().to_owned(),
        article["version"].as_i64().unwrap(),
        article["title"].as_str().unwrap().to_owned(),
    )
}

async fn retitle(app: &TestApp, id: &str, version: i64, title: &str) -> i64 {
    let data = app
        .mutate_ok(UPDATE, json!({ "id": id, "v": version, "title": title }))
        .await;
    data["updateArticle"]["article"]["version"]
        .as_i64()
        .unwrap()
}

/// Anonymous GET answers are public with a strong ETag and surrogate keys; a current
/// `If-None-Match` is answered 304 without a statement; authenticated or failed answers are
/// `private, no-store`; a forged tag gets a normal 200.
pub async fn get_answers_are_cacheable_and_304_costs_no_sql(app: TestApp) {
    let first = get(&app, ARTICLE, &slug(), &[]).await;
    assert_eq!(first.status(), 200);
    assert_eq!(
        header(&first, "cache-control"),
        "public, max-age=60, stale-while-revalidate=60"
    );
    let vary = header(&first, "vary").to_ascii_lowercase();
    assert!(
        vary.contains("accept") && vary.contains("authorization"),
        "{vary}"
    );
    let etag = header(&first, "etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
        "{etag}"
    );
    let keys = header(&first, "surrogate-key");
    let body: Value = first.json().await.unwrap();
    let id = body["data"]["article"]["id"].as_str().unwrap().to_owned();
    assert!(keys.split(' ').any(|k| k.starts_with("article:")), "{keys}");

    let before = app.statements();
    let again = get(&app, ARTICLE, &slug(), &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    assert_eq!(app.statements() - before, 0, "a 304 runs no SQL");
    assert_eq!(header(&again, "etag"), etag);
    assert!(again.bytes().await.unwrap().is_empty());

    // Same tag among others, and weak: still current.
    let listed = format!("\"nope\", W/{etag}");
    let weak = get(&app, ARTICLE, &slug(), &[("if-none-match", &listed)]).await;
    assert_eq!(weak.status(), 304);

    for forged in ["\"0000\"", "*", "garbage", "W/", "\"\""] {
        let response = get(&app, ARTICLE, &slug(), &[("if-none-match", forged)]).await;
        assert_eq!(response.status(), 200, "If-None-Match: {forged}");
        assert_eq!(header(&response, "etag"), etag);
    }

    // Other variables, another tag.
    let other = get(&app, ARTICLE, &json!({ "slug": "missing" }), &[]).await;
    assert_ne!(header(&other, "etag"), etag);
    assert!(header(&other, "surrogate-key").contains("articles"));

    let bearer = format!("Bearer {TOKEN}");
    let private = get(&app, ARTICLE, &slug(), &[("authorization", &bearer)]).await;
    assert_eq!(private.status(), 200);
    assert_eq!(header(&private, "cache-control"), "private, no-store");
    assert!(private.headers().get("etag").is_none());
    assert!(private.headers().get("surrogate-key").is_none());

    let failed = get(&app, "{ article(slug: 1) { id } }", &json!({}), &[]).await;
    assert_eq!(header(&failed, "cache-control"), "private, no-store");
    assert!(failed.headers().get("etag").is_none());

    // A change moves the tag: the old one is no longer current.
    let (_, version, _) = article(&app).await;
    retitle(&app, &id, version, "De-Stalinization, revised").await;
    let changed = get(&app, ARTICLE, &slug(), &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(header(&changed, "etag"), etag);
    let body: Value = changed.json().await.unwrap();
    assert_eq!(
        body["data"]["article"]["title"],
        "De-Stalinization, revised"
    );
}

/// A compressed answer's ETag names its encoding, and that tag is current too.
pub async fn compressed_answers_have_their_own_etag(app: TestApp) {
    // Large enough to be compressed (from 1 KiB).
    const BIG: &str =
        "query($slug: String!) { article(slug: $slug) { sections { heading body } } }";
    let plain = get(&app, BIG, &slug(), &[("accept-encoding", "identity")]).await;
    let etag = header(&plain, "etag");
    let packed = get(&app, BIG, &slug(), &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&packed, "content-encoding"), "gzip");
    let gzip_tag = header(&packed, "etag");
    assert_eq!(gzip_tag, format!("{}-gzip\"", &etag[..etag.len() - 1]));
    let before = app.statements();
    let again = get(
        &app,
        BIG,
        &slug(),
        &[("accept-encoding", "gzip"), ("if-none-match", &gzip_tag)],
    )
    .await;
    assert_eq!(again.status(), 304);
    assert_eq!(app.statements() - before, 0);
}

/// Answers from the response cache come in the client's preferred coding, as a computed
/// answer would, decode to the same bytes, and carry the coding's own ETag.
pub async fn cached_answers_come_compressed_as_the_client_asks(app: TestApp) {
    const BIG: &str =
        "query($slug: String!) { article(slug: $slug) { sections { heading body } } }";
    let app = cached_app(app.backend).await;
    let plain = get(&app, BIG, &slug(), &[("accept-encoding", "identity")]).await;
    let etag = header(&plain, "etag");
    let plain = plain.bytes().await.unwrap();
    assert!(plain.len() > 1024, "compressible: {}", plain.len());
    let before = app.statements();
    for (accept, coding) in [
        ("gzip", "gzip"),
        ("gzip, br", "br"),
        ("gzip;q=0.5, br;q=0.4, zstd;q=0.1", "gzip"),
        ("gzip, deflate, br, zstd", "zstd"),
    ] {
        for _ in 0..2 {
            let hit = get(&app, BIG, &slug(), &[("accept-encoding", accept)]).await;
            assert_eq!(hit.status(), 200);
            assert_eq!(header(&hit, "content-encoding"), coding, "{accept}");
            assert!(header(&hit, "vary").contains("accept-encoding"), "{accept}");
            let tag = header(&hit, "etag");
            assert_eq!(tag, format!("{}-{coding}\"", &etag[..etag.len() - 1]));
            let packed = hit.bytes().await.unwrap();
            let unpacked = crate::helpers::decode(coding, &packed);
            assert_eq!(unpacked, plain, "{accept}");
        }
    }
    let refused = get(&app, BIG, &slug(), &[("accept-encoding", "gzip;q=0")]).await;
    assert_eq!(header(&refused, "content-encoding"), "");
    assert_eq!(refused.bytes().await.unwrap(), plain);
    assert_eq!(app.statements() - before, 0, "every one from memory");
}

/// The keys name each article and topic the answer read, and the lists it read.
pub async fn surrogate_keys_name_what_the_answer_read(app: TestApp) {
    let (id, _, _) = article(&app).await;
    let pk = global_pk(&id);
    let keys = |response: &reqwest::Response| header(response, "surrogate-key");
    let one = get(
        &app,
        "{ article(slug: \"de-stalinization\") { title } }",
        &json!({}),
        &[],
    )
    .await;
    assert_eq!(keys(&one), format!("article:{pk}"));
    assert_eq!(header(&one, "cache-tag"), format!("article:{pk}"));
    let list = get(
        &app,
        "{ articles(first: 5) { nodes { title } } }",
        &json!({}),
        &[],
    )
    .await;
    assert_eq!(keys(&list), "articles");
    let topics = get(
        &app,
        "{ topics(first: 3) { nodes { slug articles(first: 5) { nodes { sections { heading } } } } } }",
        &json!({}),
        &[],
    )
    .await;
    let topic_keys = keys(&topics);
    assert!(topic_keys.contains("topics"), "{topic_keys}");
    assert!(topic_keys.contains("topic:"), "{topic_keys}");
    assert!(
        topic_keys.contains(&format!("article:{pk}")),
        "{topic_keys}"
    );
}

/// The numeric key inside a global ID (`base64("Article:12")`).
fn global_pk(id: &str) -> String {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(id)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id))
        .unwrap();
    let text = String::from_utf8(decoded).unwrap();
    text.rsplit(':').next().unwrap().to_owned()
}

/// Identical anonymous reads come from memory (no statement) until the content changes.
pub async fn the_response_cache_answers_repeats_without_sql(app: TestApp) {
    let app = cached_app(app.backend).await;
    let post = |app: &TestApp| {
        let body = json!({ "query": ARTICLE, "variables": slug() });
        let request = app.client.post(app.url("/graphql")).json(&body);
        async move { request.send().await.unwrap() }
    };
    let first = post(&app).await;
    let first_body = first.bytes().await.unwrap();
    let before = app.statements();
    let second = post(&app).await;
    assert_eq!(second.status(), 200);
    let second_body = second.bytes().await.unwrap();
    assert_eq!(app.statements() - before, 0, "answered from memory");
    assert_eq!(first_body, second_body, "byte for byte");
    // Authenticated reads always run.
    let before = app.statements();
    let mine = app
        .query_as(Some(&format!("Bearer {TOKEN}")), ARTICLE, slug())
        .await;
    assert!(mine["data"]["article"]["id"].is_string());
    assert!(
        app.statements() - before > 0,
        "authenticated reads are not cached"
    );
    let (id, version, _) = article(&app).await;
    retitle(&app, &id, version, "Cache, meet change").await;
    let after: Value = post(&app).await.json().await.unwrap();
    assert_eq!(after["data"]["article"]["title"], "Cache, meet change");
}

/// Readers racing a writer: a read that starts after a mutation returned never sees the
/// content from before it, whether it is answered from memory or not.
pub async fn cached_reads_never_go_back_behind_a_returned_mutation(app: TestApp) {
    let app = Arc::new(cached_app(app.backend).await);
    let (id, mut version, _) = article(&app).await;
    let returned = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (app, returned, stop) = (app.clone(), returned.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(Ordering::Acquire) {
                let floor = returned.load(Ordering::Acquire);
                let response = get(
                    &app,
                    "{ article(slug: \"de-stalinization\") { title } }",
                    &json!({}),
                    &[],
                )
                .await;
                let body: Value = response.json().await.unwrap();
                let title = body["data"]["article"]["title"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let seen = title
                    .strip_prefix("Round ")
                    .map_or(0, |n| n.parse::<usize>().unwrap());
                assert!(seen >= floor, "read {title:?} after round {floor} returned");
                reads += 1;
            }
            reads
        }));
    }
    for round in 1..=25 {
        version = retitle(&app, &id, version, &format!("Round {round}")).await;
        returned.store(round, Ordering::Release);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Release);
    let mut total = 0;
    for reader in readers {
        total += reader.await.unwrap();
    }
    assert!(total > 25, "readers ran alongside ({total} reads)");
}

/// A local receiver of purge webhooks: the bodies it got; it answers 500 to the first
/// `failures` requests.
async fn receiver(failures: usize) -> (String, Arc<Mutex<Vec<Value>>>, Arc<tokio::sync::Notify>) {
    use axum::{Json, Router, routing::post};
    let got = Arc::new(Mutex::new(Vec::new()));
    let arrived = Arc::new(tokio::sync::Notify::new());
    let left = Arc::new(AtomicUsize::new(failures));
    let (g, a) = (got.clone(), arrived.clone());
    let app = Router::new().route(
        "/purge",
        post(
            move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
                let (got, arrived, left) = (g.clone(), a.clone(), left.clone());
                async move {
                    if left
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let keys = headers["surrogate-key"].to_str().unwrap().to_owned();
                    got.lock()
                        .unwrap()
                        .push(json!({ "body": body, "header": keys }));
                    arrived.notify_waiters();
                    axum::http::StatusCode::NO_CONTENT
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/purge", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got, arrived)
}

/// Waits until `got` holds `n` purges, at most 10 s.
async fn purges(got: &Arc<Mutex<Vec<Value>>>, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        if got.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    got.lock().unwrap().clone()
}

/// `annals import` purges what it committed before it exits (retried like the server's),
/// and a dry run purges nothing.
pub async fn annals_import_purges_what_it_committed(app: TestApp) {
    let (url, got, _) = receiver(1).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("thaw.txt");
    std::fs::write(&file, "The Thaw\nA short article.").unwrap();
    let run = |extra: &'static [&'static str]| {
        let (database_url, url, file) = (app.database_url.clone(), url.clone(), file.clone());
        tokio::task::spawn_blocking(move || {
            crate::helpers::annals_command()
                .arg("import")
                .arg(&file)
                .args(extra)
                .env("DATABASE_URL", database_url)
                .env("ANNALS_LOG", "warn")
                .env("ANNALS_PURGE_URL", url)
                .output()
                .unwrap()
        })
    };
    let dry = run(&["--dry-run"]).await.unwrap();
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let out = run(&[]).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The command waited for the purge, through one failed try: it has arrived already.
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:?}");
    let keys = received[0]["body"]["keys"].as_array().unwrap();
    assert!(keys.contains(&json!("articles")), "{keys:?}");
    assert!(
        keys.iter()
            .any(|k| k.as_str().unwrap().starts_with("article:")),
        "{keys:?}"
    );
}

/// Every committed change POSTs its keys (retried when the receiver fails); a mutation that
/// fails writes nothing and purges nothing.
pub async fn the_purge_webhook_gets_the_keys_after_commit_only(app: TestApp) {
    let (url, got, _) = receiver(2).await;
    let app = TestApp::spawn_with(app.backend, |c| c.caching.purge_url = Some(url)).await;
    let (id, version, _) = article(&app).await;
    let pk = global_pk(&id);
    retitle(&app, &id, version, "Purged").await;
    let received = purges(&got, 1).await;
    assert_eq!(
        received.len(),
        1,
        "delivered after two failures: {received:?}"
    );
    let keys: Vec<&str> = received[0]["body"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, [format!("article:{pk}").as_str(), "articles"]);
    assert_eq!(received[0]["header"], format!("article:{pk} articles"));

    // A stale expectedVersion is a CONFLICT: nothing written, nothing purged.
    let body = app
        .mutate(UPDATE, json!({ "id": id, "v": version, "title": "Never" }))
        .await;
    assert_eq!(TestApp::error_code(&body), "CONFLICT");
    // A topic change purges the topic list; then one more article change proves the queue
    // still flows, and that nothing came in between.
    app.mutate_ok(
        "mutation { createTopic(input: { slug: \"purge-test\", name: \"Purge test\" }) { topic { id } } }",
        json!({}),
    )
    .await;
    let received = purges(&got, 2).await;
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(received[1]["body"]["keys"], json!(["topics"]));
}

/// On PostgreSQL, a change committed through one process empties the other's response cache
/// within one notification; ETags agree across processes.
pub async fn processes_invalidate_each_others_caches(app: TestApp) {
    if app.backend != Backend::Postgres {
        return;
    }
    let configure = |c: &mut annals::config::Config| {
        c.caching.response_cache_bytes = 16 * 1024 * 1024;
    };
    let one = TestApp::spawn_with(app.backend, configure).await;
    let two = TestApp::spawn_on(
        app.backend,
        TestDb::existing(one.database_url.clone()),
        configure,
    )
    .await;
    let query = "{ article(slug: \"de-stalinization\") { title } }";
    let from_two = get(&two, query, &json!({}), &[]).await;
    let etag = header(&from_two, "etag");
    assert_eq!(
        header(&get(&one, query, &json!({}), &[]).await, "etag"),
        etag,
        "same tag"
    );
    let before = two.statements();
    get(&two, query, &json!({}), &[]).await;
    assert_eq!(two.statements() - before, 0, "cached on two");
    let (id, version, _) = article(&one).await;
    retitle(&one, &id, version, "Changed elsewhere").await;
    let mut title = String::new();
    for _ in 0..100 {
        let body: Value = get(&two, query, &json!({}), &[])
            .await
            .json()
            .await
            .unwrap();
        title = body["data"]["article"]["title"]
            .as_str()
            .unwrap()
            .to_owned();
        if title == "Changed elsewhere" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(title, "Changed elsewhere", "two saw the change within 2 s");
    let fresh = get(&two, query, &json!({}), &[("if-none-match", &etag)]).await;
    assert_eq!(fresh.status(), 200, "the old tag is stale on two as well");
}
