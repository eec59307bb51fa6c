//! Batched loading: every relation is fetched through one DataLoader, one statement per
//! relation and nesting level, whatever the number of parents.
//!
//! [`ContentLoader`] knows how to load each key type in one statement; `super::batch` decides
//! when. Nothing is cached beyond one batch, so an edit is visible to the next read.

use std::{collections::HashMap, hash::Hash, sync::Arc};

use async_graphql::{Context, dataloader::Loader};
use sea_orm::DatabaseConnection;

use crate::{
    cache::{Dependencies, Key},
    entities::{article, revision, section, topic},
    error::Error,
    store::{
        self,
        columns::Columns,
        page::{Page, Window},
        points::{Point, PointKind},
        topics::Tagged,
    },
};

/// Loads rows for every key type below.
pub struct ContentLoader {
    db: DatabaseConnection,
}

impl ContentLoader {
    /// A loader over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// Records that the response depends on `keys`, when it may be cached (for what resolvers
/// read without a loader: root lists and lookups).
pub fn depends_on(ctx: &Context<'_>, keys: impl IntoIterator<Item = Key>) {
    if let Some(dependencies) = ctx.data_opt::<Arc<Dependencies>>() {
        dependencies.record_all(keys);
    }
}

/// What a loaded value makes the response depend on, as surrogate keys (recorded only for
/// responses that may be cached).
pub trait Depends<V> {
    /// Records the keys `value` (as loaded for this key; `None`: nothing found) depends on.
    fn depends(&self, value: Option<&V>, dependencies: &Dependencies);
}

/// The articles of `rows`, or `missing` when nothing was found.
fn record_articles<'a>(
    dependencies: &Dependencies,
    articles: Option<impl IntoIterator<Item = i64> + 'a>,
    missing: Key,
) {
    match articles {
        Some(ids) => dependencies.record_all(ids.into_iter().map(Key::Article)),
        None => dependencies.record(missing),
    }
}

impl Depends<article::Model> for ArticleById {
    fn depends(&self, value: Option<&article::Model>, dependencies: &Dependencies) {
        record_articles(dependencies, value.map(|a| [a.id]), Key::Articles);
    }
}

impl Depends<section::Model> for SectionById {
    fn depends(&self, value: Option<&section::Model>, dependencies: &Dependencies) {
        record_articles(dependencies, value.map(|s| [s.article_id]), Key::Articles);
    }
}

impl Depends<Vec<section::Model>> for SectionsOfArticle {
    fn depends(&self, _: Option<&Vec<section::Model>>, dependencies: &Dependencies) {
        dependencies.record(Key::Article(self.0));
    }
}

impl Depends<Point> for PointById {
    fn depends(&self, value: Option<&Point>, dependencies: &Dependencies) {
        record_articles(dependencies, value.map(|p| [p.article_id]), Key::Articles);
    }
}

impl Depends<Vec<Point>> for PointsOfSection {
    fn depends(&self, value: Option<&Vec<Point>>, dependencies: &Dependencies) {
        // The section itself was loaded through a key that named its article.
        if let Some(points) = value {
            dependencies.record_all(points.iter().map(|p| Key::Article(p.article_id)));
        }
    }
}

impl Depends<Vec<Point>> for PointsOfArticle {
    fn depends(&self, _: Option<&Vec<Point>>, dependencies: &Dependencies) {
        dependencies.record(Key::Article(self.1));
    }
}

impl Depends<Vec<Point>> for PointsOfTopic {
    fn depends(&self, value: Option<&Vec<Point>>, dependencies: &Dependencies) {
        dependencies.record(Key::Topic(self.1));
        if let Some(points) = value {
            dependencies.record_all(points.iter().map(|p| Key::Article(p.article_id)));
        }
    }
}

impl Depends<topic::Model> for TopicById {
    fn depends(&self, value: Option<&topic::Model>, dependencies: &Dependencies) {
        match value {
            Some(topic) => dependencies.record(Key::Topic(topic.id)),
            None => dependencies.record(Key::Topics),
        }
    }
}

impl Depends<Vec<topic::Model>> for TopicsOf {
    fn depends(&self, value: Option<&Vec<topic::Model>>, dependencies: &Dependencies) {
        if let (Tagged::Article, id) = (self.0, self.1) {
            dependencies.record(Key::Article(id));
        }
        if let Some(topics) = value {
            dependencies.record_all(topics.iter().map(|t| Key::Topic(t.id)));
        }
    }
}

impl Depends<Page<article::Model>> for ArticlesOfTopic {
    fn depends(&self, value: Option<&Page<article::Model>>, dependencies: &Dependencies) {
        dependencies.record(Key::Topic(self.0));
        if let Some(page) = value {
            dependencies.record_all(page.rows.iter().map(|a| Key::Article(a.id)));
        }
    }
}

impl Depends<i64> for ArticleCountOfTopic {
    fn depends(&self, _: Option<&i64>, dependencies: &Dependencies) {
        dependencies.record(Key::Topic(self.0));
    }
}

impl Depends<Page<revision::Model>> for RevisionsOfArticle {
    fn depends(&self, _: Option<&Page<revision::Model>>, dependencies: &Dependencies) {
        dependencies.record(Key::Article(self.0));
    }
}

impl Depends<revision::Model> for RevisionOfArticle {
    fn depends(&self, _: Option<&revision::Model>, dependencies: &Dependencies) {
        dependencies.record(Key::Article(self.0));
    }
}

/// An article by primary key, with the columns its selection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArticleById(pub i64, pub Columns);
/// A section by primary key, with the columns its selection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SectionById(pub i64, pub Columns);
/// The sections of an article, with the columns their selection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SectionsOfArticle(pub i64, pub Columns);
/// A reform or reaction by primary key, with the columns its selection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PointById(pub PointKind, pub i64, pub Columns);
/// The reforms or reactions of a section, with the columns their selection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PointsOfSection(pub PointKind, pub i64, pub Columns);
/// The reforms or reactions of an article, with the columns their selection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PointsOfArticle(pub PointKind, pub i64, pub Columns);
/// The reforms or reactions tagged with a topic, with the columns their selection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PointsOfTopic(pub PointKind, pub i64, pub Columns);
/// A topic by primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicById(pub i64);
/// The topics tagging an article, reform or reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicsOf(pub Tagged, pub i64);
/// One page of a topic's articles, with the columns their selection needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArticlesOfTopic(pub i64, pub Window, pub Columns);
/// How many articles a topic tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArticleCountOfTopic(pub i64);
/// One page of an article's revisions, newest first, with the columns their selection needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RevisionsOfArticle(pub i64, pub Window, pub Columns);
/// The revision of an article at a version, with the columns its selection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RevisionOfArticle(pub i64, pub i32, pub Columns);

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<Error>>;

fn by_key<K: Hash + Eq, T>(rows: Vec<T>, key: impl Fn(&T) -> K) -> HashMap<K, T> {
    rows.into_iter().map(|row| (key(&row), row)).collect()
}

fn grouped<K: Hash + Eq, T>(rows: impl IntoIterator<Item = (K, T)>) -> HashMap<K, Vec<T>> {
    let mut map: HashMap<K, Vec<T>> = HashMap::new();
    for (key, row) in rows {
        map.entry(key).or_default().push(row);
    }
    map
}

/// Answers each key with the value loaded for its row id (`id_of`). A batch loads the widest
/// shape any of its keys asked for, once; keys that differ only in shape share that value
/// (copied for all but the last), so each gets at least the columns it asked for.
fn answer<'a, K, I, V>(
    keys: &'a [K],
    id_of: impl Fn(&'a K) -> I,
    mut values: HashMap<I, V>,
) -> HashMap<K, V>
where
    K: Hash + Eq + Clone,
    I: Hash + Eq,
    V: Clone,
{
    let mut left: HashMap<I, usize> = HashMap::with_capacity(keys.len());
    for key in keys {
        *left.entry(id_of(key)).or_default() += 1;
    }
    let mut out = HashMap::with_capacity(keys.len());
    for key in keys {
        let id = id_of(key);
        let last = left.get_mut(&id).is_some_and(|n| {
            *n -= 1;
            *n == 0
        });
        let value = if last {
            values.remove(&id)
        } else {
            values.get(&id).cloned()
        };
        if let Some(value) = value {
            out.insert(key.clone(), value);
        }
    }
    out
}

/// Splits keys of mixed point kinds so each kind is one statement, in the widest shape any
/// key of that kind asked for.
fn by_kind<K: Copy>(
    keys: &[K],
    kind_id_columns: impl Fn(K) -> (PointKind, i64, Columns),
) -> [(PointKind, Vec<i64>, Columns); 2] {
    let mut split = [
        (PointKind::Reform, Vec::new(), Columns::Narrow),
        (PointKind::Reaction, Vec::new(), Columns::Narrow),
    ];
    for key in keys {
        let (kind, id, columns) = kind_id_columns(*key);
        let part = &mut split[usize::from(kind == PointKind::Reaction)];
        if !part.1.contains(&id) {
            part.1.push(id);
        }
        part.2 = part.2.max(columns);
    }
    split
}

impl Loader<ArticleById> for ContentLoader {
    type Value = article::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[ArticleById]) -> LoadResult<ArticleById, article::Model> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let columns = Columns::widest(keys.iter().map(|k| k.1));
        let rows = store::articles::by_ids_with(&self.db, &ids, columns).await?;
        Ok(answer(keys, |k| k.0, by_key(rows, |a| a.id)))
    }
}

impl Loader<SectionById> for ContentLoader {
    type Value = section::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[SectionById]) -> LoadResult<SectionById, section::Model> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let columns = Columns::widest(keys.iter().map(|k| k.1));
        let rows = store::sections::by_ids_with(&self.db, &ids, columns).await?;
        Ok(answer(keys, |k| k.0, by_key(rows, |s| s.id)))
    }
}

impl Loader<SectionsOfArticle> for ContentLoader {
    type Value = Vec<section::Model>;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[SectionsOfArticle],
    ) -> LoadResult<SectionsOfArticle, Vec<section::Model>> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let columns = Columns::widest(keys.iter().map(|k| k.1));
        let rows = store::sections::by_article_ids_with(&self.db, &ids, columns).await?;
        let rows = grouped(rows.into_iter().map(|s| (s.article_id, s)));
        Ok(answer(keys, |k| k.0, rows))
    }
}

impl Loader<PointById> for ContentLoader {
    type Value = Point;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[PointById]) -> LoadResult<PointById, Point> {
        let mut rows = HashMap::new();
        for (kind, ids, columns) in by_kind(keys, |k| (k.0, k.1, k.2)) {
            if !ids.is_empty() {
                for p in store::points::by_ids_with(&self.db, kind, &ids, columns).await? {
                    rows.insert((kind, p.id), p);
                }
            }
        }
        Ok(answer(keys, |k| (k.0, k.1), rows))
    }
}

/// What a list of points belongs to: the three `PointsOf*` keys differ only in this.
#[derive(Debug, Clone, Copy)]
enum PointOwner {
    Section,
    Article,
    Topic,
}

impl ContentLoader {
    /// The points of each key's owner, one statement per point kind.
    async fn points_of<K: Copy + Hash + Eq>(
        &self,
        owner: PointOwner,
        keys: &[K],
        kind_id_columns: impl Fn(K) -> (PointKind, i64, Columns) + Copy,
    ) -> LoadResult<K, Vec<Point>> {
        let mut rows = HashMap::new();
        for (kind, ids, columns) in by_kind(keys, kind_id_columns) {
            if ids.is_empty() {
                continue;
            }
            let owned: Vec<(i64, Point)> = match owner {
                PointOwner::Section => store::points::by_section_ids(&self.db, kind, &ids, columns)
                    .await?
                    .into_iter()
                    .map(|p| (p.section_id, p))
                    .collect(),
                PointOwner::Article => {
                    store::points::by_article_ids_with(&self.db, kind, &ids, columns)
                        .await?
                        .into_iter()
                        .map(|p| (p.article_id, p))
                        .collect()
                }
                PointOwner::Topic => {
                    store::points::by_topic_ids(&self.db, kind, &ids, columns).await?
                }
            };
            rows.extend(grouped(
                owned.into_iter().map(|(owner, p)| ((kind, owner), p)),
            ));
        }
        Ok(answer(
            keys,
            |k| {
                let (kind, id, _) = kind_id_columns(*k);
                (kind, id)
            },
            rows,
        ))
    }
}

impl Loader<PointsOfSection> for ContentLoader {
    type Value = Vec<Point>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[PointsOfSection]) -> LoadResult<PointsOfSection, Vec<Point>> {
        self.points_of(PointOwner::Section, keys, |k| (k.0, k.1, k.2))
            .await
    }
}

impl Loader<PointsOfArticle> for ContentLoader {
    type Value = Vec<Point>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[PointsOfArticle]) -> LoadResult<PointsOfArticle, Vec<Point>> {
        self.points_of(PointOwner::Article, keys, |k| (k.0, k.1, k.2))
            .await
    }
}

impl Loader<PointsOfTopic> for ContentLoader {
    type Value = Vec<Point>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[PointsOfTopic]) -> LoadResult<PointsOfTopic, Vec<Point>> {
        self.points_of(PointOwner::Topic, keys, |k| (k.0, k.1, k.2))
            .await
    }
}

impl Loader<TopicById> for ContentLoader {
    type Value = topic::Model;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[TopicById]) -> LoadResult<TopicById, topic::Model> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        Ok(by_key(store::topics::by_ids(&self.db, &ids).await?, |t| {
            TopicById(t.id)
        }))
    }
}

impl Loader<TopicsOf> for ContentLoader {
    type Value = Vec<topic::Model>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[TopicsOf]) -> LoadResult<TopicsOf, Vec<topic::Model>> {
        let mut by_tagged: HashMap<Tagged, Vec<i64>> = HashMap::new();
        for key in keys {
            by_tagged.entry(key.0).or_default().push(key.1);
        }
        let mut out = HashMap::new();
        for (tagged, ids) in by_tagged {
            let rows = store::topics::of(&self.db, tagged, &ids).await?;
            out.extend(grouped(
                rows.into_iter()
                    .map(|(owner, t)| (TopicsOf(tagged, owner), t)),
            ));
        }
        Ok(out)
    }
}

/// Groups paged keys by window (keys with the same window share one statement), each group
/// with its parents' ids (once each) and the widest shape its keys asked for.
fn by_window<'a, K>(
    keys: &'a [K],
    parts: impl Fn(&'a K) -> (i64, &'a Window, Columns),
) -> HashMap<&'a Window, (Vec<i64>, Columns)> {
    let mut groups: HashMap<&Window, (Vec<i64>, Columns)> = HashMap::new();
    for key in keys {
        let (id, window, columns) = parts(key);
        let group = groups
            .entry(window)
            .or_insert_with(|| (Vec::new(), Columns::Narrow));
        if !group.0.contains(&id) {
            group.0.push(id);
        }
        group.1 = group.1.max(columns);
    }
    groups
}

impl Loader<ArticlesOfTopic> for ContentLoader {
    type Value = Page<article::Model>;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[ArticlesOfTopic],
    ) -> LoadResult<ArticlesOfTopic, Page<article::Model>> {
        let mut pages = HashMap::new();
        for (window, (topic_ids, columns)) in by_window(keys, |k| (k.0, &k.1, k.2)) {
            let mut rows = grouped(
                store::articles::pages_by_topic(&self.db, &topic_ids, window, columns).await?,
            );
            for topic_id in topic_ids {
                let fetched = rows.remove(&topic_id).unwrap_or_default();
                pages.insert((topic_id, window), Page::from_fetched(fetched, window));
            }
        }
        Ok(answer(keys, |k| (k.0, &k.1), pages))
    }
}

impl Loader<ArticleCountOfTopic> for ContentLoader {
    type Value = i64;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[ArticleCountOfTopic]) -> LoadResult<ArticleCountOfTopic, i64> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let counts = store::articles::counts_by_topic(&self.db, &ids).await?;
        let mut out: HashMap<_, _> = keys.iter().map(|k| (*k, 0)).collect();
        out.extend(
            counts
                .into_iter()
                .map(|(topic, n)| (ArticleCountOfTopic(topic), n)),
        );
        Ok(out)
    }
}

impl Loader<RevisionsOfArticle> for ContentLoader {
    type Value = Page<revision::Model>;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[RevisionsOfArticle],
    ) -> LoadResult<RevisionsOfArticle, Page<revision::Model>> {
        let mut pages = HashMap::new();
        for (window, (article_ids, columns)) in by_window(keys, |k| (k.0, &k.1, k.2)) {
            let rows =
                store::revisions::pages_by_article(&self.db, &article_ids, window, columns).await?;
            let mut rows = grouped(rows.into_iter().map(|r| (r.article_id, r)));
            for article_id in article_ids {
                let fetched = rows.remove(&article_id).unwrap_or_default();
                pages.insert((article_id, window), Page::from_fetched(fetched, window));
            }
        }
        Ok(answer(keys, |k| (k.0, &k.1), pages))
    }
}

impl Loader<RevisionOfArticle> for ContentLoader {
    type Value = revision::Model;
    type Error = Arc<Error>;

    async fn load(
        &self,
        keys: &[RevisionOfArticle],
    ) -> LoadResult<RevisionOfArticle, revision::Model> {
        let article_ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let versions: Vec<i64> = keys.iter().map(|k| i64::from(k.1)).collect();
        let columns = Columns::widest(keys.iter().map(|k| k.2));
        let rows =
            store::revisions::by_versions(&self.db, &article_ids, &versions, columns).await?;
        // The statement matches every pairing of the ids and versions; keep the asked ones.
        let rows = by_key(rows, |r| (r.article_id, r.version));
        Ok(answer(keys, |k| (k.0, k.1), rows))
    }
}
