//! Export of a [`Document`] to the plain-text import format and to Markdown.

use super::document::{Document, PointDoc};

/// Turns a stored body line `- **Label:** text` back into `- Label: text`;
/// other lines are returned unchanged.
fn body_line_to_text(line: &str) -> String {
    line.strip_prefix("- **")
        .and_then(|rest| rest.split_once(":** "))
        .map_or_else(
            || line.to_string(),
            |(label, text)| format!("- {label}: {text}"),
        )
}

fn point_line(point: &PointDoc) -> String {
    format!("- {}: {}", point.title, point.description)
}

fn point_markdown(point: &PointDoc) -> String {
    format!("- **{}:** {}", point.title, point.description)
}

/// Renders a document in the plain-text format read by
/// [`parse_document`](super::import::parse_document): title, summary, then
/// each heading with its body lines, reforms and reactions. Lines are joined
/// with `"\n"` and there is no trailing newline.
///
/// Parsing the result with the same classification rules gives back the same
/// document for any document produced by `parse_document`; hand-made
/// documents round-trip only if their lines respect the format.
pub fn render_document(doc: &Document) -> String {
    let mut lines: Vec<String> = vec![doc.title.clone()];
    if !doc.summary.is_empty() {
        lines.push(doc.summary.clone());
    }
    for section in &doc.sections {
        lines.push(section.heading.clone());
        if !section.body.is_empty() {
            lines.extend(section.body.split('\n').map(body_line_to_text));
        }
        lines.extend(section.reforms.iter().map(point_line));
        lines.extend(section.reactions.iter().map(point_line));
    }
    lines.join("\n")
}

/// Renders a document as Markdown: `# Title`, the summary, then per section
/// `## Heading`, the body as stored and the reforms and reactions as
/// `- **Title:** description` items. Blocks are separated by a blank line and
/// the output ends with a single `"\n"`. Nothing is escaped.
pub fn render_markdown(doc: &Document) -> String {
    let mut blocks: Vec<String> = vec![format!("# {}", doc.title)];
    if !doc.summary.is_empty() {
        blocks.push(doc.summary.clone());
    }
    for section in &doc.sections {
        blocks.push(format!("## {}", section.heading));
        if !section.body.is_empty() {
            blocks.push(section.body.clone());
        }
        let points: Vec<String> = section
            .reforms
            .iter()
            .chain(&section.reactions)
            .map(point_markdown)
            .collect();
        if !points.is_empty() {
            blocks.push(points.join("\n"));
        }
    }
    let mut out = blocks.join("\n\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::super::document::SectionDoc;
    use super::super::import::{Classification, parse_document};
    use super::*;

    const SEED: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/de-stalinization.txt"
    ));

    fn round_trip(text: &str, rules: &Classification) -> Document {
        let doc = parse_document(text, rules).unwrap();
        let rendered = render_document(&doc);
        let again = parse_document(&rendered, rules).unwrap();
        assert_eq!(doc, again, "round trip changed the document:\n{rendered}");
        assert_eq!(render_document(&again), rendered);
        doc
    }

    #[test]
    fn seed_round_trips_byte_for_byte() {
        let doc = parse_document(SEED, &Classification::default()).unwrap();
        assert_eq!(render_document(&doc), SEED);
        round_trip(SEED, &Classification::default());
    }

    #[test]
    fn small_docs_round_trip() {
        let texts = [
            "Title",
            "Title\nOnly a summary.",
            "Title\nIntro.\nSecond intro line!\nEmpty\nAlso Empty",
            "T\nNotes\nPara one.\n- A: x: y\nPara two.\n- B: **bold** text\nLast",
            "T\nReforms\n- R1: one.\n- R2: two\nReactions\n- X: y\nMixed Reforms\nA para.\n- R: r",
            "T\r\n\r\nIntro.\r\nH\r\n- A: b\r\n",
            "T\nH\n- Label: \n- Quote: He said \"no.\"",
        ];
        for text in texts {
            round_trip(text, &Classification::default());
        }
    }

    #[test]
    fn canonical_text_is_reproduced_exactly() {
        // Already canonical (no blank lines, body before points): byte-equal.
        let text = "T\nIntro.\nNotes\nPara.\n- A: b\nKey Policies\n- P: q\nImpact\n- I: j\nEnd";
        let doc = parse_document(text, &Classification::default()).unwrap();
        assert_eq!(render_document(&doc), text);
    }

    #[test]
    fn overrides_round_trip() {
        let text = "T\nChanges\n- A: a\nKey Reforms\n- B: b\nResponses\n- C: c\nImpact\n- D: d";
        let rules = Classification {
            reforms_under: Some(vec!["changes".into()]),
            reactions_under: Some(vec!["Responses".into(), "KEY REFORMS".into()]),
        };
        let doc = round_trip(text, &rules);
        assert_eq!(doc.sections[0].reforms.len(), 1);
        assert_eq!(doc.sections[1].reactions.len(), 1);
        assert_eq!(doc.sections[3].body, "- **D:** d");
        assert_eq!(render_document(&doc), text);
    }

    #[test]
    fn markdown_layout() {
        let doc = Document {
            title: "T".into(),
            summary: "Intro.".into(),
            sections: vec![
                SectionDoc {
                    heading: "Context".into(),
                    body: "Para.\n- **A:** b".into(),
                    ..SectionDoc::default()
                },
                SectionDoc {
                    heading: "Reforms".into(),
                    reforms: vec![PointDoc::new("R", "r")],
                    reactions: vec![PointDoc::new("X", "x")],
                    ..SectionDoc::default()
                },
                SectionDoc::new("Empty"),
            ],
        };
        assert_eq!(
            render_markdown(&doc),
            "# T\n\nIntro.\n\n## Context\n\nPara.\n- **A:** b\n\n## Reforms\n\n\
             - **R:** r\n- **X:** x\n\n## Empty\n"
        );
        assert_eq!(render_markdown(&Document::default()), "# \n");
    }

    #[test]
    fn seed_markdown() {
        let doc = parse_document(SEED, &Classification::default()).unwrap();
        let md = render_markdown(&doc);
        assert!(md.starts_with("# De-Stalinization\n\nDe-Stalinization refers to"));
        assert!(md.contains("## Historical Context\n\n- **Stalin's Death:** After"));
        assert!(
            md.contains("## Key Reforms and Policies\n\n- **Rehabilitation of Victims:** Many")
        );
        assert!(md.contains("## Impact and Reactions\n\n- **Public Reaction:** The"));
        assert!(md.ends_with("## External Links\n\n## Related Topics\n"));
        assert!(!md.ends_with("\n\n"));
    }
}
