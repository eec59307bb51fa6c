//! The `Subscription` root: live article changes, fed by the [`EventBus`].

use std::collections::HashSet;

use async_graphql::{Context, Enum, ErrorExtensions, ID, Object, Result, Subscription};
use futures::{Stream, stream};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::{batch::load, context::db, ids::GlobalId, loaders::ArticleById, types::Article};
use crate::{
    content::is_valid_slug,
    error::Error,
    events::{self, ArticleEvent, EventBus},
    store,
};

/// What happened to an article.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ChangeKind", remote = "crate::events::ChangeKind")]
pub enum ChangeKind {
    /// The article was created.
    Created,
    /// The article or anything inside it (a section, reform, reaction or tag) changed.
    Updated,
    /// The article was deleted.
    Deleted,
}

/// One committed change to an article.
pub struct ArticleChange(pub ArticleEvent);

/// One committed change to an article, as `articleChanged` delivers it.
#[Object]
impl ArticleChange {
    /// What happened.
    async fn kind(&self) -> ChangeKind {
        self.0.kind.into()
    }

    /// The article's global ID (the same as `Article.id`).
    async fn article_id(&self) -> ID {
        GlobalId::Article(self.0.article_id).into()
    }

    /// The article's slug after the change.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The article's version after the change.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The article as it is now (possibly already at a later version than `version`); null
    /// when it was deleted.
    async fn article(&self, ctx: &Context<'_>) -> Result<Option<Article>> {
        if self.0.kind == events::ChangeKind::Deleted {
            return Ok(None);
        }
        let columns = super::selection::of_field(ctx, super::selection::ARTICLE);
        Ok(load(ctx, ArticleById(self.0.article_id, columns))
            .await?
            .map(Article))
    }
}

/// Live updates.
#[derive(Default)]
pub struct Subscription;

/// Live updates over graphql-transport-ws at `/graphql/ws`.
#[Subscription]
impl Subscription {
    /// An event for every committed change to an article or anything inside it, after the
    /// commit. A subscriber that falls more than the server's subscriber buffer behind (256
    /// events unless configured otherwise) receives one `LIMIT_EXCEEDED` error saying how many
    /// it missed, and its stream completes.
    async fn article_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only changes to the article with this slug (followed through renames, and any article that later takes the slug); null for every article."
        )]
        slug: Option<String>,
    ) -> Result<impl Stream<Item = Result<ArticleChange>> + use<>> {
        let bus = ctx.data::<EventBus>()?;
        // Subscribe before looking the article up, so no change in between is missed; a
        // multiplexed subscription has subscribed before it executed.
        let prepared = ctx.data_opt::<events::Subscribed>().and_then(|s| s.take());
        if let Some(slug) = &slug
            && !is_valid_slug(slug)
        {
            return Err(Error::bad_input(
                "slug",
                format!(
                    "slug {slug:?} must be lowercase letters, digits and single hyphens, at most 100 characters"
                ),
            )
            .into());
        }
        let receiver = prepared.unwrap_or_else(|| bus.subscribe());
        let filter = match slug {
            None => Filter::All,
            Some(slug) => {
                let ids = store::articles::by_slug(db(ctx)?, &slug)
                    .await
                    .map_err(|err| err.extend())?
                    .map(|article| article.id)
                    .into_iter()
                    .collect();
                Filter::Slug { slug, ids }
            }
        };
        Ok(changes(receiver, filter, bus.buffer()))
    }
}

/// Which events a subscriber wants.
enum Filter {
    All,
    /// Events whose slug is `slug`, and events of articles that had it.
    Slug {
        slug: String,
        ids: HashSet<i64>,
    },
}

impl Filter {
    fn accepts(&mut self, event: &ArticleEvent) -> bool {
        match self {
            Self::All => true,
            Self::Slug { slug, ids } => {
                if event.slug == *slug {
                    ids.insert(event.article_id);
                    true
                } else {
                    ids.contains(&event.article_id)
                }
            }
        }
    }
}

/// The events `filter` accepts, until the bus closes or the subscriber falls behind.
fn changes(
    receiver: Receiver<ArticleEvent>,
    filter: Filter,
    buffer: usize,
) -> impl Stream<Item = Result<ArticleChange>> {
    stream::unfold(Some((receiver, filter)), move |state| async move {
        let (mut receiver, mut filter) = state?;
        loop {
            match receiver.recv().await {
                Ok(event) if filter.accepts(&event) => {
                    return Some((Ok(ArticleChange(event)), Some((receiver, filter))));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    crate::metrics::count(crate::metrics::EVENTS_DROPPED, missed);
                    return Some((Err(Error::Lagged { missed, buffer }.extend()), None));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
