//! Writing a planned response: the loaded rows serialized straight into the response's JSON,
//! in selection order, with no value tree in between; and counted as the guard counts
//! resolved fields, so the response-size limit holds alike on both paths.
//!
//! Each view below serializes one object type and counts it (`bytes`) from the same fields;
//! the two stay side by side so that they read the same.

use std::collections::HashMap;

use async_graphql::{Name, ScalarType};
use serde::{
    Serialize, Serializer,
    ser::{SerializeMap, SerializeSeq},
};

use super::{
    run::Root,
    shape::{
        ArticleField, ConnectionField, EdgeField, Keyed, PageInfoField, Plan, PointField,
        RootField, SectionField, TopicField,
    },
};
use crate::{
    entities::{article, section, topic},
    graphql::{
        ids::GlobalId,
        loaders::{ArticlesOfTopic, PointsOfArticle, SectionsOfArticle, TopicsOf},
        pagination::{ListId, PageArgs},
        response_size::{BOOLEAN_BYTES, NULL_BYTES, NUMBER_BYTES, key_bytes, string_bytes},
        types::topic::topic_articles_list,
    },
    store::{
        articles::ArticleSort,
        columns::Columns,
        page::Page,
        points::{Point, PointKind},
        topics::Tagged,
    },
};

/// What a plan loaded below its root fields.
#[derive(Default)]
pub struct Loaded {
    /// The root topics' pages of articles.
    pub topic_pages: HashMap<ArticlesOfTopic, Page<article::Model>>,
    /// Sections by article.
    pub sections: HashMap<SectionsOfArticle, Vec<section::Model>>,
    /// Reforms and reactions by article.
    pub points: HashMap<PointsOfArticle, Vec<Point>>,
    /// Topics by article.
    pub topics: HashMap<TopicsOf, Vec<topic::Model>>,
}

/// A planned query's data, ready to serialize: the plan and everything it loaded.
pub struct Planned {
    plan: Plan,
    roots: Vec<Root>,
    loaded: Loaded,
}

impl std::fmt::Debug for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planned").field("plan", &self.plan).finish()
    }
}

impl Planned {
    /// The data of `plan`, whose root fields loaded `roots` (in order) and the rest `loaded`.
    pub fn new(plan: Plan, roots: Vec<Root>, loaded: Loaded) -> Self {
        Self {
            plan,
            roots,
            loaded,
        }
    }

    /// What the guard would count for these fields ([`crate::graphql::response_size`]).
    pub fn bytes(&self) -> u64 {
        self.fields()
            .map(|(key, value)| match value {
                RootValue::Typename => 0,
                RootValue::Article(a) => key_bytes(key) + a.map_or(NULL_BYTES, |a| a.bytes()),
                RootValue::Connection(c) => key_bytes(key) + c.bytes(),
                RootValue::Topic(t) => key_bytes(key) + t.map_or(NULL_BYTES, |t| t.bytes()),
            })
            .sum()
    }

    fn fields(&self) -> impl Iterator<Item = (&Name, RootValue<'_>)> {
        let loaded = &self.loaded;
        self.plan
            .fields
            .iter()
            .zip(&self.roots)
            .map(move |(Keyed { key, field }, root)| {
                let value = match (field, root) {
                    (RootField::Article { fields, .. }, Root::Article(a)) => {
                        RootValue::Article(a.as_ref().map(|a| ArticleView { a, fields, loaded }))
                    }
                    (RootField::Articles { connection, .. }, Root::Articles(list, page)) => {
                        RootValue::Connection(ConnectionView {
                            page,
                            list: list.clone(),
                            fields: connection,
                            loaded,
                        })
                    }
                    (RootField::Topic { fields, .. }, Root::Topic(t)) => {
                        RootValue::Topic(t.as_ref().map(|t| TopicView { t, fields, loaded }))
                    }
                    // `run` loads each root field's own kind of root.
                    _ => RootValue::Typename,
                };
                (key, value)
            })
    }
}

impl Serialize for Planned {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.plan.fields.len()))?;
        for (key, value) in self.fields() {
            match value {
                RootValue::Typename => map.serialize_entry(key.as_str(), "Query")?,
                RootValue::Article(a) => map.serialize_entry(key.as_str(), &a)?,
                RootValue::Connection(c) => map.serialize_entry(key.as_str(), &c)?,
                RootValue::Topic(t) => map.serialize_entry(key.as_str(), &t)?,
            }
        }
        map.end()
    }
}

enum RootValue<'a> {
    Typename,
    Article(Option<ArticleView<'a>>),
    Connection(ConnectionView<'a>),
    Topic(Option<TopicView<'a>>),
}

/// The page key of a root topic's `articles` field.
pub fn topic_page_key(
    topic: &topic::Model,
    args: &PageArgs,
    connection: &[Keyed<ConnectionField>],
) -> Result<ArticlesOfTopic, crate::error::Error> {
    let window = args.window(&topic_articles_list(topic.id))?;
    Ok(ArticlesOfTopic(
        topic.id,
        window,
        Columns::full_if(super::shape::connection_wide(connection)),
    ))
}

/// The column shape a `sections` selection loads.
pub fn section_columns(fields: &[Keyed<SectionField>]) -> Columns {
    Columns::full_if(fields.iter().any(|f| matches!(f.field, SectionField::Body)))
}

/// The column shape a `reforms` or `reactions` selection loads.
pub fn point_columns(fields: &[Keyed<PointField>]) -> Columns {
    Columns::full_if(
        fields
            .iter()
            .any(|f| matches!(f.field, PointField::Description)),
    )
}

/// A scalar the way the guard counts it and the JSON writes it.
enum Scalar<'a> {
    Str(&'a str),
    Owned(String),
    Int(i32),
    Bool(bool),
    Null,
}

impl Scalar<'_> {
    fn bytes(&self) -> u64 {
        match self {
            Self::Str(s) => string_bytes(s),
            Self::Owned(s) => string_bytes(s),
            Self::Int(_) => NUMBER_BYTES,
            Self::Bool(_) => BOOLEAN_BYTES,
            Self::Null => NULL_BYTES,
        }
    }
}

impl Serialize for Scalar<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Str(s) => serializer.serialize_str(s),
            Self::Owned(s) => serializer.serialize_str(s),
            Self::Int(n) => serializer.serialize_i32(*n),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Null => serializer.serialize_unit(),
        }
    }
}

/// A timestamp as async-graphql's `DateTime` scalar writes it.
fn time(t: &chrono::DateTime<chrono::Utc>) -> Scalar<'static> {
    match t.to_value() {
        async_graphql::Value::String(s) => Scalar::Owned(s),
        _ => Scalar::Null,
    }
}

/// What an object field is: a scalar, or something with fields of its own.
enum FieldValue<'a> {
    Typename(&'static str),
    Scalar(Scalar<'a>),
    Sections(SectionsView<'a>),
    Points(PointsView<'a>),
    Topics(TopicsView<'a>),
    Articles(ArticlesView<'a>),
    Edges(EdgesView<'a>),
    Article(ArticleView<'a>),
    PageInfo(PageInfoView<'a>),
    Connection(ConnectionView<'a>),
}

impl FieldValue<'_> {
    /// The guard's count for a field with this value under `key` (`__typename` is not
    /// counted: async-graphql answers it without resolving a field).
    fn bytes(&self, key: &Name) -> u64 {
        let value = match self {
            Self::Typename(_) => return 0,
            Self::Scalar(s) => s.bytes(),
            Self::Sections(v) => v.bytes(),
            Self::Points(v) => v.bytes(),
            Self::Topics(v) => v.bytes(),
            Self::Articles(v) => v.bytes(),
            Self::Edges(v) => v.bytes(),
            Self::Article(v) => v.bytes(),
            Self::PageInfo(v) => v.bytes(),
            Self::Connection(v) => v.bytes(),
        };
        key_bytes(key) + value
    }
}

impl Serialize for FieldValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Typename(name) => serializer.serialize_str(name),
            Self::Scalar(s) => s.serialize(serializer),
            Self::Sections(v) => v.serialize(serializer),
            Self::Points(v) => v.serialize(serializer),
            Self::Topics(v) => v.serialize(serializer),
            Self::Articles(v) => v.serialize(serializer),
            Self::Edges(v) => v.serialize(serializer),
            Self::Article(v) => v.serialize(serializer),
            Self::PageInfo(v) => v.serialize(serializer),
            Self::Connection(v) => v.serialize(serializer),
        }
    }
}

/// An object type's view: its fields, each with its value.
trait Object {
    type Field;
    fn fields(&self) -> &[Keyed<Self::Field>];
    fn value<'s>(&'s self, field: &'s Self::Field) -> FieldValue<'s>;

    /// The guard's count for this object's fields.
    fn bytes(&self) -> u64 {
        self.fields()
            .iter()
            .map(|f| self.value(&f.field).bytes(&f.key))
            .sum()
    }

    /// The object, its fields in selection order.
    fn write<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = self.fields();
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for f in fields {
            map.serialize_entry(f.key.as_str(), &self.value(&f.field))?;
        }
        map.end()
    }
}

macro_rules! serialize_object {
    ($($view:ident),*) => {
        $(impl Serialize for $view<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.write(serializer)
            }
        })*
    };
}
serialize_object!(
    ArticleView,
    SectionView,
    PointView,
    TopicView,
    ConnectionView,
    EdgeView,
    PageInfoView
);

/// A list of objects: serialized as an array, counted through its items' fields.
macro_rules! list_view {
    ($view:ident, $item:ident, |$this:ident| $items:expr) => {
        impl $view<'_> {
            fn items(&self) -> impl Iterator<Item = $item<'_>> {
                let $this = self;
                $items
            }

            fn bytes(&self) -> u64 {
                self.items().map(|item| item.bytes()).sum()
            }
        }

        impl Serialize for $view<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let items = self.items();
                let mut seq = serializer.serialize_seq(Some(items.size_hint().0))?;
                for item in items {
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
        }
    };
}

struct ArticleView<'a> {
    a: &'a article::Model,
    fields: &'a [Keyed<ArticleField>],
    loaded: &'a Loaded,
}

impl Object for ArticleView<'_> {
    type Field = ArticleField;

    fn fields(&self) -> &[Keyed<ArticleField>] {
        self.fields
    }

    fn value<'s>(&'s self, field: &'s ArticleField) -> FieldValue<'s> {
        let (a, loaded) = (self.a, self.loaded);
        let points = |kind, fields| {
            FieldValue::Points(PointsView {
                kind,
                rows: loaded
                    .points
                    .get(&PointsOfArticle(kind, a.id, point_columns(fields)))
                    .map_or(&[], Vec::as_slice),
                fields,
            })
        };
        FieldValue::Scalar(match field {
            ArticleField::Typename => return FieldValue::Typename("Article"),
            ArticleField::Id => Scalar::Owned(GlobalId::Article(a.id).encode()),
            ArticleField::Slug => Scalar::Str(&a.slug),
            ArticleField::Title => Scalar::Str(&a.title),
            ArticleField::Summary => Scalar::Str(&a.summary),
            ArticleField::Version => Scalar::Int(a.version),
            ArticleField::CreatedAt => time(&a.created_at),
            ArticleField::UpdatedAt => time(&a.updated_at),
            ArticleField::Sections(fields) => {
                return FieldValue::Sections(SectionsView {
                    rows: loaded
                        .sections
                        .get(&SectionsOfArticle(a.id, section_columns(fields)))
                        .map_or(&[], Vec::as_slice),
                    fields,
                });
            }
            ArticleField::Reforms(fields) => return points(PointKind::Reform, fields),
            ArticleField::Reactions(fields) => return points(PointKind::Reaction, fields),
            ArticleField::Topics(fields) => {
                return FieldValue::Topics(TopicsView {
                    rows: loaded
                        .topics
                        .get(&TopicsOf(Tagged::Article, a.id))
                        .map_or(&[], Vec::as_slice),
                    fields,
                    loaded,
                });
            }
        })
    }
}

struct SectionView<'a> {
    s: &'a section::Model,
    fields: &'a [Keyed<SectionField>],
}

impl Object for SectionView<'_> {
    type Field = SectionField;

    fn fields(&self) -> &[Keyed<SectionField>] {
        self.fields
    }

    fn value<'s>(&'s self, field: &'s SectionField) -> FieldValue<'s> {
        let s = self.s;
        FieldValue::Scalar(match field {
            SectionField::Typename => return FieldValue::Typename("Section"),
            SectionField::Id => Scalar::Owned(GlobalId::Section(s.id).encode()),
            SectionField::Slug => Scalar::Str(&s.slug),
            SectionField::Heading => Scalar::Str(&s.heading),
            SectionField::Position => Scalar::Int(s.position),
            SectionField::Body => Scalar::Str(&s.body),
        })
    }
}

struct SectionsView<'a> {
    rows: &'a [section::Model],
    fields: &'a [Keyed<SectionField>],
}

list_view!(SectionsView, SectionView, |this| this.rows.iter().map(
    |s| SectionView {
        s,
        fields: this.fields
    }
));

struct PointView<'a> {
    kind: PointKind,
    p: &'a Point,
    fields: &'a [Keyed<PointField>],
}

impl Object for PointView<'_> {
    type Field = PointField;

    fn fields(&self) -> &[Keyed<PointField>] {
        self.fields
    }

    fn value<'s>(&'s self, field: &'s PointField) -> FieldValue<'s> {
        let p = self.p;
        FieldValue::Scalar(match field {
            PointField::Typename => {
                return FieldValue::Typename(match self.kind {
                    PointKind::Reform => "Reform",
                    PointKind::Reaction => "Reaction",
                });
            }
            PointField::Id => Scalar::Owned(GlobalId::point(self.kind, p.id).encode()),
            PointField::Slug => Scalar::Str(&p.slug),
            PointField::Title => Scalar::Str(&p.title),
            PointField::Description => Scalar::Str(&p.description),
            PointField::Position => Scalar::Int(p.position),
        })
    }
}

struct PointsView<'a> {
    kind: PointKind,
    rows: &'a [Point],
    fields: &'a [Keyed<PointField>],
}

list_view!(PointsView, PointView, |this| this.rows.iter().map(|p| {
    PointView {
        kind: this.kind,
        p,
        fields: this.fields,
    }
}));

struct TopicView<'a> {
    t: &'a topic::Model,
    fields: &'a [Keyed<TopicField>],
    loaded: &'a Loaded,
}

impl Object for TopicView<'_> {
    type Field = TopicField;

    fn fields(&self) -> &[Keyed<TopicField>] {
        self.fields
    }

    fn value<'s>(&'s self, field: &'s TopicField) -> FieldValue<'s> {
        let t = self.t;
        FieldValue::Scalar(match field {
            TopicField::Typename => return FieldValue::Typename("Topic"),
            TopicField::Id => Scalar::Owned(GlobalId::Topic(t.id).encode()),
            TopicField::Slug => Scalar::Str(&t.slug),
            TopicField::Name => Scalar::Str(&t.name),
            TopicField::Description => Scalar::Str(&t.description),
            TopicField::Articles { args, connection } => {
                // Only root topics have `articles` (the shape refuses it elsewhere), and
                // `run` loaded their pages after checking the arguments.
                let page = topic_page_key(t, args, connection)
                    .ok()
                    .and_then(|key| self.loaded.topic_pages.get(&key));
                return FieldValue::Connection(ConnectionView {
                    page: page.unwrap_or(&EMPTY_PAGE),
                    list: topic_articles_list(t.id),
                    fields: connection,
                    loaded: self.loaded,
                });
            }
        })
    }
}

/// The page of a topic found without articles.
static EMPTY_PAGE: Page<article::Model> = Page {
    rows: Vec::new(),
    has_next: false,
    has_previous: false,
};

struct TopicsView<'a> {
    rows: &'a [topic::Model],
    fields: &'a [Keyed<TopicField>],
    loaded: &'a Loaded,
}

list_view!(TopicsView, TopicView, |this| this.rows.iter().map(|t| {
    TopicView {
        t,
        fields: this.fields,
        loaded: this.loaded,
    }
}));

struct ConnectionView<'a> {
    page: &'a Page<article::Model>,
    list: ListId,
    fields: &'a [Keyed<ConnectionField>],
    loaded: &'a Loaded,
}

impl ConnectionView<'_> {
    fn cursor(&self, a: &article::Model) -> String {
        self.list.cursor(ArticleSort::CreatedAt.key(a))
    }
}

impl Object for ConnectionView<'_> {
    type Field = ConnectionField;

    fn fields(&self) -> &[Keyed<ConnectionField>] {
        self.fields
    }

    fn value<'s>(&'s self, field: &'s ConnectionField) -> FieldValue<'s> {
        match field {
            ConnectionField::Typename => FieldValue::Typename("ArticleConnection"),
            ConnectionField::Nodes(fields) => FieldValue::Articles(ArticlesView {
                rows: &self.page.rows,
                fields,
                loaded: self.loaded,
            }),
            ConnectionField::Edges(fields) => FieldValue::Edges(EdgesView {
                connection: self,
                fields,
            }),
            ConnectionField::PageInfo(fields) => FieldValue::PageInfo(PageInfoView {
                connection: self,
                fields,
            }),
        }
    }
}

struct ArticlesView<'a> {
    rows: &'a [article::Model],
    fields: &'a [Keyed<ArticleField>],
    loaded: &'a Loaded,
}

list_view!(ArticlesView, ArticleView, |this| this.rows.iter().map(
    |a| {
        ArticleView {
            a,
            fields: this.fields,
            loaded: this.loaded,
        }
    }
));

struct EdgeView<'a> {
    connection: &'a ConnectionView<'a>,
    a: &'a article::Model,
    fields: &'a [Keyed<EdgeField>],
}

impl Object for EdgeView<'_> {
    type Field = EdgeField;

    fn fields(&self) -> &[Keyed<EdgeField>] {
        self.fields
    }

    fn value<'s>(&'s self, field: &'s EdgeField) -> FieldValue<'s> {
        match field {
            EdgeField::Typename => FieldValue::Typename("ArticleEdge"),
            EdgeField::Cursor => FieldValue::Scalar(Scalar::Owned(self.connection.cursor(self.a))),
            EdgeField::Node(fields) => FieldValue::Article(ArticleView {
                a: self.a,
                fields,
                loaded: self.connection.loaded,
            }),
        }
    }
}

struct EdgesView<'a> {
    connection: &'a ConnectionView<'a>,
    fields: &'a [Keyed<EdgeField>],
}

list_view!(EdgesView, EdgeView, |this| this
    .connection
    .page
    .rows
    .iter()
    .map(|a| {
        EdgeView {
            connection: this.connection,
            a,
            fields: this.fields,
        }
    }));

struct PageInfoView<'a> {
    connection: &'a ConnectionView<'a>,
    fields: &'a [Keyed<PageInfoField>],
}

impl Object for PageInfoView<'_> {
    type Field = PageInfoField;

    fn fields(&self) -> &[Keyed<PageInfoField>] {
        self.fields
    }

    fn value<'s>(&'s self, field: &'s PageInfoField) -> FieldValue<'s> {
        let (connection, page) = (self.connection, self.connection.page);
        let cursor = |a: Option<&article::Model>| {
            a.map_or(Scalar::Null, |a| Scalar::Owned(connection.cursor(a)))
        };
        FieldValue::Scalar(match field {
            PageInfoField::Typename => return FieldValue::Typename("PageInfo"),
            PageInfoField::HasNextPage => Scalar::Bool(page.has_next),
            PageInfoField::HasPreviousPage => Scalar::Bool(page.has_previous),
            PageInfoField::StartCursor => cursor(page.rows.first()),
            PageInfoField::EndCursor => cursor(page.rows.last()),
        })
    }
}
