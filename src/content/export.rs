//! Export of a [`Document`] to the plain-text import format and to Markdown.

use super::{
    document::{Document, PointDoc},
    import::{Attrs, SectionKind, default_kind, is_heading, parse_point},
    slug::slugify,
};

/// The plain form of a text line (summary or body paragraph) when it reads back as itself,
/// else the line escaped with a leading `\`.
fn text_line(line: &str) -> String {
    let plain = !line.trim().is_empty()
        && !line.starts_with("- ")
        && !line.starts_with('\\')
        && !line.starts_with("## ")
        && !line.starts_with('|')
        && !is_heading(line);
    if plain {
        line.to_owned()
    } else {
        format!("\\{line}")
    }
}

/// A body line `- **Label:** text` as the point line `- Label: text` that a body section
/// reads back as exactly that line; `None` when there is no such point line.
fn body_point_line(line: &str) -> Option<String> {
    let (label, text) = line.strip_prefix("- **")?.split_once(":** ")?;
    let candidate = point_first_line(label, &Attrs::default(), text);
    let (title, attrs, rest) = parse_point(&candidate[2..], 0).ok()?;
    (attrs.is_empty() && format!("- **{title}:** {rest}") == line).then_some(candidate)
}

fn attrs_text(attrs: &Attrs, plural: bool) -> String {
    let mut tokens = Vec::new();
    if let Some(slug) = &attrs.slug {
        tokens.push(format!("#{slug}"));
    }
    if let Some(kind) = attrs.kind {
        tokens.push(kind.word(plural).to_owned());
    }
    format!(" {{{}}}", tokens.join(" "))
}

/// The first line of a point: its label plainly where that reads back as the same title
/// and attributes, else as a JSON string.
fn point_first_line(title: &str, attrs: &Attrs, first: &str) -> String {
    let suffix = |force: bool| {
        if attrs.is_empty() && !force {
            String::new()
        } else {
            attrs_text(attrs, false)
        }
    };
    let plain = format!("- {title}{}: {first}", suffix(title.ends_with('}')));
    let reads_back = !title.starts_with('"')
        && parse_point(&plain[2..], 0)
            .is_ok_and(|(t, a, rest)| t == title && a == *attrs && rest == first);
    if reads_back {
        return plain;
    }
    let json = serde_json::to_string(title).unwrap_or_default();
    format!("- {json}{}: {first}", suffix(false))
}

/// A point as its line plus one `| ` continuation line per further line of its text.
fn point_lines(point: &PointDoc, attrs: &Attrs, out: &mut Vec<String>) {
    let mut lines = point.description.split('\n');
    out.push(point_first_line(
        &point.title,
        attrs,
        lines.next().unwrap_or_default(),
    ));
    out.extend(lines.map(|l| {
        if l.is_empty() {
            "|".to_owned()
        } else {
            format!("| {l}")
        }
    }));
}

/// The document with only the slugs that re-importing would not derive by itself: the
/// smallest set, found by marking every slug that derivation gets wrong until none is.
fn marked_slugs(doc: &Document) -> Document {
    let mut marked = doc.clone();
    for s in &mut marked.sections {
        s.slug = None;
        for p in s.reforms.iter_mut().chain(s.reactions.iter_mut()) {
            p.slug = None;
        }
    }
    loop {
        let derived = marked.clone().with_slugs();
        let mut changed = false;
        for ((orig, mark), der) in doc
            .sections
            .iter()
            .zip(&mut marked.sections)
            .zip(&derived.sections)
        {
            if orig.slug.is_some() && mark.slug.is_none() && der.slug != orig.slug {
                mark.slug.clone_from(&orig.slug);
                changed = true;
            }
            let pairs = orig
                .reforms
                .iter()
                .zip(mark.reforms.iter_mut())
                .zip(&der.reforms)
                .chain(
                    orig.reactions
                        .iter()
                        .zip(mark.reactions.iter_mut())
                        .zip(&der.reactions),
                );
            for ((o, m), d) in pairs {
                if o.slug.is_some() && m.slug.is_none() && d.slug != o.slug {
                    m.slug.clone_from(&o.slug);
                    changed = true;
                }
            }
        }
        if !changed {
            return marked;
        }
    }
}

/// Renders a document in the article format read by
/// [`parse_document`](super::import::parse_document) with the default classification, so
/// that reading it back gives the same document: the same title, summary, sections, bodies,
/// points of each kind in order, and the same slugs (where the document has them).
///
/// The article's slug is written after the title (`Title {#slug}`) when the document has one
/// that differs from the title's derived slug.
///
/// Content that the plain seed format reads right is written plainly (the seed comes back
/// byte for byte); elsewhere the explicit forms are used: `\` before a text line that would
/// be misread, `## ` before a heading that would not be recognised, `{#slug kind}` where a
/// slug or a kind differs from what the reader would derive, a JSON-quoted label, and `| `
/// continuation lines. Lines are joined with `"\n"`; there is no trailing newline.
pub fn render_document(doc: &Document) -> String {
    let marked = marked_slugs(doc);
    let article_slug = doc
        .slug
        .as_ref()
        .filter(|slug| **slug != slugify(&doc.title))
        .cloned();
    let title_attrs = Attrs {
        slug: article_slug,
        kind: None,
    };
    let mut lines: Vec<String> = vec![if title_attrs.is_empty() && !doc.title.ends_with('}') {
        doc.title.clone()
    } else {
        format!("{}{}", doc.title, attrs_text(&title_attrs, false))
    }];
    if !doc.summary.is_empty() {
        lines.extend(doc.summary.split('\n').map(text_line));
    }
    for (section, marks) in doc.sections.iter().zip(&marked.sections) {
        let default = default_kind(&section.heading);
        let kind = match (section.reforms.is_empty(), section.reactions.is_empty()) {
            (false, false) if default == SectionKind::Reactions => SectionKind::Reactions,
            (false, _) => SectionKind::Reforms,
            (true, false) => SectionKind::Reactions,
            (true, true) => default,
        };
        let attrs = Attrs {
            slug: marks.slug.clone(),
            kind: (kind != default).then_some(kind),
        };
        let heading = &section.heading;
        let plain = attrs.is_empty()
            && is_heading(heading)
            && !heading.starts_with('\\')
            && !heading.starts_with("## ")
            && !heading.starts_with('|');
        lines.push(if plain {
            heading.clone()
        } else if attrs.is_empty() && !heading.ends_with('}') {
            format!("## {heading}")
        } else {
            format!("## {heading}{}", attrs_text(&attrs, true))
        });
        if !section.body.is_empty() {
            lines.extend(section.body.split('\n').map(|line| {
                match (kind, body_point_line(line)) {
                    (SectionKind::Body, Some(point)) => point,
                    _ => text_line(line),
                }
            }));
        }
        for (points, marks, own) in [
            (&section.reforms, &marks.reforms, SectionKind::Reforms),
            (&section.reactions, &marks.reactions, SectionKind::Reactions),
        ] {
            for (point, mark) in points.iter().zip(marks) {
                let attrs = Attrs {
                    slug: mark.slug.clone(),
                    kind: (own != kind).then_some(own),
                };
                point_lines(point, &attrs, &mut lines);
            }
        }
    }
    lines.join("\n")
}

fn point_markdown(point: &PointDoc) -> String {
    format!("- **{}:** {}", point.title, point.description)
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
        // The export says the kinds the overrides gave, so it reads back without them.
        let rendered = render_document(&doc);
        assert_eq!(
            rendered,
            "T\n## Changes {reforms}\n- A: a\n## Key Reforms {reactions}\n- B: b\n\
             ## Responses {reactions}\n- C: c\nImpact\n\\- **D:** d"
        );
        assert_eq!(
            parse_document(&rendered, &Classification::default()).unwrap(),
            doc
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x616e6e616c73),
            ..Default::default()
        })]

        /// Any article the API can hold reads back from its export as the same article.
        #[test]
        fn every_document_round_trips(doc in super::super::arbitrary::document()) {
            // An article slug equal to the title's derived one is not written, nor needed.
            let article_slug = |mut d: Document| {
                d.slug.get_or_insert_with(|| slugify(&d.title));
                d
            };
            let text = render_document(&doc);
            let again = parse_document(&text, &Classification::default())
                .unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
                .with_slugs();
            proptest::prop_assert_eq!(article_slug(again.clone()), article_slug(doc), "\n---\n{}", text);
            proptest::prop_assert_eq!(render_document(&again), text);
        }
    }

    #[test]
    fn explicit_forms() {
        let doc = Document {
            slug: None,
            title: "T".into(),
            summary: "No end punctuation\n\n- a dash".into(),
            sections: vec![
                SectionDoc {
                    slug: Some("thaw".into()),
                    heading: "What Was the Thaw?".into(),
                    body: "See also the Prague Spring".into(),
                    reforms: vec![PointDoc {
                        slug: Some("amnesty".into()),
                        title: "Amnesty: 1953".into(),
                        description: "Line one\n\nLine three".into(),
                    }],
                    reactions: vec![PointDoc::new("Unrest", "In Poland.")],
                },
                SectionDoc {
                    slug: Some("reforms".into()),
                    heading: "Reforms".into(),
                    body: "- **X:** y".into(),
                    ..SectionDoc::default()
                },
            ],
        }
        .with_slugs();
        let text = render_document(&doc);
        assert_eq!(
            text,
            "T\n\\No end punctuation\n\\\n\\- a dash\n## What Was the Thaw? {#thaw reforms}\n\
             \\See also the Prague Spring\n- \"Amnesty: 1953\" {#amnesty}: Line one\n|\n| Line three\n\
             - Unrest {reaction}: In Poland.\nReforms\n\\- **X:** y"
        );
        assert_eq!(
            parse_document(&text, &Classification::default())
                .unwrap()
                .with_slugs(),
            doc
        );
    }

    #[test]
    fn markdown_layout() {
        let doc = Document {
            slug: None,
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
