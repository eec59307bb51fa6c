//! `Query.search`: ranked full-text search over articles, sections, reforms, reactions and
//! topics, with highlighted snippets. The matching and ranking live in [`crate::store::search`].

use async_graphql::{Context, Enum, Object, Result, SimpleObject, Union};
use futures::future::try_join_all;

use super::{
    context::db,
    ids::GlobalId,
    loaders::depends_on,
    pagination::{ListId, PageArgs},
    types::{Article, Node, Reaction, Reform, Section, Topic, node},
};
use crate::{
    cache::Key as Surrogate,
    connection_type,
    error::Error,
    store::{
        page::{Key, KeyValue, Page},
        search::{self, Hit, HitKey, SearchKind},
    },
};

/// A kind of content `search` can return.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchType {
    /// Articles, by title and summary.
    Article,
    /// Sections, by heading and body.
    Section,
    /// Reforms, by title and description.
    Reform,
    /// Reactions, by title and description.
    Reaction,
    /// Topics, by name and description.
    Topic,
}

impl From<SearchType> for SearchKind {
    fn from(t: SearchType) -> Self {
        match t {
            SearchType::Article => Self::Article,
            SearchType::Section => Self::Section,
            SearchType::Reform => Self::Reform,
            SearchType::Reaction => Self::Reaction,
            SearchType::Topic => Self::Topic,
        }
    }
}

/// Anything `search` can find.
#[derive(Union, Clone)]
pub enum SearchResult {
    /// An article.
    Article(Article),
    /// A section.
    Section(Section),
    /// A reform.
    Reform(Reform),
    /// A reaction.
    Reaction(Reaction),
    /// A topic.
    Topic(Topic),
}

impl From<Node> for SearchResult {
    fn from(node: Node) -> Self {
        match node {
            Node::Article(a) => Self::Article(a),
            Node::Section(s) => Self::Section(s),
            Node::Reform(r) => Self::Reform(r),
            Node::Reaction(r) => Self::Reaction(r),
            Node::Topic(t) => Self::Topic(t),
        }
    }
}

/// One search result: what matched, how well, and where.
#[derive(SimpleObject, Clone)]
pub struct SearchHit {
    /// The rank: higher is better. Comparable only within one search.
    pub score: f64,
    /// About 30 words around the best match, HTML-escaped, with matched words wrapped in
    /// `<mark>…</mark>`.
    pub snippet: String,
    /// The content that matched.
    pub node: SearchResult,
}

/// Counts every hit of a search, for `totalCount`.
#[derive(Clone)]
pub struct SearchTotal {
    query: search::SearchQuery,
    kinds: Option<Vec<SearchKind>>,
}

impl SearchTotal {
    /// Counts the whole list.
    pub async fn count(&self, ctx: &Context<'_>) -> Result<i32> {
        let n = search::count(db(ctx)?, &self.query, self.kinds.as_deref()).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

connection_type!(
    SearchHitConnection,
    SearchHitEdge,
    SearchHit,
    SearchTotal,
    "search hits"
);

/// A stable 64-bit FNV-1a hash, so a cursor names the search it belongs to across restarts.
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The cursor key of a hit: the score's exact bits and the kind in the text part.
fn hit_key(hit: &Hit) -> Key {
    let key = hit.key();
    Key {
        value: Some(KeyValue::Text(format!(
            "{:016x}.{}",
            key.score_bits, key.kind as i64
        ))),
        id: key.id,
    }
}

fn decode_hit_key(key: &Key) -> Result<HitKey, Error> {
    let invalid = || Error::bad_input("after", "after is not a cursor of this search");
    let Some(KeyValue::Text(text)) = &key.value else {
        return Err(invalid());
    };
    let (bits, kind) = text.split_once('.').ok_or_else(invalid)?;
    Ok(HitKey {
        score_bits: u64::from_str_radix(bits, 16).map_err(|_| invalid())?,
        kind: kind
            .parse()
            .ok()
            .and_then(SearchKind::from_number)
            .ok_or_else(invalid)?,
        id: key.id,
    })
}

/// Each hit of `page` with its node, resolved through the batched loader now, so a row
/// deleted since the search ran drops out instead of failing the non-null `node`.
async fn with_nodes(ctx: &Context<'_>, page: Page<Hit>) -> Result<Page<(Hit, SearchResult)>> {
    let nodes = try_join_all(page.rows.iter().map(|hit| {
        let id = match hit.kind {
            SearchKind::Article => GlobalId::Article(hit.id),
            SearchKind::Section => GlobalId::Section(hit.id),
            SearchKind::Reform => GlobalId::Reform(hit.id),
            SearchKind::Reaction => GlobalId::Reaction(hit.id),
            SearchKind::Topic => GlobalId::Topic(hit.id),
        };
        node::resolve(ctx, id)
    }))
    .await?;
    let rows = page
        .rows
        .into_iter()
        .zip(nodes)
        .filter_map(|(hit, node)| Some((hit, node?.into())))
        .collect();
    Ok(Page {
        rows,
        has_next: page.has_next,
        has_previous: page.has_previous,
    })
}

/// The search part of the `Query` root.
#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Ranked full-text search over article titles and summaries, section headings and bodies,
    /// reform and reaction titles and descriptions, and topic names and descriptions, best
    /// match first (ties in a stable order). English stemming and stop words apply; the query
    /// takes web-search syntax: `"quoted phrases"`, `OR` between alternatives, `-excluded`
    /// words. A query of only stop words or punctuation finds nothing.
    async fn search(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "What to look for, e.g. `rehabilitated victims`, `\"secret speech\" OR thaw -gulag`. Not empty; at most 1,000 characters."
        )]
        query: String,
        #[graphql(desc = "Return at most this many hits (0 to 100, default 20).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Return hits after this cursor (from the same query and types).")]
        after: Option<String>,
        #[graphql(
            desc = "Only these kinds of content; omitted or null means every kind, an empty list finds nothing."
        )]
        types: Option<Vec<SearchType>>,
    ) -> Result<SearchHitConnection> {
        let parsed = search::SearchQuery::parse(&query)?;
        // Any change to any text can change what matches and how it ranks.
        depends_on(ctx, [Surrogate::Articles, Surrogate::Topics]);
        let kinds: Option<Vec<SearchKind>> =
            types.map(|t| t.into_iter().map(SearchKind::from).collect());
        let mut kind_numbers: Vec<i64> = kinds
            .as_deref()
            .unwrap_or(&SearchKind::ALL)
            .iter()
            .map(|k| *k as i64)
            .collect();
        kind_numbers.sort_unstable();
        kind_numbers.dedup();
        let list = ListId(format!(
            "search:{:016x}",
            fingerprint(&format!("{}|{kind_numbers:?}", parsed.to_websearch()))
        ));
        let total = SearchTotal {
            query: parsed.clone(),
            kinds: kinds.clone(),
        };
        PageArgs::new(first, after, None, None)
            .connection(
                list,
                |window| async move {
                    let after = window.after.as_ref().map(decode_hit_key).transpose()?;
                    let page = search::search(
                        db(ctx)?,
                        &parsed,
                        kinds.as_deref(),
                        after.as_ref(),
                        window.limit(),
                    )
                    .await?;
                    with_nodes(ctx, page).await
                },
                |(hit, _)| hit_key(hit),
                |(hit, node)| SearchHit {
                    score: hit.score,
                    snippet: hit.snippet,
                    node,
                },
                total,
            )
            .await
    }
}
