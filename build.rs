//! Records the git commit being built, for the `annals_build_info` metric: `ANNALS_GIT_COMMIT`
//! when set (a build without `.git`, such as the Docker image, can pass it), else what git
//! says. Without either the metric says `unknown`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ANNALS_GIT_COMMIT");
    let commit = std::env::var("ANNALS_GIT_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(git_commit);
    if let Some(commit) = commit {
        println!("cargo:rustc-env=ANNALS_GIT_COMMIT={commit}");
    }
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// The short commit of HEAD; asks cargo to run this again when HEAD or its branch moves.
fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name])
            && std::path::Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    Some(commit)
}
