//! The async-graphql extension that guards the endpoint and gives every pre-execution error a
//! stable `extensions.code`.
//!
//! Order matters: the query text is checked before the parser sees it (deeply nested value
//! literals overflow the parser's stack), and the parsed document is checked for fragment
//! fan-out before validation (whose depth and complexity visitors expand fragments).

use std::sync::Arc;

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
        NextValidation,
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
pub struct Guards {
    /// The limits checked before validation.
    pub limits: QueryLimits,
    /// Whether `__schema` and `__type` may be queried.
    pub introspection: bool,
}

impl ExtensionFactory for Guards {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guard {
            limits: self.limits,
            introspection: self.introspection,
        })
    }
}

/// Checks one request against the limits and labels its errors.
struct Guard {
    limits: QueryLimits,
    introspection: bool,
}

/// Whether any operation or fragment selects `__schema` or `__type`.
fn uses_introspection(doc: &ExecutableDocument) -> bool {
    use async_graphql::parser::types::{Selection, SelectionSet};
    fn walk(set: &SelectionSet) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(field) => {
                matches!(field.node.name.node.as_str(), "__schema" | "__type")
                    || walk(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => false,
        })
    }
    doc.operations
        .iter()
        .any(|(_, op)| walk(&op.node.selection_set.node))
        || doc
            .fragments
            .values()
            .any(|f| walk(&f.node.selection_set.node))
}

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

/// Gives an error from async-graphql its code: a limit it checked, or `code`.
fn label(err: ServerError, code: &str) -> ServerError {
    match builtin_limit(&err.message) {
        Some((limit, message)) => limit_error(limit, message),
        None => with_code(err, code, None),
    }
}

#[async_trait::async_trait]
impl Extension for Guard {
    /// Checks the text, parses it once (async-graphql reuses the document), and checks the
    /// document before async-graphql's own passes, which expand fragments without memoizing.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        guards::check_text(&request.query, &self.limits)?;
        let operation_name = request.operation_name.clone();
        let doc = request
            .parsed_query()
            .map_err(|err| with_code(err, GRAPHQL_PARSE_FAILED, None))?;
        guards::check_document(doc, operation_name.as_deref(), &self.limits)?;
        if !self.introspection && uses_introspection(doc) {
            return Err(with_code(
                ServerError::new("Introspection is disabled on this server.", None),
                GRAPHQL_VALIDATION_FAILED,
                None,
            ));
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // async-graphql checks the directive limit while parsing.
        next.run(ctx, query, variables)
            .await
            .map_err(|err| label(err, GRAPHQL_PARSE_FAILED))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|err| label(err, GRAPHQL_VALIDATION_FAILED))
                .collect()
        })
    }
}

/// Whether a response failed before execution (parse, validation or limit): such a response
/// has no `data`, and gets HTTP 400 under `application/graphql-response+json`.
pub fn is_request_error(response: &Response) -> bool {
    matches!(response.data, Value::Null) && !response.errors.is_empty()
}
