//! Editor tokens: who may write.
//!
//! Tokens come from `ANNALS_EDITOR_TOKENS` (comma-separated `name:token`; a bare token is named
//! `editor`) and from the file named by `ANNALS_EDITOR_TOKENS_FILE` (the same entries, one per
//! line, `#` starts a comment). An entry may give the token's SHA-256 instead of the token,
//! as `name:sha256:<64 hex digits>` (what `annals token new` prints), so the file need not hold
//! secrets. Only SHA-256 hashes of the tokens are kept; a presented token
//! is hashed and compared with every configured hash in constant time. No token ever reaches a
//! log, an error message or `Debug` output: only the configured names do.

use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// The name a bare token (one without `name:`) gets.
pub const DEFAULT_EDITOR_NAME: &str = "editor";

type Hash = [u8; 32];

fn hash(token: &str) -> Hash {
    Sha256::digest(token.as_bytes()).into()
}

/// The prefix of a hashed token in an entry: `name:sha256:<64 hex digits>`.
const HASHED: &str = "sha256:";

/// The tokens-file line that grants `token` to `name` without holding the token itself.
pub fn hashed_entry(name: &str, token: &str) -> String {
    format!("{name}:{HASHED}{}", hex::encode(hash(token)))
}

fn parse_hex(hex: &str) -> Option<Hash> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Configured editors: names and token hashes. `Debug` shows names only.
#[derive(Clone, Default)]
pub struct EditorTokens {
    entries: Vec<(String, Hash)>,
    /// How many entries gave the token in clear (rather than as `sha256:...`).
    plain: usize,
    /// Descriptions of malformed entries (never containing the entry's text).
    problems: Vec<String>,
}

impl std::fmt::Debug for EditorTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("EditorTokens")
            .field("names", &names)
            .field("problems", &self.problems)
            .finish()
    }
}

impl EditorTokens {
    /// Parses comma-separated `name:token` entries. Never fails, so a command-line parser
    /// cannot echo a token in its error; malformed entries are reported by [`Self::check`].
    pub fn parse_list(text: &str) -> Self {
        let mut tokens = Self::default();
        for (i, entry) in text.split(',').enumerate() {
            tokens.add(entry, &format!("ANNALS_EDITOR_TOKENS entry {}", i + 1));
        }
        tokens
    }

    /// Parses a tokens file: one `name:token` per line; blank lines and `#` comments skipped.
    pub fn parse_file_text(text: &str, path: &Path) -> Self {
        let mut tokens = Self::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            tokens.add(line, &format!("{} line {}", path.display(), i + 1));
        }
        tokens
    }

    /// Reads and parses a tokens file.
    pub fn read_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            Error::Io(format!(
                "cannot read the editor tokens file {}: {err}",
                path.display()
            ))
        })?;
        Ok(Self::parse_file_text(&text, path))
    }

    fn add(&mut self, entry: &str, place: &str) {
        let entry = entry.trim();
        if entry.is_empty() {
            return;
        }
        let (name, token) = match entry.split_once(':') {
            Some((name, token)) => (name.trim(), token.trim()),
            None => (DEFAULT_EDITOR_NAME, entry),
        };
        if name.is_empty() || token.is_empty() || token.chars().any(char::is_whitespace) {
            self.problems.push(format!(
                "{place} is malformed: expected name:token (a token without spaces)"
            ));
            return;
        }
        if let Some(hex) = token.strip_prefix(HASHED) {
            match parse_hex(hex) {
                Some(hash) => self.entries.push((name.to_owned(), hash)),
                None => self.problems.push(format!(
                    "{place} is malformed: expected name:sha256: and 64 hex digits"
                )),
            }
            return;
        }
        self.plain += 1;
        self.entries.push((name.to_owned(), hash(token)));
    }

    /// The configured editor names, in order.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|(n, _)| n.clone()).collect()
    }

    /// How many entries hold a token in clear.
    pub fn plain_entries(&self) -> usize {
        self.plain
    }

    /// Adds every entry of `other`.
    pub fn extend(&mut self, other: Self) {
        self.plain += other.plain;
        self.entries.extend(other.entries);
        self.problems.extend(other.problems);
    }

    /// Fails with one line naming the first malformed entry, if there is one.
    pub fn check(&self) -> Result<()> {
        match self.problems.first() {
            Some(problem) => Err(Error::Io(problem.clone())),
            None => Ok(()),
        }
    }

    /// How many tokens are configured.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is configured (then every mutation is refused).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The editor name for a raw `Authorization` header value, or `UNAUTHENTICATED`.
    pub fn authenticate(&self, header: Option<&str>) -> Result<String> {
        if self.entries.is_empty() {
            return Err(Error::Unauthenticated(
                "This server has no editor tokens configured (ANNALS_EDITOR_TOKENS or \
                 ANNALS_EDITOR_TOKENS_FILE), so it accepts no mutations."
                    .into(),
            ));
        }
        let Some(header) = header else {
            return Err(Error::Unauthenticated(
                "Mutations need an editor token: send the header Authorization: Bearer <token>."
                    .into(),
            ));
        };
        let token = match header.trim().split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer")
                    && !token.trim().is_empty()
                    && !token.trim().contains(char::is_whitespace) =>
            {
                token.trim()
            }
            _ => {
                return Err(Error::Unauthenticated(
                    "The Authorization header is malformed; expected Bearer <token>.".into(),
                ));
            }
        };
        let presented = hash(token);
        // Compare with every configured hash, without stopping early.
        let mut matched = None;
        for (i, (_, stored)) in self.entries.iter().enumerate() {
            if bool::from(stored.ct_eq(&presented)) && matched.is_none() {
                matched = Some(i);
            }
        }
        match matched {
            Some(i) => Ok(self.entries[i].0.clone()),
            None => Err(Error::Unauthenticated(
                "The editor token is not valid.".into(),
            )),
        }
    }
}

/// The raw `Authorization` header of a request, as the HTTP layer saw it.
#[derive(Clone, Default)]
pub struct Authorization(pub Option<String>);

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Authorization(<redacted>)"
        } else {
            "Authorization(None)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_bare_tokens_and_authenticates() {
        let tokens = EditorTokens::parse_list("alice:s3cret, b0b-token ,,carol:x:y");
        tokens.check().unwrap();
        assert_eq!(tokens.len(), 3);
        assert_eq!(tokens.authenticate(Some("Bearer s3cret")).unwrap(), "alice");
        assert_eq!(
            tokens.authenticate(Some("bearer b0b-token")).unwrap(),
            "editor"
        );
        assert_eq!(tokens.authenticate(Some("Bearer x:y")).unwrap(), "carol");
        for bad in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Basic s3cret"),
            Some("Bearer nope"),
        ] {
            assert_eq!(
                tokens.authenticate(bad).unwrap_err().code(),
                "UNAUTHENTICATED"
            );
        }
    }

    #[test]
    fn debug_never_shows_tokens() {
        let tokens = EditorTokens::parse_list("alice:s3cret,:empty-name");
        let shown = format!("{tokens:?}");
        assert!(
            shown.contains("alice") && !shown.contains("s3cret") && !shown.contains("empty-name")
        );
        assert!(tokens.check().is_err());
    }

    #[test]
    fn file_format_skips_comments() {
        let tokens =
            EditorTokens::parse_file_text("# editors\n\nalice:one\n  # x\nsolo\n", Path::new("f"));
        tokens.check().unwrap();
        assert_eq!(tokens.authenticate(Some("Bearer solo")).unwrap(), "editor");
    }

    #[test]
    fn no_tokens_refuses_everything() {
        let err = EditorTokens::default()
            .authenticate(Some("Bearer x"))
            .unwrap_err();
        assert!(err.message().contains("no editor tokens configured"));
    }
}
