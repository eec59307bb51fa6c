//! The plain data model of an article (no database, no GraphQL).

use std::collections::HashSet;

use super::slug::{slugify, unique_slug};

/// A whole article: title, intro summary and its sections in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// The article's slug, when the document names one (`{#slug}` after the title).
    pub slug: Option<String>,
    /// The article title (first line of the plain-text format).
    pub title: String,
    /// The intro paragraphs before the first heading, joined with `"\n"`.
    pub summary: String,
    /// The sections in document order.
    pub sections: Vec<SectionDoc>,
}

/// One section of an article: a heading, a Markdown body and its points.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SectionDoc {
    /// The section's slug, unique in its article; `None` derives it from the heading
    /// (see [`Document::with_slugs`]).
    pub slug: Option<String>,
    /// The section heading, verbatim.
    pub heading: String,
    /// Paragraph lines and unclassified points (as `- **Label:** text`),
    /// in document order, joined with `"\n"`.
    pub body: String,
    /// Points classified as reforms.
    pub reforms: Vec<PointDoc>,
    /// Points classified as reactions.
    pub reactions: Vec<PointDoc>,
}

/// A labelled point (`- Label: text`) such as a reform or a reaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PointDoc {
    /// The point's slug, unique among the article's points of its kind; `None` derives it from
    /// the title (see [`Document::with_slugs`]).
    pub slug: Option<String>,
    /// The label before the first `": "`.
    pub title: String,
    /// The text after the first `": "`, verbatim.
    pub description: String,
}

impl PointDoc {
    /// Builds a point from its title and description.
    pub fn new(title: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            slug: None,
            title: title.into(),
            description: description.into(),
        }
    }
}

impl Document {
    /// Fills in every missing slug the way the importer derives them. Given slugs are kept
    /// and reserved first; the others are derived from the heading or title in document order
    /// ([`slugify`]), with `-2`, `-3`, ... when taken ([`unique_slug`]). Sections share one
    /// namespace per article, reforms another and reactions a third.
    pub fn with_slugs(mut self) -> Self {
        let mut taken: HashSet<String> = self
            .sections
            .iter()
            .filter_map(|s| s.slug.clone())
            .collect();
        for section in &mut self.sections {
            if section.slug.is_none() {
                let slug = unique_slug(&slugify(&section.heading), |c| taken.contains(c));
                taken.insert(slug.clone());
                section.slug = Some(slug);
            }
        }
        for reforms in [true, false] {
            let mut taken: HashSet<String> = self
                .sections
                .iter()
                .flat_map(|s| if reforms { &s.reforms } else { &s.reactions })
                .filter_map(|p| p.slug.clone())
                .collect();
            for section in &mut self.sections {
                let list = if reforms {
                    &mut section.reforms
                } else {
                    &mut section.reactions
                };
                for point in list.iter_mut().filter(|p| p.slug.is_none()) {
                    let slug = unique_slug(&slugify(&point.title), |c| taken.contains(c));
                    taken.insert(slug.clone());
                    point.slug = Some(slug);
                }
            }
        }
        self
    }
}

impl SectionDoc {
    /// Builds an empty section with the given heading.
    pub fn new(heading: impl Into<String>) -> Self {
        Self {
            heading: heading.into(),
            ..Self::default()
        }
    }

    /// True when the section has no body and no points.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty() && self.reforms.is_empty() && self.reactions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_and_defaults() {
        let p = PointDoc::new("A", "b");
        assert_eq!(p.title, "A");
        assert_eq!(p.description, "b");
        let s = SectionDoc::new("Legacy");
        assert_eq!(s.heading, "Legacy");
        assert!(s.is_empty());
        let d = Document::default();
        assert!(d.title.is_empty() && d.summary.is_empty() && d.sections.is_empty());
    }

    #[test]
    fn section_with_points_is_not_empty() {
        let mut s = SectionDoc::new("Reforms");
        s.reforms.push(PointDoc::new("X", "y"));
        assert!(!s.is_empty());
    }
}
