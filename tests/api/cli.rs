//! The `annals` command line against the same databases the server uses.

use crate::helpers::{SEED, TestApp};

/// `annals export` of the seeded article is the seed document, byte for byte.
pub async fn export_reproduces_the_seed_byte_for_byte(app: TestApp) {
    let (ok, stdout, stderr) = app.cli(&["export", "de-stalinization"]);
    assert!(ok, "export failed: {stderr}");
    assert_eq!(stdout.strip_suffix('\n').unwrap_or(&stdout), SEED);
}

/// Seeding an already seeded database changes no row count.
pub async fn seeding_twice_changes_nothing(app: TestApp) {
    let tables = [
        "articles",
        "sections",
        "reforms",
        "reactions",
        "topics",
        "article_topics",
        "reform_topics",
        "reaction_topics",
        "revisions",
    ];
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
