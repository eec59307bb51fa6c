//! Which columns a read selects: every column, or all but an entity's large text columns.
//!
//! A GraphQL request that asks for a section's heading has no use for its body, which is
//! most of the row's bytes; the same holds for an article's summary, a point's description
//! and a revision's document and snapshot. Each read the loaders make takes a [`Columns`], and
//! there are exactly two shapes per entity (so two statement texts, never one per query). A
//! row read [`Columns::Narrow`] has those fields empty (`""`, or `None` for a revision's
//! snapshot): only code that never reads them may ask for it.

use sea_orm::{DbErr, QueryResult, TryGetable};

use crate::{
    entities::{article, revision, section},
    store::points::Point,
};

/// The column shape of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Columns {
    /// Every column but the entity's large text ones.
    Narrow,
    /// Every column.
    #[default]
    Full,
}

impl Columns {
    /// `Full` when `wide`, else `Narrow`.
    pub fn full_if(wide: bool) -> Self {
        if wide { Self::Full } else { Self::Narrow }
    }

    /// The widest of several shapes: one read answers them all (`Narrow` for none).
    pub fn widest(shapes: impl IntoIterator<Item = Self>) -> Self {
        shapes.into_iter().max().unwrap_or(Self::Narrow)
    }

    /// `narrow`, followed by `extra` when every column is asked for.
    pub fn list(self, narrow: &'static str, extra: &'static str) -> String {
        match self {
            Self::Narrow => narrow.to_owned(),
            Self::Full => format!("{narrow}{extra}"),
        }
    }

    /// The large column `prefix` + `name` of `row` when it was selected, else its default
    /// (empty).
    fn large<T: TryGetable + Default>(
        self,
        row: &QueryResult,
        prefix: &str,
        name: &str,
    ) -> Result<T, DbErr> {
        match self {
            Self::Narrow => Ok(T::default()),
            Self::Full => Ok(row.try_get(prefix, name)?),
        }
    }
}

/// `list` (`s.id, s.heading`) with each column named `prefix` + its name (`s.id AS s_id,
/// s.heading AS s_heading`): the select list of a joined statement whose rows are read with
/// [`FromColumns::from_prefixed`].
pub fn aliased(list: &str, prefix: &str) -> String {
    list.split(", ")
        .map(|column| {
            let name = column.rsplit('.').next().unwrap_or(column);
            format!("{column} AS {prefix}{name}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds a row of an entity from a statement that selected it in a [`Columns`] shape.
pub trait FromColumns: Sized {
    /// The columns every shape selects, with the table alias the store uses (`s.`, `a.`...).
    const NARROW: &'static str;
    /// What [`Columns::Full`] selects besides, starting with `", "`.
    const LARGE: &'static str;

    /// The select list of `columns`.
    fn select_list(columns: Columns) -> String {
        columns.list(Self::NARROW, Self::LARGE)
    }

    /// The row, with the large fields empty when they were not selected.
    fn from_columns(row: &QueryResult, columns: Columns) -> Result<Self, DbErr> {
        Self::from_prefixed(row, "", columns)
    }

    /// The row from the columns named `prefix` + each column's name (a joined statement
    /// selects `s.id AS s_id`...), with the large fields empty when they were not selected.
    fn from_prefixed(row: &QueryResult, prefix: &str, columns: Columns) -> Result<Self, DbErr>;
}

impl FromColumns for section::Model {
    const NARROW: &'static str = "s.id, s.article_id, s.position, s.slug, s.heading";
    const LARGE: &'static str = ", s.body";

    fn from_prefixed(row: &QueryResult, p: &str, columns: Columns) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get(p, "id")?,
            article_id: row.try_get(p, "article_id")?,
            position: row.try_get(p, "position")?,
            slug: row.try_get(p, "slug")?,
            heading: row.try_get(p, "heading")?,
            body: columns.large(row, p, "body")?,
        })
    }
}

impl FromColumns for article::Model {
    const NARROW: &'static str = "a.id, a.slug, a.title, a.version, a.created_at, a.updated_at";
    const LARGE: &'static str = ", a.summary";

    fn from_prefixed(row: &QueryResult, p: &str, columns: Columns) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get(p, "id")?,
            slug: row.try_get(p, "slug")?,
            title: row.try_get(p, "title")?,
            summary: columns.large(row, p, "summary")?,
            version: row.try_get(p, "version")?,
            created_at: row.try_get(p, "created_at")?,
            updated_at: row.try_get(p, "updated_at")?,
        })
    }
}

impl FromColumns for Point {
    const NARROW: &'static str = "p.id, p.article_id, p.section_id, p.position, p.slug, p.title";
    const LARGE: &'static str = ", p.description";

    fn from_prefixed(row: &QueryResult, p: &str, columns: Columns) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get(p, "id")?,
            article_id: row.try_get(p, "article_id")?,
            section_id: row.try_get(p, "section_id")?,
            position: row.try_get(p, "position")?,
            slug: row.try_get(p, "slug")?,
            title: row.try_get(p, "title")?,
            description: columns.large(row, p, "description")?,
        })
    }
}

impl FromColumns for revision::Model {
    const NARROW: &'static str =
        "r.id, r.article_id, r.version, r.created_at, r.editor, r.change, r.node_id";
    const LARGE: &'static str = ", r.document, r.snapshot";

    fn from_prefixed(row: &QueryResult, p: &str, columns: Columns) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get(p, "id")?,
            article_id: row.try_get(p, "article_id")?,
            version: row.try_get(p, "version")?,
            created_at: row.try_get(p, "created_at")?,
            editor: row.try_get(p, "editor")?,
            change: row.try_get(p, "change")?,
            node_id: row.try_get(p, "node_id")?,
            document: columns.large(row, p, "document")?,
            snapshot: columns.large(row, p, "snapshot")?,
        })
    }
}

/// Runs `statement` and reads every row in the `columns` shape.
pub async fn all<T: FromColumns>(
    db: &impl sea_orm::ConnectionTrait,
    statement: sea_orm::Statement,
    columns: Columns,
) -> crate::error::Result<Vec<T>> {
    let rows = db.query_all_raw(statement).await?;
    Ok(rows
        .iter()
        .map(|row| T::from_columns(row, columns))
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_widest_shape_answers_every_key() {
        assert_eq!(Columns::widest([]), Columns::Narrow);
        assert_eq!(
            Columns::widest([Columns::Narrow, Columns::Narrow]),
            Columns::Narrow
        );
        assert_eq!(
            Columns::widest([Columns::Narrow, Columns::Full]),
            Columns::Full
        );
        assert_eq!(
            section::Model::select_list(Columns::Narrow),
            "s.id, s.article_id, s.position, s.slug, s.heading"
        );
        assert!(section::Model::select_list(Columns::Full).ends_with(", s.body"));
        assert_eq!(
            aliased(&section::Model::select_list(Columns::Full), "s_"),
            "s.id AS s_id, s.article_id AS s_article_id, s.position AS s_position, \
             s.slug AS s_slug, s.heading AS s_heading, s.body AS s_body"
        );
    }
}
