//! Generated articles for property tests: everything the editing API accepts, biased toward
//! what could confuse the text format (prefixes like `- ` and `## `, end punctuation, braces,
//! quotes, colons, backslashes, blank and whitespace-only lines, unicode).

use proptest::prelude::*;

use super::{Document, PointDoc, SectionDoc};

/// Fragments that, joined, make lines the format must not misread.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("- ".to_owned()),
        Just("## ".to_owned()),
        Just(": ".to_owned()),
        Just(":** ".to_owned()),
        Just("- **".to_owned()),
        Just(" {#a}".to_owned()),
        Just(" {reforms}".to_owned()),
        Just("{}".to_owned()),
        Just("|".to_owned()),
        Just("| ".to_owned()),
        Just("\\".to_owned()),
        Just("\"".to_owned()),
        Just("\t".to_owned()),
        Just("  ".to_owned()),
        Just("Reforms".to_owned()),
        Just("Impact".to_owned()),
        "[a-zA-Z0-9 .,:;?!()'\"\u{201D}\u{2019}&éÜ#*{}-]{1,6}",
    ]
}

/// One line of text: any characters the API accepts except a newline.
pub fn line() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..5).prop_map(|parts| parts.concat())
}

/// A one-line name as the API stores it: trimmed, not empty.
pub fn name() -> impl Strategy<Value = String> {
    line().prop_map(|l| {
        let t = l.trim();
        if t.is_empty() {
            "x".to_owned()
        } else {
            t.to_owned()
        }
    })
}

/// A multi-line text: lines joined with `\n`, empty lines and trailing newlines included.
pub fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..4).prop_map(|lines| lines.join("\n"))
}

fn slug() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => "[a-z]{1,4}(-[a-z0-9]{1,3})?".prop_map(Some),
        1 => Just(Some("x".to_owned())),
    ]
}

fn point() -> impl Strategy<Value = PointDoc> {
    (slug(), name(), text()).prop_map(|(slug, title, description)| PointDoc {
        slug,
        title,
        description,
    })
}

fn section() -> impl Strategy<Value = SectionDoc> {
    (
        slug(),
        name(),
        text(),
        prop::collection::vec(point(), 0..3),
        prop::collection::vec(point(), 0..3),
    )
        .prop_map(|(slug, heading, body, reforms, reactions)| SectionDoc {
            slug,
            heading,
            body,
            reforms,
            reactions,
        })
}

/// Makes given slugs unique in their namespace, as the database requires.
fn dedupe<'a>(slugs: impl Iterator<Item = &'a mut Option<String>>) {
    let mut seen: Vec<String> = Vec::new();
    for (i, slug) in slugs.enumerate() {
        if let Some(s) = slug.as_mut() {
            if seen.contains(s) {
                *s = format!("{s}-{}", i + 100);
            }
            seen.push(s.clone());
        }
    }
}

/// A whole article with every slug filled in, as the database would hold it.
pub fn document() -> impl Strategy<Value = Document> {
    (
        prop_oneof![Just(None), "[a-z]{1,5}(-[0-9]{1,2})?".prop_map(Some)],
        name().prop_map(|t| t.strip_prefix("- ").map_or(t.clone(), |r| format!("T{r}"))),
        text(),
        prop::collection::vec(section(), 0..5),
    )
        .prop_map(|(slug, title, summary, sections)| {
            let mut doc = Document {
                slug,
                title,
                summary,
                sections,
            };
            dedupe(doc.sections.iter_mut().map(|s| &mut s.slug));
            dedupe(
                doc.sections
                    .iter_mut()
                    .flat_map(|s| s.reforms.iter_mut().map(|p| &mut p.slug)),
            );
            dedupe(
                doc.sections
                    .iter_mut()
                    .flat_map(|s| s.reactions.iter_mut().map(|p| &mut p.slug)),
            );
            doc.with_slugs()
        })
}
