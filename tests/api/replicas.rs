//! Read replicas: queries read a streaming replica, a client sees its own writes, and a
//! replica that lags or stops leaves the rotation without a failed request.
//!
//! PostgreSQL only, each test on a primary and a `pg_basebackup -R` replica of its own
//! ([`crate::cluster`]). Which database answered is told apart by content: with the replica's
//! replay paused, a write on the primary is missing on the replica; and by the primary pool's
//! statement counter, which a read on the replica leaves alone.

use std::time::{Duration, Instant};

use annals::config::Config;
use serde_json::{Value, json};

use crate::{
    cluster::{self, Cluster},
    helpers::{Backend, TOKEN, TestApp, TestDb},
};

const TOPICS: &str = "{ topics(first: 100) { nodes { slug } } }";

/// A primary with a database `annals` and a streaming replica of it, or `None` on a machine
/// without Debian's cluster tools (a failure under `CI=true`).
fn clusters() -> Option<(Cluster, Cluster)> {
    if !cluster::available() {
        assert!(
            !crate::helpers::in_ci(),
            "CI=true: the replica tests need pg_createcluster (Debian's postgresql-common)"
        );
        eprintln!("replica test skipped: no pg_createcluster on this machine");
        return None;
    }
    let primary = Cluster::start(&[]);
    let replica = Cluster::replica_of(&primary);
    Some((primary, replica))
}

/// A server on `primary` reading from `replica`, after `configure`.
async fn app_on(
    primary: &Cluster,
    replica: &Cluster,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let read_url = replica.url("annals");
    TestApp::spawn_on(
        Backend::Postgres,
        TestDb::existing(primary.url("annals")),
        |c| {
            c.replication.read_database_urls = vec![read_url];
            configure(c);
        },
    )
    .await
}

/// POSTs `query` (with `Authorization` and `Annals-Min-LSN` when given); returns the
/// body and the response's `Annals-Min-LSN` header.
async fn post(
    app: &TestApp,
    body: Value,
    authorization: Option<&str>,
    min_lsn: Option<&str>,
) -> (Value, Option<String>) {
    let mut request = app.client.post(app.url("/graphql")).json(&body);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(lsn) = min_lsn {
        request = request.header("annals-min-lsn", lsn);
    }
    let response = request.send().await.expect("POST /graphql");
    let lsn = response
        .headers()
        .get("annals-min-lsn")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.json().await.unwrap_or(Value::Null), lsn)
}

/// The topic slugs a read sees, and how many statements it sent to the primary.
async fn topics(
    app: &TestApp,
    authorization: Option<&str>,
    min_lsn: Option<&str>,
) -> (Vec<String>, u64) {
    let before = app.statements();
    let (body, _) = post(app, json!({ "query": TOPICS }), authorization, min_lsn).await;
    assert!(body.get("errors").is_none(), "{body}");
    let slugs = body["data"]["topics"]["nodes"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|n| n["slug"].as_str().unwrap_or_default().to_owned())
        .collect();
    (slugs, app.statements() - before)
}

/// Creates topic `slug` as the test editor; returns the commit position the answer carries.
async fn create_topic(app: &TestApp, slug: &str) -> String {
    let query = format!(
        "mutation {{ createTopic(input: {{slug: \"{slug}\", name: \"{slug}\"}}) {{ topic {{ slug }} }} }}"
    );
    let token = format!("Bearer {TOKEN}");
    let (body, header) = post(app, json!({ "query": query }), Some(&token), None).await;
    assert!(body.get("errors").is_none(), "{body}");
    let lsn = body["extensions"]["consistency"]["minLsn"]
        .as_str()
        .unwrap_or_else(|| panic!("a mutation's answer carries its commit position: {body}"))
        .to_owned();
    assert_eq!(
        header.as_deref(),
        Some(lsn.as_str()),
        "the header says the same"
    );
    lsn
}

/// `/readyz`'s status and body.
async fn ready(app: &TestApp) -> (u16, String) {
    let response = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

/// Waits (at most `limit`) until `/readyz` shows the replica in `state`.
async fn wait_for_state(app: &TestApp, state: &str, limit: Duration) {
    let started = Instant::now();
    loop {
        let (status, body) = ready(app).await;
        assert_eq!(
            status, 200,
            "replicas never make the server unready: {body}"
        );
        if body.contains(state) {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "replica not {state} after {limit:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads go to the replica; a mutation's answer carries its commit position, and a read that
/// sends it back sees the write: from the primary while the replica has not replayed it
/// (after a bounded wait), from the replica once it has. The position can come as a header
/// or in `extensions.consistency`; a malformed one is `BAD_USER_INPUT`. With sticky reads an
/// editor's reads follow its writes to the primary. On SQLite replicas are refused at start.
pub async fn queries_read_a_replica_and_see_their_own_writes(app: TestApp) {
    if app.backend != Backend::Postgres {
        let mut config = Config::defaults(app.database_url.clone());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.replication.read_database_urls = vec!["postgres://127.0.0.1:1/x".into()];
        let err = annals::startup::App::build(config)
            .await
            .err()
            .expect("refused");
        assert!(
            err.message().contains("need a PostgreSQL primary"),
            "{}",
            err.message()
        );
        return;
    }
    let Some((primary, replica)) = clusters() else {
        return;
    };
    drop(app);
    primary.create_database("annals").await;
    let wait = Duration::from_millis(300);
    // No background checks or polls: every statement the primary pool counts is a request's.
    let quiet = |c: &mut Config| {
        c.replication.check_ms = 600_000;
        c.replication.wait_ms = wait.as_millis() as u64;
        c.replication.max_lag_ms = 600_000;
        c.caching.content_version_poll_ms = 600_000;
    };
    let app = app_on(&primary, &replica, quiet).await;
    wait_for_state(&app, "replica 0", Duration::from_secs(1)).await;
    let (_, body) = ready(&app).await;
    assert!(
        body.starts_with("ready\n") && body.contains("in rotation"),
        "{body}"
    );
    assert!(
        !body.contains("postgres@"),
        "no credentials or user in /readyz: {body}"
    );

    let (seen, on_primary) = topics(&app, None, None).await;
    assert!(!seen.is_empty());
    assert_eq!(on_primary, 0, "a plain query reads the replica");
    let metrics = app.metrics_text().await;
    // Series, not values: the metrics recorder is one per test process, and the replica test
    // beside this one takes its own `replica="0"` out of rotation at the same time (/readyz
    // above says this server's replica is in rotation).
    for series in [
        "annals_db_reads_total{",
        "annals_db_replica_in_rotation{replica=\"0\"}",
        "annals_db_replica_lag_seconds{replica=\"0\"}",
        "annals_db_replica_pool_connections{",
    ] {
        assert!(metrics.contains(series), "{series} missing from /metrics");
    }

    replica.execute("SELECT pg_wal_replay_pause()").await;
    let lsn = create_topic(&app, "written-on-primary").await;
    let (seen, on_primary) = topics(&app, None, None).await;
    assert!(
        !seen.contains(&"written-on-primary".to_owned()),
        "the paused replica answered"
    );
    assert_eq!(on_primary, 0);

    // The replica cannot catch up: after the wait, the primary answers, with the write.
    let started = Instant::now();
    let (seen, on_primary) = topics(&app, None, Some(&lsn)).await;
    assert!(
        seen.contains(&"written-on-primary".to_owned()),
        "read-your-writes: {seen:?}"
    );
    assert!(on_primary > 0, "served by the primary");
    assert!(
        started.elapsed() >= wait - Duration::from_millis(20),
        "{:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < wait + Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let (body, _) = post(
        &app,
        json!({ "query": TOPICS, "extensions": { "consistency": { "minLsn": lsn } } }),
        None,
        None,
    )
    .await;
    assert!(body.to_string().contains("written-on-primary"), "{body}");

    for (header, extensions) in [
        (Some("not-an-lsn"), json!({})),
        (None, json!({ "consistency": { "minLsn": 12 } })),
        (None, json!({ "consistency": "0/1" })),
        (None, json!({ "consistency": { "minLsn": "1/2/3" } })),
    ] {
        let (body, _) = post(
            &app,
            json!({ "query": TOPICS, "extensions": extensions }),
            None,
            header,
        )
        .await;
        TestApp::assert_error(&body, "BAD_USER_INPUT", None);
        assert!(body.get("data").is_none(), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("LSN")
                || message.contains("minLsn")
                || message.contains("consistency"),
            "{message}"
        );
    }

    // A GET answer is kept under the current content version (ETag, CDN): it never comes
    // from a replica that has not replayed that version.
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", TOPICS)])
        .send()
        .await
        .expect("GET /graphql");
    assert!(response.headers().contains_key("etag"));
    let body = response.text().await.unwrap_or_default();
    assert!(
        body.contains("written-on-primary"),
        "a cacheable answer is current: {body}"
    );

    replica.execute("SELECT pg_wal_replay_resume()").await;
    let started = Instant::now();
    let (seen, on_primary) = topics(&app, None, Some(&lsn)).await;
    assert!(seen.contains(&"written-on-primary".to_owned()), "{seen:?}");
    assert_eq!(
        on_primary, 0,
        "the replica has replayed the write and serves it"
    );
    assert!(started.elapsed() < wait + Duration::from_secs(1));

    // Sticky reads: an editor's reads go to the primary for a while after it wrote.
    let sticky = app_on(&primary, &replica, |c| {
        quiet(c);
        c.replication.sticky_primary_ms = 60_000;
    })
    .await;
    wait_for_state(&sticky, "in rotation", Duration::from_secs(1)).await;
    replica.execute("SELECT pg_wal_replay_pause()").await;
    create_topic(&sticky, "sticky-write").await;
    let token = format!("Bearer {TOKEN}");
    let (seen, on_primary) = topics(&sticky, Some(&token), None).await;
    assert!(
        seen.contains(&"sticky-write".to_owned()),
        "the editor sees its write"
    );
    assert!(on_primary > 0);
    let (seen, on_primary) = topics(&sticky, None, None).await;
    assert!(
        !seen.contains(&"sticky-write".to_owned()),
        "others read the replica"
    );
    assert_eq!(on_primary, 0);
    replica.execute("SELECT pg_wal_replay_resume()").await;
    drop(sticky);
    drop(app);
    drop(replica);
    drop(primary);
}

/// A replica that falls further behind than `replica-max-lag-ms` leaves the rotation (reads
/// see current data from the primary) and comes back once it has caught up; one that stops
/// under load costs no request (in-flight reads run again on the primary) and `/readyz`
/// stays 200, naming it unreachable.
pub async fn a_lagging_or_stopped_replica_leaves_the_rotation(app: TestApp) {
    if app.backend != Backend::Postgres {
        return;
    }
    let Some((primary, replica)) = clusters() else {
        return;
    };
    drop(app);
    primary.create_database("annals").await;
    let app = app_on(&primary, &replica, |c| {
        c.replication.check_ms = 50;
        c.replication.max_lag_ms = 300;
        c.replication.wait_ms = 100;
    })
    .await;
    wait_for_state(&app, "in rotation", Duration::from_secs(2)).await;

    replica.execute("SELECT pg_wal_replay_pause()").await;
    create_topic(&app, "while-lagging").await;
    wait_for_state(&app, "lagging", Duration::from_secs(3)).await;
    let (seen, _) = topics(&app, None, None).await;
    assert!(
        seen.contains(&"while-lagging".to_owned()),
        "a lagging replica serves no reads"
    );
    replica.execute("SELECT pg_wal_replay_resume()").await;
    wait_for_state(&app, "in rotation", Duration::from_secs(3)).await;

    // Stop the replica while four clients read without pause: no request fails.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, stop) = (app.client.clone(), app.url("/graphql"), stop.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0, Vec::new());
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let response = client
                        .post(&url)
                        .json(&json!({ "query": TOPICS }))
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status() == 200 => {
                            let body: Value = r.json().await.unwrap_or(Value::Null);
                            if body.get("errors").is_none() && body["data"]["topics"].is_object() {
                                ok += 1;
                            } else {
                                failed.push(body.to_string());
                            }
                        }
                        Ok(r) => failed.push(format!("status {}", r.status())),
                        Err(e) => failed.push(e.to_string()),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = tokio::task::spawn_blocking(move || {
        replica.stop();
        replica
    });
    let replica = stopping.await.expect("stop the replica");
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut served = 0;
    for reader in readers {
        let (ok, failed) = reader.await.expect("a reader");
        assert!(
            failed.is_empty(),
            "requests failed while the replica stopped: {failed:?}"
        );
        served += ok;
    }
    assert!(served > 20, "only {served} reads");
    wait_for_state(&app, "unreachable", Duration::from_secs(3)).await;
    let (seen, on_primary) = topics(&app, None, None).await;
    assert!(seen.contains(&"while-lagging".to_owned()));
    assert!(on_primary > 0, "the primary serves");

    replica.resume();
    wait_for_state(&app, "in rotation", Duration::from_secs(5)).await;
    drop(app);
    drop(replica);
    drop(primary);
}
