//! Import of the plain-text article format into a [`Document`].
//!
//! Format: the first line is the title; the lines up to the first heading
//! form the summary; a heading (a line that is not a point and does not end
//! in sentence punctuation) starts a section; inside a section, `- Label: text`
//! lines are points and other lines are body paragraphs. Blank lines are
//! ignored everywhere.

use super::document::{Document, PointDoc, SectionDoc};

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Body,
    Reforms,
    Reactions,
}

/// Validates the overrides against the document's headings and returns the
/// kind of each section.
fn classify(headings: &[&str], rules: &Classification) -> Result<Vec<Kind>, ImportError> {
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
            if listed(&reforms) {
                Kind::Reforms
            } else if listed(&reactions) {
                Kind::Reactions
            } else if reforms.is_none() && (h.contains("reform") || h.contains("polic")) {
                Kind::Reforms
            } else if reactions.is_none() && (h.contains("reaction") || h.contains("impact")) {
                Kind::Reactions
            } else {
                Kind::Body
            }
        })
        .collect())
}

enum Item<'a> {
    Paragraph(&'a str),
    Point(&'a str, &'a str),
}

struct RawSection<'a> {
    heading: &'a str,
    items: Vec<Item<'a>>,
}

/// Parses the plain-text article format into a [`Document`], classifying
/// points as reforms, reactions or body text according to `rules`.
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
        return Err(ImportError::Line {
            line: 1,
            message: "expected a title, found an empty line".into(),
        });
    }
    if title.starts_with("- ") {
        return Err(ImportError::Line {
            line: 1,
            message: format!("expected a title, found the point {title:?}"),
        });
    }

    let mut summary: Vec<&str> = Vec::new();
    let mut sections: Vec<RawSection> = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        if is_heading(line) {
            sections.push(RawSection {
                heading: line,
                items: Vec::new(),
            });
            continue;
        }
        let Some(section) = sections.last_mut() else {
            if line.starts_with("- ") {
                return Err(ImportError::Line {
                    line: n,
                    message: "a point must follow a heading".into(),
                });
            }
            summary.push(line);
            continue;
        };
        if let Some(rest) = line.strip_prefix("- ") {
            match rest.split_once(": ") {
                Some((label, text)) if !label.trim().is_empty() => {
                    section.items.push(Item::Point(label, text));
                }
                _ => {
                    return Err(ImportError::Line {
                        line: n,
                        message: format!("expected \"- Label: text\", found {line:?}"),
                    });
                }
            }
        } else {
            section.items.push(Item::Paragraph(line));
        }
    }

    let headings: Vec<&str> = sections.iter().map(|s| s.heading).collect();
    let kinds = classify(&headings, rules)?;

    let sections = sections
        .into_iter()
        .zip(kinds)
        .map(|(raw, kind)| {
            let mut section = SectionDoc::new(raw.heading);
            let mut body: Vec<String> = Vec::new();
            for item in raw.items {
                match (item, kind) {
                    (Item::Paragraph(p), _) => body.push(p.to_string()),
                    (Item::Point(label, text), Kind::Reforms) => {
                        section.reforms.push(PointDoc::new(label, text));
                    }
                    (Item::Point(label, text), Kind::Reactions) => {
                        section.reactions.push(PointDoc::new(label, text));
                    }
                    (Item::Point(label, text), Kind::Body) => {
                        body.push(format!("- **{label}:** {text}"));
                    }
                }
            }
            section.body = body.join("\n");
            section
        })
        .collect();

    Ok(Document {
        title: title.to_string(),
        summary: summary.join("\n"),
        sections,
    })
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
