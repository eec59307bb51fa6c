//! HTTP caching of GraphQL answers: which requests may be answered from cache, `Cache-Control`,
//! strong ETags with `If-None-Match` → `304 Not Modified`, surrogate-key headers for CDNs, and
//! the in-process response cache.
//!
//! A request may be cached when it is one anonymous operation (no `Authorization` header)
//! without extensions other than `persistedQuery`; its answer is stored only when it turns
//! out to be a query that succeeded without errors. The ETag names the operation, its
//! variables and the content version, so it is known before anything runs: a current
//! `If-None-Match` costs no SQL statement, and every server process computes the same tag.

use std::sync::Arc;

use async_graphql::Request;
use axum::{
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::{
    cache::{
        Dependencies, coding,
        keys::{MAX_HEADER_BYTES, header_value, within},
        responses::{CacheKey, CachedResponse},
    },
    config::Caching,
};

/// `Surrogate-Key`: the response's keys, space-separated (Fastly, Varnish xkey).
pub const SURROGATE_KEY: HeaderName = HeaderName::from_static("surrogate-key");
/// `Cache-Tag`: the same keys, comma-separated (Cloudflare and others).
pub const CACHE_TAG: HeaderName = HeaderName::from_static("cache-tag");

/// A request whose answer may come from, and go into, a cache.
pub struct Cacheable {
    /// The operation with its variables.
    pub key: CacheKey,
    /// The content version when the request arrived.
    pub version: i64,
    /// The ETag of the answer at that version.
    pub etag: String,
    /// Collects what the execution reads, for `Surrogate-Key`.
    pub dependencies: Arc<Dependencies>,
}

/// Whether `request` may be answered from cache, and under which key.
pub fn cacheable(state: &AppState, headers: &HeaderMap, request: &Request) -> Option<Cacheable> {
    if headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    // Extensions change the answer (`dryRun`); only a persisted query's hash is harmless.
    if request
        .extensions
        .keys()
        .any(|name| name != "persistedQuery")
    {
        return None;
    }
    let document = if request.query.is_empty() {
        persisted_hash(request)?
    } else {
        hex::encode(Sha256::digest(request.query.as_bytes()))
    };
    let variables = serde_json::to_string(&request.variables).ok()?;
    let key = CacheKey::new(&document, request.operation_name.as_deref(), &variables);
    let version = state.version.current();
    Some(Cacheable {
        key,
        version,
        etag: key.etag(version),
        dependencies: Arc::default(),
    })
}

/// The `sha256Hash` of a persisted-query extension, lower-cased.
fn persisted_hash(request: &Request) -> Option<String> {
    let async_graphql::Value::Object(persisted) = request.extensions.get("persistedQuery")? else {
        return None;
    };
    match persisted.get("sha256Hash")? {
        async_graphql::Value::String(hash) => Some(hash.to_ascii_lowercase()),
        _ => None,
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 wants for it; a tag
/// the compression layer suffixed with its encoding counts as the same). `*` is not honoured:
/// it would answer 304 for an operation whose answer was never sent.
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let Some(value) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let bare = etag.trim_end_matches('"');
    value.split(',').any(|tag| {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == etag
            || tag
                .strip_prefix(bare)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|rest| rest.strip_suffix('"'))
                .is_some_and(|encoding| coding::Coding::from_token(encoding).is_some())
    })
}

/// `Cache-Control` for an answer anyone may keep.
fn public(caching: &Caching) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "public, max-age={}, stale-while-revalidate={}",
        caching.max_age_secs, caching.stale_while_revalidate_secs
    ))
    .unwrap_or(HeaderValue::from_static("no-cache"))
}

/// `Cache-Control` for an answer nobody may keep: authenticated, failed, or not a query.
pub const PRIVATE: HeaderValue = HeaderValue::from_static("private, no-store");

/// What a cacheable answer sends besides its body: `Cache-Control` (over GET), `ETag`, the
/// surrogate keys, and `Vary`.
pub fn cacheable_headers(
    state: &AppState,
    response: &mut Response,
    etag: &str,
    keys: &str,
    via_get: bool,
) {
    let headers = response.headers_mut();
    if via_get {
        headers.insert(header::CACHE_CONTROL, public(&state.config.caching));
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Authorization"),
        );
    }
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    if !keys.is_empty() {
        if let Ok(value) = HeaderValue::from_str(keys) {
            headers.insert(SURROGATE_KEY, value);
        }
        if let Ok(value) = HeaderValue::from_str(&keys.replace(' ', ",")) {
            headers.insert(CACHE_TAG, value);
        }
    }
}

/// `304 Not Modified` for a current `If-None-Match` (with the headers a 200 would carry
/// that describe caching, and the tag the client holds).
pub fn not_modified_response(state: &AppState, headers: &HeaderMap, etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    let held = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .map(str::trim)
                .find(|t| t.contains(etag.trim_matches('"')))
        })
        .unwrap_or(etag)
        .to_owned();
    cacheable_headers(state, &mut response, &held, "", true);
    crate::metrics::count(crate::metrics::NOT_MODIFIED, 1);
    response
}

/// An answer of `content_type` straight from the response cache, in the coding the
/// client's `Accept-Encoding` prefers: compressed once per cached answer, so the
/// compression layer (which leaves a body with a `Content-Encoding` alone) does not
/// compress it again on every hit.
pub fn cached_response(
    state: &AppState,
    headers: &HeaderMap,
    content_type: HeaderValue,
    (key, cached): (&CacheKey, CachedResponse),
    etag: &str,
    via_get: bool,
) -> Response {
    let compressible = cached.body.len() >= usize::from(super::COMPRESS_FROM_BYTES);
    let coding = compressible
        .then(|| {
            coding::preferred(
                headers
                    .get_all(header::ACCEPT_ENCODING)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
        })
        .flatten();
    let body = match (coding, &state.responses) {
        (Some(coding), Some(cache)) => cache.encoded(key, &cached, coding),
        _ => cached.body.clone(),
    };
    let mut response =
        (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
    cacheable_headers(state, &mut response, etag, &cached.keys, via_get);
    if let Some(coding) = coding {
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(coding.token()),
        );
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    crate::metrics::count(crate::metrics::RESPONSE_CACHE_HITS, 1);
    response
}

/// The keys `dependencies` collected, as a `Surrogate-Key` value.
pub fn keys_header(dependencies: &Dependencies) -> String {
    header_value(&within(dependencies.keys(), MAX_HEADER_BYTES), " ")
}

/// Response layer, outside compression: a compressed body is a different representation, so
/// its strong ETag gets the encoding as a suffix (`"abc-gzip"`), which [`not_modified`]
/// accepts back.
pub async fn etag_per_encoding(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let (Some(encoding), Some(etag)) = (
        headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        headers.get(header::ETAG).and_then(|v| v.to_str().ok()),
    ) else {
        return response;
    };
    if coding::Coding::from_token(encoding).is_none() || !etag.ends_with('"') || etag.len() < 2 {
        return response;
    }
    let tagged = format!("{}-{encoding}\"", &etag[..etag.len() - 1]);
    if let Ok(value) = HeaderValue::from_str(&tagged) {
        headers.insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inm(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_encoding_suffixes() {
        let etag = "\"abc123\"";
        assert!(not_modified(&inm("\"abc123\""), etag));
        assert!(not_modified(&inm("W/\"abc123\""), etag));
        assert!(not_modified(&inm("\"x\", \"abc123-gzip\""), etag));
        assert!(not_modified(&inm("\"abc123-br\""), etag));
        assert!(!not_modified(&inm("\"abc123-deflate\""), etag));
        assert!(!not_modified(&inm("\"abc1234\""), etag));
        assert!(!not_modified(&inm("*"), etag));
        assert!(!not_modified(&inm("garbage, \"\", W/"), etag));
        assert!(!not_modified(&HeaderMap::new(), etag));
    }
}
