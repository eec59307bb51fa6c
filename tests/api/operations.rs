//! What an operator runs into: hostile or odd input that once failed internally, a database
//! file that cannot be written, a secret in the database URL, a body that trickles in, and a
//! clean shutdown (refused connections, closed pool, checkpointed SQLite log).

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

use crate::helpers::{Backend, ServeProcess, TOKEN, TestApp, run_cli};

/// A NUL character in any read argument or variable is BAD_USER_INPUT on both backends (it
/// was INTERNAL on PostgreSQL and `null` on SQLite), and nothing is left broken.
pub async fn nul_characters_in_arguments_are_bad_user_input(app: TestApp) {
    let cases = [
        (r#"{ article(slug: "a\u0000b") { id } }"#, json!({})),
        (r#"{ topic(slug: "\u0000") { id } }"#, json!({})),
        (
            r#"{ articles(filter: { titleContains: "x\u0000" }) { totalCount } }"#,
            json!({}),
        ),
        (
            r#"{ reforms(filter: { article: "\u0000" }) { totalCount } }"#,
            json!({}),
        ),
        (
            "query($slug: String!) { article(slug: $slug) { id } }",
            json!({ "slug": "de-\u{0}stalinization" }),
        ),
        (
            "query($f: ArticleFilter) { articles(filter: $f) { totalCount } }",
            json!({ "f": { "slugs": ["de-stalinization", "\u{0}"] } }),
        ),
    ];
    for (query, variables) in cases {
        let body = app.query(query, variables).await;
        assert_eq!(
            TestApp::error_code(&body),
            "BAD_USER_INPUT",
            "{query}: {body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("U+0000"), "{message}");
    }
    // The same requests without the NUL still work.
    let body = app
        .data(
            "query($slug: String!) { article(slug: $slug) { slug } }",
            json!({ "slug": "de-stalinization" }),
        )
        .await;
    assert_eq!(body["article"]["slug"], "de-stalinization");
    app.assert_healthy().await;
}

/// An argument that cannot be coerced to its type (an Int out of range, as a literal or a
/// variable) is BAD_USER_INPUT, and the mutation writes nothing.
pub async fn coercion_errors_are_bad_user_input(app: TestApp) {
    let article = app.seed_article().await;
    let id = article["id"].as_str().unwrap().to_owned();
    let before = app.snapshot().await;
    let literal = format!(
        r#"mutation {{ updateArticle(id: "{id}", expectedVersion: 99999999999, input: {{ title: "x" }}) {{ article {{ version }} }} }}"#
    );
    let body = app.mutate(&literal, json!({})).await;
    assert_eq!(TestApp::error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app
        .mutate(
            "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { title: \"x\" }) { article { version } } }",
            json!({ "id": id, "v": 99_999_999_999_i64 }),
        )
        .await;
    assert_eq!(TestApp::error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app
        .query("{ articles(first: 99999999999) { totalCount } }", json!({}))
        .await;
    assert_eq!(TestApp::error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused mutation wrote something"
    );
}

/// A password in the database URL, in the userinfo or as `?password=`, never reaches the
/// terminal when the database cannot be reached.
pub async fn passwords_in_the_database_url_are_redacted(app: TestApp) {
    if app.backend != Backend::Postgres {
        return; // The URL forms are PostgreSQL's.
    }
    for url in [
        "postgres://annals:hunter2@127.0.0.1:1/annals",
        "postgres://annals@127.0.0.1:1/annals?password=hunter2&sslmode=disable",
        "postgres://127.0.0.1:1/annals?user=annals&password=hunter2",
    ] {
        let (ok, stdout, stderr) = run_cli(url, &["migrate"]);
        assert!(!ok, "{url}: connecting to port 1 should fail");
        assert!(
            !stderr.contains("hunter2") && !stdout.contains("hunter2"),
            "the password was printed: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("***"), "{stderr}");
    }
}

/// A body sent a byte at a time is cut off after the body-read timeout with 408 and a
/// GraphQL error naming the limit; the server keeps serving.
pub async fn a_trickled_body_is_answered_408(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |c| c.limits.body_read_timeout_ms = 400).await;
    let addr = app.addr;
    let (status, body, took) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let body = r#"{"query":"{ __typename }"}"#;
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let started = Instant::now();
        // One byte every 100 ms: the whole body would take 2.6 s.
        for byte in body.bytes() {
            if stream.write_all(&[byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            if started.elapsed() > Duration::from_secs(1) {
                break;
            }
        }
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        (status, text, started.elapsed())
    })
    .await
    .unwrap();
    assert_eq!(status, "408", "{body}");
    assert!(body.contains("bodyReadTimeout"), "{body}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    app.assert_healthy().await;
}

/// A SQLite file opened with `mode=ro` is served read-only on purpose: reads work, every
/// mutation is FORBIDDEN and writes nothing.
pub async fn a_read_only_sqlite_database_refuses_mutations(app: TestApp) {
    if app.backend != Backend::Sqlite {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("annals.db");
    let rw = format!("sqlite://{}?mode=rwc", path.display());
    let (ok, _, stderr) = run_cli(&rw, &["seed"]);
    assert!(ok, "{stderr}");
    let ro = format!("sqlite://{}?mode=ro", path.display());
    let server = start_server(&ro);
    server.wait_up(&app.client).await;
    let url = server.url("/graphql");
    let read: serde_json::Value = app
        .client
        .post(&url)
        .json(&json!({ "query": "{ article(slug: \"de-stalinization\") { slug } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["data"]["article"]["slug"], "de-stalinization",
        "{read}"
    );
    let write: serde_json::Value = app
        .client
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&json!({ "query": "mutation { createTopic(input: { slug: \"new\", name: \"New\" }) { topic { slug } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(TestApp::error_code(&write), "FORBIDDEN", "{write}");
    drop(server);
    let (_, stdout, _) = run_cli(&rw, &["list"]);
    assert!(!stdout.contains("new"), "nothing was written: {stdout}");
}

/// A SQLite file the process cannot write (opened read-write) stops start-up with one line
/// that says what to do, instead of failing every mutation later.
pub async fn an_unwritable_sqlite_file_stops_start_up(app: TestApp) {
    if app.backend != Backend::Sqlite {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("annals.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let (ok, _, stderr) = run_cli(&url, &["seed"]);
    assert!(ok, "{stderr}");
    // Tests run as root, which file permissions do not stop: run the server as `nobody`,
    // to whom the root-owned file and directory are read-only (a copy of the binary, as the
    // build directory's parents need not be open to `nobody`).
    let binary = dir.path().join("annals");
    std::fs::copy(env!("CARGO_BIN_EXE_annals"), &binary).unwrap();
    let readable = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(readable.success());
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&binary)
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("ANNALS_LISTEN", "127.0.0.1:0")
        .env("ANNALS_LOG", "error")
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started on an unwritable file");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("not writable") && stderr.contains("mode=ro"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// On SIGTERM the server stops accepting at once (a new connection is refused rather than
/// left hanging while open requests drain), and exits having closed its pool: on SQLite the
/// write-ahead log is checkpointed into the database file and removed.
pub async fn sigterm_refuses_new_connections_and_closes_the_pool(app: TestApp) {
    let mut server = start_server(&app.database_url);
    server.wait_up(&app.client).await;
    let port = server.port;
    // A request whose body is still arriving keeps the drain busy after the signal.
    let mut pending = TcpStream::connect(("127.0.0.1", port)).unwrap();
    pending
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\"")
        .unwrap();
    // Write something so the pool and (on SQLite) the write-ahead log are in use.
    let status = app
        .client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({ "query": "mutation { createTopic(input: { slug: \"sigterm\", name: \"S\" }) { topic { slug } } }" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    server.signal("TERM");
    // Within the drain a new connection is refused, not accepted and left waiting.
    let deadline = Instant::now() + Duration::from_secs(3);
    let refused = loop {
        match TcpStream::connect_timeout(
            &format!("127.0.0.1:{port}").parse().unwrap(),
            Duration::from_millis(200),
        ) {
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => break true,
            _ if Instant::now() > deadline => break false,
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    assert!(refused, "new connections were still accepted after SIGTERM");
    assert!(
        server.child().try_wait().unwrap().is_none(),
        "the server should still be draining the pending request"
    );
    // The client gives up on its request: the drain ends and the server exits.
    drop(pending);
    let mut child = server.into_child();
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    if app.backend == Backend::Sqlite {
        let file = app
            .database_url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        // The test app's own pool still has the file open, so SQLite keeps the log file;
        // what matters is that the server left nothing in it.
        let wal = std::path::PathBuf::from(format!("{file}-wal"));
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert_eq!(size, 0, "the write-ahead log was left with {size} bytes");
    }
    // The change is in the database whichever process reads it.
    let body = app
        .data("{ topic(slug: \"sigterm\") { slug } }", json!({}))
        .await;
    assert_eq!(body["topic"]["slug"], "sigterm");
}

/// `annals serve` on `database_url` with the test editor token, its log on the test's stderr.
fn start_server(database_url: &str) -> ServeProcess {
    let tokens = format!("{}:{TOKEN}", crate::helpers::EDITOR);
    ServeProcess::spawn(
        database_url,
        &[("ANNALS_EDITOR_TOKENS", &tokens)],
        Stdio::inherit(),
    )
}

/// Several processes starting at once on one empty database: one migrates and seeds under the
/// migration lock, the others wait and find it done. All come up, the seed is there once, and
/// every migration is recorded once.
pub async fn processes_starting_together_migrate_once(app: TestApp) {
    let empty = crate::helpers::TestDb::create(app.backend).await;
    let servers: Vec<_> = (0..3).map(|_| start_server(&empty.url)).collect();
    for server in &servers {
        server.wait_up(&app.client).await;
    }
    for server in &servers {
        let body: serde_json::Value = app
            .client
            .post(server.url("/graphql"))
            .json(&json!({ "query": "{ articles { totalCount } }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["data"]["articles"]["totalCount"], 1,
            "seeded once: {body}"
        );
    }
    let (ok, stdout, stderr) = run_cli(&empty.url, &["migrate", "status"]);
    assert!(ok, "{stderr}");
    let applied: Vec<&str> = stdout.lines().collect();
    assert!(!applied.is_empty());
    assert!(
        applied.iter().all(|line| line.ends_with("Applied")),
        "{stdout}"
    );
    drop(servers);
}
