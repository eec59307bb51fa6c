//! Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.
//!
//! A request may carry `extensions.persistedQuery = { version: 1, sha256Hash }`, the
//! lowercase hex SHA-256 of its query text (upper case is accepted and lowered):
//! - with the hash only, a known hash runs the stored text; an unknown one is answered with
//!   one error, message `PersistedQueryNotFound` and code `PERSISTED_QUERY_NOT_FOUND`, so
//!   Apollo's persisted-queries link sends the query again with its text;
//! - with the hash and the text, the text must hash to it (`BAD_USER_INPUT` otherwise); it runs,
//!   and is stored once it passed every guard (it began executing), never before.
//!
//! A malformed extension (not an object, `version` not 1, `sha256Hash` missing or not 64 hex
//! digits) is `BAD_USER_INPUT`; a text over the query-size limit is `LIMIT_EXCEEDED`
//! (`querySize`). Nothing is stored for any of them.
//!
//! Stored documents live in the database (`crate::store::persisted`), shared by every replica,
//! bounded by `persisted-queries-max` (least recently used evicted first); an in-process cache
//! in front of the table answers known hashes without a statement. A stored text is only ever
//! put back into the request: it goes through every guard each time it runs.
//!
//! In trusted-documents mode only documents an operator registered (`annals persisted add`)
//! run, by hash or by their full text; anything else is `PERSISTED_QUERY_NOT_TRUSTED`, and
//! clients cannot register documents. Requests with a valid editor token are exempt (GraphiQL).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_graphql::{Request, ServerError, Value};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::{error::Error, store};

/// The request extension that carries a persisted query's hash.
pub const EXTENSION: &str = "persistedQuery";

/// The only protocol version there is.
const VERSION: i64 = 1;

/// How often a document's `last_used` is written at most (per process and document).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Most documents the in-process cache holds.
const CACHE_CAPACITY: usize = 2_048;

/// The lowercase hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `hash` as a stored key: 64 hex digits, lowered; `None` for anything else.
pub fn normalize_hash(hash: &str) -> Option<String> {
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hash.to_ascii_lowercase())
}

/// Reads the `persistedQuery` extension: the normalized hash, or why it is malformed.
fn parse_extension(value: &Value) -> Result<String, ServerError> {
    let bad =
        |message: &str| Error::bad_input("extensions.persistedQuery", message).into_server_error();
    let Value::Object(map) = value else {
        return Err(bad(
            "extensions.persistedQuery must be an object { version: 1, sha256Hash }.",
        ));
    };
    match map.get("version") {
        Some(Value::Number(n)) if n.as_i64() == Some(VERSION) => {}
        _ => {
            return Err(bad(
                "Unsupported persisted query version: extensions.persistedQuery.version must be 1.",
            ));
        }
    }
    let Some(Value::String(hash)) = map.get("sha256Hash") else {
        return Err(bad(
            "extensions.persistedQuery.sha256Hash must be a string: the hex SHA-256 of the query.",
        ));
    };
    normalize_hash(hash).ok_or_else(|| {
        bad("extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits (a SHA-256).")
    })
}

/// The answer to a hash the server does not know, exactly as Apollo's link expects it.
fn not_found() -> ServerError {
    Error::PersistedQueryNotFound.into_server_error()
}

fn not_trusted() -> ServerError {
    Error::PersistedQueryNotTrusted(
        "This server runs only registered operations (trusted documents), and this one is not registered.".into(),
    )
    .into_server_error()
}

/// An error of the store as a response error (its code, and a database fault as its source).
fn store_error(err: Error) -> ServerError {
    err.into_server_error()
}

/// A document to store once its request has begun executing.
#[derive(Debug, Clone)]
pub struct Registration {
    hash: String,
    document: String,
}

/// One cached document.
struct Entry {
    document: Arc<str>,
    trusted: bool,
    /// The cache's clock when it was last used (for eviction from the cache).
    used: u64,
    /// When its `last_used` was last written (or read) by this process.
    touched: Instant,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<String, Entry>,
    clock: u64,
}

impl Cache {
    fn get(&mut self, hash: &str) -> Option<(Arc<str>, bool, bool)> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.entries.get_mut(hash)?;
        entry.used = clock;
        let stale = entry.touched.elapsed() >= TOUCH_EVERY;
        if stale {
            entry.touched = Instant::now();
        }
        Some((entry.document.clone(), entry.trusted, stale))
    }

    fn insert(&mut self, hash: String, document: Arc<str>, trusted: bool) {
        self.clock += 1;
        if self.entries.len() >= CACHE_CAPACITY && !self.entries.contains_key(&hash) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(h, _)| h.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        let trusted = trusted || self.entries.get(&hash).is_some_and(|e| e.trusted);
        self.entries.insert(
            hash,
            Entry {
                document,
                trusted,
                used: self.clock,
                touched: Instant::now(),
            },
        );
    }
}

/// The persisted-query store of one server: the table, and the cache in front of it.
pub struct PersistedQueries {
    db: DatabaseConnection,
    /// Only registered (trusted) documents run, except for editors.
    trusted_only: bool,
    /// Most untrusted documents kept in the table.
    max_stored: u64,
    /// The query-size limit: longer documents are neither run nor stored.
    max_bytes: usize,
    /// Whether the database may be written (not a read-only SQLite file).
    writable: bool,
    cache: Arc<Mutex<Cache>>,
}

impl PersistedQueries {
    /// The store over `db`: `trusted_only` runs registered documents only, `max_stored`
    /// bounds the documents clients register, `max_bytes` is the query-size limit; when
    /// `writable` is false documents are kept in this process only.
    pub fn new(
        db: DatabaseConnection,
        trusted_only: bool,
        max_stored: u64,
        max_bytes: usize,
        writable: bool,
    ) -> Self {
        Self {
            db,
            trusted_only,
            max_stored,
            max_bytes,
            writable,
            cache: Arc::default(),
        }
    }

    /// Whether only trusted documents run (for callers without an editor token).
    pub fn trusted_only(&self) -> bool {
        self.trusted_only
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The document stored under `hash` and whether it is trusted: from the cache, or one
    /// statement on a miss. Refreshes its `last_used` (in the background) at most once a
    /// minute; a document found gone then leaves the cache. With `trusted`, a document cached
    /// as untrusted is looked up again (an operator may have registered it since).
    async fn lookup(&self, hash: &str, trusted: bool) -> Result<Option<(Arc<str>, bool)>, Error> {
        let cached = self.cache().get(hash);
        if let Some((document, is_trusted, stale)) = cached
            && (is_trusted || !trusted)
        {
            if stale {
                self.touch_later(hash);
            }
            return Ok(Some((document, is_trusted)));
        }
        let Some(stored) = store::persisted::get(&self.db, hash).await? else {
            return Ok(None);
        };
        let document: Arc<str> = Arc::from(stored.document);
        self.cache()
            .insert(hash.to_owned(), document.clone(), stored.trusted);
        if store::persisted::now() - stored.last_used >= TOUCH_EVERY.as_millis() as i64 {
            self.touch_later(hash);
        }
        Ok(Some((document, stored.trusted)))
    }

    /// Writes `hash`'s last use without making the request wait.
    fn touch_later(&self, hash: &str) {
        if !self.writable {
            return;
        }
        let (db, hash, cache) = (self.db.clone(), hash.to_owned(), self.cache.clone());
        tokio::spawn(async move {
            match store::persisted::touch(&db, &hash).await {
                Ok(true) => {}
                // Removed (`annals persisted remove`) or evicted by another replica.
                Ok(false) => {
                    cache
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entries
                        .remove(&hash);
                }
                Err(err) => {
                    tracing::debug!(error = %err.message(), "persisted query: last use not recorded");
                }
            }
        });
    }

    /// The stored text a request's `persistedQuery` hash names, if it is well formed and
    /// known (for checking what a GET request would run); errors count as unknown.
    pub async fn text_of(&self, request: &Request) -> Option<Arc<str>> {
        let hash = parse_extension(request.extensions.get(EXTENSION)?).ok()?;
        self.lookup(&hash, false)
            .await
            .ok()
            .flatten()
            .map(|(text, _)| text)
    }

    /// Applies the protocol to one request before it executes: puts a stored text into it,
    /// checks a sent text against its hash, and in trusted mode refuses what is not
    /// registered. `editor`: the request carries a valid editor token. Returns what to store
    /// once the request has begun executing, or the errors to answer instead.
    pub async fn resolve(
        &self,
        request: &mut Request,
        editor: bool,
    ) -> Result<Option<Registration>, ServerError> {
        let trusted_only = self.trusted_only && !editor;
        let Some(extension) = request.extensions.remove(EXTENSION) else {
            if !trusted_only {
                return Ok(None);
            }
            // Registered documents also run when sent as text.
            return match self.lookup(&sha256_hex(&request.query), true).await {
                Ok(Some((_, true))) => Ok(None),
                Ok(_) => Err(not_trusted()),
                Err(err) => Err(store_error(err)),
            };
        };
        let hash = parse_extension(&extension)?;
        if request.query.is_empty() {
            // The hash only.
            return match self.lookup(&hash, trusted_only).await {
                Ok(Some((_, false)) | None) if trusted_only => Err(not_trusted()),
                Ok(Some((text, _))) => {
                    request.query = text.to_string();
                    Ok(None)
                }
                Ok(None) => Err(not_found()),
                Err(err) => Err(store_error(err)),
            };
        }
        if request.query.len() > self.max_bytes {
            return Err(Error::limit(
                "querySize",
                format!(
                    "The query is {} bytes long; the limit is {} bytes.",
                    request.query.len(),
                    self.max_bytes
                ),
            )
            .into_server_error());
        }
        if sha256_hex(&request.query) != hash {
            return Err(Error::bad_input(
                "extensions.persistedQuery.sha256Hash",
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query text.",
            )
            .into_server_error());
        }
        if trusted_only {
            return match self.lookup(&hash, trusted_only).await {
                Ok(Some((_, true))) => Ok(None),
                Ok(_) => Err(not_trusted()),
                Err(err) => Err(store_error(err)),
            };
        }
        if self.cache().get(&hash).is_some() {
            return Ok(None);
        }
        Ok(Some(Registration {
            hash,
            document: request.query.clone(),
        }))
    }

    /// Stores a registration (its request began executing, so it passed every guard), then
    /// evicts beyond the bound. A failure is logged: the request has already run.
    pub async fn register(&self, registration: Registration) {
        let Registration { hash, document } = registration;
        self.cache()
            .insert(hash.clone(), Arc::from(document.as_str()), false);
        if !self.writable {
            return;
        }
        let stored = async {
            store::persisted::put(&self.db, &hash, &document, None, false).await?;
            store::persisted::evict(&self.db, self.max_stored).await
        };
        match stored.await {
            Ok(0) => {}
            Ok(evicted) => tracing::debug!(evicted, "persisted queries evicted"),
            Err(err) => {
                tracing::warn!(error = %err.message(), "persisted query not stored");
            }
        }
    }
}
