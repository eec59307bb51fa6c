//! The complete, versioned snapshot of an article tree that each revision stores.
//!
//! A snapshot holds everything an article is: its fields, its sections with their slugs,
//! headings and bodies in order, the reforms and reactions of each section with their slugs
//! and texts in order, and the topic tags of the article and of each point, with the database
//! ids the nodes had. Reverting restores a snapshot exactly; the plain-text document of a
//! revision is rendered from it. The JSON form carries [`Snapshot::schema`] so that later
//! versions of Annals can read old snapshots.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::document::{Document, PointDoc, SectionDoc};

/// The snapshot schema this build writes (and the newest it reads).
pub const SNAPSHOT_SCHEMA: u32 = 1;

/// A whole article at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The snapshot format's version ([`SNAPSHOT_SCHEMA`] when written by this build).
    pub schema: u32,
    /// The article's slug.
    pub slug: String,
    /// The article's title.
    pub title: String,
    /// The article's summary.
    pub summary: String,
    /// The topics tagged on the article, by topic id.
    #[serde(default)]
    pub topics: Vec<TopicRef>,
    /// The sections in document order (position = index + 1).
    pub sections: Vec<SectionSnapshot>,
}

/// One section at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionSnapshot {
    /// The section's database id at that version (absent in snapshots migrated from text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Unique in its article.
    pub slug: String,
    /// The heading.
    pub heading: String,
    /// The body, as stored.
    pub body: String,
    /// The section's reforms in order (position = index + 1).
    #[serde(default)]
    pub reforms: Vec<PointSnapshot>,
    /// The section's reactions in order (position = index + 1).
    #[serde(default)]
    pub reactions: Vec<PointSnapshot>,
}

/// One reform or reaction at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointSnapshot {
    /// The point's database id at that version (absent in snapshots migrated from text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Unique among the article's points of its kind.
    pub slug: String,
    /// The label.
    pub title: String,
    /// The text.
    pub description: String,
    /// The topics tagged on the point, by topic id.
    #[serde(default)]
    pub topics: Vec<TopicRef>,
}

/// A topic tag: the topic's id, and its slug when the snapshot was taken.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicRef {
    /// The topic's database id.
    pub id: i64,
    /// Its slug at the time (informational; tags are matched by id).
    pub slug: String,
}

/// Why a stored snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The JSON does not match the format.
    #[error("the snapshot is not valid: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Written by a newer Annals.
    #[error("the snapshot has schema {0}, newer than this build reads ({SNAPSHOT_SCHEMA})")]
    TooNew(u32),
}

impl Snapshot {
    /// Reads a stored snapshot.
    pub fn from_json(json: &str) -> Result<Self, SnapshotError> {
        let snapshot: Self = serde_json::from_str(json)?;
        if snapshot.schema > SNAPSHOT_SCHEMA {
            return Err(SnapshotError::TooNew(snapshot.schema));
        }
        Ok(snapshot)
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a snapshot is plain data and always serialises")
    }

    /// A snapshot of a document that has its slugs (see [`Document::with_slugs`]), with no
    /// ids and no tags.
    pub fn from_document(slug: &str, doc: &Document) -> Self {
        let points = |list: &[PointDoc]| -> Vec<PointSnapshot> {
            list.iter()
                .map(|p| PointSnapshot {
                    id: None,
                    slug: p.slug.clone().unwrap_or_default(),
                    title: p.title.clone(),
                    description: p.description.clone(),
                    topics: Vec::new(),
                })
                .collect()
        };
        Self {
            schema: SNAPSHOT_SCHEMA,
            slug: slug.to_owned(),
            title: doc.title.clone(),
            summary: doc.summary.clone(),
            topics: Vec::new(),
            sections: doc
                .sections
                .iter()
                .map(|s| SectionSnapshot {
                    id: None,
                    slug: s.slug.clone().unwrap_or_default(),
                    heading: s.heading.clone(),
                    body: s.body.clone(),
                    reforms: points(&s.reforms),
                    reactions: points(&s.reactions),
                })
                .collect(),
        }
    }

    /// The content as a document, with every slug.
    pub fn document(&self) -> Document {
        let points = |list: &[PointSnapshot]| -> Vec<PointDoc> {
            list.iter()
                .map(|p| PointDoc {
                    slug: Some(p.slug.clone()),
                    title: p.title.clone(),
                    description: p.description.clone(),
                })
                .collect()
        };
        Document {
            slug: Some(self.slug.clone()),
            title: self.title.clone(),
            summary: self.summary.clone(),
            sections: self
                .sections
                .iter()
                .map(|s| SectionDoc {
                    slug: Some(s.slug.clone()),
                    heading: s.heading.clone(),
                    body: s.body.clone(),
                    reforms: points(&s.reforms),
                    reactions: points(&s.reactions),
                })
                .collect(),
        }
    }

    /// The same snapshot without ids and with tags reduced to sorted topic ids: what two
    /// versions must share to be the same content.
    pub fn content(&self) -> Self {
        let tags = |t: &[TopicRef]| -> Vec<TopicRef> {
            let mut ids: Vec<TopicRef> = t
                .iter()
                .map(|t| TopicRef {
                    id: t.id,
                    slug: String::new(),
                })
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let points = |list: &[PointSnapshot]| -> Vec<PointSnapshot> {
            list.iter()
                .map(|p| PointSnapshot {
                    id: None,
                    topics: tags(&p.topics),
                    ..p.clone()
                })
                .collect()
        };
        Self {
            schema: SNAPSHOT_SCHEMA,
            topics: tags(&self.topics),
            sections: self
                .sections
                .iter()
                .map(|s| SectionSnapshot {
                    id: None,
                    reforms: points(&s.reforms),
                    reactions: points(&s.reactions),
                    ..s.clone()
                })
                .collect(),
            ..self.clone()
        }
    }

    /// Decides which node of `current` each node of this target becomes: a node keeps the id
    /// it has when `current` still has that id, else takes the id of the unclaimed current
    /// node with its slug (of its kind), else gets none (it will be inserted). Current nodes
    /// that nothing claims are the ones to delete.
    pub fn matched_to(mut self, current: &Snapshot) -> Self {
        claim(
            self.sections
                .iter_mut()
                .map(|s| (&mut s.id, s.slug.as_str())),
            current.sections.iter().map(|s| (s.id, s.slug.as_str())),
        );
        for reforms in [true, false] {
            let existing: Vec<(Option<i64>, String)> = current
                .sections
                .iter()
                .flat_map(|s| if reforms { &s.reforms } else { &s.reactions })
                .map(|p| (p.id, p.slug.clone()))
                .collect();
            claim(
                self.sections
                    .iter_mut()
                    .flat_map(|s| {
                        if reforms {
                            &mut s.reforms
                        } else {
                            &mut s.reactions
                        }
                    })
                    .map(|p| (&mut p.id, p.slug.as_str())),
                existing.iter().map(|(id, slug)| (*id, slug.as_str())),
            );
        }
        self
    }

    /// Gives every node without tags the tags its id has in `current` (what an import keeps).
    pub fn with_tags_of(mut self, current: &Snapshot) -> Self {
        let mut tags: HashMap<(bool, i64), Vec<TopicRef>> = HashMap::new();
        for s in &current.sections {
            for (reform, list) in [(true, &s.reforms), (false, &s.reactions)] {
                for p in list {
                    if let Some(id) = p.id {
                        tags.insert((reform, id), p.topics.clone());
                    }
                }
            }
        }
        self.topics.clone_from(&current.topics);
        for s in &mut self.sections {
            for (reform, list) in [(true, &mut s.reforms), (false, &mut s.reactions)] {
                for p in list.iter_mut() {
                    if let Some(id) = p.id
                        && p.topics.is_empty()
                    {
                        p.topics = tags.get(&(reform, id)).cloned().unwrap_or_default();
                    }
                }
            }
        }
        self
    }

    /// Every topic id the snapshot tags.
    pub fn topic_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .topics
            .iter()
            .chain(
                self.sections
                    .iter()
                    .flat_map(|s| s.reforms.iter().chain(&s.reactions))
                    .flat_map(|p| &p.topics),
            )
            .map(|t| t.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Drops the tags of topics that are not in `existing` (deleted since).
    pub fn retain_topics(&mut self, existing: &[i64]) {
        let keep = |t: &mut Vec<TopicRef>| t.retain(|t| existing.contains(&t.id));
        keep(&mut self.topics);
        for s in &mut self.sections {
            for p in s.reforms.iter_mut().chain(s.reactions.iter_mut()) {
                keep(&mut p.topics);
            }
        }
    }
}

/// Assigns ids to targets: first by id still present, then by slug among unclaimed ones.
fn claim<'a>(
    targets: impl Iterator<Item = (&'a mut Option<i64>, &'a str)>,
    current: impl Iterator<Item = (Option<i64>, &'a str)>,
) {
    let current: Vec<(i64, &str)> = current.filter_map(|(id, s)| Some((id?, s))).collect();
    let mut claimed: Vec<i64> = Vec::new();
    let mut by_slug: Vec<(&mut Option<i64>, &str)> = Vec::new();
    for (id, slug) in targets {
        match *id {
            Some(own) if current.iter().any(|(c, _)| *c == own) && !claimed.contains(&own) => {
                claimed.push(own);
            }
            _ => {
                *id = None;
                by_slug.push((id, slug));
            }
        }
    }
    for (id, slug) in by_slug {
        if let Some((c, _)) = current
            .iter()
            .find(|(c, s)| *s == slug && !claimed.contains(c))
        {
            claimed.push(*c);
            *id = Some(*c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: Option<i64>, slug: &str) -> PointSnapshot {
        PointSnapshot {
            id,
            slug: slug.into(),
            title: slug.into(),
            description: String::new(),
            topics: Vec::new(),
        }
    }

    fn section(id: Option<i64>, slug: &str, reforms: Vec<PointSnapshot>) -> SectionSnapshot {
        SectionSnapshot {
            id,
            slug: slug.into(),
            heading: slug.into(),
            body: String::new(),
            reforms,
            reactions: Vec::new(),
        }
    }

    fn snapshot(sections: Vec<SectionSnapshot>) -> Snapshot {
        Snapshot {
            schema: SNAPSHOT_SCHEMA,
            slug: "a".into(),
            title: "A".into(),
            summary: String::new(),
            topics: Vec::new(),
            sections,
        }
    }

    #[test]
    fn json_round_trip_and_schema_check() {
        let s = snapshot(vec![section(Some(1), "x", vec![point(Some(2), "p")])]);
        assert_eq!(Snapshot::from_json(&s.to_json()).unwrap(), s);
        let newer = s.to_json().replace("\"schema\":1", "\"schema\":99");
        assert!(matches!(
            Snapshot::from_json(&newer),
            Err(SnapshotError::TooNew(99))
        ));
        assert!(matches!(
            Snapshot::from_json("{\"schema\":1}"),
            Err(SnapshotError::Malformed(_))
        ));
    }

    #[test]
    fn matching_prefers_ids_then_slugs() {
        let current = snapshot(vec![
            section(Some(1), "a", vec![point(Some(10), "p")]),
            section(Some(2), "b", vec![]),
            section(Some(3), "c", vec![]),
        ]);
        // 1 renamed to "z" keeps its id; 9 is gone, so its slug "b" claims 2; "new" is new;
        // the point of a deleted-and-recreated section is matched by slug.
        let target = snapshot(vec![
            section(Some(1), "z", vec![]),
            section(Some(9), "b", vec![point(Some(99), "p")]),
            section(None, "new", vec![]),
        ])
        .matched_to(&current);
        let ids: Vec<Option<i64>> = target.sections.iter().map(|s| s.id).collect();
        assert_eq!(ids, [Some(1), Some(2), None]);
        assert_eq!(target.sections[1].reforms[0].id, Some(10));
        // A slug is claimed once only.
        let target = snapshot(vec![section(None, "c", vec![]), section(None, "c", vec![])])
            .matched_to(&current);
        assert_eq!(target.sections[0].id, Some(3));
        assert_eq!(target.sections[1].id, None);
    }

    #[test]
    fn content_ignores_ids_and_tag_order() {
        let mut a = snapshot(vec![section(Some(1), "a", vec![point(Some(2), "p")])]);
        let mut b = snapshot(vec![section(None, "a", vec![point(None, "p")])]);
        a.topics = vec![
            TopicRef {
                id: 2,
                slug: "x".into(),
            },
            TopicRef {
                id: 1,
                slug: "y".into(),
            },
        ];
        b.topics = vec![
            TopicRef {
                id: 1,
                slug: "renamed".into(),
            },
            TopicRef {
                id: 2,
                slug: "x".into(),
            },
        ];
        assert_eq!(a.content(), b.content());
        b.sections[0].reforms[0].description = "changed".into();
        assert_ne!(a.content(), b.content());
    }

    #[test]
    fn tags_are_inherited_by_id() {
        let mut current = snapshot(vec![section(Some(1), "a", vec![point(Some(2), "p")])]);
        current.sections[0].reforms[0].topics = vec![TopicRef {
            id: 5,
            slug: "t".into(),
        }];
        let target = snapshot(vec![section(
            None,
            "a",
            vec![point(None, "p"), point(None, "q")],
        )])
        .matched_to(&current)
        .with_tags_of(&current);
        assert_eq!(target.sections[0].reforms[0].topics.len(), 1);
        assert!(target.sections[0].reforms[1].topics.is_empty());
        assert_eq!(target.topic_ids(), [5]);
    }
}
