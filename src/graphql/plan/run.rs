//! Running a [`Plan`]: one batched load per level, decided up front; [`super::write`] then
//! writes the response.
//!
//! Every statement is one the resolvers would send (the same store functions and batched
//! loaders, with the same column shapes), except that a root article's sections and a root
//! topic's first page of articles are joined to their root row: one round trip fewer for the
//! commonest reads. Every surrogate key the resolvers would record is recorded, and every
//! field is counted into the response's size as the guard counts it. The levels: the root
//! fields (each its own statement, all at once), then the root topics' pages of articles
//! after a cursor (one statement), then the relations of every article in the response (one
//! statement per relation, all at once).

use std::{
    collections::{HashMap, HashSet},
    hash::Hash,
    sync::Arc,
};

use async_graphql::{dataloader::Loader, extensions::ExtensionContext};
use futures::future::{BoxFuture, FutureExt, join_all};
use sea_orm::DatabaseConnection;

use super::{
    shape::{
        ArticleField, ConnectionField, EdgeField, Keyed, Plan, RootField, TopicField,
        connection_wide,
    },
    write::{Loaded, Planned, point_columns, section_columns, topic_page_key},
};
use crate::{
    cache::{Dependencies, Key},
    entities::{article, topic},
    error::Error,
    graphql::{
        batch::BatchLoader,
        loaders::{
            ArticlesOfTopic, ContentLoader, Depends, PointsOfArticle, SectionsOfArticle, TopicsOf,
        },
        pagination::ListId,
        query::articles_list,
        response_size::ResponseSize,
    },
    store::{
        self,
        articles::{ArticleFilter, ArticleSort},
        columns::Columns,
        page::{Page, Window},
        points::PointKind,
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
pub enum Root {
    /// `__typename`: nothing.
    Typename,
    /// The article, if there is one with the slug.
    Article(Option<article::Model>),
    /// The list and the page of it.
    Articles(ListId, Page<article::Model>),
    /// The topic, if there is one with the slug.
    Topic(Option<topic::Model>),
}

/// Runs `plan` with the request's data (connection, loader, dependencies) and counts the
/// response into `size`; the data, or why the plan gave up.
pub async fn run(
    ctx: &ExtensionContext<'_>,
    plan: Plan,
    size: &ResponseSize,
) -> Result<Planned, GaveUp> {
    let db = ctx
        .data_opt::<DatabaseConnection>()
        .ok_or_else(|| GaveUp("no database".into()))?;
    let loader = ctx
        .data_opt::<BatchLoader>()
        .ok_or_else(|| GaveUp("no loader".into()))?
        .content();
    let dependencies = ctx.data_opt::<Arc<Dependencies>>().map(Arc::as_ref);

    // Level 1: the root fields (a root article's sections and a root topic's page of
    // articles come with it).
    let loads = join_all(plan.fields.iter().map(|f| root(db, &f.field, dependencies))).await;
    let mut roots = Vec::with_capacity(loads.len());
    let mut loaded = Loaded::default();
    for load in loads {
        let (root, joined) = load?;
        roots.push(root);
        loaded.sections.extend(joined.sections);
        loaded.topic_pages.extend(joined.topic_pages);
    }
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
    let mut topic_connections = Vec::new();
    for (field, root) in plan.fields.iter().zip(&roots) {
        if let (RootField::Topic { fields, .. }, Root::Topic(Some(topic))) = (&field.field, root) {
            for f in fields {
                if let TopicField::Articles { args, connection } = &f.field {
                    let key = topic_page_key(topic, args, connection)?;
                    topic_connections.push((key, connection.as_slice()));
                }
            }
        }
    }
    let page_keys = topic_connections
        .iter()
        .map(|(key, _)| key.clone())
        .filter(|key| !loaded.topic_pages.contains_key(key));
    let more_pages = load_all(loader, page_keys, dependencies).await?;
    loaded.topic_pages.extend(more_pages);

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
            _ => {}
        }
    }
    for (key, connection) in &topic_connections {
        if let Some(page) = loaded.topic_pages.get(key) {
            wanted.connection(page, connection);
        }
    }
    wanted
        .sections
        .retain(|key| !loaded.sections.contains_key(key));
    let (sections, points, topics) = futures::try_join!(
        load_all(loader, wanted.sections, dependencies),
        load_all(loader, wanted.points, dependencies),
        load_all(loader, wanted.topics, dependencies),
    )?;
    loaded.sections.extend(sections);
    loaded.points = points;
    loaded.topics = topics;

    let planned = Planned::new(plan, roots, loaded);
    // Past the limit, the execution module answers the `responseSize` error instead.
    size.add_bytes(planned.bytes()).await;
    Ok(planned)
}

/// Loads what one root field needs in one statement: its own row, as its resolver reads it,
/// and what can be joined to it: an article's sections, a topic's page of articles (when the
/// page names no cursor, which only the topic's list can check). What is joined comes back
/// as `Loaded`, under the keys the resolvers' loaders would use, its dependencies recorded.
fn root<'a>(
    db: &'a DatabaseConnection,
    field: &'a RootField,
    dependencies: Option<&'a Dependencies>,
) -> BoxFuture<'a, Result<(Root, Loaded), GaveUp>> {
    async move {
        let mut joined = Loaded::default();
        let root = match field {
            RootField::Typename => Root::Typename,
            RootField::Article { slug, fields } => {
                let columns = Columns::full_if(ArticleField::wide(fields));
                let shapes = section_shapes(fields);
                if shapes.is_empty() {
                    Root::Article(store::articles::by_slug_with(db, slug, columns).await?)
                } else {
                    let widest = Columns::widest(shapes.iter().copied());
                    let found =
                        store::articles::by_slug_with_sections(db, slug, columns, widest).await?;
                    let article = found.map(|(article, rows)| {
                        for shape in shapes {
                            let key = SectionsOfArticle(article.id, shape);
                            if let Some(dependencies) = dependencies {
                                key.depends(Some(&rows), dependencies);
                            }
                            joined.sections.insert(key, rows.clone());
                        }
                        article
                    });
                    Root::Article(article)
                }
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
            RootField::Topic { slug, fields } => match joinable_page(fields) {
                None => Root::Topic(store::topics::by_slug(db, slug).await?),
                Some((window, columns)) => {
                    let window = window?;
                    let found =
                        store::articles::topic_with_page(db, slug, &window, columns).await?;
                    let topic = found.map(|(topic, fetched)| {
                        let key = ArticlesOfTopic(topic.id, window.clone(), columns);
                        let page = Page::from_fetched(fetched, &window);
                        if let Some(dependencies) = dependencies {
                            key.depends(Some(&page), dependencies);
                        }
                        joined.topic_pages.insert(key, page);
                        topic
                    });
                    Root::Topic(topic)
                }
            },
        };
        Ok((root, joined))
    }
    .boxed()
}

/// The window and column shape of a topic's first `articles` field when it names no cursor:
/// that page can be joined to the topic.
fn joinable_page(
    fields: &[Keyed<TopicField>],
) -> Option<(Result<Window, crate::error::Error>, Columns)> {
    fields.iter().find_map(|f| match &f.field {
        TopicField::Articles { args, connection } => args
            .window_without_cursor()
            .map(|window| (window, Columns::full_if(connection_wide(connection)))),
        _ => None,
    })
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

/// The distinct column shapes of an article's `sections` fields (none: it asks for none).
fn section_shapes(fields: &[Keyed<ArticleField>]) -> Vec<Columns> {
    let mut shapes: Vec<Columns> = fields
        .iter()
        .filter_map(|f| match &f.field {
            ArticleField::Sections(s) => Some(section_columns(s)),
            _ => None,
        })
        .collect();
    shapes.sort();
    shapes.dedup();
    shapes
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
