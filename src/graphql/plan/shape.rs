//! Reading a validated query into a [`Plan`]: which fields of which objects, under which
//! response keys, with the arguments resolved from literals and variables.
//!
//! Only the shapes the plan executor knows are read; anything else (fragments, directives,
//! a response key given twice, fields or arguments outside the list below, an argument value
//! of an unexpected kind) makes [`Plan::read`] return `None`, and the query runs through the
//! resolvers as before. The document has passed validation, so names and types are known to
//! be right; what is read here is only which of them a query uses.

use async_graphql::{
    Name, Value, Variables,
    parser::types::{
        ExecutableDocument, Field, OperationDefinition, OperationType, Selection, SelectionSet,
    },
};

use crate::graphql::{cost, pagination::PageArgs};

/// A field of a selection set and its response key (the alias, or the field's name).
#[derive(Debug)]
pub struct Keyed<T> {
    /// The response key.
    pub key: Name,
    /// What goes under it.
    pub field: T,
}

/// A plannable query: its root fields in selection order.
#[derive(Debug)]
pub struct Plan {
    /// The root fields.
    pub fields: Vec<Keyed<RootField>>,
}

/// A field of `Query`.
#[derive(Debug)]
pub enum RootField {
    /// `__typename`.
    Typename,
    /// `article(slug:)`.
    Article {
        /// The slug argument.
        slug: String,
        /// The article's selection.
        fields: Vec<Keyed<ArticleField>>,
    },
    /// `articles(first:, after:, last:, before:)`, in the default order and unfiltered.
    Articles {
        /// The page arguments.
        args: PageArgs,
        /// The connection's selection.
        connection: Vec<Keyed<ConnectionField>>,
    },
    /// `topic(slug:)`.
    Topic {
        /// The slug argument.
        slug: String,
        /// The topic's selection.
        fields: Vec<Keyed<TopicField>>,
    },
}

/// A field of `Article`.
#[derive(Debug)]
pub enum ArticleField {
    /// `__typename`.
    Typename,
    /// `id`.
    Id,
    /// `slug`.
    Slug,
    /// `title`.
    Title,
    /// `summary`.
    Summary,
    /// `version`.
    Version,
    /// `createdAt`.
    CreatedAt,
    /// `updatedAt`.
    UpdatedAt,
    /// `sections`.
    Sections(Vec<Keyed<SectionField>>),
    /// `reforms`.
    Reforms(Vec<Keyed<PointField>>),
    /// `reactions`.
    Reactions(Vec<Keyed<PointField>>),
    /// `topics`.
    Topics(Vec<Keyed<TopicField>>),
}

/// A field of `Section`.
#[derive(Debug)]
pub enum SectionField {
    /// `__typename`.
    Typename,
    /// `id`.
    Id,
    /// `slug`.
    Slug,
    /// `heading`.
    Heading,
    /// `position`.
    Position,
    /// `body`.
    Body,
}

/// A field of `Reform` or `Reaction`.
#[derive(Debug)]
pub enum PointField {
    /// `__typename`.
    Typename,
    /// `id`.
    Id,
    /// `slug`.
    Slug,
    /// `title`.
    Title,
    /// `description`.
    Description,
    /// `position`.
    Position,
}

/// A field of `Topic`.
#[derive(Debug)]
pub enum TopicField {
    /// `__typename`.
    Typename,
    /// `id`.
    Id,
    /// `slug`.
    Slug,
    /// `name`.
    Name,
    /// `description`.
    Description,
    /// `articles(first:, after:, last:, before:)` (only on the root `topic`).
    Articles {
        /// The page arguments.
        args: PageArgs,
        /// The connection's selection.
        connection: Vec<Keyed<ConnectionField>>,
    },
}

/// A field of `ArticleConnection`.
#[derive(Debug)]
pub enum ConnectionField {
    /// `__typename`.
    Typename,
    /// `nodes`.
    Nodes(Vec<Keyed<ArticleField>>),
    /// `edges`.
    Edges(Vec<Keyed<EdgeField>>),
    /// `pageInfo`.
    PageInfo(Vec<Keyed<PageInfoField>>),
}

/// A field of `ArticleEdge`.
#[derive(Debug)]
pub enum EdgeField {
    /// `__typename`.
    Typename,
    /// `cursor`.
    Cursor,
    /// `node`.
    Node(Vec<Keyed<ArticleField>>),
}

/// A field of `PageInfo`.
#[derive(Debug)]
pub enum PageInfoField {
    /// `__typename`.
    Typename,
    /// `hasNextPage`.
    HasNextPage,
    /// `hasPreviousPage`.
    HasPreviousPage,
    /// `startCursor`.
    StartCursor,
    /// `endCursor`.
    EndCursor,
}

impl Plan {
    /// The plan of the operation `operation_name` selects in `doc`, or `None` when it is not a
    /// query or asks for anything the plan executor does not know.
    pub fn read(
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Option<Self> {
        let operation = cost::operation(doc, operation_name)?;
        if operation.ty != OperationType::Query || !operation.directives.is_empty() {
            return None;
        }
        let reader = Reader {
            operation,
            variables,
        };
        let fields = reader.fields(&operation.selection_set.node, |field| {
            reader.root_field(field)
        })?;
        Some(Self { fields })
    }
}

struct Reader<'a> {
    operation: &'a OperationDefinition,
    variables: &'a Variables,
}

impl Reader<'_> {
    /// Each field of `set` read by `each`; `None` for anything but plain fields with distinct
    /// response keys and no directives.
    fn fields<T>(
        &self,
        set: &SelectionSet,
        mut each: impl FnMut(&Field) -> Option<T>,
    ) -> Option<Vec<Keyed<T>>> {
        let mut out: Vec<Keyed<T>> = Vec::with_capacity(set.items.len());
        for item in &set.items {
            let Selection::Field(field) = &item.node else {
                return None;
            };
            let field = &field.node;
            if !field.directives.is_empty() {
                return None;
            }
            let key = field.response_key().node.clone();
            if out.iter().any(|k| k.key == key) {
                return None;
            }
            out.push(Keyed {
                key,
                field: each(field)?,
            });
        }
        Some(out)
    }

    /// Whether `field` has no arguments other than `allowed`.
    fn only_arguments(field: &Field, allowed: &[&str]) -> bool {
        field
            .arguments
            .iter()
            .all(|(name, _)| allowed.contains(&name.node.as_str()))
    }

    /// The value of argument `name` (null when absent), with variables put in.
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        let Some(value) = field.get_argument(name) else {
            return Some(Value::Null);
        };
        value
            .node
            .clone()
            .into_const_with(|variable| Ok::<_, ()>(self.variable(&variable)))
            .ok()
    }

    /// A variable's value: as sent, else its default, else null.
    fn variable(&self, name: &Name) -> Value {
        if let Some(value) = self.variables.get(name) {
            return value.clone();
        }
        self.operation
            .variable_definitions
            .iter()
            .find(|def| def.node.name.node == *name)
            .and_then(|def| def.node.default_value.as_ref())
            .map(|value| value.node.clone())
            .unwrap_or(Value::Null)
    }

    fn string(&self, field: &Field, name: &str) -> Option<Option<String>> {
        match self.argument(field, name)? {
            Value::Null => Some(None),
            Value::String(s) => Some(Some(s)),
            _ => None,
        }
    }

    fn int(&self, field: &Field, name: &str) -> Option<Option<i32>> {
        match self.argument(field, name)? {
            Value::Null => Some(None),
            Value::Number(n) => Some(Some(i32::try_from(n.as_i64()?).ok()?)),
            _ => None,
        }
    }

    fn page_args(&self, field: &Field) -> Option<PageArgs> {
        if !Self::only_arguments(field, &["first", "after", "last", "before"]) {
            return None;
        }
        Some(PageArgs::new(
            self.int(field, "first")?,
            self.string(field, "after")?,
            self.int(field, "last")?,
            self.string(field, "before")?,
        ))
    }

    fn slug(&self, field: &Field) -> Option<String> {
        if !Self::only_arguments(field, &["slug"]) {
            return None;
        }
        self.string(field, "slug")?
    }

    fn root_field(&self, field: &Field) -> Option<RootField> {
        let set = &field.selection_set.node;
        Some(match field.name.node.as_str() {
            "__typename" => RootField::Typename,
            "article" => RootField::Article {
                slug: self.slug(field)?,
                fields: self.fields(set, |f| self.article_field(f))?,
            },
            "articles" => RootField::Articles {
                args: self.page_args(field)?,
                connection: self.fields(set, |f| self.connection_field(f))?,
            },
            "topic" => RootField::Topic {
                slug: self.slug(field)?,
                fields: self.fields(set, |f| self.topic_field(f, true))?,
            },
            _ => return None,
        })
    }

    fn article_field(&self, field: &Field) -> Option<ArticleField> {
        let set = &field.selection_set.node;
        Some(match field.name.node.as_str() {
            "__typename" => ArticleField::Typename,
            "id" => ArticleField::Id,
            "slug" => ArticleField::Slug,
            "title" => ArticleField::Title,
            "summary" => ArticleField::Summary,
            "version" => ArticleField::Version,
            "createdAt" => ArticleField::CreatedAt,
            "updatedAt" => ArticleField::UpdatedAt,
            "sections" => ArticleField::Sections(self.fields(set, section_field)?),
            "reforms" => ArticleField::Reforms(self.fields(set, point_field)?),
            "reactions" => ArticleField::Reactions(self.fields(set, point_field)?),
            "topics" => ArticleField::Topics(self.fields(set, |f| self.topic_field(f, false))?),
            _ => return None,
        })
    }

    /// A field of a topic; its `articles` only at the root (`with_articles`).
    fn topic_field(&self, field: &Field, with_articles: bool) -> Option<TopicField> {
        let set = &field.selection_set.node;
        Some(match field.name.node.as_str() {
            "__typename" => TopicField::Typename,
            "id" => TopicField::Id,
            "slug" => TopicField::Slug,
            "name" => TopicField::Name,
            "description" => TopicField::Description,
            "articles" if with_articles => TopicField::Articles {
                args: self.page_args(field)?,
                connection: self.fields(set, |f| self.connection_field(f))?,
            },
            _ => return None,
        })
    }

    fn connection_field(&self, field: &Field) -> Option<ConnectionField> {
        let set = &field.selection_set.node;
        Some(match field.name.node.as_str() {
            "__typename" => ConnectionField::Typename,
            "nodes" => ConnectionField::Nodes(self.fields(set, |f| self.article_field(f))?),
            "edges" => ConnectionField::Edges(self.fields(set, |f| {
                Some(match f.name.node.as_str() {
                    "__typename" => EdgeField::Typename,
                    "cursor" => EdgeField::Cursor,
                    "node" => EdgeField::Node(
                        self.fields(&f.selection_set.node, |a| self.article_field(a))?,
                    ),
                    _ => return None,
                })
            })?),
            "pageInfo" => ConnectionField::PageInfo(self.fields(set, |f| {
                Some(match f.name.node.as_str() {
                    "__typename" => PageInfoField::Typename,
                    "hasNextPage" => PageInfoField::HasNextPage,
                    "hasPreviousPage" => PageInfoField::HasPreviousPage,
                    "startCursor" => PageInfoField::StartCursor,
                    "endCursor" => PageInfoField::EndCursor,
                    _ => return None,
                })
            })?),
            _ => return None,
        })
    }
}

fn section_field(field: &Field) -> Option<SectionField> {
    Some(match field.name.node.as_str() {
        "__typename" => SectionField::Typename,
        "id" => SectionField::Id,
        "slug" => SectionField::Slug,
        "heading" => SectionField::Heading,
        "position" => SectionField::Position,
        "body" => SectionField::Body,
        _ => return None,
    })
}

fn point_field(field: &Field) -> Option<PointField> {
    Some(match field.name.node.as_str() {
        "__typename" => PointField::Typename,
        "id" => PointField::Id,
        "slug" => PointField::Slug,
        "title" => PointField::Title,
        "description" => PointField::Description,
        "position" => PointField::Position,
        _ => return None,
    })
}

impl ArticleField {
    /// Whether any of `fields` reads the article's large columns (its `summary`).
    pub fn wide(fields: &[Keyed<Self>]) -> bool {
        fields.iter().any(|f| matches!(f.field, Self::Summary))
    }
}

/// Whether the nodes of a connection (through `nodes` or `edges { node }`) read the
/// articles' large columns.
pub fn connection_wide(connection: &[Keyed<ConnectionField>]) -> bool {
    connection.iter().any(|f| match &f.field {
        ConnectionField::Nodes(fields) => ArticleField::wide(fields),
        ConnectionField::Edges(edge) => edge.iter().any(|e| match &e.field {
            EdgeField::Node(fields) => ArticleField::wide(fields),
            _ => false,
        }),
        _ => false,
    })
}
