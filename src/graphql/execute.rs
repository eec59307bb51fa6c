//! The one way a GraphQL request is executed, whatever transport it came over.
//!
//! HTTP (`POST`/`GET /graphql`) and WebSocket (`/graphql/ws`) both hand their requests to an
//! [`Executor`], so every query gets the same guarantees:
//! - the request id and the raw `Authorization` header in the request data;
//! - a [`BatchLoader`] of its own, flushed by [`Batched`], so each relation level is one
//!   statement;
//! - a permit of `max-concurrent-requests`, waited for within the time budget;
//! - the time budget (`request-timeout-ms`), which stops the whole execution;
//! - the guard's [`Tracker`]: cost, budget, dry run, and whether execution began;
//! - every error labelled with `extensions.code` ([`crate::error::code::label`]), internal
//!   errors with the request id, and `extensions.cost` on every response;
//! - one count, duration and cost in the metrics per operation ([`crate::metrics`]), and the
//!   operation, cost and code recorded on the request's span (the access log line shows them);
//! - database faults (`DB_UNAVAILABLE`, `TIMEOUT`) answered once per operation, however many
//!   fields they failed, and logged once; a query whose connection broke under it is run once
//!   more (on a connection that has been tested), within the same budget. Mutations never are.
//!
//! - with read replicas, queries read from one ([`super::reads`]); every mutation's answer
//!   carries its commit position (`extensions.consistency.minLsn`) for read-your-writes.
//!
//! Subscriptions (WebSocket only) are streams: they get the tracker and the labelling, and the
//! schema's shared loader; the permit and the time budget bound single executions, not a
//! stream that lives as long as its socket.

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::{
    BatchRequest, BatchResponse, Request, Response, ServerError, Value,
    parser::types::OperationType,
};
use futures::{Stream, StreamExt};
use serde::{Serialize, ser::SerializeMap};
use tokio::sync::Semaphore;

use super::{
    AnnalsSchema,
    batch::{BatchLoader, Batched},
    budget::{Budgets, Standing},
    extension::{Report, Tracker, response_size_error},
    loaders::ContentLoader,
    persisted::PersistedQueries,
    plan::Planned,
    reads::{self, Reads},
    response_size::{Reservation, ResponseMemory, ResponseSize},
};
use crate::{
    auth::{Authorization, EditorTokens},
    cache::Dependencies,
    db::Faults,
    error::{
        DbFault, Error,
        code::{self, Phase},
    },
    metrics,
    replicas::{Lsn, Replica},
};

/// The request id, available to resolvers through the context.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Who sent a request.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The request id (from `X-Request-Id`, or made up by the server).
    pub request_id: String,
    /// The raw `Authorization` header; the mutation layer resolves (and never logs) the token.
    pub authorization: Option<String>,
    /// The client's address, which names an anonymous reader's budget.
    pub peer: Option<IpAddr>,
    /// When the request arrived (the time budget runs from here); `None`: now.
    pub arrived: Option<tokio::time::Instant>,
    /// Collects the surrogate keys the response depends on, when it may be cached.
    pub dependencies: Option<Arc<Dependencies>>,
    /// The raw `Annals-Min-LSN` header: the commit position a read must see.
    pub min_lsn: Option<String>,
    /// The content version the answer will be kept under (its ETag, the response cache),
    /// when it may be kept: a replica serves it only once it has replayed that version.
    pub content_version: Option<i64>,
}

/// Runs requests: one per server, shared by every transport.
#[derive(Clone)]
pub struct Executor {
    schema: AnnalsSchema,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    /// Executions waiting for a permit now.
    waiting: Arc<AtomicUsize>,
    timeout: Duration,
    max_cost: u64,
    budgets: Option<Arc<Budgets>>,
    memory: ResponseMemory,
    /// Persisted queries (APQ and trusted documents), when the server keeps them.
    persisted: Option<Arc<PersistedQueries>>,
    /// Read replicas, when queries may read from them.
    reads: Option<Arc<Reads>>,
}

/// Counts one execution waiting for a permit while it lives.
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One operation's response and what the guard learned about it.
#[derive(Debug)]
pub struct Executed {
    /// The response, every error labelled, with `extensions.cost`.
    pub response: Response,
    /// What the guard learned: cost, budget, and whether execution began.
    pub report: Report,
    /// The data, when a query plan answered (`response.data` is then null): written straight
    /// into the JSON when the response is serialized.
    planned: Option<Planned>,
    /// This response's share of the response memory budget, released when it is dropped
    /// (after serializing).
    _reservation: Option<Reservation>,
}

impl Executed {
    /// The outcome code: the first error's `extensions.code`, or `OK`.
    pub fn code(&self) -> &str {
        self.response
            .errors
            .first()
            .and_then(|err| err.extensions.as_ref())
            .and_then(|ext| ext.get("code"))
            .and_then(|code| match code {
                Value::String(code) => Some(code.as_str()),
                _ => None,
            })
            .unwrap_or("OK")
    }

    /// The operation's type as a label: `query`, `mutation`, `subscription`, or `none` when
    /// no operation was selected.
    pub fn kind(&self) -> &'static str {
        match self.report.operation.as_ref().map(|(ty, _)| ty) {
            Some(OperationType::Query) => "query",
            Some(OperationType::Mutation) => "mutation",
            Some(OperationType::Subscription) => "subscription",
            None => "none",
        }
    }

    /// The operation's name as logs show it: its name (at most 100 characters), `anonymous`,
    /// or `none` when no operation was selected.
    pub fn operation_name(&self) -> &str {
        match &self.report.operation {
            Some((_, Some(name))) => match name.char_indices().nth(100) {
                Some((end, _)) => &name[..end],
                None => name,
            },
            Some((_, None)) => "anonymous",
            None => "none",
        }
    }

    /// Counts this operation in the metrics (with its duration, when it has one).
    fn observe(&self, elapsed: Option<Duration>) {
        let name = match &self.report.operation {
            Some((_, name)) => metrics::operation_label(name.as_deref()),
            None => "none".to_owned(),
        };
        metrics::record_operation(&metrics::Operation {
            kind: self.kind(),
            name: &name,
            code: self.code(),
            // The cost of what ran (or would have, in a dry run); refusals cost nothing.
            cost: self.report.cost.filter(|_| self.report.executed),
            elapsed,
        });
    }
}

/// Records what the request span shows: the operations' names (comma-separated in a batch),
/// types, total cost and the first code that is not `OK`.
fn record_on_span(results: &[Executed]) {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    let join = |f: &dyn Fn(&Executed) -> &str| results.iter().map(f).collect::<Vec<_>>().join(",");
    span.record(
        "operation",
        tracing::field::display(join(&|r| r.operation_name())),
    );
    span.record(
        "operation_type",
        tracing::field::display(join(&|r| r.kind())),
    );
    span.record(
        "cost",
        results.iter().filter_map(|r| r.report.cost).sum::<u64>(),
    );
    let code = results
        .iter()
        .map(Executed::code)
        .find(|code| *code != "OK")
        .unwrap_or("OK");
    span.record("code", tracing::field::display(code));
}

/// The responses to one HTTP request or WebSocket query.
#[derive(Debug)]
pub struct Outcome {
    /// One per operation (one in all when the whole request timed out).
    pub results: Vec<Executed>,
    /// Whether the request was a batch (answered with a JSON array).
    pub batch: bool,
    /// Whether the time budget ran out (the one result then says so).
    pub timed_out: bool,
    /// With read replicas, the commit position of the mutations it ran (the
    /// `Annals-Min-LSN` response header).
    pub min_lsn: Option<Lsn>,
}

/// What is needed to run an operation again: a request is consumed by executing it.
struct Replay {
    query: String,
    operation_name: Option<String>,
    variables: async_graphql::Variables,
    extensions: async_graphql::Extensions,
}

impl Replay {
    fn of(request: &Request) -> Self {
        Self {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: request.variables.clone(),
            extensions: request.extensions.clone(),
        }
    }

    fn request(&self) -> Request {
        let mut request = Request::new(self.query.clone()).variables(self.variables.clone());
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name.clone());
        }
        request.extensions = self.extensions.clone();
        request
    }

    /// Whether the operation it selects is a query (only those are run twice).
    fn is_query(&self) -> bool {
        async_graphql::parser::parse_query(&self.query).is_ok_and(|doc| {
            super::cost::operation(&doc, self.operation_name.as_deref())
                .is_some_and(|op| op.ty == OperationType::Query)
        })
    }
}

/// The database fault behind an error, if that is what it is.
fn fault_of(err: &ServerError) -> Option<&DbFault> {
    err.source::<DbFault>()
}

/// Whether an operation failed because its connection broke under it; on a replica, for
/// any database fault (the primary may well serve it).
fn connection_lost(response: &Response, on_replica: bool) -> bool {
    response
        .errors
        .iter()
        .any(|err| fault_of(err).is_some_and(|f| f.connection_lost || on_replica))
}

impl Outcome {
    /// Whether every operation failed before executing (the GraphQL-over-HTTP 4xx case).
    pub fn failed_before_execution(&self) -> bool {
        self.results.iter().all(|r| !r.report.executed)
    }

    /// The client's budget after the last operation that looked at it.
    pub fn budget(&self) -> Option<Standing> {
        self.results.iter().rev().find_map(|r| r.report.budget)
    }

    /// Whether some operation failed for a database fault a client should retry
    /// (`DB_UNAVAILABLE`, `TIMEOUT`): HTTP answers 503 with `Retry-After`.
    pub fn unavailable(&self) -> bool {
        self.results.iter().any(|r| {
            r.response.errors.iter().any(|e| {
                matches!(
                    e.extensions.as_ref().and_then(|x| x.get("code")),
                    Some(Value::String(c)) if c == code::DB_UNAVAILABLE || c == code::TIMEOUT
                )
            })
        })
    }

    /// Whether some operation was refused for want of budget.
    pub fn rate_limited(&self) -> bool {
        self.results.iter().any(|r| {
            r.response.errors.iter().any(|e| {
                e.extensions
                    .as_ref()
                    .and_then(|x| x.get("limit"))
                    .is_some_and(|l| matches!(l, Value::String(s) if s == "rate"))
            })
        })
    }
}

impl Executor {
    /// An executor for `schema`: at most `max_concurrent` executions at once, each within
    /// `timeout`; queries cost at most `max_cost`; clients get `budget_per_minute` points a
    /// minute (0: no budgets); responses share `memory`.
    pub fn new(
        schema: AnnalsSchema,
        max_concurrent: usize,
        timeout: Duration,
        max_cost: u64,
        budget_per_minute: u64,
        memory: ResponseMemory,
    ) -> Self {
        Self {
            schema,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            max_concurrent: max_concurrent.max(1),
            waiting: Arc::default(),
            timeout,
            max_cost,
            budgets: (budget_per_minute > 0).then(|| Arc::new(Budgets::new(budget_per_minute))),
            memory,
            persisted: None,
            reads: None,
        }
    }

    /// This executor, reading queries from `reads`' replicas where it may.
    pub fn with_reads(mut self, reads: Reads) -> Self {
        self.reads = Some(Arc::new(reads));
        self
    }

    /// This executor, applying the persisted-query protocol ([`super::persisted`]) to every
    /// request before it runs.
    pub fn with_persisted(mut self, persisted: PersistedQueries) -> Self {
        self.persisted = Some(Arc::new(persisted));
        self
    }

    /// The persisted-query store, when there is one.
    pub fn persisted(&self) -> Option<&PersistedQueries> {
        self.persisted.as_deref()
    }

    /// The text `request` would run once the persisted-query protocol applied (a stored
    /// document for a known hash), or the errors it would be refused with; registers nothing.
    /// For transports that must look at the operation before executing it (WebSocket refuses
    /// mutations; subscriptions are shared between subscribers, each of whom must be let in).
    pub async fn preflight(
        &self,
        caller: &Caller,
        request: &Request,
    ) -> Result<String, ServerError> {
        let Some(persisted) = &self.persisted else {
            return Ok(request.query.clone());
        };
        let mut probe = Request::new(request.query.clone());
        probe.extensions = request.extensions.clone();
        let editor = persisted.trusted_only() && self.is_editor(caller);
        persisted.resolve(&mut probe, editor).await?;
        Ok(probe.query)
    }

    /// Whether `caller` presents a valid editor token.
    fn is_editor(&self, caller: &Caller) -> bool {
        caller.authorization.as_deref().is_some_and(|header| {
            self.schema
                .data::<EditorTokens>()
                .is_some_and(|tokens| tokens.authenticate(Some(header)).is_ok())
        })
    }

    /// Executions running now (holding a permit) and waiting for a permit.
    pub fn executions(&self) -> (usize, usize) {
        let running = self
            .max_concurrent
            .saturating_sub(self.permits.available_permits());
        (running, self.waiting.load(Ordering::Relaxed))
    }

    /// Whose budget a request spends: an editor's (by token name) or an address's.
    fn client_key(&self, caller: &Caller) -> String {
        let editor = caller.authorization.as_deref().and_then(|header| {
            self.schema
                .data::<EditorTokens>()
                .and_then(|tokens| tokens.authenticate(Some(header)).ok())
        });
        match (editor, caller.peer) {
            (Some(name), _) => format!("editor:{name}"),
            (None, Some(ip)) => format!("ip:{ip}"),
            (None, None) => "anonymous".to_owned(),
        }
    }

    fn prepare(
        &self,
        caller: &Caller,
        request: Request,
        budget: &Option<(Arc<Budgets>, String)>,
        size: ResponseSize,
    ) -> (Request, Tracker) {
        let tracker = Tracker::new(budget.clone(), size);
        let request = request
            .data(RequestId(caller.request_id.clone()))
            .data(Authorization(caller.authorization.clone()))
            .data(tracker.clone());
        let request = match &caller.dependencies {
            Some(dependencies) => request.data(dependencies.clone()),
            None => request,
        };
        (request, tracker)
    }

    fn budget_for(&self, caller: &Caller) -> Option<(Arc<Budgets>, String)> {
        self.budgets
            .clone()
            .map(|budgets| (budgets, self.client_key(caller)))
    }

    /// Whose budget a subscription by `caller` spends, when budgets are on: subscriptions are
    /// shared only within it.
    pub fn budget_scope(&self, caller: &Caller) -> Option<String> {
        self.budget_for(caller).map(|(_, client)| client)
    }

    /// Executes a request (one operation or a batch) with every guarantee of this module,
    /// after the persisted-query protocol put each operation's text in place (an operation it
    /// refuses is answered without running; the others run). A document a client registered
    /// is stored once its operation began executing: it passed every guard.
    pub async fn execute(&self, caller: &Caller, batch: BatchRequest) -> Outcome {
        let Some(persisted) = &self.persisted else {
            return self.run(caller, batch).await;
        };
        let editor = persisted.trusted_only() && self.is_editor(caller);
        let (requests, is_batch) = match batch {
            BatchRequest::Single(request) => (vec![request], false),
            BatchRequest::Batch(requests) => (requests, true),
        };
        let mut kept = Vec::with_capacity(requests.len());
        let mut registrations = Vec::new();
        let mut refused = Vec::new();
        for (index, mut request) in requests.into_iter().enumerate() {
            match persisted.resolve(&mut request, editor).await {
                Ok(registration) => {
                    if let Some(registration) = registration {
                        registrations.push((kept.len(), registration));
                    }
                    kept.push(request);
                }
                Err(err) => refused.push((index, err)),
            }
        }
        let mut outcome = match (is_batch, kept.pop()) {
            (_, None) => Outcome {
                results: Vec::new(),
                batch: is_batch,
                timed_out: false,
                min_lsn: None,
            },
            (false, Some(request)) => self.run(caller, BatchRequest::Single(request)).await,
            (true, Some(last)) => {
                kept.push(last);
                self.run(caller, BatchRequest::Batch(kept)).await
            }
        };
        if outcome.timed_out {
            return outcome;
        }
        for (index, registration) in registrations {
            if outcome
                .results
                .get(index)
                .is_some_and(|result| result.report.executed)
            {
                persisted.register(registration).await;
            }
        }
        if !refused.is_empty() {
            for (index, err) in refused {
                let refusal = self.refuse(vec![err]);
                outcome
                    .results
                    .insert(index.min(outcome.results.len()), refusal);
            }
            record_on_span(&outcome.results);
        }
        outcome
    }

    /// Executes a request whose texts are in place.
    async fn run(&self, caller: &Caller, batch: BatchRequest) -> Outcome {
        let started = Instant::now();
        // The budget runs from the request's arrival: reading it, waiting for a permit and
        // executing all count.
        let deadline = caller.arrived.unwrap_or_else(tokio::time::Instant::now) + self.timeout;
        let budget = self.budget_for(caller);
        let replays: Vec<Replay> = match &batch {
            BatchRequest::Single(request) => vec![Replay::of(request)],
            BatchRequest::Batch(requests) => requests.iter().map(Replay::of).collect(),
        };
        let (mut batch, trackers, is_batch) = match batch {
            BatchRequest::Single(request) => {
                let (request, tracker) =
                    self.prepare(caller, request, &budget, self.memory.response());
                (BatchRequest::Single(request), vec![tracker], false)
            }
            BatchRequest::Batch(requests) => {
                let (requests, trackers) = requests
                    .into_iter()
                    .map(|r| self.prepare(caller, r, &budget, self.memory.response()))
                    .unzip();
                (BatchRequest::Batch(requests), trackers, true)
            }
        };
        let min_lsn = match &self.reads {
            Some(_) => match reads::min_lsn(caller, &batch) {
                Ok(lsn) => lsn,
                Err(err) => return self.refuse_all(err, trackers.len(), is_batch),
            },
            None => None,
        };
        let execution = async {
            // Choosing a replica (and waiting for one to replay `min_lsn`) counts against the
            // request's budget, like waiting for a permit.
            let replica = match &self.reads {
                Some(reads) => reads.route(caller, min_lsn, &mut batch).await,
                None => None,
            };
            let loader = self.request_loader(replica);
            let mut batch = match &loader {
                Some(loader) => batch.data(loader.clone()),
                None => batch,
            };
            if let Some(replica) = replica {
                // Resolvers that run a statement themselves find the replica's connection
                // first: request data comes before the schema's.
                batch = batch.data(replica.db.conn.clone());
            }
            let waiting = Waiting::new(&self.waiting);
            let _permit = self.permits.acquire().await;
            drop(waiting);
            (
                Batched::new(loader, self.schema.execute_batch(batch)).await,
                replica,
            )
        };
        // A budget already spent (a zero budget, or preparing took it all) stops the request
        // before it starts, rather than racing the first statements against the timer.
        let result = if tokio::time::Instant::now() >= deadline {
            None
        } else {
            tokio::time::timeout_at(deadline, execution).await.ok()
        };
        let (responses, replica) = match result {
            Some((BatchResponse::Single(response), replica)) => (vec![response], replica),
            Some((BatchResponse::Batch(responses), replica)) => (responses, replica),
            None => {
                let err = Error::limit(
                    "timeout",
                    format!(
                        "The request took longer than {} ms and was stopped.",
                        self.timeout.as_millis()
                    ),
                )
                .into_server_error();
                let tracker = trackers.into_iter().next().unwrap_or_default();
                let response = Response::from_errors(vec![err]);
                // A single operation stopped while executing answers `data: null`, like any
                // execution that failed; one stopped before it began has no `data`.
                let executed = is_batch.then_some(false);
                let results = vec![self.finish(response, &tracker, executed, &caller.request_id)];
                results[0].observe(Some(started.elapsed()));
                record_on_span(&results);
                return Outcome {
                    results,
                    batch: false,
                    timed_out: true,
                    min_lsn: None,
                };
            }
        };
        let mut results: Vec<Executed> = responses
            .into_iter()
            .zip(trackers)
            .map(|(response, tracker)| self.finish(response, &tracker, None, &caller.request_id))
            .collect();
        for (executed, replay) in results.iter_mut().zip(&replays) {
            if !connection_lost(&executed.response, replica.is_some()) {
                continue;
            }
            // Idle connections that predate this are tested before their next use; a replica
            // leaves the rotation, and the query runs again on the primary.
            if let Some(replica) = replica {
                replica.failed();
            } else if let Some(faults) = self.schema.data::<Faults>() {
                faults.note();
            }
            if replay.is_query()
                && let Some(again) = self.replay(caller, replay, deadline).await
            {
                tracing::info!(
                    request_id = %caller.request_id,
                    ok = again.response.errors.is_empty(),
                    "ran a query again after its database connection broke"
                );
                let budget = executed.report.budget;
                *executed = again;
                executed.report.budget = executed.report.budget.or(budget);
            }
        }
        let min_lsn = self.note_writes(caller, &mut results).await;
        let elapsed = started.elapsed();
        for result in &results {
            result.observe(Some(elapsed));
        }
        record_on_span(&results);
        Outcome {
            results,
            batch: is_batch,
            timed_out: false,
            min_lsn,
        }
    }

    /// With read replicas, after mutations ran: their commit position, in each mutation's
    /// `extensions.consistency` and returned for the response header; the editor's next
    /// reads stick to the primary when that is configured.
    async fn note_writes(&self, caller: &Caller, results: &mut [Executed]) -> Option<Lsn> {
        let reads = self.reads.as_ref()?;
        let wrote = |r: &Executed| r.kind() == "mutation" && r.report.executed;
        if !results.iter().any(wrote) {
            return None;
        }
        reads.replicas.wrote(caller.authorization.as_deref());
        let lsn = match reads.replicas.commit_lsn().await {
            Ok(lsn) => lsn,
            Err(err) => {
                // The write stands; the client's next read may then miss it on a replica
                // (it can stick to the primary instead).
                tracing::warn!(request_id = %caller.request_id, error = ?err, "could not read the commit position");
                return None;
            }
        };
        for result in results.iter_mut().filter(|r| wrote(r)) {
            result
                .response
                .extensions
                .insert("consistency".to_owned(), reads::consistency(lsn));
        }
        Some(lsn)
    }

    /// Every operation of a request refused with `err` before it ran.
    fn refuse_all(&self, err: ServerError, operations: usize, batch: bool) -> Outcome {
        let results: Vec<Executed> = (0..operations.max(1))
            .map(|_| self.refuse(vec![err.clone()]))
            .collect();
        Outcome {
            results,
            batch,
            timed_out: false,
            min_lsn: None,
        }
    }

    /// A loader of one request's own, so each relation level is exactly one statement: over
    /// `replica`'s pool when it reads from one, else over the schema's (the primary's).
    fn request_loader(&self, replica: Option<&Replica>) -> Option<BatchLoader> {
        match replica {
            Some(replica) => Some(BatchLoader::per_request(Arc::new(ContentLoader::new(
                replica.db.conn.clone(),
            )))),
            None => self
                .schema
                .data::<BatchLoader>()
                .map(BatchLoader::for_request),
        }
    }

    /// Runs one query again within `deadline`, without charging the client's budget twice;
    /// `None` when the budget has run out.
    async fn replay(
        &self,
        caller: &Caller,
        replay: &Replay,
        deadline: tokio::time::Instant,
    ) -> Option<Executed> {
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        let (request, tracker) =
            self.prepare(caller, replay.request(), &None, self.memory.response());
        let loader = self.request_loader(None);
        let request = match &loader {
            Some(loader) => request.data(loader.clone()),
            None => request,
        };
        let execution = async {
            let _permit = self.permits.acquire().await;
            Batched::new(loader, self.schema.execute(request)).await
        };
        let response = tokio::time::timeout_at(deadline, execution).await.ok()?;
        Some(self.finish(response, &tracker, None, &caller.request_id))
    }

    /// Executes one operation (a query over WebSocket), with every guarantee of
    /// [`Executor::execute`].
    pub async fn execute_one(&self, caller: &Caller, request: Request) -> Executed {
        let mut outcome = self.execute(caller, BatchRequest::Single(request)).await;
        outcome.results.remove(0)
    }

    /// Starts a subscription: each event's response is labelled like any other. The
    /// persisted-query protocol applies first, as to any request.
    pub fn subscribe(
        &self,
        caller: &Caller,
        request: Request,
    ) -> impl Stream<Item = Executed> + Send + 'static {
        let Some(persisted) = self.persisted.clone() else {
            return self.subscribe_resolved(caller, request, None).boxed();
        };
        let this = self.clone();
        let caller = caller.clone();
        futures::stream::once(async move {
            let mut request = request;
            let editor = persisted.trusted_only() && this.is_editor(&caller);
            match persisted.resolve(&mut request, editor).await {
                Ok(registration) => this
                    .subscribe_resolved(&caller, request, registration.map(|r| (persisted, r)))
                    .boxed(),
                Err(err) => {
                    futures::stream::once(futures::future::ready(this.refuse(vec![err]))).boxed()
                }
            }
        })
        .flatten()
        .boxed()
    }

    /// Starts a subscription whose text is in place; a registration is stored once its first
    /// event shows it began executing.
    fn subscribe_resolved(
        &self,
        caller: &Caller,
        request: Request,
        mut registration: Option<(Arc<PersistedQueries>, super::persisted::Registration)>,
    ) -> impl Stream<Item = Executed> + Send + 'static {
        let budget = self.budget_for(caller);
        // A subscription's events are counted one by one, not into one response.
        let (request, tracker) = self.prepare(caller, request, &budget, ResponseSize::default());
        let this = self.clone();
        let request_id = caller.request_id.clone();
        let mut first = true;
        self.schema.execute_stream(request).map(move |response| {
            // async-graphql runs no execute hook for a subscription: a response failed before
            // executing when it has no data and only errors that belong to no field (errors
            // of the subscription's own resolver carry its path).
            let executed = !(matches!(response.data, Value::Null)
                && !response.errors.is_empty()
                && response.errors.iter().all(|err| err.path.is_empty()));
            let executed = this.finish(response, &tracker, Some(executed), &request_id);
            // A subscription counts once, with its first result's code; it has no duration.
            if std::mem::take(&mut first) {
                executed.observe(None);
                if let Some((persisted, registration)) = registration.take()
                    && executed.report.executed
                {
                    tokio::spawn(async move { persisted.register(registration).await });
                }
            }
            executed
        })
    }

    /// A response for errors found before the request reached the schema (a malformed body,
    /// too big a batch): it requested nothing.
    pub fn refuse(&self, errors: Vec<ServerError>) -> Executed {
        let executed = self.finish(
            Response::from_errors(errors),
            &Tracker::default(),
            Some(false),
            "-",
        );
        executed.observe(None);
        record_on_span(std::slice::from_ref(&executed));
        executed
    }

    /// Puts the data in selection order, labels every error, names the request id in
    /// internal errors, and adds the cost. `executed` overrides what the tracker says.
    fn finish(
        &self,
        mut response: Response,
        tracker: &Tracker,
        executed: Option<bool>,
        request_id: &str,
    ) -> Executed {
        let mut report = tracker.report();
        report.limit = self.max_cost;
        if let Some(executed) = executed {
            report.executed = executed;
        }
        let mut planned = tracker.take_planned();
        if tracker.size().exceeded() {
            // Whatever was resolved before the limit is dropped: one error says why.
            response = Response::from_errors(vec![response_size_error(tracker.size())]);
            planned = None;
        }
        if report.executed && !report.planned {
            tracker.order(&mut response.data);
        }
        let phase = if report.executed {
            Phase::Execution
        } else {
            Phase::Validation
        };
        // A database fault fails every field that needed the database, each with a copy of
        // one error: the client gets it once (the first, with its path), the log once.
        let mut seen_fault: Vec<&'static str> = Vec::new();
        response.errors.retain(|err| {
            let Some(fault) = fault_of(err) else {
                return true;
            };
            let code = match err.extensions.as_ref().and_then(|x| x.get("code")) {
                Some(Value::String(c)) if c == code::TIMEOUT => code::TIMEOUT,
                _ => code::DB_UNAVAILABLE,
            };
            if seen_fault.contains(&code) {
                return false;
            }
            seen_fault.push(code);
            tracing::warn!(request_id, code, error = %fault.detail, "database fault");
            true
        });
        for err in &mut response.errors {
            code::label(err, phase);
            let ext = err.extensions.get_or_insert_with(Default::default);
            let internal = matches!(ext.get("code"), Some(Value::String(c)) if c == code::INTERNAL);
            if internal {
                ext.set("requestId", request_id);
                err.message =
                    format!("Internal server error (request id {request_id}); see the server log.");
            }
        }
        response
            .extensions
            .entry("cost".to_owned())
            .or_insert_with(|| report.cost_extension());
        Executed {
            response,
            report,
            planned,
            _reservation: tracker.size().take_reservation(),
        }
    }
}

/// The wire format of a response: `errors` (when there are any), then `data` (absent when
/// the request failed before execution, `null` when execution failed), then `extensions`,
/// serialized straight from async-graphql's ordered values: `data` keeps the order of the
/// selection set, and each error reads `message`, `locations`, `path`, `extensions`.
impl Serialize for Executed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let response = &self.response;
        let mut map = serializer.serialize_map(None)?;
        if !response.errors.is_empty() {
            map.serialize_entry("errors", &response.errors)?;
        }
        if let Some(planned) = &self.planned {
            map.serialize_entry("data", planned)?;
        } else if self.report.executed || response.errors.is_empty() {
            map.serialize_entry("data", &response.data)?;
        }
        if !response.extensions.is_empty() {
            map.serialize_entry("extensions", &response.extensions)?;
        }
        map.end()
    }
}
