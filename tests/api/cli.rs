//! The `annals` command line against the same databases the server uses.

use crate::helpers::{SEED, TestApp};

/// `annals export` of the seeded article is the seed document, byte for byte.
pub async fn export_reproduces_the_seed_byte_for_byte(app: TestApp) {
    let (ok, stdout, stderr) = app.cli(&["export", "de-stalinization"]);
    assert!(ok, "export failed: {stderr}");
    assert_eq!(stdout, SEED);
}

/// Seeding an already seeded database changes no row count.
pub async fn seeding_twice_changes_nothing(app: TestApp) {
    let tables = crate::helpers::CONTENT_TABLES;
    let mut before = Vec::new();
    for t in tables {
        before.push(app.count(t).await);
    }
    assert_eq!(before[0], 1);
    let (ok, _, stderr) = app.cli(&["seed"]);
    assert!(ok, "seed failed: {stderr}");
    let mut after = Vec::new();
    for t in tables {
        after.push(app.count(t).await);
    }
    assert_eq!(before, after);
}

/// The CLI fails with one line and a non-zero exit, never a panic.
fn assert_one_line_failure(result: (bool, String, String), expect: &str) {
    let (ok, _, stderr) = result;
    assert!(!ok, "expected failure");
    let stderr = stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(expect), "{expect:?} in {stderr:?}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

/// Bad database URLs, unreachable databases and bad import files are one-line errors.
pub async fn cli_errors_are_one_line(app: TestApp) {
    use crate::helpers::run_cli;
    assert_one_line_failure(
        run_cli("mysql://localhost/x", &["migrate", "status"]),
        "not supported",
    );
    assert_one_line_failure(
        run_cli("postgres://nobody@127.0.0.1:1/none", &["seed"]),
        "cannot connect",
    );
    assert_one_line_failure(
        app.cli(&["import", "/no/such/file.txt"]),
        "cannot read /no/such/file.txt",
    );
    let dir = tempfile::tempdir().unwrap();
    let malformed = dir.path().join("bad.txt");
    std::fs::write(
        &malformed,
        "A Title\nSummary sentence.\nHeading\n- no label here\n",
    )
    .unwrap();
    assert_one_line_failure(app.cli(&["import", malformed.to_str().unwrap()]), "line 4");
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    assert_one_line_failure(app.cli(&["import", empty.to_str().unwrap()]), "empty");
    assert_one_line_failure(app.cli(&["export", "no-such-article"]), "no article");
    let (ok, _, stderr) = app.cli(&["--listen", "not-an-address", "serve"]);
    assert!(!ok && !stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        app.count("articles").await,
        1,
        "failed imports wrote nothing"
    );
}

/// Import, export, conflict and replace through the CLI.
pub async fn import_export_and_replace(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("thaw.txt");
    let text = "The Thaw\nA short article.\nPolicies\n- Amnesty: Prisoners were released.\nReactions Abroad\n- Poland: Unrest followed.\nNotes\nA plain paragraph.";
    std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap();
    let (ok, stdout, stderr) = app.cli(&["import", path]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("the-thaw"), "{stdout}");
    let (ok, exported, _) = app.cli(&["export", "the-thaw"]);
    assert!(ok);
    assert_eq!(exported.trim_end(), text);
    assert_eq!(app.count("reforms").await, 5);
    assert_eq!(app.count("reactions").await, 4);
    // The same given slug again is a conflict unless --replace; a derived one gets -2.
    let (ok, _, stderr) = app.cli(&["import", path, "--slug", "the-thaw"]);
    assert!(!ok && stderr.contains("--replace"), "{stderr}");
    let (ok, stdout, stderr) = app.cli(&["import", path]);
    assert!(ok && stdout.contains("the-thaw-2"), "{stdout}{stderr}");
    let (ok, _, _) = app.cli(&["import", path, "--slug", "the-thaw-2"]);
    assert!(!ok);
    let replaced = text.replace("A short article.", "A longer article.");
    std::fs::write(&file, &replaced).unwrap();
    let (ok, stdout, stderr) = app.cli(&["import", path, "--replace"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("version 2"), "{stdout}");
    let (_, exported, _) = app.cli(&["export", "the-thaw"]);
    assert_eq!(exported.trim_end(), replaced);
    // Overrides: points under "Notes"-like headings can be declared reforms.
    let custom = dir.path().join("custom.txt");
    std::fs::write(
        &custom,
        "Custom\nIntro.\nMeasures\n- One: First.\nResponses\n- Two: Second.",
    )
    .unwrap();
    let (ok, _, stderr) = app.cli(&[
        "import",
        custom.to_str().unwrap(),
        "--slug",
        "custom-one",
        "--reforms-under",
        "Measures",
        "--reactions-under",
        "Responses",
    ]);
    assert!(ok, "{stderr}");
    // The seed's 4 and 3, the-thaw's and the-thaw-2's 1 and 1, and this one.
    assert_eq!(app.count("reforms").await, 7);
    assert_eq!(app.count("reactions").await, 6);
    let (ok, _, stderr) = app.cli(&[
        "import",
        custom.to_str().unwrap(),
        "--slug",
        "custom-two",
        "--reforms-under",
        "Nowhere",
    ]);
    assert!(!ok && stderr.contains("Nowhere"), "{stderr}");
    let (ok, _, stderr) = app.cli(&["import", custom.to_str().unwrap(), "--slug", "Bad Slug"]);
    assert!(!ok && stderr.contains("slug"), "{stderr}");
}

/// Every migration step can be undone and redone.
pub async fn migrations_go_down_and_up(app: TestApp) {
    let (ok, status, _) = app.cli(&["migrate", "status"]);
    assert!(ok);
    let steps = status.lines().count();
    assert!(steps >= 2, "{status}");
    for _ in 0..steps {
        let (ok, _, stderr) = app.cli(&["migrate", "down"]);
        assert!(ok, "{stderr}");
    }
    let (_, status, _) = app.cli(&["migrate", "status"]);
    assert!(!status.contains("Applied"), "{status}");
    let (ok, _, stderr) = app.cli(&["migrate", "up"]);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = app.cli(&["seed"]);
    assert!(ok, "{stderr}");
    let (_, exported, _) = app.cli(&["export", "de-stalinization"]);
    assert_eq!(exported.trim_end(), SEED);
}

/// Synthetic seeding is deterministic, idempotent and has the promised shape.
pub async fn synthetic_seed_has_the_promised_shape(app: TestApp) {
    let (ok, stdout, stderr) = app.cli(&["seed", "--synthetic", "25"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("25 article(s) created"), "{stdout}");
    assert_eq!(app.count("articles").await, 26);
    assert_eq!(app.count("sections").await, 6 + 25 * 6);
    assert_eq!(app.count("reforms").await, 4 + 25 * 4);
    assert_eq!(app.count("reactions").await, 3 + 25 * 3);
    assert_eq!(app.count("article_topics").await, 10 + 25 * 5);
    let (_, first, _) = app.cli(&["export", "synthetic-7"]);
    let (ok, stdout, _) = app.cli(&["seed", "--synthetic", "25"]);
    assert!(ok && stdout.contains("0 article(s) created"), "{stdout}");
    assert_eq!(app.count("articles").await, 26);
    let (_, again, _) = app.cli(&["export", "synthetic-7"]);
    assert_eq!(first, again);
    let mut document = annals::store::seed::synthetic_document(7);
    document.slug = Some("synthetic-7".into());
    assert_eq!(annals::content::render_document(&document), first);
}

/// A seed that fails half-way leaves nothing behind.
pub async fn failed_seed_writes_nothing(app: TestApp) {
    use sea_orm::ConnectionTrait;
    // An empty database whose reactions table refuses inserts: the seed fails after writing
    // the article, its sections and reforms, inside the same transaction.
    let (ok, _, _) = app.cli(&["migrate", "fresh"]);
    assert!(ok);
    let trigger = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => vec![
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_reactions BEFORE INSERT ON reactions FOR EACH ROW EXECUTE FUNCTION refuse()",
        ],
        _ => vec![
            "CREATE TRIGGER refuse_reactions BEFORE INSERT ON reactions BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ],
    };
    for sql in trigger {
        app.db.execute_unprepared(sql).await.unwrap();
    }
    let (ok, _, stderr) = app.cli(&["seed"]);
    assert!(!ok, "the seed must fail");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    for table in ["articles", "sections", "reforms", "topics", "revisions"] {
        assert_eq!(
            app.count(table).await,
            0,
            "{table} must be empty after a failed seed"
        );
    }
}
