//! Input rules: a violation is `BAD_USER_INPUT` naming the field.
//!
//! Titles, headings and names are one line of 1 to 300 characters after trimming (stored
//! trimmed); texts are up to 100,000 characters. Neither may hold control characters other
//! than tab (and newline, in texts). Valid Unicode is otherwise kept as given: the text format
//! can say anything these rules admit, so nothing is refused for its sake.

use crate::{
    content::is_valid_slug,
    error::{Error, Result},
};

/// Longest title, heading or name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 300;
/// Longest text (summary, body, description), in characters.
pub const MAX_TEXT_CHARS: usize = 100_000;
/// Most sections one article may have; more is `BAD_USER_INPUT` (the cost model relies on it).
pub const MAX_SECTIONS_PER_ARTICLE: usize = 50;
/// Most points (reforms and reactions together) one article may have.
pub const MAX_POINTS_PER_ARTICLE: usize = 32;
/// Most topics one article, reform or reaction may be tagged with.
pub const MAX_TOPICS_PER_ITEM: usize = 12;

/// Refuses one more of `what` (e.g. "sections") on something that already has `count`, when
/// `cap` is the most it may have.
pub fn room(field: &str, what: &str, count: usize, cap: usize) -> Result<()> {
    if count >= cap {
        Err(Error::bad_input(
            field,
            format!("{what} are capped at {cap}; this already has {count}"),
        ))
    } else {
        Ok(())
    }
}

/// The caps on a whole document: sections and points per article.
pub fn caps(doc: &crate::content::Document) -> Result<()> {
    let sections = doc.sections.len();
    if sections > MAX_SECTIONS_PER_ARTICLE {
        return Err(Error::bad_input(
            "document",
            format!(
                "an article has at most {MAX_SECTIONS_PER_ARTICLE} sections; this document has {sections}"
            ),
        ));
    }
    let points: usize = doc
        .sections
        .iter()
        .map(|s| s.reforms.len() + s.reactions.len())
        .sum();
    if points > MAX_POINTS_PER_ARTICLE {
        return Err(Error::bad_input(
            "document",
            format!(
                "an article has at most {MAX_POINTS_PER_ARTICLE} reforms and reactions together; this document has {points}"
            ),
        ));
    }
    Ok(())
}

fn control_chars(field: &str, value: &str, allow_newline: bool) -> Result<()> {
    match value
        .chars()
        .find(|c| c.is_control() && *c != '\t' && !(allow_newline && *c == '\n'))
    {
        Some(c) => Err(Error::bad_input(
            field,
            format!(
                "{field} must not contain control characters{} (found U+{:04X})",
                if allow_newline {
                    " other than newline and tab"
                } else {
                    " other than tab; it is one line"
                },
                c as u32
            ),
        )),
        None => Ok(()),
    }
}

/// A title or name: trimmed, one line, 1 to 300 characters.
pub fn name(field: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    control_chars(field, trimmed, false)?;
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Error::bad_input(
            field,
            format!("{field} must be 1 to {MAX_NAME_CHARS} characters after trimming, got {chars}"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An article title: a name that does not start like a point (`- `).
pub fn title(field: &str, value: &str) -> Result<String> {
    let title = name(field, value)?;
    if title.starts_with("- ") {
        return Err(Error::bad_input(
            field,
            format!("{field} must not start with \"- \" (that marks a point)"),
        ));
    }
    Ok(title)
}

/// A section heading: any name. Headings that end in punctuation or look like a point are
/// fine; the text format marks them explicitly (`## `) where it would misread them.
pub fn heading(field: &str, value: &str) -> Result<String> {
    name(field, value)
}

/// A reform or reaction title: any name, `": "` included (the text format quotes such
/// labels).
pub fn point_title(field: &str, value: &str) -> Result<String> {
    name(field, value)
}

/// A text: up to 100,000 characters, newlines and tabs allowed, kept as given.
pub fn text(field: &str, value: &str) -> Result<String> {
    control_chars(field, value, true)?;
    let chars = value.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(Error::bad_input(
            field,
            format!("{field} must be at most {MAX_TEXT_CHARS} characters, got {chars}"),
        ));
    }
    Ok(value.to_owned())
}

/// A slug: `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 100 characters.
pub fn slug(field: &str, value: &str) -> Result<String> {
    if is_valid_slug(value) {
        Ok(value.to_owned())
    } else {
        Err(Error::bad_input(
            field,
            format!(
                "{field} {value:?} must be lowercase letters and digits in groups joined by single hyphens, at most 100 characters"
            ),
        ))
    }
}

/// Validates `value` with `rule` when it is given.
pub fn optional(
    field: &str,
    value: Option<&str>,
    rule: fn(&str, &str) -> Result<String>,
) -> Result<Option<String>> {
    value.map(|v| rule(field, v)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("title", "  Thaw  ").unwrap(), "Thaw");
        assert!(name("title", "   ").is_err());
        assert!(name("title", &"x".repeat(301)).is_err());
        assert!(name("title", &"é".repeat(300)).is_ok());
        assert!(name("title", "a\nb").is_err());
        assert!(name("title", "a\tb").is_ok());
    }

    #[test]
    fn texts_allow_newlines_not_other_controls() {
        assert!(text("body", "a\nb\tc").is_ok());
        assert!(text("body", "a\u{0}b").is_err());
        assert!(text("body", "a\rb").is_err());
        assert!(text("body", &"x".repeat(100_001)).is_err());
        let err = text("body", "\u{7}").unwrap_err();
        assert!(matches!(err, Error::BadUserInput { field: Some(f), .. } if f == "body"));
    }

    #[test]
    fn headings_and_point_titles_round_trip() {
        assert!(heading("heading", "Legacy").is_ok());
        assert_eq!(heading("heading", " Why? ").unwrap(), "Why?");
        assert!(heading("heading", "- Looks like a point").is_ok());
        assert!(point_title("title", "A: b").is_ok());
        assert!(point_title("title", "a\nb").is_err());
        assert!(slug("slug", "a-b-1").is_ok());
        assert!(slug("slug", "A").is_err());
    }
}
