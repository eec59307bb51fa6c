//! The async-graphql extension that guards the endpoint and gives every pre-execution error a
//! stable `extensions.code`.
//!
//! Order matters: the query text is checked before the parser sees it (deeply nested value
//! literals overflow the parser's stack), and the parsed document is checked for fragment
//! fan-out before validation (whose depth and complexity visitors expand fragments).

use std::sync::Arc;

use async_graphql::{
    Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
    },
    parser::types::ExecutableDocument,
};

use super::guards::{self, LimitExceeded, QueryLimits};
use crate::error::code;

/// `extensions.code` of a request that is not valid GraphQL syntax.
pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// `extensions.code` of a request that does not validate against the schema.
pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// Installs [`Guard`] on a schema.
pub struct Guards(pub QueryLimits);

impl ExtensionFactory for Guards {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guard(self.0))
    }
}

/// Checks one request against the limits and labels its errors.
struct Guard(QueryLimits);

/// A `LIMIT_EXCEEDED` error naming the limit.
pub fn limit_error(limit: &str, message: impl Into<String>) -> ServerError {
    with_code(
        ServerError::new(message, None),
        code::LIMIT_EXCEEDED,
        Some(limit),
    )
}

fn with_code(mut err: ServerError, code: &str, limit: Option<&str>) -> ServerError {
    let ext = err.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        ext.set("code", code);
        if let Some(limit) = limit {
            ext.set("limit", limit);
        }
    }
    err
}

impl From<LimitExceeded> for ServerError {
    fn from(err: LimitExceeded) -> Self {
        limit_error(err.limit, err.message)
    }
}

/// Limits async-graphql checks itself, recognised by their fixed messages.
fn builtin_limit(message: &str) -> Option<(&'static str, &'static str)> {
    if message == "Query is nested too deep." {
        Some(("depth", "The query is nested too deep."))
    } else if message == "Query is too complex." {
        Some((
            "complexity",
            "The query is too complex; ask for fewer items (lower first/last) or fewer fields.",
        ))
    } else if message.starts_with("The number of directives on the field") {
        Some(("directives", "Too many directives on one field."))
    } else {
        None
    }
}

#[async_trait::async_trait]
impl Extension for Guard {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for err in &mut response.errors {
            if let Some((limit, _)) = builtin_limit(&err.message) {
                let mut labelled = with_code(err.clone(), code::LIMIT_EXCEEDED, Some(limit));
                if let Some(limit_value) = labelled.extensions.as_mut() {
                    limit_value.set("limit", limit);
                }
                *err = labelled;
            }
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        guards::check_text(query, &self.0)?;
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|err| with_code(err, GRAPHQL_PARSE_FAILED, None))?;
        guards::check_document(&doc, None, &self.0)?;
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|err| match builtin_limit(&err.message) {
                    Some((limit, message)) => limit_error(limit, message),
                    None => with_code(err, GRAPHQL_VALIDATION_FAILED, None),
                })
                .collect()
        })
    }
}

/// Whether a response failed before execution (parse, validation or limit): such a response
/// has no `data`, and gets HTTP 400 under `application/graphql-response+json`.
pub fn is_request_error(response: &Response) -> bool {
    matches!(response.data, Value::Null) && !response.errors.is_empty()
}
