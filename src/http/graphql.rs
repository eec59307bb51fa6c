//! GraphQL over HTTP, as the GraphQL-over-HTTP specification describes it.
//!
//! async-graphql-axum answers 200 to requests that fail to parse or validate even under
//! `application/graphql-response+json`, runs mutations sent over GET, and runs batches
//! without bound; these handlers do it by the spec instead.

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request, Response as GqlResponse, ServerError};
use axum::{
    body::Bytes,
    extract::{RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{AppState, REQUEST_ID};
use crate::{
    error::code,
    graphql::{
        batch::{BatchLoader, Batched},
        extension::{is_request_error, limit_error},
        guards,
    },
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

fn json_response(status: StatusCode, media: MediaType, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    (status, [(header::CONTENT_TYPE, media.header())], bytes).into_response()
}

/// A response carrying only request errors (nothing executed).
fn errors_response(status: StatusCode, media: MediaType, errors: Vec<ServerError>) -> Response {
    json_response(
        status,
        media,
        &response_body(&GqlResponse::from_errors(errors)),
    )
}

fn bad_request(media: MediaType, message: impl Into<String>) -> Response {
    let err = ServerError::new(message, None);
    errors_response(
        StatusCode::BAD_REQUEST,
        media,
        vec![with_code(err, code::BAD_USER_INPUT)],
    )
}

fn with_code(mut err: ServerError, code: &str) -> ServerError {
    err.extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    err
}

fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        "Accept application/graphql-response+json or application/json\n",
    )
        .into_response()
}

/// POST /graphql: a JSON body (one operation or a batch of up to `max-batch`), or a bare
/// query with `Content-Type: application/graphql`.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(media) = MediaType::negotiate(&headers) else {
        return not_acceptable();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = state.config.limits.body_bytes;
            let err = limit_error(
                "bodySize",
                format!("The request body is larger than the limit of {limit} bytes."),
            );
            return errors_response(StatusCode::PAYLOAD_TOO_LARGE, media, vec![err]);
        }
        Err(rejection) => {
            return bad_request(
                media,
                format!("Could not read the request body: {rejection}"),
            );
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
            Err(response) => return response.into_response(media),
        },
        Some("application/graphql") => match std::str::from_utf8(&body) {
            Ok(query) => BatchRequest::Single(Request::new(query)),
            Err(_) => return bad_request(media, "The request body is not valid UTF-8."),
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
    execute(&state, &headers, media, batch).await
}

/// Why a JSON body could not become a request.
enum BodyError {
    Malformed(String),
    TooManyOperations(usize, usize),
}

impl BodyError {
    fn into_response(self, media: MediaType) -> Response {
        match self {
            Self::Malformed(message) => bad_request(media, message),
            Self::TooManyOperations(got, limit) => errors_response(
                StatusCode::BAD_REQUEST,
                media,
                vec![limit_error(
                    "batch",
                    format!("A batch may hold at most {limit} operations; this one has {got}."),
                )],
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
        Some(serde_json::Value::Object(_)) | None | Some(serde_json::Value::Null) => {}
        Some(_) => return Err(malformed("extensions must be an object or null")),
    }
    Ok(request)
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
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(media) = MediaType::negotiate(&headers) else {
        return not_acceptable();
    };
    let params: GetParams = match serde_urlencoded::from_str(raw.as_deref().unwrap_or("")) {
        Ok(params) => params,
        Err(e) => return bad_request(media, format!("Malformed query string: {e}")),
    };
    let Some(query) = params.query else {
        return bad_request(media, "GET /graphql needs a query parameter");
    };
    let mut request = Request::new(query.clone());
    if let Some(name) = params.operation_name.clone() {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        match serde_json::from_str::<serde_json::Value>(&variables) {
            Ok(v @ serde_json::Value::Object(_)) => {
                request = request.variables(async_graphql::Variables::from_json(v))
            }
            Ok(serde_json::Value::Null) => {}
            _ => return bad_request(media, "variables must be a JSON object"),
        }
    }
    if let Some(extensions) = params.extensions
        && !matches!(
            serde_json::from_str::<serde_json::Value>(&extensions),
            Ok(serde_json::Value::Object(_) | serde_json::Value::Null)
        )
    {
        return bad_request(media, "extensions must be a JSON object");
    }
    if is_mutation(&state, &query, params.operation_name.as_deref()) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("POST"))],
            "Mutations must be sent with POST\n",
        )
            .into_response();
    }
    execute(&state, &headers, media, BatchRequest::Single(request)).await
}

/// Whether the selected operation of `query` is a mutation.
fn is_mutation(state: &AppState, query: &str, operation_name: Option<&str>) -> bool {
    operation_type(state, query, operation_name) == Some(OperationType::Mutation)
}

/// The type of the operation `query` selects. The text is checked against the guards first
/// (the parser must never see hostile nesting); text that does not parse gives `None`, and
/// execution then reports the real error.
pub(super) fn operation_type(
    state: &AppState,
    query: &str,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    let limits = guards::QueryLimits {
        max_query_bytes: state.config.limits.query_bytes,
        max_value_nesting: state.config.limits.nesting,
        ..Default::default()
    };
    guards::check_text(query, &limits).ok()?;
    let doc = async_graphql::parser::parse_query(query).ok()?;
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        _ => None,
    }
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
    batch: BatchRequest,
) -> Response {
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let budget = state.config.request_timeout();
    // The raw header; the mutation layer resolves (and never logs) the token.
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut batch = batch
        .data(RequestId(request_id.clone()))
        .data(crate::auth::Authorization(authorization));
    // A loader of its own, so each relation level of this request is exactly one statement.
    let loader = state
        .schema
        .data::<BatchLoader>()
        .map(BatchLoader::for_request);
    if let Some(loader) = &loader {
        batch = batch.data(loader.clone());
    }
    let execution = async {
        // Waiting for a permit counts against the request's budget.
        let _permit = state.executions.acquire().await;
        Batched::new(loader, state.schema.execute_batch(batch)).await
    };
    let response = match tokio::time::timeout(budget, execution).await {
        Ok(response) => response,
        Err(_) => {
            let err = limit_error(
                "timeout",
                format!(
                    "The request took longer than {} ms and was stopped.",
                    budget.as_millis()
                ),
            );
            return errors_response(StatusCode::SERVICE_UNAVAILABLE, media, vec![err]);
        }
    };
    let response = label_internal_errors(response, &request_id);
    let failed_before_execution = match &response {
        BatchResponse::Single(r) => is_request_error(r),
        BatchResponse::Batch(rs) => rs.iter().all(is_request_error),
    };
    let status = if media == MediaType::GraphqlResponseJson && failed_before_execution {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match &response {
        // The common case is serialized straight from the response, without a JSON tree.
        BatchResponse::Single(r) if !is_request_error(r) => json_response(status, media, r),
        BatchResponse::Single(r) => json_response(status, media, &response_body(r)),
        BatchResponse::Batch(rs) => {
            let bodies: Vec<serde_json::Value> = rs.iter().map(response_body).collect();
            json_response(status, media, &bodies)
        }
    }
}

/// A response as JSON; one that failed before execution has no `data` entry at all, as the
/// GraphQL-over-HTTP specification recommends.
fn response_body(response: &GqlResponse) -> serde_json::Value {
    let mut body = serde_json::to_value(response).unwrap_or_default();
    if is_request_error(response)
        && let Some(object) = body.as_object_mut()
    {
        object.remove("data");
    }
    body
}

/// The request id, available to resolvers through the context.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Adds the request id to internal errors so a client can quote it and an operator find it.
fn label_internal_errors(response: BatchResponse, request_id: &str) -> BatchResponse {
    match response {
        BatchResponse::Single(r) => BatchResponse::Single(label_internal(r, request_id)),
        BatchResponse::Batch(rs) => BatchResponse::Batch(
            rs.into_iter()
                .map(|r| label_internal(r, request_id))
                .collect(),
        ),
    }
}

/// Replaces an internal error's message with one naming the request id (the log has the rest).
pub(super) fn label_internal(mut response: GqlResponse, request_id: &str) -> GqlResponse {
    for err in &mut response.errors {
        let ext = err.extensions.get_or_insert_with(Default::default);
        let internal =
            matches!(ext.get("code"), Some(async_graphql::Value::String(c)) if c == code::INTERNAL);
        if internal {
            ext.set("requestId", request_id);
            err.message =
                format!("Internal server error (request id {request_id}); see the server log.");
        }
    }
    response
}
