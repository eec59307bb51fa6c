//! Global object identification: one opaque, stable ID encoding for every node type.
//!
//! An ID is the unpadded URL-safe base64 of `Type:primary-key`, e.g. `QXJ0aWNsZTox` for
//! `Article:1`. Clients must treat it as opaque; it only changes if the row's key does.
//!
//! GraphQL-free: editing stores and checks these IDs (`revisions.node_id`) without knowing
//! the schema; [`crate::graphql::ids`] converts them to the GraphQL `ID` scalar at the edge.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{error::Error, store::points::PointKind};

/// A decoded global ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GlobalId {
    /// An article.
    Article(i64),
    /// A section.
    Section(i64),
    /// A reform.
    Reform(i64),
    /// A reaction.
    Reaction(i64),
    /// A topic.
    Topic(i64),
}

impl GlobalId {
    /// The id of a reform or reaction.
    pub fn point(kind: PointKind, id: i64) -> Self {
        match kind {
            PointKind::Reform => Self::Reform(id),
            PointKind::Reaction => Self::Reaction(id),
        }
    }

    fn parts(self) -> (&'static str, i64) {
        match self {
            Self::Article(id) => ("Article", id),
            Self::Section(id) => ("Section", id),
            Self::Reform(id) => ("Reform", id),
            Self::Reaction(id) => ("Reaction", id),
            Self::Topic(id) => ("Topic", id),
        }
    }

    /// The opaque string form.
    pub fn encode(self) -> String {
        let (kind, id) = self.parts();
        URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
    }

    /// Decodes an ID; anything that is not one of ours is `BAD_USER_INPUT` naming `field`.
    pub fn decode(field: &str, id: &str) -> Result<Self, Error> {
        let malformed = || Error::bad_input(field, format!("{field}: {id:?} is not a valid ID"));
        let bytes = URL_SAFE_NO_PAD
            .decode(id.trim_end_matches('='))
            .map_err(|_| malformed())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed())?;
        let (kind, key) = text.split_once(':').ok_or_else(malformed)?;
        let key: i64 = key.parse().ok().filter(|k| *k > 0).ok_or_else(malformed)?;
        Ok(match kind {
            "Article" => Self::Article(key),
            "Section" => Self::Section(key),
            "Reform" => Self::Reform(key),
            "Reaction" => Self::Reaction(key),
            "Topic" => Self::Topic(key),
            _ => return Err(malformed()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_type() {
        for id in [
            GlobalId::Article(1),
            GlobalId::Section(22),
            GlobalId::Reform(3),
            GlobalId::Reaction(4),
            GlobalId::Topic(i64::MAX),
        ] {
            assert_eq!(GlobalId::decode("id", &id.encode()).unwrap(), id);
        }
        assert_eq!(GlobalId::Article(1).encode(), "QXJ0aWNsZTox");
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "!!!",
            "QXJ0aWNsZQ",
            &URL_SAFE_NO_PAD.encode("Planet:1"),
            &URL_SAFE_NO_PAD.encode("Article:x"),
            &URL_SAFE_NO_PAD.encode("Article:-1"),
        ] {
            assert!(GlobalId::decode("id", bad).is_err(), "{bad}");
        }
    }
}
