//! The in-process cache of anonymous query responses, bounded in bytes, least recently used
//! evicted first.
//!
//! Entries are valid for one content version: the first lookup or store at a newer version
//! drops every entry, so an answer is never served once this process knows of a later
//! change (see [`super::version`]). An entry stored under an older version than the current
//! one is not stored at all. Each entry also keeps its body compressed in each coding a client
//! asked for ([`super::coding`]), made on the first such hit and counted in the budget.

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use lru::LruCache;
use sha2::{Digest, Sha256};

use super::coding::Coding;

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
        format!("\"{}\"", hex::encode(&digest[..16]))
    }
}

/// One cached answer.
#[derive(Debug, Clone)]
pub struct CachedResponse {
    /// The serialized response.
    pub body: Bytes,
    /// The surrogate keys it depends on, as a `Surrogate-Key` header value.
    pub keys: String,
    /// The body in each coding of [`Coding::ALL`], once a client has asked for it.
    encoded: Arc<[OnceLock<Bytes>; 3]>,
}

impl CachedResponse {
    /// An answer with its `body` and surrogate `keys`.
    pub fn new(body: Bytes, keys: String) -> Self {
        Self {
            body,
            keys,
            encoded: Arc::default(),
        }
    }

    fn weight(&self) -> usize {
        // The entry's own bookkeeping is small beside any body; count a fixed overhead.
        self.body.len() + self.keys.len() + 128
    }
}

/// An entry with the bytes it is counted for.
#[derive(Debug)]
struct Entry {
    response: CachedResponse,
    weight: usize,
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
    entries: LruCache<CacheKey, Entry>,
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

    /// Drops the least recently used entries until at most `budget` bytes are held.
    fn evict_beyond(&mut self, budget: usize) {
        while self.bytes > budget {
            match self.entries.pop_lru() {
                Some((_, evicted)) => self.bytes -= evicted.weight,
                None => break,
            }
        }
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
        state.entries.get(key).map(|entry| entry.response.clone())
    }

    /// The body of `cached` (the answer to `key`) compressed with `coding`: compressed on the
    /// first call, then shared by every later hit while the entry lives. The compressed bytes
    /// count against the budget if the entry is still cached.
    pub fn encoded(&self, key: &CacheKey, cached: &CachedResponse, coding: Coding) -> Bytes {
        let slot = &cached.encoded[coding.index()];
        if let Some(bytes) = slot.get() {
            return bytes.clone();
        }
        let mut made = false;
        let bytes = slot
            .get_or_init(|| {
                made = true;
                coding.compress(&cached.body)
            })
            .clone();
        if made && let Ok(mut state) = self.state.lock() {
            let state = &mut *state;
            if let Some(entry) = state.entries.peek_mut(key)
                && Arc::ptr_eq(&entry.response.encoded, &cached.encoded)
            {
                entry.weight += bytes.len();
                state.bytes += bytes.len();
                state.evict_beyond(self.budget);
            }
        }
        bytes
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
        if let Some(old) = state.entries.put(key, Entry { response, weight }) {
            state.bytes -= old.weight;
        }
        state.bytes += weight;
        state.evict_beyond(self.budget);
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
        CachedResponse::new(Bytes::from(vec![b'x'; len]), String::new())
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
    fn each_coding_is_compressed_once_and_counted() {
        let cache = ResponseCache::new(1 << 20).unwrap();
        let key = CacheKey::new("h", None, "{}");
        cache.put(key, 1, answer(5000));
        let (before, _) = cache.usage();
        let hit = cache.get(&key, 1).unwrap();
        let first = cache.encoded(&key, &hit, Coding::Gzip);
        let (after, _) = cache.usage();
        assert_eq!(after, before + first.len());
        // A later hit shares the same bytes and adds nothing.
        let again = cache.get(&key, 1).unwrap();
        let second = cache.encoded(&key, &again, Coding::Gzip);
        assert_eq!(first.as_ptr(), second.as_ptr());
        assert_eq!(cache.usage().0, after);
        // An answer evicted meanwhile is still compressed for its caller, and counts nothing.
        let stale = cache.get(&key, 1).unwrap();
        cache.get(&key, 2);
        assert!(!cache.encoded(&key, &stale, Coding::Zstd).is_empty());
        assert_eq!(cache.usage(), (0, 0));
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
