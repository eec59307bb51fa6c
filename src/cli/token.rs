//! `annals token`: make editor tokens and check tokens files.

use std::path::Path;

use super::say;
use crate::{
    auth::{EditorTokens, hashed_entry},
    error::{Error, Result},
};

/// Prints a fresh random token (once) and the hashed line that grants it, for the tokens file.
pub fn new(name: &str) -> Result<()> {
    if name.is_empty()
        || name.contains(':')
        || name.contains(',')
        || name.chars().any(char::is_whitespace)
    {
        return Err(Error::Io(format!(
            "{name:?} is not a valid editor name: use letters, digits, - or _ (no ':', ',' or spaces)"
        )));
    }
    // Two version-4 UUIDs: 244 random bits from the operating system's generator.
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    say(&token);
    say(&hashed_entry(name, &token));
    eprintln!(
        "The first line is {name}'s token: give it to them now, it is not stored anywhere. \
         The second line goes into the tokens file (ANNALS_EDITOR_TOKENS_FILE); it holds only \
         the token's SHA-256."
    );
    Ok(())
}

/// Checks a tokens file: every line well-formed; says how many editors it names.
pub fn check(path: &Path) -> Result<()> {
    let tokens = EditorTokens::read_file(path)?;
    tokens.check()?;
    let names = tokens.names();
    say(&format!(
        "{}: {} editor(s){}{}",
        path.display(),
        names.len(),
        if names.is_empty() { "" } else { ": " },
        names.join(", ")
    ));
    let plain = tokens.plain_entries();
    if plain > 0 {
        eprintln!(
            "{}: {plain} entr(y/ies) hold a token in clear; `annals token new NAME` makes a hashed line instead",
            path.display()
        );
    }
    Ok(())
}
