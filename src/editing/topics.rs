//! Topics and tagging.
//!
//! Creating, renaming or re-describing a topic changes no article. Tagging and untagging
//! change the tagged article (a reform's or reaction's article for those): its version goes
//! up by 1, unless the tag was already there (or already gone), which is a no-op. Deleting a
//! topic removes its tags, so every article that had one (on itself, a reform or a reaction)
//! gets a new version recording `TOPIC_UNTAGGED`.

use sea_orm::DatabaseTransaction;

use super::{
    Editing, change, points,
    tx::{self, Change},
    validate,
};
use crate::{
    cache::Key,
    entities::topic,
    error::{Error, Result},
    events::ChangeKind,
    ids::GlobalId,
    store::{
        points::PointKind,
        topics::{self, Tagged},
    },
};

/// A new topic.
#[derive(Debug, Clone)]
pub struct NewTopic {
    /// Its slug (must be free).
    pub slug: String,
    /// Its display name.
    pub name: String,
    /// What it covers (default empty).
    pub description: Option<String>,
}

/// Changes to a topic; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct TopicChanges {
    /// A new slug.
    pub slug: Option<String>,
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
}

/// The topic with this id, or `NOT_FOUND`.
async fn find(txn: &DatabaseTransaction, id: i64) -> Result<topic::Model> {
    topics::by_ids(txn, &[id]).await?.pop().ok_or_else(|| {
        Error::not_found(format!("no topic with id {}", GlobalId::Topic(id).encode()))
    })
}

/// Creates a topic.
pub async fn create(ed: &Editing, input: NewTopic) -> Result<topic::Model> {
    let slug = validate::slug("slug", &input.slug)?;
    let name = validate::name("name", &input.name)?;
    let description = validate::text("description", input.description.as_deref().unwrap_or(""))?;
    let txn = tx::begin(&ed.db).await?;
    let topic = topics::insert(&txn, slug, name, description).await?;
    txn.commit().await?;
    ed.touched([Key::Topics]).await;
    Ok(topic)
}

/// Changes a topic's slug, name or description.
pub async fn update(ed: &Editing, id: i64, changes: TopicChanges) -> Result<topic::Model> {
    let slug = validate::optional("slug", changes.slug.as_deref(), validate::slug)?;
    let name = validate::optional("name", changes.name.as_deref(), validate::name)?;
    let description = validate::optional(
        "description",
        changes.description.as_deref(),
        validate::text,
    )?;
    let txn = tx::begin(&ed.db).await?;
    let topic = find(&txn, id).await?;
    let changed = topic::Model {
        slug: slug.unwrap_or_else(|| topic.slug.clone()),
        name: name.unwrap_or_else(|| topic.name.clone()),
        description: description.unwrap_or_else(|| topic.description.clone()),
        ..topic.clone()
    };
    if changed == topic {
        return Ok(topic);
    }
    topics::update_fields(&txn, &changed).await?;
    txn.commit().await?;
    ed.touched([Key::Topic(id), Key::Topics]).await;
    Ok(changed)
}

/// Deletes a topic and its tags; every article that lost a tag gets a new version.
pub async fn delete(ed: &Editing, editor: &str, id: i64) -> Result<()> {
    let txn = tx::begin(&ed.db).await?;
    find(&txn, id).await?;
    let mut article_ids = topics::tagged_article_ids(&txn, id).await?;
    // Lock in id order so two writers never wait on each other in a cycle.
    article_ids.sort_unstable();
    article_ids.dedup();
    let mut locked = Vec::with_capacity(article_ids.len());
    for article_id in article_ids {
        locked.push(tx::lock_article(&txn, article_id).await?);
    }
    topics::delete(&txn, id).await?;
    let mut events = Vec::with_capacity(locked.len());
    for article in locked {
        let change = Change::on(editor, change::TOPIC_UNTAGGED, GlobalId::Topic(id));
        let article = tx::bump(&txn, &article, change).await?;
        events.push(tx::event(ChangeKind::Updated, &article));
    }
    txn.commit().await?;
    ed.touched([Key::Topic(id), Key::Topics]).await;
    ed.publish(events).await;
    Ok(())
}

/// What a taggable node is, its id, and its article.
async fn tag_target(txn: &DatabaseTransaction, content: GlobalId) -> Result<(Tagged, i64, i64)> {
    Ok(match content {
        GlobalId::Article(id) => (Tagged::Article, id, id),
        GlobalId::Reform(id) | GlobalId::Reaction(id) => {
            let kind = if matches!(content, GlobalId::Reform(_)) {
                PointKind::Reform
            } else {
                PointKind::Reaction
            };
            let point = points::find(txn, kind, id).await?;
            (Tagged::Point(kind), id, point.article_id)
        }
        GlobalId::Section(_) | GlobalId::Topic(_) => return Err(not_taggable()),
    })
}

/// The `BAD_USER_INPUT` for tagging something that takes no tags.
fn not_taggable() -> Error {
    Error::bad_input(
        "contentId",
        "contentId must be the id of an article, a reform or a reaction",
    )
}

/// Tags (`tag: true`) or untags a topic on an article, reform or reaction. Tagging what is
/// already tagged, or untagging what is not, changes nothing.
pub async fn set_tag(
    ed: &Editing,
    editor: &str,
    topic_id: i64,
    content: GlobalId,
    tag: bool,
) -> Result<topic::Model> {
    if matches!(content, GlobalId::Section(_) | GlobalId::Topic(_)) {
        return Err(not_taggable());
    }
    let txn = tx::begin(&ed.db).await?;
    let topic = find(&txn, topic_id).await?;
    let (_, _, article_id) = tag_target(&txn, content).await?;
    let article = tx::lock_article(&txn, article_id).await?;
    let (tagged, item_id, _) = tag_target(&txn, content).await?;
    let (changed, kind) = if tag {
        let tags = topics::tag_count_except(&txn, tagged, item_id, topic_id).await?;
        validate::room(
            "contentId",
            "topics per article, reform or reaction",
            tags as usize,
            validate::MAX_TOPICS_PER_ITEM,
        )?;
        let added = topics::add_tag(&txn, tagged, item_id, topic_id).await?;
        (added, change::TOPIC_TAGGED)
    } else {
        let removed = topics::remove_tag(&txn, tagged, item_id, topic_id).await?;
        (removed, change::TOPIC_UNTAGGED)
    };
    if !changed {
        return Ok(topic);
    }
    let article = tx::bump(&txn, &article, Change::on(editor, kind, content)).await?;
    txn.commit().await?;
    ed.touched([Key::Topic(topic_id)]).await;
    ed.publish([tx::event(ChangeKind::Updated, &article)]).await;
    Ok(topic)
}
