//! Surrogate keys: names for the content a response depends on and a change touches.
//!
//! A response lists every key it read; a committed change purges the keys it touched, so a
//! CDN drops exactly the responses that may have changed:
//! - `article:ID`: the article and everything inside it (sections, reforms, reactions, its
//!   tags, its revisions). Every change to an article purges it.
//! - `topic:ID`: the topic's own fields and which articles, reforms and reactions it tags.
//! - `articles`: anything that lists or looks up articles as a whole (root lists, search,
//!   lookups by slug that found nothing). Every change to any article purges it, since
//!   creation, deletion, and edits that reorder or re-rank a list all change such answers.
//! - `topics`: the list of topics and topic lookups that found nothing.

use std::{collections::BTreeSet, fmt, sync::Mutex};

/// One surrogate key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// One article and everything inside it.
    Article(i64),
    /// One topic and its tags.
    Topic(i64),
    /// Lists and searches of articles, and article lookups that found nothing.
    Articles,
    /// The list of topics, and topic lookups that found nothing.
    Topics,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Article(id) => write!(f, "article:{id}"),
            Self::Topic(id) => write!(f, "topic:{id}"),
            Self::Articles => f.write_str("articles"),
            Self::Topics => f.write_str("topics"),
        }
    }
}

/// The keys a change to article `id` touches.
pub fn article_changed(id: i64) -> [Key; 2] {
    [Key::Article(id), Key::Articles]
}

/// Records the keys one request's execution read (shared by its resolvers).
#[derive(Debug, Default)]
pub struct Dependencies(Mutex<BTreeSet<Key>>);

impl Dependencies {
    /// Records that the response depends on `key`.
    pub fn record(&self, key: Key) {
        if let Ok(mut keys) = self.0.lock() {
            keys.insert(key);
        }
    }

    /// Records every key in `keys`.
    pub fn record_all(&self, keys: impl IntoIterator<Item = Key>) {
        if let Ok(mut set) = self.0.lock() {
            set.extend(keys);
        }
    }

    /// The keys recorded so far, in order (articles, topics, then the lists).
    pub fn keys(&self) -> Vec<Key> {
        self.0
            .lock()
            .map(|keys| keys.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// `keys` as one header value, separated by `separator` (a space for `Surrogate-Key`, a
/// comma for `Cache-Tag`).
pub fn header_value(keys: &[Key], separator: &str) -> String {
    let mut value = String::with_capacity(keys.len() * 12);
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            value.push_str(separator);
        }
        value.push_str(&key.to_string());
    }
    value
}

/// Longest key list a response header carries, in bytes. Proxies bound a response's headers
/// (nginx's default `proxy_buffer_size` is 4 KiB for all of them, and answers carry the list
/// twice, as `Surrogate-Key` and `Cache-Tag`; Fastly and Cloudflare stop at 16 KiB).
pub const MAX_HEADER_BYTES: usize = 1_536;

/// `keys` made to fit a header of at most `max` bytes: when they do not, every `article:ID`
/// is replaced by `articles`, which every change to any article purges as well. The answer
/// is then purged more often than it needs to be, never too seldom.
pub fn within(keys: Vec<Key>, max: usize) -> Vec<Key> {
    if header_value(&keys, " ").len() <= max {
        return keys;
    }
    let mut coarse: Vec<Key> = keys
        .into_iter()
        .filter(|key| !matches!(key, Key::Article(_)))
        .collect();
    if !coarse.contains(&Key::Articles) {
        coarse.push(Key::Articles);
        coarse.sort();
    }
    coarse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_article_keys_become_articles() {
        let few = vec![Key::Article(1), Key::Topic(2), Key::Topics];
        assert_eq!(within(few.clone(), MAX_HEADER_BYTES), few);
        let mut many: Vec<Key> = (1..=500).map(Key::Article).collect();
        many.extend([Key::Topic(9), Key::Topics]);
        let fitted = within(many, MAX_HEADER_BYTES);
        assert_eq!(fitted, vec![Key::Topic(9), Key::Articles, Key::Topics]);
        assert!(header_value(&fitted, " ").len() <= MAX_HEADER_BYTES);
        // Every change to one of those articles still purges the answer.
        for id in [1, 250, 500] {
            assert!(article_changed(id).iter().any(|k| fitted.contains(k)));
        }
    }

    #[test]
    fn keys_are_recorded_once_in_order() {
        let deps = Dependencies::default();
        deps.record(Key::Topics);
        deps.record(Key::Article(7));
        deps.record_all([Key::Article(7), Key::Topic(2), Key::Article(3)]);
        let keys = deps.keys();
        assert_eq!(
            header_value(&keys, " "),
            "article:3 article:7 topic:2 topics"
        );
        assert_eq!(
            header_value(&keys, ","),
            "article:3,article:7,topic:2,topics"
        );
    }
}
