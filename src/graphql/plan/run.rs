//! Running a [`Plan`]: one batched load per level, decided up front; [`super::write`] then
//! writes the response.
//!
//! Every statement is the one the resolvers would send (the same store functions and batched
//! loaders, with the same column shapes), every surrogate key the resolvers would record is
//! recorded, and every field is counted into the response's size as the guard counts it. The
//! levels: the root fields (each its own statement, all at once), then the root topics' pages
//! of articles (one statement), then the relations of every article in the response (one
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
        loaders::{ContentLoader, Depends, PointsOfArticle, SectionsOfArticle, TopicsOf},
        pagination::ListId,
        query::articles_list,
        response_size::ResponseSize,
    },
    store::{
        self,
        articles::{ArticleFilter, ArticleSort},
        columns::Columns,
        page::Page,
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
    let page_keys = topic_connections.iter().map(|(key, _)| key.clone());
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
            _ => {}
        }
    }
    for (key, connection) in &topic_connections {
        if let Some(page) = topic_pages.get(key) {
            wanted.connection(page, connection);
        }
    }
    let (sections, points, topics) = futures::try_join!(
        load_all(loader, wanted.sections, dependencies),
        load_all(loader, wanted.points, dependencies),
        load_all(loader, wanted.topics, dependencies),
    )?;

    let planned = Planned::new(
        plan,
        roots,
        Loaded {
            topic_pages,
            sections,
            points,
            topics,
        },
    );
    // Past the limit, the execution module answers the `responseSize` error instead.
    size.add_bytes(planned.bytes()).await;
    Ok(planned)
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
