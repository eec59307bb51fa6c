//! What clients, CDNs and this process may reuse, and how it is invalidated.
//!
//! - [`version`]: the database's content version as this process knows it, kept fresh by its
//!   own commits, by NOTIFY on PostgreSQL, and by polling; ETags and the response cache are
//!   valid for one version.
//! - [`keys`]: surrogate keys (`article:12`, `topic:3`, `articles`, `topics`) naming what a
//!   response depends on and what a change touches.
//! - [`responses`]: the in-process cache of anonymous query responses, bounded in bytes.
//! - [`coding`]: the content codings cached answers are kept in, compressed once each.
//! - [`purge`]: the webhook that tells a CDN which keys a committed change touched.
//!
//! Nothing here knows about GraphQL or HTTP requests: the HTTP layer decides what may be
//! cached, the GraphQL layer records what a response read, and editing names what it changed.

pub mod coding;
pub mod keys;
pub mod purge;
pub mod responses;
pub mod version;

pub use keys::{Dependencies, Key};
pub use purge::Purger;
pub use responses::ResponseCache;
pub use version::ContentVersion;

/// Tells this process's content version and the CDN about a committed change.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    version: Option<ContentVersion>,
    purger: Option<Purger>,
}

impl Changes {
    /// Refreshes `version` and queues purges on `purger` after each commit.
    pub fn new(version: Option<ContentVersion>, purger: Option<Purger>) -> Self {
        Self { version, purger }
    }

    /// A change touching `keys` committed: reads the new content version (so this process
    /// stops answering from before the change) and queues the purge (never waits for it).
    pub async fn committed(&self, keys: impl IntoIterator<Item = Key>) {
        if let Some(version) = &self.version {
            version.refresh().await;
        }
        if let Some(purger) = &self.purger {
            purger.purge(keys);
        }
    }

    /// The purger, if purges are configured.
    pub fn purger(&self) -> Option<&Purger> {
        self.purger.as_ref()
    }
}
