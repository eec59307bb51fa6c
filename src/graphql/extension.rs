//! The async-graphql extension that guards the endpoint: the limits, the cost, the budget and
//! the dry run, with every error it raises carrying `extensions.code`.
//!
//! Order matters: the query text is checked before the parser sees it (deeply nested value
//! literals overflow the parser's stack), and the parsed document is checked for fragment
//! fan-out before validation (whose visitors expand fragments). The structural limits come
//! first (text size and nesting, selections, root fields, aliases, directives, depth), then
//! validation, and only then the cost and the budget: a refusal names the first limit that
//! fails, so a query that is too deep is told to nest less, not to ask for fewer items.
//!
//! What the guard learns (the cost, whether execution began, the budget) goes into the
//! request's [`Tracker`], which the execution module reads when it labels the response.

use std::{
    any::TypeId,
    sync::{Arc, Mutex, OnceLock},
};

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest, NextRequest, NextResolve, NextValidation, ResolveInfo,
    },
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType},
};

use super::{
    budget::{Budgets, Standing},
    cost,
    documents::Documents,
    guards::{self, QueryLimits},
    nul_bytes, order,
    plan::{self, Planned},
    response_size::ResponseSize,
};
use crate::error::{
    Error,
    code::{self, Phase},
};

/// The `extensions` flag of a request that asks for its cost without executing it.
pub const DRY_RUN: &str = "dryRun";

/// Installs the guard (one per request) on a schema.
pub struct Guards {
    /// The limits checked before validation.
    pub limits: QueryLimits,
    /// Whether `__schema` and `__type` may be queried.
    pub introspection: bool,
    /// The highest cost a query may have.
    pub max_cost: u64,
    /// The parsed documents of recent query texts.
    pub documents: Documents,
    /// Whether queries run from a plan when they have one ([`plan`]).
    pub query_plans: bool,
}

impl ExtensionFactory for Guards {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guard {
            limits: self.limits,
            introspection: self.introspection,
            max_cost: self.max_cost,
            documents: self.documents.clone(),
            query_plans: self.query_plans,
            tracker: OnceLock::new(),
            missing_variables: Mutex::new(Vec::new()),
        })
    }
}

/// What the guard learned about one request.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The cost of the selected operation, once computed.
    pub cost: Option<u64>,
    /// The cost limit.
    pub limit: u64,
    /// Whether execution began: the response then has `data` (`null` if it failed).
    pub executed: bool,
    /// Whether the request asked for a dry run.
    pub dry_run: bool,
    /// The client's budget after this request, when budgets are on.
    pub budget: Option<Standing>,
    /// The selected operation's type and name (`None`: anonymous), once the document parsed
    /// and named an operation that exists.
    pub operation: Option<(OperationType, Option<String>)>,
    /// Whether a query plan answered (its data is already in selection order).
    pub planned: bool,
}

impl Report {
    /// The `extensions.cost` entry: `{ requested, limit }` and, with budgets, `remaining`.
    /// A request refused before it could be costed requested nothing.
    pub fn cost_extension(&self) -> Value {
        let mut cost = async_graphql::indexmap::IndexMap::new();
        cost.insert(
            async_graphql::Name::new("requested"),
            Value::from(self.cost.unwrap_or(0)),
        );
        cost.insert(async_graphql::Name::new("limit"), Value::from(self.limit));
        if let Some(budget) = &self.budget {
            cost.insert(
                async_graphql::Name::new("remaining"),
                Value::from(budget.remaining),
            );
        }
        Value::Object(cost)
    }
}

/// Shared by the guard and whoever runs the request; put it in the request's data.
#[derive(Clone, Default)]
pub struct Tracker {
    report: Arc<Mutex<Report>>,
    budget: Option<(Arc<Budgets>, String)>,
    /// The parsed document and operation name, to put the response in selection order.
    document: Arc<OnceLock<(Arc<ExecutableDocument>, Option<String>)>>,
    /// The request's variables, for a query plan.
    variables: Arc<OnceLock<Variables>>,
    /// The data a query plan answered with, until the response is serialized.
    planned: Arc<Mutex<Option<Planned>>>,
    /// The response's size so far and its share of the response memory budget.
    size: ResponseSize,
}

impl Tracker {
    /// A tracker for a request; `budget` is the budgets and the client key, when on; `size`
    /// counts its response (a default one counts without a limit or a reservation).
    pub fn new(budget: Option<(Arc<Budgets>, String)>, size: ResponseSize) -> Self {
        Self {
            budget,
            size,
            ..Default::default()
        }
    }

    /// The response's size counter.
    pub fn size(&self) -> &ResponseSize {
        &self.size
    }

    /// Takes the data a query plan answered with, if one did.
    pub fn take_planned(&self) -> Option<Planned> {
        self.planned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Puts `data` (this request's result) in the order of its selection set.
    pub fn order(&self, data: &mut Value) {
        if let Some((doc, name)) = self.document.get()
            && let Some(operation) = cost::operation(doc, name.as_deref())
        {
            order::selection_order(data, &operation.selection_set.node, &doc.fragments);
        }
    }

    /// What the guard has learned so far.
    pub fn report(&self) -> Report {
        self.report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut Report)) {
        f(&mut self.report.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Checks one request against the limits, costs it, and records what it learned.
struct Guard {
    limits: QueryLimits,
    introspection: bool,
    max_cost: u64,
    documents: Documents,
    query_plans: bool,
    tracker: OnceLock<Tracker>,
    /// Required variables the request left out, reported once the document validates.
    missing_variables: Mutex<Vec<ServerError>>,
}

impl Guard {
    fn tracker(&self) -> &Tracker {
        self.tracker.get_or_init(Tracker::default)
    }
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

/// The type and name (`None`: anonymous) of the operation a request selects, as
/// [`cost::operation`] selects it.
fn selected_operation(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(OperationType, Option<String>)> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some((op.node.ty, None)),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get(name).map(|op| (op.node.ty, Some(name.to_owned())))
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .iter()
            .next()
            .map(|(name, op)| (op.node.ty, Some(name.to_string()))),
        _ => None,
    }
}

/// The error of a response that grew past its size limit.
pub fn response_size_error(size: &ResponseSize) -> ServerError {
    Error::limit(
        "responseSize",
        format!(
            "The response would be larger than the limit of {} bytes; ask for fewer items (lower first/last) or fewer fields.",
            size.limit()
        ),
    )
    .into_server_error()
}

fn labelled(mut errors: Vec<ServerError>, phase: Phase) -> Vec<ServerError> {
    for err in &mut errors {
        code::label(err, phase);
    }
    errors
}

/// A `BAD_USER_INPUT` error for each variable of a non-null type without a default that the
/// request leaves out (or sends as null), in graphql-js's words.
fn missing_variables(operation: &OperationDefinition, variables: &Variables) -> Vec<ServerError> {
    operation
        .variable_definitions
        .iter()
        .filter(|def| !def.node.var_type.node.nullable && def.node.default_value.is_none())
        .filter(|def| matches!(variables.get(&def.node.name.node), None | Some(Value::Null)))
        .map(|def| {
            let mut err = Error::bad_request(format!(
                "Variable \"${}\" of required type \"{}\" was not provided.",
                def.node.name.node, def.node.var_type.node
            ))
            .into_server_error();
            err.locations.push(def.pos);
            err
        })
        .collect()
}

/// The refusal of a query its client cannot afford now.
fn rate_error(cost: u64, standing: &Standing) -> ServerError {
    let retry_after = standing.retry_after.unwrap_or(1);
    let mut err = Error::limit(
        "rate",
        format!(
            "This query costs {cost} points and your budget has {} left; it refills at {} points a minute. Retry in {retry_after} s.",
            standing.remaining, standing.limit
        ),
    )
    .into_server_error();
    err.extensions
        .get_or_insert_with(Default::default)
        .set("retryAfter", retry_after);
    err
}

#[async_trait::async_trait]
impl Extension for Guard {
    /// Adds `extensions.cost` to the response.
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response
            .extensions
            .insert("cost".into(), self.tracker().report().cost_extension());
        response
    }

    /// Checks the text, parses it once (async-graphql reuses the document), checks the
    /// document before async-graphql's own passes (which expand fragments without memoizing),
    /// and costs the selected operation.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Some(tracker) = request
            .data
            .get(&TypeId::of::<Tracker>())
            .and_then(|d| d.downcast_ref::<Tracker>())
        {
            let _ = self.tracker.set(tracker.clone());
        }
        let dry_run = matches!(request.extensions.get(DRY_RUN), Some(Value::Boolean(true)));
        let max_cost = self.max_cost;
        self.tracker().update(|r| {
            r.dry_run = dry_run;
            r.limit = max_cost;
        });
        guards::check_text(&request.query, &self.limits).map_err(Error::into_server_error)?;
        let operation_name = request.operation_name.clone();
        let variables = request.variables.clone();
        let shared = match self.documents.get(&request.query) {
            Some(doc) => {
                request.set_parsed_query(ExecutableDocument::clone(&doc));
                doc
            }
            None => {
                let parsed = request.parsed_query().map_err(|mut err| {
                    code::label(&mut err, Phase::Parse);
                    err
                })?;
                let doc = Arc::new(parsed.clone());
                self.documents.put(&request.query, doc.clone());
                doc
            }
        };
        let doc = &*shared;
        guards::check_document(doc, operation_name.as_deref(), &self.limits)
            .map_err(Error::into_server_error)?;
        nul_bytes::check(doc, &variables)?;
        if !self.introspection && uses_introspection(doc) {
            return Err(Error::ValidationFailed(
                "Introspection is disabled on this server.".into(),
            )
            .into_server_error());
        }
        // async-graphql's own depth and directive limits are off: these replace them, with
        // errors of their own type (see `guards`).
        guards::check_directives(doc, &self.limits).map_err(Error::into_server_error)?;
        guards::check_depth(doc, &self.limits).map_err(Error::into_server_error)?;
        let cost = cost::of(
            &ctx.schema_env.registry,
            doc,
            operation_name.as_deref(),
            &variables,
        );
        if let Some(operation) = cost::operation(doc, operation_name.as_deref()) {
            *self
                .missing_variables
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = missing_variables(operation, &variables);
        }
        let selected = selected_operation(doc, operation_name.as_deref());
        let tracker = self.tracker();
        tracker.update(|r| {
            r.cost = Some(cost);
            r.operation = selected;
        });
        let _ = tracker.document.set((shared.clone(), operation_name));
        let _ = tracker.variables.set(variables);
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|mut err| {
            code::label(&mut err, Phase::Parse);
            err
        })
    }

    /// Validation, then the cost limit, then the budget.
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next
            .run(ctx)
            .await
            .map_err(|errors| labelled(errors, Phase::Validation))?;
        // Variables are coerced before execution: a missing one is a request error.
        let missing = std::mem::take(
            &mut *self
                .missing_variables
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if !missing.is_empty() {
            return Err(missing);
        }
        let tracker = self.tracker();
        let report = tracker.report();
        let cost = report.cost.unwrap_or(0);
        if cost > self.max_cost {
            return Err(vec![
                Error::limit(
                    "complexity",
                    format!(
                        "The query could return up to {cost} nodes; the limit is {}. Ask for fewer items (lower first/last) or nest fewer lists.",
                        self.max_cost
                    ),
                )
                .into_server_error(),
            ]);
        }
        if let Some((budgets, client)) = &tracker.budget {
            if report.dry_run {
                let standing = budgets.peek(client);
                tracker.update(|r| r.budget = Some(standing));
            } else {
                match budgets.charge(client, cost) {
                    Ok(standing) => tracker.update(|r| r.budget = Some(standing)),
                    Err(standing) => {
                        tracker.update(|r| r.budget = Some(standing));
                        return Err(vec![rate_error(cost, &standing)]);
                    }
                }
            }
        }
        if !report.dry_run {
            // Memory-aware admission: wait (within the time budget) for room for this
            // query's estimated response.
            tracker.size.admit(cost).await;
        }
        Ok(result)
    }

    /// Counts each resolved field into the response's size; past the limit, stops resolving
    /// (the execution module then answers one `responseSize` error).
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let size = &self.tracker().size;
        if size.exceeded() {
            return Err(response_size_error(size));
        }
        let key = info.alias.unwrap_or(info.name);
        let value = next.run(ctx, info).await?;
        let scalar = match &value {
            Some(Value::List(_) | Value::Object(_)) => None,
            Some(scalar) => Some(scalar),
            None => Some(&Value::Null),
        };
        if !size.add_field(key, scalar).await {
            return Err(response_size_error(size));
        }
        Ok(value)
    }

    /// Marks the start of execution; a dry run stops here, with `data: null`.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let tracker = self.tracker();
        tracker.update(|r| r.executed = true);
        if tracker.report().dry_run {
            return Response::new(Value::Null);
        }
        if self.query_plans
            && let Some((doc, name)) = tracker.document.get()
            && let Some(variables) = tracker.variables.get()
            && let Some(response) =
                plan::execute(ctx, doc, name.as_deref(), variables, &tracker.size).await
        {
            // The data is written when the response is serialized (`Executed`).
            tracker.update(|r| r.planned = true);
            *tracker.planned.lock().unwrap_or_else(|e| e.into_inner()) = Some(response);
            return Response::new(Value::Null);
        }
        let mut response = next.run(ctx, operation_name).await;
        if !response.errors.is_empty()
            && let Some((doc, name)) = tracker.document.get()
            && let Some(operation) = cost::operation(doc, name.as_deref())
        {
            order::null_failed_fields(
                &mut response.data,
                &response.errors,
                &ctx.schema_env.registry,
                operation,
                &doc.fragments,
            );
        }
        // A subscription sent to `Schema::execute` fails without executing anything.
        if matches!(response.data, Value::Null)
            && response.errors.len() == 1
            && response.errors[0].message == code::SUBSCRIPTION_OVER_HTTP
        {
            tracker.update(|r| r.executed = false);
        }
        response
    }
}
