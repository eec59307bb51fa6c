//! The command line as editors and operators use it: help, list, bulk import and export,
//! dump and restore across backends, tokens, progress.

use serde_json::{Value, json};

use crate::helpers::{Backend, SEED, TestApp, TestDb, run_cli, run_cli_with_input};

/// Every server-only flag: none may appear in the help of a command that does not serve.
const SERVER_FLAGS: [&str; 6] = [
    "--listen",
    "--max-depth",
    "--db-max-connections",
    "--editor-tokens",
    "--cors-origins",
    "--request-timeout-ms",
];

pub async fn help_shows_each_command_its_own_settings(app: TestApp) {
    let (ok, top, _) = app.cli(&["--help"]);
    assert!(ok);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 12, "{top}");
    for command in &commands {
        let (ok, help, err) = app.cli(&[command, "--help"]);
        assert!(ok, "{command}: {err}");
        assert!(help.contains("--database-url"), "{command} --help: {help}");
        assert!(help.contains("Example"), "{command} has no example: {help}");
        assert!(
            help.lines().count() < 60 || command == "serve",
            "{command}: {help}"
        );
        for flag in SERVER_FLAGS {
            assert_eq!(
                help.contains(flag),
                command == "serve",
                "{command} --help and {flag}"
            );
        }
    }
    let (_, token, _) = app.cli(&["token", "new", "--help"]);
    assert!(
        token.contains("NAME") && !token.contains("--listen"),
        "{token}"
    );
    // A server flag before another subcommand is refused, not silently ignored.
    let (ok, _, err) = app.cli(&["--listen", "127.0.0.1:1", "list"]);
    assert!(!ok && err.contains("cannot be used"), "{err}");
    for shell in ["bash", "zsh", "fish"] {
        let (ok, script, _) = app.cli(&["completions", shell]);
        assert!(
            ok && script.contains("annals") && script.len() > 1000,
            "{shell}"
        );
    }
    let (ok, man, _) = app.cli(&["man"]);
    assert!(
        ok && man.contains(".TH") && man.contains("restore"),
        "{man}"
    );
}

pub async fn list_shows_articles_as_text_and_json(app: TestApp) {
    annals::store::seed::seed_synthetic(&app.db, 3, &mut |_, _| {})
        .await
        .unwrap();
    let (ok, text, err) = app.cli(&["list"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("SLUG") && lines[0].ends_with("TITLE"));
    assert!(lines[1].starts_with("de-stalinization") && lines[1].contains("De-Stalinization"));
    let (ok, out, _) = app.cli(&["list", "--json"]);
    assert!(ok);
    let rows: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 4);
    let seed = &rows[0];
    assert_eq!(seed["slug"], "de-stalinization");
    assert_eq!(seed["version"], 1);
    assert_eq!(
        (&seed["sections"], &seed["reforms"], &seed["reactions"]),
        (&json!(6), &json!(4), &json!(3))
    );
    assert!(seed["updatedAt"].as_str().unwrap().ends_with('Z'));
    let (_, out, _) = app.cli(&["list", "--json", "--title-contains", "stalin"]);
    let rows: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let (_, out, _) = app.cli(&["list", "--json", "--topic", "no-such-topic"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!([]));
    let (ok, _, err) = app.cli(&["list", "--updated-since", "yesterday"]);
    assert!(
        !ok && err.lines().count() <= 6 && !err.contains("panicked"),
        "{err}"
    );
}

pub async fn bulk_import_reports_each_file_and_dry_run_writes_nothing(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("thaw.txt");
    std::fs::write(&good, "The Thaw\nIntro.\nPolicies\n- Amnesty: Freed.").unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "Bad\nIntro.\nHeading\n- no label here").unwrap();
    let other = dir.path().join("other.txt");
    std::fs::write(&other, "Other Article\nIntro.\nNotes\nA line.").unwrap();
    let paths = [&good, &bad, &other].map(|p| p.to_str().unwrap().to_owned());

    let before = app.snapshot().await;
    let (ok, out, err) = app.cli(&["import", "--dry-run", &paths[0], &paths[1], &paths[2]]);
    assert!(!ok, "a bad file fails the run");
    assert!(out.contains("would create the-thaw (1 sections)"), "{out}");
    assert!(out.contains("would create other-article"), "{out}");
    assert!(err.contains("bad.txt") && err.contains("line 4"), "{err}");
    assert_eq!(app.snapshot().await, before, "a dry run wrote something");
    let (_, out, _) = app.cli(&[
        "import",
        "--dry-run",
        "--replace",
        "--slug",
        "de-stalinization",
        &paths[2],
    ]);
    assert!(out.contains("would replace de-stalinization:"), "{out}");
    assert!(
        out.contains("\n  - section historical-context: \"Historical Context\""),
        "{out}"
    );
    assert!(
        out.contains(
            "\n  ~ article de-stalinization title: \"De-Stalinization\" -> \"Other Article\""
        ),
        "{out}"
    );
    assert_eq!(app.snapshot().await, before);

    let (ok, out, err) = app.cli(&["import", &paths[0], &paths[1], &paths[2]]);
    assert!(!ok);
    assert!(out.contains("imported the-thaw (version 1)"), "{out}");
    assert!(out.contains("imported other-article (version 1)"), "{out}");
    assert!(out.contains("2 imported, 1 failed"), "{out}");
    assert!(
        err.contains("1 of 3 documents failed: ") && err.contains("bad.txt"),
        "{err}"
    );
    assert_eq!(
        app.count("articles").await,
        3,
        "the good files were imported"
    );

    // A document on standard input.
    let (ok, out, err) = run_cli_with_input(
        &app.database_url,
        &["import", "-", "--slug", "from-stdin"],
        Some(SEED.as_bytes()),
    );
    assert!(ok, "{err}");
    assert!(out.contains("imported from-stdin"), "{out}");
    let (ok, _, err) = app.cli(&["import", &paths[0], &paths[2], "--slug", "x"]);
    assert!(!ok && err.contains("--slug"), "{err}");
}

/// Every article and topic, by slug, as the API shows them (no ids, no times).
async fn everything(app: &TestApp) -> Value {
    app.data(
            "{ articles(first: 20, orderBy: {field: TITLE, direction: ASC}) { nodes { slug document version \
               reforms { slug topics { slug } } reactions { slug topics { slug } } topics { slug } } } \
               topics(first: 100) { nodes { slug name description } } }",
            json!({}),
        )
        .await
}

pub async fn export_all_then_import_gives_the_same_articles(app: TestApp) {
    annals::store::seed::seed_synthetic(&app.db, 4, &mut |_, _| {})
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("export");
    let (ok, out, err) = app.cli(&["export", "--all", "--dir", out_dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("exported 5 article(s)"), "{out}");
    assert!(err.contains("export: 5/5"), "progress on stderr: {err}");
    let seed = std::fs::read_to_string(out_dir.join("de-stalinization.txt")).unwrap();
    assert_eq!(seed, SEED);
    let topics: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("topics.json")).unwrap())
            .unwrap();
    let khrushchev = topics["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "nikita-khrushchev")
        .expect("a seed topic");
    assert_eq!(khrushchev["articles"], json!(["de-stalinization"]));

    let empty = TestDb::create(app.backend).await;
    let mut files: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    files.sort();
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    let (ok, out, err) = run_cli(&empty.url, &args);
    assert!(ok, "{err}");
    assert!(out.contains("5 imported, 0 failed"), "{out}");
    for file in &files {
        let slug = std::path::Path::new(file)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap();
        let (ok, text, _) = run_cli(&empty.url, &["export", slug]);
        assert!(ok);
        assert_eq!(text, std::fs::read_to_string(file).unwrap(), "{slug}");
    }
}

fn gunzip(path: &std::path::Path) -> String {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

pub async fn dump_and_restore_across_backends_reproduce_the_archive(app: TestApp) {
    // Some history and tags worth keeping.
    let seed = app.seed_article().await;
    app.mutate_ok(
        "mutation($id: ID!) { updateSection(id: $id, input: {heading: \"Legacy Today\", body: \"Line one\\n\\nLine three\"}) { section { id } } }",
        json!({"id": seed["sections"][3]["id"]}),
    )
    .await;
    annals::store::seed::seed_synthetic(&app.db, 3, &mut |_, _| {})
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.gz");
    let (ok, _, err) = app.cli(&["dump", first.to_str().unwrap()]);
    assert!(ok, "{err}");
    let archive = gunzip(&first);
    assert!(archive.starts_with("{\"format\":\"annals-dump\",\"version\":1}\n"));
    assert!(archive.contains("\"table\":\"revisions\""));

    let other = match app.backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    };
    let there = TestDb::create(other).await;
    let (ok, out, err) = run_cli(&there.url, &["restore", first.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.starts_with("restored "), "{out}");
    let second = dir.path().join("second.gz");
    let (ok, _, err) = run_cli(&there.url, &["dump", second.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(
        gunzip(&second),
        archive,
        "dump → restore on the other backend → dump"
    );

    // Restored content serves the same and accepts new writes (ids continue after the dump's).
    let restored = TestApp::spawn_on(other, there, |_| {}).await;
    assert_eq!(everything(&restored).await, everything(&app).await);
    restored
        .mutate_ok(
            "mutation($input: CreateTopicInput!) { createTopic(input: $input) { topic { id } } }",
            json!({"input": {"slug": "after-restore", "name": "After restore"}}),
        )
        .await;

    // A non-empty database is refused unless --force; a broken archive writes nothing.
    let (ok, _, err) = app.cli(&["restore", first.to_str().unwrap()]);
    assert!(
        !ok && err.contains("--force") && err.lines().count() <= 3,
        "{err}"
    );
    let broken = dir.path().join("broken.gz");
    let truncated = archive.lines().take(40).collect::<Vec<_>>().join("\n")
        + "\n{\"table\":\"nope\",\"row\":{}}\n";
    {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&broken).unwrap(),
            flate2::Compression::default(),
        );
        gz.write_all(truncated.as_bytes()).unwrap();
        gz.finish().unwrap();
    }
    let before = app.snapshot().await;
    let (ok, _, err) = app.cli(&["restore", "--force", broken.to_str().unwrap()]);
    assert!(!ok && err.contains("unknown table"), "{err}");
    assert_eq!(
        app.snapshot().await,
        before,
        "a failed restore wrote something"
    );
    let (ok, _, err) = app.cli(&["restore", SEED_PATH]);
    assert!(!ok && !err.contains("panicked"), "{err}");
    // --force replaces everything.
    let (ok, _, err) = app.cli(&["restore", "--force", first.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(app.snapshot().await, before);
}

const SEED_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/de-stalinization.txt");

pub async fn a_new_token_works_from_its_hashed_line(app: TestApp) {
    let (ok, out, err) = app.cli(&["token", "new", "alice"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let (token, line) = (lines[0], lines[1]);
    assert_eq!(token.len(), 64);
    assert!(
        line.starts_with("alice:sha256:") && !line.contains(token),
        "{line}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(&file, format!("# editors\n{line}\nbob:plain-token\n")).unwrap();
    let (ok, out, err) = app.cli(&["token", "check", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("2 editor(s): alice, bob"), "{out}");
    assert!(
        err.contains("1 entr"),
        "a plain token is pointed out: {err}"
    );
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "carol:sha256:abc\n").unwrap();
    let (ok, _, err) = app.cli(&["token", "check", bad.to_str().unwrap()]);
    assert!(
        !ok && err.contains("line 1") && err.lines().count() == 1,
        "{err}"
    );
    let (ok, _, err) = app.cli(&["token", "new", "has space"]);
    assert!(!ok && err.lines().count() == 1, "{err}");

    let path = file.clone();
    let server = TestApp::spawn_with(app.backend, move |config| {
        config.editor_tokens = None;
        config.editor_tokens_file = Some(path);
    })
    .await;
    let body = server
        .query_as(
            Some(&format!("Bearer {token}")),
            "mutation { createTopic(input: {slug: \"by-alice\", name: \"By Alice\"}) { topic { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["createTopic"]["topic"]["slug"], "by-alice",
        "{body:#}"
    );
    let body = server
        .query_as(
            Some("Bearer wrong"),
            "mutation { createTopic(input: {slug: \"x\", name: \"X\"}) { topic { slug } } }",
            json!({}),
        )
        .await;
    TestApp::assert_error(&body, "UNAUTHENTICATED", None);
}

pub async fn long_work_reports_progress_at_a_bounded_rate(app: TestApp) {
    let started = std::time::Instant::now();
    let (ok, out, err) = app.cli(&["seed", "--synthetic", "1500"]);
    let seconds = started.elapsed().as_secs();
    assert!(ok, "{err}");
    assert!(out.contains("synthetic: 1500 article(s) created"), "{out}");
    let progress: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("synthetic: "))
        .collect();
    assert!(progress.len() >= 2, "a first and a last line: {err}");
    assert_eq!(progress[0], "synthetic: 0/1500");
    assert!(
        progress
            .last()
            .unwrap()
            .starts_with("synthetic: 1500/1500 in "),
        "{err}"
    );
    assert!(
        progress.len() as u64 <= seconds + 3,
        "at most one line a second: {} lines in {seconds} s",
        progress.len()
    );
    assert!(
        !err.contains('\u{1b}'),
        "no terminal codes when not on a terminal"
    );
}

/// `annals serve` refuses malformed scale-out settings with one line naming the problem and a
/// non-zero exit: a trusted proxy that is no address, a replica that is no PostgreSQL URL (or
/// replicas of an SQLite database).
pub async fn serve_refuses_malformed_scaling_settings_in_one_line(app: TestApp) {
    let (ok, _, err) = app.cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--trusted-proxies",
        "10.0.0.0/8,nope",
    ]);
    assert!(!ok);
    assert!(
        err.contains("--trusted-proxies") && err.contains("`nope` is neither"),
        "{err}"
    );
    let (ok, _, err) = app.cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--read-database-url",
        "mysql://db/x",
    ]);
    assert!(!ok, "{err}");
    let expected = match app.backend {
        Backend::Postgres => "not a PostgreSQL URL",
        Backend::Sqlite => "need a PostgreSQL primary",
    };
    // Log lines may come first; the error is the one last line.
    let last = err.trim().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("annals: ") && last.contains(expected),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
