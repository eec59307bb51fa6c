//! The in-process cache of anonymous query responses, bounded in bytes, least recently used
//! evicted first.
//!
//! Entries are valid for one content version: the first lookup or store at a newer version
//! drops every entry, so an answer is never served once this process knows of a later
//! change (see [`super::version`]). An entry stored under an older version than the current
//! one is not stored at all.

use std::sync::Mutex;

use axum::body::Bytes;
use lru::LruCache;
use sha2::{Digest, Sha256};

/// Identifies one operation with its variables: what makes two requests answer the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of `document` (its text's SHA-256, as persisted queries name it), the selected
    /// operation and the variables as JSON text.
    pub fn new(document_sha256: &str, operation_name: Option<&str>, variables: &str) -> Self {
        let mut hash = Sha256::new();
        for part in [document_sha256, operation_name.unwrap_or(""), variables] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        Self(hash.finalize().into())
    }

    /// The strong ETag of this operation's answer at content `version`: it changes whenever
    /// the content does, and is the same on every server process.
    pub fn etag(&self, version: i64) -> String {
        let mut hash = Sha256::new();
        hash.update(self.0);
        hash.update(version.to_le_bytes());
        let digest = hash.finalize();
        let mut tag = String::with_capacity(34);
        tag.push('"');
        for byte in &digest[..16] {
            tag.push_str(&format!("{byte:02x}"));
        }
        tag.push('"');
        tag
    }
}

/// One cached answer.
#[derive(Debug, Clone)]
pub struct CachedResponse {
    /// The serialized response.
    pub body: Bytes,
    /// The surrogate keys it depends on, as a `Surrogate-Key` header value.
    pub keys: String,
}

impl CachedResponse {
    fn weight(&self) -> usize {
        // The entry's own bookkeeping is small beside any body; count a fixed overhead.
        self.body.len() + self.keys.len() + 128
    }
}

/// Anonymous query answers, valid for one content version.
#[derive(Debug)]
pub struct ResponseCache {
    budget: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    version: i64,
    entries: LruCache<CacheKey, CachedResponse>,
    bytes: usize,
}

impl State {
    /// Moves to `version`: a newer one drops every entry. Whether entries at `version` are
    /// usable (false for an older version).
    fn at(&mut self, version: i64) -> bool {
        if version > self.version {
            self.entries.clear();
            self.bytes = 0;
            self.version = version;
        }
        version == self.version
    }
}

impl ResponseCache {
    /// A cache holding at most `budget` bytes of answers; `None` when `budget` is 0 (off).
    pub fn new(budget: usize) -> Option<Self> {
        (budget > 0).then(|| Self {
            budget,
            state: Mutex::new(State {
                version: i64::MIN,
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
        })
    }

    /// The answer to `key` at content `version`, if cached.
    pub fn get(&self, key: &CacheKey, version: i64) -> Option<CachedResponse> {
        let mut state = self.state.lock().ok()?;
        if !state.at(version) {
            return None;
        }
        state.entries.get(key).cloned()
    }

    /// Stores the answer to `key` computed at content `version` (ignored if the version has
    /// moved on, or if it alone would take more than an eighth of the budget).
    pub fn put(&self, key: CacheKey, version: i64, response: CachedResponse) {
        let weight = response.weight();
        if weight > self.budget / 8 {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if !state.at(version) {
            return;
        }
        if let Some(old) = state.entries.put(key, response) {
            state.bytes -= old.weight();
        }
        state.bytes += weight;
        while state.bytes > self.budget {
            match state.entries.pop_lru() {
                Some((_, evicted)) => state.bytes -= evicted.weight(),
                None => break,
            }
        }
    }

    /// The bytes and number of answers held now.
    pub fn usage(&self) -> (usize, usize) {
        self.state
            .lock()
            .map(|state| (state.bytes, state.entries.len()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(len: usize) -> CachedResponse {
        CachedResponse {
            body: Bytes::from(vec![b'x'; len]),
            keys: String::new(),
        }
    }

    #[test]
    fn a_newer_version_drops_every_entry() {
        let cache = ResponseCache::new(1 << 20).unwrap();
        let key = CacheKey::new("h", None, "{}");
        cache.put(key, 1, answer(10));
        assert!(cache.get(&key, 1).is_some());
        assert!(cache.get(&key, 2).is_none());
        assert_eq!(cache.usage(), (0, 0));
        // An answer computed at the old version is not stored any more.
        cache.put(key, 1, answer(10));
        assert!(cache.get(&key, 2).is_none());
    }

    #[test]
    fn the_least_recently_used_is_evicted_within_the_budget() {
        let cache = ResponseCache::new(8 * 1000).unwrap();
        let keys: Vec<CacheKey> = (0..20)
            .map(|i| CacheKey::new(&i.to_string(), None, ""))
            .collect();
        for key in &keys[..7] {
            cache.put(*key, 1, answer(872));
        }
        assert!(cache.get(&keys[0], 1).is_some()); // now the most recently used
        cache.put(keys[7], 1, answer(872));
        cache.put(keys[8], 1, answer(872));
        let (bytes, _) = cache.usage();
        assert!(bytes <= 8000, "{bytes}");
        assert!(cache.get(&keys[0], 1).is_some());
        assert!(cache.get(&keys[1], 1).is_none());
        // Too large for the budget: not stored.
        cache.put(keys[9], 1, answer(4000));
        assert!(cache.get(&keys[9], 1).is_none());
    }

    #[test]
    fn etags_differ_by_version_and_operation() {
        let a = CacheKey::new("h", None, "{}");
        let b = CacheKey::new("h", Some("Op"), "{}");
        assert_ne!(a.etag(1), a.etag(2));
        assert_ne!(a.etag(1), b.etag(1));
        assert_eq!(a.etag(1), CacheKey::new("h", None, "{}").etag(1));
        assert_eq!(a.etag(1).len(), 34);
    }
}
