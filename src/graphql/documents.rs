//! Parsed documents, kept by their text: clients send the same few operations over and over,
//! and parsing (async-graphql's pest grammar) costs more than copying the parsed tree.
//!
//! Only documents that parsed are kept, after the text passed its checks; a hit still goes
//! through every check of the document itself (limits, cost, validation), which depend on
//! the request's variables and operation name, not only on its text.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// How many documents are kept (least recently used first out).
const ENTRIES: usize = 512;

/// Longer texts are parsed every time: they are rare, and keeping them would cost memory.
const MAX_TEXT_BYTES: usize = 16 * 1024;

/// The parsed documents of recent query texts; one per schema, shared by its requests.
#[derive(Clone)]
pub struct Documents(Arc<Mutex<LruCache<String, Arc<ExecutableDocument>>>>);

impl Default for Documents {
    fn default() -> Self {
        let entries = NonZeroUsize::new(ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Self(Arc::new(Mutex::new(LruCache::new(entries))))
    }
}

impl Documents {
    /// The parsed document of `text`, if it was kept.
    pub fn get(&self, text: &str) -> Option<Arc<ExecutableDocument>> {
        self.lock().get(text).cloned()
    }

    /// Keeps `doc`, the parse of `text` (unless `text` is too long to keep).
    pub fn put(&self, text: &str, doc: Arc<ExecutableDocument>) {
        if text.len() <= MAX_TEXT_BYTES {
            self.lock().put(text.to_owned(), doc);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<ExecutableDocument>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    #[test]
    fn documents_are_kept_by_text_and_long_texts_are_not() {
        let documents = Documents::default();
        let text = "{ articles { nodes { title } } }";
        assert!(documents.get(text).is_none());
        documents.put(text, Arc::new(parse_query(text).unwrap()));
        let kept = documents.get(text).expect("kept");
        assert_eq!(kept.operations.iter().count(), 1);
        assert!(documents.get("{ articles { nodes { slug } } }").is_none());

        let long = format!("{{ __typename }}{}", " ".repeat(MAX_TEXT_BYTES));
        documents.put(&long, Arc::new(parse_query(&long).unwrap()));
        assert!(documents.get(&long).is_none());
    }

    #[test]
    fn the_least_recently_used_document_goes_first() {
        let documents = Documents::default();
        let texts: Vec<String> = (0..=ENTRIES)
            .map(|i| format!("{{ a{i}: __typename }}"))
            .collect();
        for text in &texts {
            documents.put(text, Arc::new(parse_query(text).unwrap()));
        }
        assert!(documents.get(&texts[0]).is_none());
        assert!(documents.get(&texts[ENTRIES]).is_some());
    }
}
