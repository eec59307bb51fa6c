//! The plain data model of an article (no database, no GraphQL).

/// A whole article: title, intro summary and its sections in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
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
    /// The label before the first `": "`.
    pub title: String,
    /// The text after the first `": "`, verbatim.
    pub description: String,
}

impl PointDoc {
    /// Builds a point from its title and description.
    pub fn new(title: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            description: description.into(),
        }
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
