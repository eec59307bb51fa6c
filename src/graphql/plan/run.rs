//! Running a [`Plan`]: one batched load per level, decided up front, then the response value
//! written in selection order.
//!
//! Every statement is the one the resolvers would send (the same store functions and batched
//! loaders, with the same column shapes), every surrogate key the resolvers would record is
//! recorded, and every field is counted into the response's size as the guard counts it. The
//! levels: the root fields (each its own statement, all at once), then the root topics' pages
//! of articles (one statement), then the relations of every article in the response (one
//! statement per relation, all at once).

use std::{cell::Cell, collections::HashMap, collections::HashSet, hash::Hash, sync::Arc};

use async_graphql::{
    ID, Name, ScalarType, Value, dataloader::Loader, extensions::ExtensionContext,
    indexmap::IndexMap,
};
use futures::future::{BoxFuture, FutureExt, join_all};
use sea_orm::DatabaseConnection;

use super::shape::{
    ArticleField, ConnectionField, EdgeField, Keyed, PageInfoField, Plan, PointField, RootField,
    SectionField, TopicField, connection_wide,
};
use crate::{
    cache::{Dependencies, Key},
    entities::{article, section, topic},
    error::Error,
    graphql::{
        batch::BatchLoader,
        ids::GlobalId,
        loaders::{
            ArticlesOfTopic, ContentLoader, Depends, PointsOfArticle, SectionsOfArticle, TopicsOf,
        },
        pagination::ListId,
        query::articles_list,
        response_size::{ResponseSize, field_bytes},
        types::topic::topic_articles_list,
    },
    store::{
        self,
        articles::{ArticleFilter, ArticleSort},
        columns::Columns,
        page::Page,
        points::{Point, PointKind},
        topics::Tagged,
    },
};

/// Why a plan gave up: the resolvers then answer (and report the error as they always do).
#[derive(Debug)]
pub struct GaveUp(pub String);

impl From<Error> for GaveUp {
    fn from(err: Error) -> Self {
        Self(format!("{err:?}"))
    }
}

impl From<Arc<Error>> for GaveUp {
    fn from(err: Arc<Error>) -> Self {
        Self(format!("{err:?}"))
    }
}

/// What a root field loaded.
enum Root {
    Typename,
    Article(Option<article::Model>),
    Articles(ListId, Page<article::Model>),
    Topic(Option<topic::Model>),
}

/// Runs `plan` with the request's data (connection, loader, dependencies) and counts the
/// response into `size`; the data, or why the plan gave up.
pub async fn run(
    ctx: &ExtensionContext<'_>,
    plan: &Plan,
    size: &ResponseSize,
) -> Result<Value, GaveUp> {
    let db = ctx
        .data_opt::<DatabaseConnection>()
        .ok_or_else(|| GaveUp("no database".into()))?;
    let loader = ctx
        .data_opt::<BatchLoader>()
        .ok_or_else(|| GaveUp("no loader".into()))?
        .content();
    let dependencies = ctx.data_opt::<Arc<Dependencies>>().map(Arc::as_ref);

    // Level 1: the root fields.
    let roots = join_all(plan.fields.iter().map(|f| root(db, &f.field))).await;
    let roots = roots.into_iter().collect::<Result<Vec<_>, _>>()?;
    if let Some(dependencies) = dependencies {
        for root in &roots {
            match root {
                Root::Typename => {}
                Root::Article(a) => {
                    dependencies.record(a.as_ref().map_or(Key::Articles, |a| Key::Article(a.id)));
                }
                Root::Articles(..) => dependencies.record(Key::Articles),
                Root::Topic(t) => {
                    dependencies.record(t.as_ref().map_or(Key::Topics, |t| Key::Topic(t.id)));
                }
            }
        }
    }

    // Level 2: the root topics' pages of articles.
    let mut page_keys = Vec::new();
    for (field, root) in plan.fields.iter().zip(&roots) {
        if let (RootField::Topic { fields, .. }, Root::Topic(Some(topic))) = (&field.field, root) {
            for f in fields {
                if let TopicField::Articles { args, connection } = &f.field {
                    page_keys.push(topic_page_key(topic, args, connection)?);
                }
            }
        }
    }
    let topic_pages = load_all(loader, page_keys, dependencies).await?;

    // Level 3: every relation of every article in the response.
    let mut wanted = Wanted::default();
    for (field, root) in plan.fields.iter().zip(&roots) {
        match (&field.field, root) {
            (RootField::Article { fields, .. }, Root::Article(Some(a))) => {
                wanted.article(a, fields);
            }
            (RootField::Articles { connection, .. }, Root::Articles(_, page)) => {
                wanted.connection(page, connection);
            }
            (RootField::Topic { fields, .. }, Root::Topic(Some(topic))) => {
                for f in fields {
                    if let TopicField::Articles { args, connection } = &f.field {
                        let key = topic_page_key(topic, args, connection)?;
                        if let Some(page) = topic_pages.get(&key) {
                            wanted.connection(page, connection);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let (sections, points, topics) = futures::try_join!(
        load_all(loader, wanted.sections, dependencies),
        load_all(loader, wanted.points, dependencies),
        load_all(loader, wanted.topics, dependencies),
    )?;

    let write = Write {
        topic_pages,
        sections,
        points,
        topics,
        bytes: Cell::new(0),
    };
    let mut data = IndexMap::with_capacity(plan.fields.len());
    for (Keyed { key, field }, root) in plan.fields.iter().zip(&roots) {
        let value = match (field, root) {
            (RootField::Typename, _) => {
                data.insert(key.clone(), Value::String("Query".into()));
                continue;
            }
            (RootField::Article { fields, .. }, Root::Article(a)) => match a {
                Some(a) => write.article(a, fields),
                None => Value::Null,
            },
            (RootField::Articles { connection, .. }, Root::Articles(list, page)) => {
                write.connection(page, list, connection)
            }
            (RootField::Topic { fields, .. }, Root::Topic(t)) => match t {
                Some(t) => write.topic(t, fields)?,
                None => Value::Null,
            },
            _ => return Err(GaveUp("a root field loaded something else".into())),
        };
        write.put(&mut data, key, value);
    }
    let bytes = write.bytes.get();
    drop(write);
    // Past the limit, the execution module answers the `responseSize` error instead.
    size.add_bytes(bytes).await;
    Ok(Value::Object(data))
}

/// Loads what one root field needs: its own statement, as its resolver sends it.
fn root<'a>(
    db: &'a DatabaseConnection,
    field: &'a RootField,
) -> BoxFuture<'a, Result<Root, GaveUp>> {
    async move {
        Ok(match field {
            RootField::Typename => Root::Typename,
            RootField::Article { slug, fields } => {
                let columns = Columns::full_if(ArticleField::wide(fields));
                Root::Article(store::articles::by_slug_with(db, slug, columns).await?)
            }
            RootField::Articles { args, connection } => {
                let (sort, descending) = (ArticleSort::CreatedAt, false);
                let list = articles_list(sort, descending);
                let window = args.window(&list)?;
                let columns = Columns::full_if(connection_wide(connection));
                let filter = ArticleFilter::default();
                let page =
                    store::articles::page(db, &filter, sort, descending, &window, columns).await?;
                Root::Articles(list, page)
            }
            RootField::Topic { slug, .. } => Root::Topic(store::topics::by_slug(db, slug).await?),
        })
    }
    .boxed()
}

fn topic_page_key(
    topic: &topic::Model,
    args: &crate::graphql::pagination::PageArgs,
    connection: &[Keyed<ConnectionField>],
) -> Result<ArticlesOfTopic, GaveUp> {
    let window = args.window(&topic_articles_list(topic.id))?;
    Ok(ArticlesOfTopic(
        topic.id,
        window,
        Columns::full_if(connection_wide(connection)),
    ))
}

/// Loads every key in one batch (as the batched loader would), recording what each answer
/// makes the response depend on.
async fn load_all<K>(
    loader: &ContentLoader,
    keys: impl IntoIterator<Item = K>,
    dependencies: Option<&Dependencies>,
) -> Result<HashMap<K, <ContentLoader as Loader<K>>::Value>, GaveUp>
where
    K: Send + Sync + Hash + Eq + Clone + 'static + Depends<<ContentLoader as Loader<K>>::Value>,
    ContentLoader: Loader<K, Error = Arc<Error>>,
{
    let keys: Vec<K> = keys
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let values = loader.load(&keys).await?;
    if let Some(dependencies) = dependencies {
        for key in &keys {
            key.depends(values.get(key), dependencies);
        }
    }
    Ok(values)
}

/// The relations the response's articles need, as loader keys.
#[derive(Default)]
struct Wanted {
    sections: HashSet<SectionsOfArticle>,
    points: HashSet<PointsOfArticle>,
    topics: HashSet<TopicsOf>,
}

impl Wanted {
    fn article(&mut self, a: &article::Model, fields: &[Keyed<ArticleField>]) {
        for f in fields {
            match &f.field {
                ArticleField::Sections(s) => {
                    self.sections
                        .insert(SectionsOfArticle(a.id, section_columns(s)));
                }
                ArticleField::Reforms(p) => {
                    self.points
                        .insert(PointsOfArticle(PointKind::Reform, a.id, point_columns(p)));
                }
                ArticleField::Reactions(p) => {
                    self.points.insert(PointsOfArticle(
                        PointKind::Reaction,
                        a.id,
                        point_columns(p),
                    ));
                }
                ArticleField::Topics(_) => {
                    self.topics.insert(TopicsOf(Tagged::Article, a.id));
                }
                _ => {}
            }
        }
    }

    fn connection(&mut self, page: &Page<article::Model>, connection: &[Keyed<ConnectionField>]) {
        for f in connection {
            let fields = match &f.field {
                ConnectionField::Nodes(fields) => fields,
                ConnectionField::Edges(edge) => {
                    for e in edge {
                        if let EdgeField::Node(fields) = &e.field {
                            for a in &page.rows {
                                self.article(a, fields);
                            }
                        }
                    }
                    continue;
                }
                _ => continue,
            };
            for a in &page.rows {
                self.article(a, fields);
            }
        }
    }
}

fn section_columns(fields: &[Keyed<SectionField>]) -> Columns {
    Columns::full_if(fields.iter().any(|f| matches!(f.field, SectionField::Body)))
}

fn point_columns(fields: &[Keyed<PointField>]) -> Columns {
    Columns::full_if(
        fields
            .iter()
            .any(|f| matches!(f.field, PointField::Description)),
    )
}

/// Everything loaded, and the response bytes counted so far.
struct Write {
    topic_pages: HashMap<ArticlesOfTopic, Page<article::Model>>,
    sections: HashMap<SectionsOfArticle, Vec<section::Model>>,
    points: HashMap<PointsOfArticle, Vec<Point>>,
    topics: HashMap<TopicsOf, Vec<topic::Model>>,
    bytes: Cell<u64>,
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn id(id: GlobalId) -> Value {
    ID::from(id).to_value()
}

fn typename(name: &str) -> Value {
    Value::String(name.to_owned())
}

impl Write {
    /// Puts a field into `object`, counted as the guard counts a resolved field.
    fn put(&self, object: &mut IndexMap<Name, Value>, key: &Name, value: Value) {
        self.bytes.set(self.bytes.get() + field_bytes(key, &value));
        object.insert(key.clone(), value);
    }

    /// An object of `fields`, each written by `value` (`__typename` is `name`, and, as in
    /// async-graphql, not counted).
    fn object<F>(
        &self,
        fields: &[Keyed<F>],
        name: &str,
        is_typename: impl Fn(&F) -> bool,
        mut value: impl FnMut(&F) -> Value,
    ) -> Value {
        let mut object = IndexMap::with_capacity(fields.len());
        for Keyed { key, field } in fields {
            if is_typename(field) {
                object.insert(key.clone(), typename(name));
            } else {
                let v = value(field);
                self.put(&mut object, key, v);
            }
        }
        Value::Object(object)
    }

    fn article(&self, a: &article::Model, fields: &[Keyed<ArticleField>]) -> Value {
        self.object(
            fields,
            "Article",
            |f| matches!(f, ArticleField::Typename),
            |f| match f {
                ArticleField::Typename => typename("Article"),
                ArticleField::Id => id(GlobalId::Article(a.id)),
                ArticleField::Slug => string(&a.slug),
                ArticleField::Title => string(&a.title),
                ArticleField::Summary => string(&a.summary),
                ArticleField::Version => Value::from(a.version),
                ArticleField::CreatedAt => a.created_at.to_value(),
                ArticleField::UpdatedAt => a.updated_at.to_value(),
                ArticleField::Sections(s) => self.list(
                    self.sections
                        .get(&SectionsOfArticle(a.id, section_columns(s))),
                    |row| self.section(row, s),
                ),
                ArticleField::Reforms(p) => self.list(
                    self.points
                        .get(&PointsOfArticle(PointKind::Reform, a.id, point_columns(p))),
                    |row| self.point(PointKind::Reform, row, p),
                ),
                ArticleField::Reactions(p) => self.list(
                    self.points.get(&PointsOfArticle(
                        PointKind::Reaction,
                        a.id,
                        point_columns(p),
                    )),
                    |row| self.point(PointKind::Reaction, row, p),
                ),
                ArticleField::Topics(t) => self.list(
                    self.topics.get(&TopicsOf(Tagged::Article, a.id)),
                    // Topics under an article never have `articles` (the shape refuses it).
                    |row| self.topic_scalars(row, t),
                ),
            },
        )
    }

    fn list<T>(&self, rows: Option<&Vec<T>>, item: impl Fn(&T) -> Value) -> Value {
        Value::List(rows.map_or_else(Vec::new, |rows| rows.iter().map(item).collect()))
    }

    fn section(&self, s: &section::Model, fields: &[Keyed<SectionField>]) -> Value {
        self.object(
            fields,
            "Section",
            |f| matches!(f, SectionField::Typename),
            |f| match f {
                SectionField::Typename => typename("Section"),
                SectionField::Id => id(GlobalId::Section(s.id)),
                SectionField::Slug => string(&s.slug),
                SectionField::Heading => string(&s.heading),
                SectionField::Position => Value::from(s.position),
                SectionField::Body => string(&s.body),
            },
        )
    }

    fn point(&self, kind: PointKind, p: &Point, fields: &[Keyed<PointField>]) -> Value {
        let name = match kind {
            PointKind::Reform => "Reform",
            PointKind::Reaction => "Reaction",
        };
        self.object(
            fields,
            name,
            |f| matches!(f, PointField::Typename),
            |f| match f {
                PointField::Typename => typename(name),
                PointField::Id => id(GlobalId::point(kind, p.id)),
                PointField::Slug => string(&p.slug),
                PointField::Title => string(&p.title),
                PointField::Description => string(&p.description),
                PointField::Position => Value::from(p.position),
            },
        )
    }

    /// A topic under an article: its scalar fields only.
    fn topic_scalars(&self, t: &topic::Model, fields: &[Keyed<TopicField>]) -> Value {
        self.object(
            fields,
            "Topic",
            |f| matches!(f, TopicField::Typename),
            |f| self.topic_scalar(t, f).unwrap_or(Value::Null),
        )
    }

    fn topic_scalar(&self, t: &topic::Model, field: &TopicField) -> Option<Value> {
        Some(match field {
            TopicField::Typename => typename("Topic"),
            TopicField::Id => id(GlobalId::Topic(t.id)),
            TopicField::Slug => string(&t.slug),
            TopicField::Name => string(&t.name),
            TopicField::Description => string(&t.description),
            TopicField::Articles { .. } => return None,
        })
    }

    /// The root topic, with its pages of articles.
    fn topic(&self, t: &topic::Model, fields: &[Keyed<TopicField>]) -> Result<Value, GaveUp> {
        let mut object = IndexMap::with_capacity(fields.len());
        for Keyed { key, field } in fields {
            let value = match field {
                TopicField::Typename => {
                    object.insert(key.clone(), typename("Topic"));
                    continue;
                }
                TopicField::Articles { args, connection } => {
                    let page_key = topic_page_key(t, args, connection)?;
                    let empty = Page {
                        rows: Vec::new(),
                        has_next: false,
                        has_previous: false,
                    };
                    let page = self.topic_pages.get(&page_key).unwrap_or(&empty);
                    self.connection(page, &topic_articles_list(t.id), connection)
                }
                scalar => self.topic_scalar(t, scalar).unwrap_or(Value::Null),
            };
            self.put(&mut object, key, value);
        }
        Ok(Value::Object(object))
    }

    fn connection(
        &self,
        page: &Page<article::Model>,
        list: &ListId,
        fields: &[Keyed<ConnectionField>],
    ) -> Value {
        let cursor = |a: &article::Model| list.cursor(ArticleSort::CreatedAt.key(a));
        self.object(
            fields,
            "ArticleConnection",
            |f| matches!(f, ConnectionField::Typename),
            |f| match f {
                ConnectionField::Typename => typename("ArticleConnection"),
                ConnectionField::Nodes(fields) => {
                    Value::List(page.rows.iter().map(|a| self.article(a, fields)).collect())
                }
                ConnectionField::Edges(edge) => Value::List(
                    page.rows
                        .iter()
                        .map(|a| {
                            self.object(
                                edge,
                                "ArticleEdge",
                                |e| matches!(e, EdgeField::Typename),
                                |e| match e {
                                    EdgeField::Typename => typename("ArticleEdge"),
                                    EdgeField::Cursor => Value::String(cursor(a)),
                                    EdgeField::Node(fields) => self.article(a, fields),
                                },
                            )
                        })
                        .collect(),
                ),
                ConnectionField::PageInfo(info) => self.object(
                    info,
                    "PageInfo",
                    |i| matches!(i, PageInfoField::Typename),
                    |i| match i {
                        PageInfoField::Typename => typename("PageInfo"),
                        PageInfoField::HasNextPage => Value::Boolean(page.has_next),
                        PageInfoField::HasPreviousPage => Value::Boolean(page.has_previous),
                        PageInfoField::StartCursor => page
                            .rows
                            .first()
                            .map_or(Value::Null, |a| Value::String(cursor(a))),
                        PageInfoField::EndCursor => page
                            .rows
                            .last()
                            .map_or(Value::Null, |a| Value::String(cursor(a))),
                    },
                ),
            },
        )
    }
}
