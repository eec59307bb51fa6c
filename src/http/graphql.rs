//! GraphQL over HTTP, as the GraphQL-over-HTTP specification describes it.
//!
//! async-graphql-axum answers 200 to requests that fail to parse or validate even under
//! `application/graphql-response+json`, runs mutations sent over GET, and runs batches
//! without bound; these handlers do it by the spec instead. Execution itself (loader, permit,
//! time budget, cost, error codes) is [`crate::graphql::execute`]'s, shared with WebSocket;
//! this module reads requests off the wire and writes responses and status codes back.

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, Request, ServerError};
use axum::{
    body::Body,
    extract::{RawQuery, State},
    http::{Extensions, HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    AppState,
    caching::{self, Cacheable},
    request::{caller, operation_type},
};
use crate::{
    cache::responses::CachedResponse,
    error::Error,
    graphql::{execute::Outcome, persisted},
};

/// The media type of the GraphQL-over-HTTP specification.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const APPLICATION_JSON: &str = "application/json; charset=utf-8";

/// Which response media type the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(Self::Json);
        };
        let mut json = false;
        for part in accept.split(',') {
            let media = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            match media.as_str() {
                "application/graphql-response+json" => return Some(Self::GraphqlResponseJson),
                "application/json" | "*/*" | "application/*" => json = true,
                _ => {}
            }
        }
        if json || accept.trim().is_empty() {
            Some(Self::Json)
        } else {
            None
        }
    }

    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            Self::Json => APPLICATION_JSON,
        })
    }
}

/// Serializes `body` straight to bytes: no intermediate JSON tree, so key order is kept.
fn json_response(status: StatusCode, media: MediaType, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    (status, [(header::CONTENT_TYPE, media.header())], bytes).into_response()
}

/// A response carrying only request errors (nothing executed).
fn errors_response(
    state: &AppState,
    status: StatusCode,
    media: MediaType,
    errors: Vec<ServerError>,
) -> Response {
    json_response(status, media, &state.executor.refuse(errors))
}

fn bad_request(state: &AppState, media: MediaType, message: impl Into<String>) -> Response {
    errors_response(
        state,
        StatusCode::BAD_REQUEST,
        media,
        vec![Error::bad_request(message).into_server_error()],
    )
}

fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        "Accept application/graphql-response+json or application/json\n",
    )
        .into_response()
}

/// Whether reading a body failed because it is longer than the limit.
fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// POST /graphql: a JSON body (one operation or a batch of up to `max-batch`), or a bare
/// query with `Content-Type: application/graphql`.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Body,
) -> Response {
    let Some(media) = MediaType::negotiate(&headers) else {
        return not_acceptable();
    };
    let limits = &state.config.limits;
    let read = axum::body::to_bytes(body, limits.body_bytes);
    let timeout = std::time::Duration::from_millis(limits.body_read_timeout_ms);
    let body = match tokio::time::timeout(timeout, read).await {
        Ok(Ok(body)) => body,
        Ok(Err(err)) if is_length_limit(&err) => {
            let limit = limits.body_bytes;
            let err = Error::limit(
                "bodySize",
                format!("The request body is larger than the limit of {limit} bytes."),
            )
            .into_server_error();
            return errors_response(&state, StatusCode::PAYLOAD_TOO_LARGE, media, vec![err]);
        }
        Ok(Err(err)) => {
            return bad_request(
                &state,
                media,
                format!("Could not read the request body: {err}"),
            );
        }
        Err(_) => {
            let err = Error::limit(
                "bodyReadTimeout",
                format!(
                    "The request body did not arrive within {} ms.",
                    limits.body_read_timeout_ms
                ),
            )
            .into_server_error();
            return errors_response(&state, StatusCode::REQUEST_TIMEOUT, media, vec![err]);
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let batch = match content_type.as_deref() {
        Some("application/json") => match parse_json_body(&body, state.config.limits.batch) {
            Ok(batch) => batch,
            Err(response) => return response.into_response(&state, media),
        },
        Some("application/graphql") => match std::str::from_utf8(&body) {
            Ok(query) => BatchRequest::Single(Request::new(query)),
            Err(_) => return bad_request(&state, media, "The request body is not valid UTF-8."),
        },
        _ => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                [(
                    header::ACCEPT,
                    HeaderValue::from_static("application/json, application/graphql"),
                )],
                "Send Content-Type: application/json (or application/graphql)\n",
            )
                .into_response();
        }
    };
    let cacheable = match &batch {
        BatchRequest::Single(request) => caching::cacheable(&state, &headers, request),
        BatchRequest::Batch(_) => None,
    };
    if let Some(answer) = from_cache(&state, &headers, media, cacheable.as_ref(), false) {
        return answer;
    }
    execute(
        &state,
        &headers,
        &extensions,
        media,
        batch,
        cacheable,
        false,
    )
    .await
}

/// Why a JSON body could not become a request.
enum BodyError {
    Malformed(String),
    TooManyOperations(usize, usize),
}

impl BodyError {
    fn into_response(self, state: &AppState, media: MediaType) -> Response {
        match self {
            Self::Malformed(message) => bad_request(state, media, message),
            Self::TooManyOperations(got, limit) => errors_response(
                state,
                StatusCode::BAD_REQUEST,
                media,
                vec![
                    Error::limit(
                        "batch",
                        format!("A batch may hold at most {limit} operations; this one has {got}."),
                    )
                    .into_server_error(),
                ],
            ),
        }
    }
}

/// The JSON body of one GraphQL request, checked strictly (the spec wants 400 for bad shapes).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRequest {
    query: Option<serde_json::Value>,
    #[serde(rename = "operationName")]
    operation_name: Option<serde_json::Value>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Value>,
}

fn to_request(value: serde_json::Value) -> Result<Request, BodyError> {
    let malformed = |m: &str| BodyError::Malformed(m.to_owned());
    let body: JsonRequest = serde_json::from_value(value).map_err(|e| {
        BodyError::Malformed(format!("The request body is not a GraphQL request: {e}"))
    })?;
    let query = match body.query {
        Some(serde_json::Value::String(query)) => query,
        Some(_) => return Err(malformed("query must be a string")),
        // The hash only: the persisted-query protocol puts the stored text in place.
        None if has_persisted_query(body.extensions.as_ref()) => String::new(),
        None => return Err(malformed("The request has no query")),
    };
    let mut request = Request::new(query);
    match body.operation_name {
        Some(serde_json::Value::String(name)) => request = request.operation_name(name),
        None | Some(serde_json::Value::Null) => {}
        Some(_) => return Err(malformed("operationName must be a string or null")),
    }
    match body.variables {
        Some(v @ serde_json::Value::Object(_)) => {
            request = request.variables(async_graphql::Variables::from_json(v));
        }
        None | Some(serde_json::Value::Null) => {}
        Some(_) => return Err(malformed("variables must be an object or null")),
    }
    match body.extensions {
        Some(serde_json::Value::Object(map)) => set_extensions(&mut request, map),
        None | Some(serde_json::Value::Null) => {}
        Some(_) => return Err(malformed("extensions must be an object or null")),
    }
    Ok(request)
}

/// Whether `extensions` names a persisted query (`extensions.persistedQuery`).
fn has_persisted_query(extensions: Option<&serde_json::Value>) -> bool {
    matches!(extensions, Some(serde_json::Value::Object(map)) if map.contains_key(persisted::EXTENSION))
}

/// Hands the request's `extensions` (e.g. `dryRun`) to the schema.
fn set_extensions(request: &mut Request, map: serde_json::Map<String, serde_json::Value>) {
    for (key, value) in map {
        if let Ok(value) = async_graphql::Value::from_json(value) {
            request.extensions.insert(key, value);
        }
    }
}

fn parse_json_body(body: &[u8], max_batch: usize) -> Result<BatchRequest, BodyError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| BodyError::Malformed(format!("The request body is not valid JSON: {e}")))?;
    match value {
        serde_json::Value::Array(items) => {
            if items.len() > max_batch {
                return Err(BodyError::TooManyOperations(items.len(), max_batch));
            }
            if items.is_empty() {
                return Err(BodyError::Malformed(
                    "A batch must hold at least one operation".into(),
                ));
            }
            Ok(BatchRequest::Batch(
                items
                    .into_iter()
                    .map(to_request)
                    .collect::<Result<_, _>>()?,
            ))
        }
        value => Ok(BatchRequest::Single(to_request(value)?)),
    }
}

/// The query-string parameters of GET /graphql.
#[derive(Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// GET /graphql?query=...: queries only; a mutation is refused with 405 and `Allow: POST`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(media) = MediaType::negotiate(&headers) else {
        return not_acceptable();
    };
    let params: GetParams = match serde_urlencoded::from_str(raw.as_deref().unwrap_or("")) {
        Ok(params) => params,
        Err(e) => return bad_request(&state, media, format!("Malformed query string: {e}")),
    };
    let mut request = Request::new(params.query.clone().unwrap_or_default());
    if let Some(name) = params.operation_name.clone() {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        match serde_json::from_str::<serde_json::Value>(&variables) {
            Ok(v @ serde_json::Value::Object(_)) => {
                request = request.variables(async_graphql::Variables::from_json(v));
            }
            Ok(serde_json::Value::Null) => {}
            _ => return bad_request(&state, media, "variables must be a JSON object"),
        }
    }
    if let Some(text) = params.extensions {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(map)) => set_extensions(&mut request, map),
            Ok(serde_json::Value::Null) => {}
            _ => return bad_request(&state, media, "extensions must be a JSON object"),
        }
    }
    let query = match params.query {
        Some(query) if !query.is_empty() => query,
        // The hash only (an empty text counts as none): a stored mutation is refused here
        // like one sent as text.
        _ if request.extensions.contains_key(persisted::EXTENSION) => {
            match state.executor.persisted() {
                Some(store) => store
                    .text_of(&request)
                    .await
                    .unwrap_or_default()
                    .to_string(),
                None => String::new(),
            }
        }
        Some(query) => query,
        None => return bad_request(&state, media, "GET /graphql needs a query parameter"),
    };
    // A repeat is answered before the document is even parsed: only a query that succeeded
    // is ever cached, and a 304 runs nothing, so a mutation cannot come back this way.
    let cacheable = caching::cacheable(&state, &headers, &request);
    if let Some(answer) = from_cache(&state, &headers, media, cacheable.as_ref(), true) {
        return answer;
    }
    if is_mutation(&state, &query, params.operation_name.as_deref()) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("POST"))],
            "Mutations must be sent with POST\n",
        )
            .into_response();
    }
    execute(
        &state,
        &headers,
        &extensions,
        media,
        BatchRequest::Single(request),
        cacheable,
        true,
    )
    .await
}

/// Whether the selected operation of `query` is a mutation.
fn is_mutation(state: &AppState, query: &str, operation_name: Option<&str>) -> bool {
    operation_type(state, query, operation_name) == Some(OperationType::Mutation)
}

/// The answer to a cacheable request that needs no execution: `304 Not Modified` for a
/// current `If-None-Match` (GET only), or the response cache's copy. Both come before
/// anything runs: no permit, no statement.
fn from_cache(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
    cacheable: Option<&Cacheable>,
    via_get: bool,
) -> Option<Response> {
    let cacheable = cacheable?;
    if via_get && caching::not_modified(headers, &cacheable.etag) {
        return Some(caching::not_modified_response(
            state,
            headers,
            &cacheable.etag,
        ));
    }
    let cached = state
        .responses
        .as_ref()?
        .get(&cacheable.key, cacheable.version)?;
    Some(caching::cached_response(
        state,
        headers,
        media.header(),
        (&cacheable.key, cached),
        &cacheable.etag,
        via_get,
    ))
}

/// Runs `batch` (whose cache lookup, if `cacheable`, has missed) and writes the answer.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
    media: MediaType,
    batch: BatchRequest,
    cacheable: Option<Cacheable>,
    via_get: bool,
) -> Response {
    let mut caller = caller(headers, extensions, &state.config.trusted_proxies);
    if let Some(cacheable) = &cacheable {
        caller.dependencies = Some(cacheable.dependencies.clone());
        if via_get || state.responses.is_some() {
            caller.content_version = Some(cacheable.version);
        }
    }
    let outcome = state.executor.execute(&caller, batch).await;
    let status = if outcome.timed_out || outcome.unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else if media == MediaType::GraphqlResponseJson && outcome.failed_before_execution() {
        if outcome.rate_limited() {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            StatusCode::BAD_REQUEST
        }
    } else {
        StatusCode::OK
    };
    let mut response = if outcome.batch {
        json_response(status, media, &outcome.results)
    } else {
        let result = &outcome.results[0];
        let succeeded = status == StatusCode::OK
            && result.kind() == "query"
            && result.response.errors.is_empty();
        match cacheable {
            Some(cacheable) if succeeded => {
                let body = axum::body::Bytes::from(
                    serde_json::to_vec(result).unwrap_or_else(|_| b"{}".to_vec()),
                );
                let keys = caching::keys_header(&cacheable.dependencies);
                if let Some(cache) = &state.responses
                    // With cost budgets the answer carries the client's remaining budget.
                    && result.report.budget.is_none()
                {
                    let cached = CachedResponse::new(body.clone(), keys.clone());
                    cache.put(cacheable.key, cacheable.version, cached);
                }
                let mut response =
                    (status, [(header::CONTENT_TYPE, media.header())], body).into_response();
                caching::cacheable_headers(state, &mut response, &cacheable.etag, &keys, via_get);
                response
            }
            _ => {
                let mut response = json_response(status, media, result);
                if via_get {
                    response
                        .headers_mut()
                        .insert(header::CACHE_CONTROL, caching::PRIVATE);
                }
                response
            }
        }
    };
    rate_limit_headers(&outcome, response.headers_mut());
    if let Some(lsn) = outcome.min_lsn
        && let Ok(value) = HeaderValue::from_str(&lsn.to_string())
    {
        // Sent back on the next read, it is served by a replica that has this write.
        response
            .headers_mut()
            .insert(crate::graphql::reads::MIN_LSN_HEADER, value);
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // The budget ran out or the database is unavailable: both pass; try again shortly.
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::error::RETRY_AFTER_SECS),
        );
    }
    response
}

/// `RateLimit-*` (IETF draft ratelimit-headers) and, on a refusal, `Retry-After`.
fn rate_limit_headers(outcome: &Outcome, headers: &mut HeaderMap) {
    let Some(budget) = outcome.budget() else {
        return;
    };
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("ratelimit-policy", format!("{};w=60", budget.limit));
    set("ratelimit-limit", budget.limit.to_string());
    set("ratelimit-remaining", budget.remaining.to_string());
    set("ratelimit-reset", budget.reset.to_string());
    if outcome.rate_limited()
        && let Some(retry_after) = budget.retry_after
    {
        set("retry-after", retry_after.to_string());
    }
}
