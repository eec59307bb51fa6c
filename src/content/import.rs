//! Import of the plain-text article format into a [`Document`].
//!
//! Format: the first line is the title; the lines up to the first heading
//! form the summary; a heading (a line that is not a point and does not end
//! in sentence punctuation) starts a section; inside a section, `- Label: text`
//! lines are points and other lines are body paragraphs. Blank lines are
//! ignored everywhere.

use super::{
    document::{Document, PointDoc, SectionDoc},
    slug::is_valid_slug,
};

/// Which section headings hold reforms and which hold reactions.
///
/// `None` means the default rule: a heading mentioning "reform" or "polic"
/// holds reforms, otherwise one mentioning "reaction" or "impact" holds
/// reactions. `Some(list)` replaces the rule by exactly those headings
/// (case-insensitive, trimmed match).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classification {
    /// Headings whose points are reforms (`None` = default rule).
    pub reforms_under: Option<Vec<String>>,
    /// Headings whose points are reactions (`None` = default rule).
    pub reactions_under: Option<Vec<String>>,
}

/// Why a plain-text document could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The text has no non-blank line at all.
    #[error("the document is empty; expected a title on line 1")]
    Empty,
    /// A problem on a given (1-based) line.
    #[error("line {line}: {message}")]
    Line {
        /// The 1-based line number.
        line: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// An override lists a heading the document does not contain.
    #[error("{option} lists \"{heading}\", but the document has no such heading")]
    UnknownHeading {
        /// The option name: `"reformsUnder"` or `"reactionsUnder"`.
        option: &'static str,
        /// The heading as given in the option.
        heading: String,
    },
    /// A heading is listed in both `reformsUnder` and `reactionsUnder`.
    #[error("\"{heading}\" is listed in both reformsUnder and reactionsUnder")]
    ConflictingHeading {
        /// The heading as given in `reformsUnder`.
        heading: String,
    },
}

const CLOSING_QUOTES: [char; 5] = ['"', '\'', '\u{201D}', '\u{2019}', ')'];
const SENTENCE_END: [char; 5] = ['.', ':', ';', '?', '!'];

/// True when `line` is a section heading: non-blank, not a `- ` point, and
/// not ending in sentence punctuation (`.` `:` `;` `?` `!`), possibly followed
/// by closing quotes or parentheses (as in `He said "no."`).
pub fn is_heading(line: &str) -> bool {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() || line.starts_with("- ") {
        return false;
    }
    let core = line.trim_end().trim_end_matches(CLOSING_QUOTES);
    !core.ends_with(SENTENCE_END)
}

fn norm(heading: &str) -> String {
    heading.trim().to_lowercase()
}

/// What the points (`- Label: text` lines) of a section are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// Points stay in the section body, as `- **Label:** text`.
    Body,
    /// Points are reforms.
    Reforms,
    /// Points are reactions.
    Reactions,
}

impl SectionKind {
    /// The word that names this kind in a `{...}` attribute list.
    pub fn word(self, plural: bool) -> &'static str {
        match (self, plural) {
            (Self::Body, _) => "body",
            (Self::Reforms, true) => "reforms",
            (Self::Reforms, false) => "reform",
            (Self::Reactions, true) => "reactions",
            (Self::Reactions, false) => "reaction",
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        match word {
            "body" => Some(Self::Body),
            "reform" | "reforms" => Some(Self::Reforms),
            "reaction" | "reactions" => Some(Self::Reactions),
            _ => None,
        }
    }
}

/// The kind the default rule gives a heading: reforms under one mentioning "reform" or
/// "polic", reactions under one mentioning "reaction" or "impact", else body.
pub fn default_kind(heading: &str) -> SectionKind {
    let h = norm(heading);
    if h.contains("reform") || h.contains("polic") {
        SectionKind::Reforms
    } else if h.contains("reaction") || h.contains("impact") {
        SectionKind::Reactions
    } else {
        SectionKind::Body
    }
}

/// Validates the overrides against the document's headings and returns the
/// kind of each section.
fn classify(headings: &[&str], rules: &Classification) -> Result<Vec<SectionKind>, ImportError> {
    let present: Vec<String> = headings.iter().map(|h| norm(h)).collect();
    let normalize = |list: &Option<Vec<String>>| -> Option<Vec<String>> {
        list.as_ref().map(|l| l.iter().map(|h| norm(h)).collect())
    };
    let reforms = normalize(&rules.reforms_under);
    let reactions = normalize(&rules.reactions_under);

    if let (Some(given), Some(r), Some(a)) = (&rules.reforms_under, &reforms, &reactions)
        && let Some(i) = r.iter().position(|h| a.contains(h))
    {
        return Err(ImportError::ConflictingHeading {
            heading: given[i].clone(),
        });
    }
    for (option, given, normalized) in [
        ("reformsUnder", &rules.reforms_under, &reforms),
        ("reactionsUnder", &rules.reactions_under, &reactions),
    ] {
        if let (Some(given), Some(normalized)) = (given, normalized)
            && let Some(i) = normalized.iter().position(|h| !present.contains(h))
        {
            return Err(ImportError::UnknownHeading {
                option,
                heading: given[i].clone(),
            });
        }
    }

    Ok(present
        .iter()
        .map(|h| {
            let listed = |l: &Option<Vec<String>>| l.as_ref().is_some_and(|l| l.contains(h));
            let default = default_kind(h);
            if listed(&reforms) {
                SectionKind::Reforms
            } else if listed(&reactions) {
                SectionKind::Reactions
            } else if reforms.is_none() && default == SectionKind::Reforms {
                SectionKind::Reforms
            } else if reactions.is_none() && default == SectionKind::Reactions {
                SectionKind::Reactions
            } else {
                SectionKind::Body
            }
        })
        .collect())
}

/// The attributes a `{#slug kind}` list gives a heading or a point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    /// `#slug`: the node's slug.
    pub slug: Option<String>,
    /// `reforms`, `reactions` or `body` (singular or plural).
    pub kind: Option<SectionKind>,
}

impl Attrs {
    /// True when the list says nothing.
    pub fn is_empty(&self) -> bool {
        self.slug.is_none() && self.kind.is_none()
    }
}

fn line_error(line: usize, message: impl Into<String>) -> ImportError {
    ImportError::Line {
        line,
        message: message.into(),
    }
}

/// Reads the inside of `{...}`; `None` when it is not an attribute list at all (so the
/// braces are text), an error when it is one but says something invalid.
fn read_attrs(inner: &str, line: usize) -> Result<Option<Attrs>, ImportError> {
    let tokens: Vec<&str> = inner.split_whitespace().collect();
    if !tokens
        .iter()
        .all(|t| t.starts_with('#') || SectionKind::from_word(t).is_some())
    {
        return Ok(None);
    }
    let mut attrs = Attrs::default();
    for token in tokens {
        if let Some(slug) = token.strip_prefix('#') {
            if !is_valid_slug(slug) {
                return Err(line_error(
                    line,
                    format!(
                        "{token:?} is not a valid slug (lowercase letters and digits in groups joined by single hyphens)"
                    ),
                ));
            }
            if attrs.slug.replace(slug.to_owned()).is_some() {
                return Err(line_error(line, "more than one #slug in one {...} list"));
            }
        } else if attrs
            .kind
            .replace(SectionKind::from_word(token).unwrap_or(SectionKind::Body))
            .is_some()
        {
            return Err(line_error(line, "more than one kind in one {...} list"));
        }
    }
    Ok(Some(attrs))
}

/// Splits a trailing ` {attrs}` off a heading or label, when the braces hold an attribute
/// list; otherwise the whole text is returned.
fn split_attrs(text: &str, line: usize) -> Result<(&str, Attrs), ImportError> {
    if let Some(body) = text.strip_suffix('}')
        && let Some(open) = body.rfind(" {")
        && let Some(attrs) = read_attrs(&body[open + 2..], line)?
    {
        return Ok((&body[..open], attrs));
    }
    Ok((text, Attrs::default()))
}

/// The end (exclusive, in bytes) of the JSON string literal that `text` starts with.
fn json_string_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// A point line after its `- `: `Label: text`, `Label {attrs}: text`, or the label as a
/// JSON string (`"A: B": text`, `"A: B" {attrs}: text`).
pub(crate) fn parse_point(rest: &str, line: usize) -> Result<(String, Attrs, &str), ImportError> {
    if rest.starts_with('"')
        && let Some(end) = json_string_end(rest)
        && let Ok(title) = serde_json::from_str::<String>(&rest[..end])
    {
        let after = &rest[end..];
        if let Some(text) = after.strip_prefix(": ") {
            return Ok((title, Attrs::default(), text));
        }
        if let Some(list) = after.strip_prefix(" {")
            && let Some((inner, text)) = list.split_once("}: ")
            && let Some(attrs) = read_attrs(inner, line)?
        {
            return Ok((title, attrs, text));
        }
    }
    let expected = || {
        line_error(
            line,
            format!(
                "expected \"- Label: text\", found {:?}",
                format!("- {rest}")
            ),
        )
    };
    let (label, text) = rest.split_once(": ").ok_or_else(expected)?;
    let (label, attrs) = split_attrs(label, line)?;
    if label.trim().is_empty() {
        return Err(expected());
    }
    Ok((label.to_owned(), attrs, text))
}

struct RawPoint<'a> {
    line: usize,
    title: String,
    attrs: Attrs,
    first: &'a str,
    more: Vec<&'a str>,
}

enum Item<'a> {
    Paragraph(&'a str),
    Point(RawPoint<'a>),
}

struct RawSection<'a> {
    line: usize,
    heading: &'a str,
    attrs: Attrs,
    items: Vec<Item<'a>>,
}

/// Parses the article format into a [`Document`], classifying points as reforms, reactions
/// or body text according to `rules` (an explicit `{kind}` on a heading or point wins).
///
/// The grammar, line by line (a trailing `\r` is dropped; blank lines are ignored):
/// - line 1 is the title, optionally followed by ` {#slug}` (the article's slug);
/// - `\TEXT` is a literal text line `TEXT` (possibly empty) of the summary or section body;
/// - `## HEADING` or `## HEADING {ATTRS}` is a heading, whatever it ends with;
/// - a line that [`is_heading`] is a heading;
/// - `- LABEL: TEXT` is a point; `LABEL` may be a JSON string and may end in ` {ATTRS}`;
/// - `| TEXT` (or a bare `|`) right after a point or another such line continues the point's
///   text on a new line;
/// - anything else is a text line of the summary (before the first heading) or the body.
///
/// `ATTRS` is a space-separated list of `#slug` and one kind (`reforms`, `reactions`, `body`,
/// or the singular).
pub fn parse_document(text: &str, rules: &Classification) -> Result<Document, ImportError> {
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l));

    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let (_, title) = lines.next().unwrap_or((1, ""));
    if title.trim().is_empty() {
        return Err(line_error(1, "expected a title, found an empty line"));
    }
    let line_one = title;
    let (title, title_attrs) = split_attrs(title, 1)?;
    if title.starts_with("- ") {
        return Err(line_error(
            1,
            format!("expected a title, found the point {line_one:?}"),
        ));
    }
    if title_attrs.kind.is_some() {
        return Err(line_error(1, "a title takes only a {#slug}, not a kind"));
    }
    if title.trim().is_empty() {
        return Err(line_error(1, "expected a title before the {...} list"));
    }

    let mut summary: Vec<&str> = Vec::new();
    let mut sections: Vec<RawSection> = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(Item::Point(point)) = sections.last_mut().and_then(|s| s.items.last_mut())
            && let Some(rest) = line.strip_prefix('|')
            && (rest.is_empty() || rest.starts_with(' '))
        {
            point.more.push(rest.strip_prefix(' ').unwrap_or(rest));
            continue;
        }
        let paragraph = line.strip_prefix('\\');
        let heading = match line.strip_prefix("## ") {
            _ if paragraph.is_some() => None,
            Some(explicit) => Some(split_attrs(explicit, n)?),
            None if is_heading(line) => Some((line, Attrs::default())),
            None => None,
        };
        if let Some((heading, attrs)) = heading {
            sections.push(RawSection {
                line: n,
                heading,
                attrs,
                items: Vec::new(),
            });
            continue;
        }
        let point = match paragraph {
            Some(_) => None,
            None => line.strip_prefix("- "),
        };
        let text = paragraph.unwrap_or(line);
        let Some(section) = sections.last_mut() else {
            if point.is_some() {
                return Err(line_error(n, "a point must follow a heading"));
            }
            summary.push(text);
            continue;
        };
        match point {
            Some(rest) => {
                let (title, attrs, first) = parse_point(rest, n)?;
                section.items.push(Item::Point(RawPoint {
                    line: n,
                    title,
                    attrs,
                    first,
                    more: Vec::new(),
                }));
            }
            None => section.items.push(Item::Paragraph(text)),
        }
    }

    let headings: Vec<&str> = sections.iter().map(|s| s.heading).collect();
    let kinds = classify(&headings, rules)?;

    let mut section_slugs = Vec::new();
    let mut point_slugs: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut docs = Vec::with_capacity(sections.len());
    for (raw, classified) in sections.into_iter().zip(kinds) {
        let kind = raw.attrs.kind.unwrap_or(classified);
        if let Some(slug) = &raw.attrs.slug {
            if section_slugs.contains(slug) {
                return Err(line_error(
                    raw.line,
                    format!("the section slug {slug:?} is used twice"),
                ));
            }
            section_slugs.push(slug.clone());
        }
        let mut section = SectionDoc::new(raw.heading);
        section.slug = raw.attrs.slug;
        let mut body: Vec<String> = Vec::new();
        for item in raw.items {
            let point = match item {
                Item::Paragraph(p) => {
                    body.push(p.to_owned());
                    continue;
                }
                Item::Point(point) => point,
            };
            let mut description = point.first.to_owned();
            for more in &point.more {
                description.push('\n');
                description.push_str(more);
            }
            let list = match point.attrs.kind.unwrap_or(kind) {
                SectionKind::Body => {
                    if point.attrs.slug.is_some() {
                        return Err(line_error(
                            point.line,
                            "a #slug is only allowed on reforms and reactions, and this point is body text",
                        ));
                    }
                    body.push(format!("- **{}:** {description}", point.title));
                    continue;
                }
                SectionKind::Reforms => (&mut section.reforms, 0),
                SectionKind::Reactions => (&mut section.reactions, 1),
            };
            if let Some(slug) = &point.attrs.slug {
                if point_slugs[list.1].contains(slug) {
                    return Err(line_error(
                        point.line,
                        format!("the slug {slug:?} is used by two {}", kind_plural(list.1)),
                    ));
                }
                point_slugs[list.1].push(slug.clone());
            }
            list.0.push(PointDoc {
                slug: point.attrs.slug,
                title: point.title,
                description,
            });
        }
        section.body = body.join("\n");
        docs.push(section);
    }

    Ok(Document {
        slug: title_attrs.slug,
        title: title.to_string(),
        summary: summary.join("\n"),
        sections: docs,
    })
}

fn kind_plural(list: usize) -> &'static str {
    if list == 0 { "reforms" } else { "reactions" }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/de-stalinization.txt"
    ));

    fn parse(text: &str) -> Result<Document, ImportError> {
        parse_document(text, &Classification::default())
    }

    fn rules(reforms: Option<&[&str]>, reactions: Option<&[&str]>) -> Classification {
        let own = |l: Option<&[&str]>| l.map(|l| l.iter().map(|s| s.to_string()).collect());
        Classification {
            reforms_under: own(reforms),
            reactions_under: own(reactions),
        }
    }

    #[test]
    fn headings() {
        for h in [
            "Historical Context",
            "Key Reforms and Policies",
            "External Links",
            "Legacy",
            "Why (1953)",
            "-dash",
            "He said \"no\"",
        ] {
            assert!(is_heading(h), "{h:?} should be a heading");
        }
        for l in [
            "",
            "   ",
            "- Point: text",
            "Ends with a period.",
            "Here are key aspects:",
            "Really?",
            "Wow!",
            "a; b;",
            "He said \"no.\"",
            "He said 'no!'",
            "He said \u{201C}no.\u{201D}",
            "Stalin\u{2019}s \u{2018}thaw.\u{2019}",
            "(an aside.)",
            "Trailing space.  ",
        ] {
            assert!(!is_heading(l), "{l:?} should not be a heading");
        }
    }

    #[test]
    fn seed_parses() {
        let doc = parse(SEED).unwrap();
        assert_eq!(doc.title, "De-Stalinization");
        assert!(doc.summary.starts_with("De-Stalinization refers to"));
        assert!(
            doc.summary
                .ends_with("Here are key aspects of De-Stalinization:")
        );
        let headings: Vec<&str> = doc.sections.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(
            headings,
            [
                "Historical Context",
                "Key Reforms and Policies",
                "Impact and Reactions",
                "Legacy",
                "External Links",
                "Related Topics"
            ]
        );
        let [context, reforms, impact, legacy, links, related] = &doc.sections[..] else {
            panic!("six sections expected");
        };
        assert!(
            context
                .body
                .starts_with("- **Stalin's Death:** After Stalin's death")
        );
        assert_eq!(context.body.lines().count(), 2);
        assert!(context.reforms.is_empty() && context.reactions.is_empty());
        assert_eq!(reforms.reforms.len(), 4);
        assert_eq!(reforms.reforms[0].title, "Rehabilitation of Victims");
        assert!(reforms.reforms[0].description.starts_with("Many victims"));
        assert!(reforms.body.is_empty() && reforms.reactions.is_empty());
        assert_eq!(impact.reactions.len(), 3);
        assert_eq!(impact.reactions[2].title, "Consequences for Khrushchev");
        assert!(impact.reforms.is_empty());
        assert!(
            legacy
                .body
                .contains("- **Memory and Memorialization:** The process")
        );
        assert!(links.is_empty() && related.is_empty());
    }

    #[test]
    fn crlf_and_blank_lines() {
        let doc = parse("T\r\n\r\nIntro one.\r\n  \r\nIntro two.\r\nH\r\n\r\n- A: b\r\n").unwrap();
        assert_eq!(doc.title, "T");
        assert_eq!(doc.summary, "Intro one.\nIntro two.");
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.sections[0].body, "- **A:** b");
    }

    #[test]
    fn body_keeps_order_and_text_verbatim() {
        let doc =
            parse("T\nNotes\nFirst para.\n- A: x: y\n  Indented para.\n- B:  two spaces").unwrap();
        assert_eq!(
            doc.sections[0].body,
            "First para.\n- **A:** x: y\n  Indented para.\n- **B:**  two spaces"
        );
    }

    #[test]
    fn default_classification() {
        let text = "T\nPolicy\n- A: a\nreactions\n- B: b\nReform Impact\n- C: c\nOther\n- D: d";
        let doc = parse(text).unwrap();
        assert_eq!(doc.sections[0].reforms, [PointDoc::new("A", "a")]);
        assert_eq!(doc.sections[1].reactions, [PointDoc::new("B", "b")]);
        assert_eq!(doc.sections[2].reforms, [PointDoc::new("C", "c")]);
        assert_eq!(doc.sections[3].body, "- **D:** d");
    }

    #[test]
    fn overrides() {
        let text = "T\nChanges\n- A: a\nKey Reforms\n- B: b\nResponses\n- C: c\nImpact\n- D: d";
        // Only reforms overridden: reactions keep the default rule.
        let doc = parse_document(text, &rules(Some(&[" changes "]), None)).unwrap();
        assert_eq!(doc.sections[0].reforms.len(), 1);
        assert_eq!(doc.sections[1].body, "- **B:** b");
        assert_eq!(doc.sections[2].body, "- **C:** c");
        assert_eq!(doc.sections[3].reactions.len(), 1);
        // Only reactions overridden: reforms keep the default rule.
        let doc = parse_document(text, &rules(None, Some(&["RESPONSES"]))).unwrap();
        assert_eq!(doc.sections[0].body, "- **A:** a");
        assert_eq!(doc.sections[1].reforms.len(), 1);
        assert_eq!(doc.sections[2].reactions.len(), 1);
        assert_eq!(doc.sections[3].body, "- **D:** d");
        // An explicit reactions heading wins over the default reform rule.
        let doc = parse_document(text, &rules(None, Some(&["Key Reforms"]))).unwrap();
        assert_eq!(doc.sections[1].reactions.len(), 1);
        assert!(doc.sections[1].reforms.is_empty());
        // Empty lists: nothing is classified.
        let doc = parse_document(text, &rules(Some(&[]), Some(&[]))).unwrap();
        assert!(
            doc.sections
                .iter()
                .all(|s| s.reforms.is_empty() && s.reactions.is_empty())
        );
    }

    #[test]
    fn override_errors() {
        let text = "T\nChanges\n- A: a\nResponses\n- C: c";
        let err = parse_document(text, &rules(Some(&["Nope"]), None)).unwrap_err();
        assert_eq!(
            err,
            ImportError::UnknownHeading {
                option: "reformsUnder",
                heading: "Nope".into()
            }
        );
        let err = parse_document(text, &rules(None, Some(&["Responses", "Gone"]))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reactionsUnder lists \"Gone\", but the document has no such heading"
        );
        let err = parse_document(text, &rules(Some(&["Changes"]), Some(&["changes"]))).unwrap_err();
        assert_eq!(
            err,
            ImportError::ConflictingHeading {
                heading: "Changes".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "\"Changes\" is listed in both reformsUnder and reactionsUnder"
        );
    }

    #[test]
    fn empty_and_title_errors() {
        for text in ["", "\n", "  \r\n\n \t"] {
            let err = parse(text).unwrap_err();
            assert_eq!(err, ImportError::Empty);
            assert_eq!(
                err.to_string(),
                "the document is empty; expected a title on line 1"
            );
        }
        let err = parse("\nTitle").unwrap_err();
        assert!(matches!(err, ImportError::Line { line: 1, .. }), "{err}");
        let err = parse("- A: b\nH").unwrap_err();
        assert!(matches!(err, ImportError::Line { line: 1, .. }), "{err}");
    }

    #[test]
    fn point_errors() {
        let err = parse("T\nIntro.\n\n- A: b").unwrap_err();
        assert_eq!(err.to_string(), "line 4: a point must follow a heading");
        let text = "T\nIntro.\nH\nPara.\n\n- A: b\n- foo";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "line 7: expected \"- Label: text\", found \"- foo\""
        );
        for bad in ["- : text", "-  : text", "- Label:text", "- Label:"] {
            let err = parse(&format!("T\nH\n{bad}")).unwrap_err();
            assert!(
                matches!(err, ImportError::Line { line: 3, .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn empty_sections_kept() {
        let doc = parse("T\nA\nB\n\nC").unwrap();
        assert_eq!(doc.summary, "");
        assert_eq!(doc.sections.len(), 3);
        assert!(doc.sections.iter().all(SectionDoc::is_empty));
    }
}
