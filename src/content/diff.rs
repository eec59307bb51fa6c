//! What changed between two snapshots of one article, as a list of typed changes.

use super::snapshot::{PointSnapshot, SectionSnapshot, Snapshot, TopicRef};

/// What happened to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    /// The node exists only in the newer version.
    Added,
    /// The node exists only in the older version.
    Removed,
    /// The node changed position (or, for a point, section).
    Moved,
    /// One field of the node changed.
    Changed,
}

/// Which kind of node changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The article itself.
    Article,
    /// A section.
    Section,
    /// A reform.
    Reform,
    /// A reaction.
    Reaction,
}

/// One change between two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentChange {
    /// What happened.
    pub op: ChangeOp,
    /// To which kind of node.
    pub node: NodeKind,
    /// The node's database id, when the snapshots know it (the newer one's, if both).
    pub id: Option<i64>,
    /// The node's slug (in the newer version, if it has one).
    pub slug: String,
    /// The field that changed (`title`, `heading`, `position`, `topics`, ...); for added
    /// and removed nodes `None`.
    pub field: Option<&'static str>,
    /// The value before (for a removed node: its title or heading).
    pub old: Option<String>,
    /// The value after (for an added node: its title or heading).
    pub new: Option<String>,
}

fn tags(t: &[TopicRef]) -> String {
    let mut slugs: Vec<&str> = t.iter().map(|t| t.slug.as_str()).collect();
    slugs.sort_unstable();
    slugs.join(", ")
}

fn same_tags(a: &[TopicRef], b: &[TopicRef]) -> bool {
    let ids = |t: &[TopicRef]| {
        let mut ids: Vec<i64> = t.iter().map(|t| t.id).collect();
        ids.sort_unstable();
        ids
    };
    ids(a) == ids(b)
}

struct Out {
    changes: Vec<ContentChange>,
}

impl Out {
    fn field(
        &mut self,
        node: NodeKind,
        id: Option<i64>,
        slug: &str,
        field: &'static str,
        old: &str,
        new: &str,
    ) {
        if old != new {
            self.changes.push(ContentChange {
                op: if field == "position" || field == "section" {
                    ChangeOp::Moved
                } else {
                    ChangeOp::Changed
                },
                node,
                id,
                slug: slug.to_owned(),
                field: Some(field),
                old: Some(old.to_owned()),
                new: Some(new.to_owned()),
            });
        }
    }

    fn presence(&mut self, op: ChangeOp, node: NodeKind, id: Option<i64>, slug: &str, label: &str) {
        let value = Some(label.to_owned());
        self.changes.push(ContentChange {
            op,
            node,
            id,
            slug: slug.to_owned(),
            field: None,
            old: if op == ChangeOp::Removed {
                value.clone()
            } else {
                None
            },
            new: if op == ChangeOp::Added { value } else { None },
        });
    }
}

/// Pairs nodes of two versions: by id where both know it, else by slug.
fn pair<'a, T>(
    old: &'a [T],
    new: &'a [T],
    key: impl Fn(&T) -> (Option<i64>, &str),
) -> (Vec<(usize, usize)>, Vec<usize>, Vec<usize>) {
    let mut pairs = Vec::new();
    let mut old_used = vec![false; old.len()];
    let mut new_used = vec![false; new.len()];
    for by_id in [true, false] {
        for (j, n) in new.iter().enumerate() {
            if new_used[j] {
                continue;
            }
            let (nid, nslug) = key(n);
            let found = old.iter().enumerate().position(|(i, o)| {
                let (oid, oslug) = key(o);
                !old_used[i]
                    && if by_id {
                        nid.is_some() && nid == oid
                    } else {
                        nslug == oslug
                    }
            });
            if let Some(i) = found {
                old_used[i] = true;
                new_used[j] = true;
                pairs.push((i, j));
            }
        }
    }
    let removed = (0..old.len()).filter(|i| !old_used[*i]).collect();
    let added = (0..new.len()).filter(|j| !new_used[*j]).collect();
    (pairs, removed, added)
}

/// Which pairs changed their order relative to the other pairs of the same group
/// (`groups[k]` is pair k's): a node is moved when the nodes around it that exist in both
/// versions are not where they were, not merely because something before it was added or
/// removed.
fn reordered<G: PartialEq>(pairs: &[(usize, usize)], groups: &[G]) -> Vec<bool> {
    let rank = |k: usize, side: fn(&(usize, usize)) -> usize| {
        (0..pairs.len())
            .filter(|&m| groups[m] == groups[k] && side(&pairs[m]) < side(&pairs[k]))
            .count()
    };
    (0..pairs.len())
        .map(|k| rank(k, |p| p.0) != rank(k, |p| p.1))
        .collect()
}

/// A point with where it stands: its section's slug and its 1-based position there.
struct Placed<'a> {
    point: &'a PointSnapshot,
    section: &'a str,
    position: usize,
}

fn placed<'a>(
    sections: &'a [SectionSnapshot],
    list: impl Fn(&'a SectionSnapshot) -> &'a [PointSnapshot],
) -> Vec<Placed<'a>> {
    sections
        .iter()
        .flat_map(|s| {
            list(s).iter().enumerate().map(|(i, point)| Placed {
                point,
                section: &s.slug,
                position: i + 1,
            })
        })
        .collect()
}

/// The changes that turn `from` into `to`, in document order: the article's fields, then
/// sections, then reforms, then reactions.
pub fn diff(from: &Snapshot, to: &Snapshot) -> Vec<ContentChange> {
    let mut out = Out {
        changes: Vec::new(),
    };
    let article = NodeKind::Article;
    for (field, old, new) in [
        ("slug", &from.slug, &to.slug),
        ("title", &from.title, &to.title),
        ("summary", &from.summary, &to.summary),
    ] {
        out.field(article, None, &to.slug, field, old, new);
    }
    if !same_tags(&from.topics, &to.topics) {
        out.field(
            article,
            None,
            &to.slug,
            "topics",
            &tags(&from.topics),
            &tags(&to.topics),
        );
    }

    let (pairs, removed, added) = pair(&from.sections, &to.sections, |s| (s.id, &s.slug));
    let section = NodeKind::Section;
    for i in removed {
        let s = &from.sections[i];
        out.presence(ChangeOp::Removed, section, s.id, &s.slug, &s.heading);
    }
    let moved = reordered(&pairs, &vec![(); pairs.len()]);
    for (k, &(i, j)) in pairs.iter().enumerate() {
        let (o, n) = (&from.sections[i], &to.sections[j]);
        let id = n.id.or(o.id);
        if moved[k] {
            out.field(
                section,
                id,
                &n.slug,
                "position",
                &(i + 1).to_string(),
                &(j + 1).to_string(),
            );
        }
        out.field(section, id, &n.slug, "slug", &o.slug, &n.slug);
        out.field(section, id, &n.slug, "heading", &o.heading, &n.heading);
        out.field(section, id, &n.slug, "body", &o.body, &n.body);
    }
    for j in added {
        let s = &to.sections[j];
        out.presence(ChangeOp::Added, section, s.id, &s.slug, &s.heading);
    }

    for (node, list) in [
        (
            NodeKind::Reform,
            (|s: &SectionSnapshot| s.reforms.as_slice())
                as fn(&SectionSnapshot) -> &[PointSnapshot],
        ),
        (NodeKind::Reaction, |s: &SectionSnapshot| {
            s.reactions.as_slice()
        }),
    ] {
        let old = placed(&from.sections, list);
        let new = placed(&to.sections, list);
        let (pairs, removed, added) = pair(&old, &new, |p| (p.point.id, &p.point.slug));
        for i in removed {
            let p = old[i].point;
            out.presence(ChangeOp::Removed, node, p.id, &p.slug, &p.title);
        }
        // Points are ordered within their section.
        let groups: Vec<(&str, &str)> = pairs
            .iter()
            .map(|&(i, j)| (old[i].section, new[j].section))
            .collect();
        let moved = reordered(&pairs, &groups);
        for (k, &(i, j)) in pairs.iter().enumerate() {
            let (o, n) = (&old[i], &new[j]);
            let id = n.point.id.or(o.point.id);
            let slug = &n.point.slug;
            out.field(node, id, slug, "section", o.section, n.section);
            if o.section == n.section && moved[k] {
                out.field(
                    node,
                    id,
                    slug,
                    "position",
                    &o.position.to_string(),
                    &n.position.to_string(),
                );
            }
            out.field(node, id, slug, "slug", &o.point.slug, &n.point.slug);
            out.field(node, id, slug, "title", &o.point.title, &n.point.title);
            out.field(
                node,
                id,
                slug,
                "description",
                &o.point.description,
                &n.point.description,
            );
            if !same_tags(&o.point.topics, &n.point.topics) {
                out.field(
                    node,
                    id,
                    slug,
                    "topics",
                    &tags(&o.point.topics),
                    &tags(&n.point.topics),
                );
            }
        }
        for j in added {
            let p = new[j].point;
            out.presence(ChangeOp::Added, node, p.id, &p.slug, &p.title);
        }
    }
    out.changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::snapshot::SNAPSHOT_SCHEMA;

    fn point(id: i64, slug: &str, title: &str) -> PointSnapshot {
        PointSnapshot {
            id: Some(id),
            slug: slug.into(),
            title: title.into(),
            description: "d".into(),
            topics: Vec::new(),
        }
    }

    fn base() -> Snapshot {
        Snapshot {
            schema: SNAPSHOT_SCHEMA,
            slug: "a".into(),
            title: "A".into(),
            summary: "S.".into(),
            topics: Vec::new(),
            sections: vec![
                SectionSnapshot {
                    id: Some(1),
                    slug: "one".into(),
                    heading: "One".into(),
                    body: "B.".into(),
                    reforms: vec![point(10, "r", "R"), point(11, "q", "Q")],
                    reactions: Vec::new(),
                },
                SectionSnapshot {
                    id: Some(2),
                    slug: "two".into(),
                    heading: "Two".into(),
                    body: String::new(),
                    reforms: Vec::new(),
                    reactions: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn identical_versions_have_no_changes() {
        assert!(diff(&base(), &base()).is_empty());
    }

    #[test]
    fn typed_changes() {
        let from = base();
        let mut to = base();
        to.title = "A2".into();
        to.sections.swap(0, 1);
        to.sections[1].reforms.remove(1);
        to.sections[1].reforms[0].title = "R2".into();
        to.sections[0].heading = "Two!".into();
        to.sections.push(SectionSnapshot {
            id: Some(3),
            slug: "three".into(),
            heading: "Three".into(),
            body: String::new(),
            reforms: Vec::new(),
            reactions: Vec::new(),
        });
        let changes = diff(&from, &to);
        let summary: Vec<(ChangeOp, NodeKind, &str, Option<&str>)> = changes
            .iter()
            .map(|c| (c.op, c.node, c.slug.as_str(), c.field))
            .collect();
        assert_eq!(
            summary,
            [
                (ChangeOp::Changed, NodeKind::Article, "a", Some("title")),
                (ChangeOp::Moved, NodeKind::Section, "two", Some("position")),
                (ChangeOp::Changed, NodeKind::Section, "two", Some("heading")),
                (ChangeOp::Moved, NodeKind::Section, "one", Some("position")),
                (ChangeOp::Added, NodeKind::Section, "three", None),
                (ChangeOp::Removed, NodeKind::Reform, "q", None),
                (ChangeOp::Changed, NodeKind::Reform, "r", Some("title")),
            ]
        );
        assert_eq!(changes[0].old.as_deref(), Some("A"));
        assert_eq!(changes[0].new.as_deref(), Some("A2"));
        assert_eq!(changes[4].new.as_deref(), Some("Three"));
        assert_eq!(changes[5].old.as_deref(), Some("Q"));
    }
}
