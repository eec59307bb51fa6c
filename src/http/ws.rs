//! GraphQL over WebSocket at `/graphql/ws`: the `graphql-transport-ws` protocol, kept the way
//! its reference server (graphql-ws) keeps it where async-graphql departs from it.
//!
//! - Subprotocol `graphql-transport-ws` only; a socket without it closes with 4406.
//! - No `connection_init` within `ws-init-timeout-ms` ([`Timings`](crate::config::Timings)): close 4408. A second one: close 4429.
//! - `subscribe` before `connection_ack`: close 4401. A `subscribe` whose id is active: close
//!   4409 `Subscriber for <id> already exists` (async-graphql silently replaces the stream).
//! - A message that is not valid JSON or not a client message of the protocol: close 4400.
//! - A message larger than [`MAX_MESSAGE_BYTES`]: close 1009 (as the `ws` library does),
//!   instead of tungstenite's 64 MiB default.
//! - At most [`MAX_SUBSCRIPTIONS`] active operations per socket: one more is refused with an
//!   `error` message for its id (code `LIMIT_EXCEEDED`, limit `subscriptions`); the socket
//!   and its other operations stay open.
//! - `ping` is answered with `pong`; `complete` stops that operation. A WebSocket ping frame
//!   goes out every `ws-keepalive-ms`; a client that sends nothing back (not even the automatic
//!   pong) before the next one is gone and is dropped, as graphql-ws's `keepAlive` does.
//! - Every write must finish within `ws-write-timeout-ms`, else the socket is dropped: a client
//!   that stops reading never holds the server up. While a write waits, this socket's
//!   subscriptions are not polled; their bounded buffers fill, and a subscription that falls
//!   behind gets one `LIMIT_EXCEEDED` error naming how many events it missed, then `complete`.
//! - Queries and subscriptions are executed by the same [`Executor`](crate::graphql::execute::Executor) as HTTP requests, so a
//!   query gets its own loader, a permit, the time budget and the cost checks (a query is a
//!   single `next` then `complete`; so is a dry run).
//!   Mutations are refused with an `error` message (code `FORBIDDEN`): they need an editor
//!   token, which only `POST /graphql` checks. The `connection_init` payload is accepted and
//!   ignored.
//! - A client's Close frame is answered with the same code (the close handshake), so a normal
//!   disconnect reads 1000 at the client, not 1006.
//! - At most `max-websockets` sockets are open at once on a process; one more is refused at
//!   the upgrade with 503 (and `Retry-After`), before any buffer is allocated.
//! - Buffers are sized for many idle sockets: a [`READ_BUFFER_BYTES`] read buffer, and
//!   writes go straight to the socket (no 128 KiB write buffer), at most
//!   [`MAX_WRITE_BUFFER_BYTES`] queued. One task per socket serves all its operations.
//! - Identical subscriptions share one execution ([`fanout`](super::fanout)): each event is
//!   resolved and serialized once, and every subscriber's `next` is written from those bytes.
//! - On shutdown every socket gets close 1001 (going away); [`Sockets`] tracks them so the
//!   server waits for that (hyper's graceful shutdown does not see upgraded connections).

use std::{pin::Pin, sync::Arc, time::Duration};

use async_graphql::{Request, ServerError, Variables, parser::types::OperationType};
use axum::{
    extract::{
        State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::{Extensions, HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{Stream, StreamExt, stream};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_stream::StreamMap;
use tokio_util::{
    sync::CancellationToken,
    task::{TaskTracker, task_tracker::TaskTrackerToken},
};
use tracing::Instrument;

use super::AppState;
use crate::{
    error::Error,
    graphql::execute::{Caller, Executed},
    http::fanout::{Payload, Shared},
};

/// The WebSocket subprotocol spoken here.
pub const PROTOCOL: &str = "graphql-transport-ws";
/// Most operations active at once on one socket.
pub const MAX_SUBSCRIPTIONS: usize = 100;
/// Largest message (and frame) a client may send.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Each socket's read buffer (tungstenite's default is 128 KiB, allocated per socket up
/// front); larger messages still arrive, in several reads.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Most bytes queued for one socket before a write fails (the socket is then dropped).
pub const MAX_WRITE_BUFFER_BYTES: usize = 16 * 1024 * 1024;

/// Close codes of the protocol.
pub mod close {
    /// Server shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Message larger than [`super::MAX_MESSAGE_BYTES`].
    pub const TOO_BIG: u16 = 1009;
    /// Invalid message.
    pub const BAD_REQUEST: u16 = 4400;
    /// `subscribe` before `connection_ack`.
    pub const UNAUTHORIZED: u16 = 4401;
    /// Subprotocol not `graphql-transport-ws`.
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    /// No `connection_init` in time.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// Duplicate operation id.
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    /// Second `connection_init`.
    pub const TOO_MANY_INITS: u16 = 4429;
}

/// The open sockets: told to close on shutdown, and waited for.
#[derive(Debug, Clone)]
pub struct Sockets {
    closing: CancellationToken,
    tracker: TaskTracker,
    /// One permit per socket that may still open.
    permits: Arc<Semaphore>,
}

impl Default for Sockets {
    fn default() -> Self {
        Self::new()
    }
}

impl Sockets {
    /// No sockets yet, and no limit on them.
    pub fn new() -> Self {
        Self::with_limit(Semaphore::MAX_PERMITS)
    }

    /// No sockets yet; at most `limit` open at once.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            closing: CancellationToken::new(),
            tracker: TaskTracker::new(),
            permits: Arc::new(Semaphore::new(limit.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// Tells every socket to close with 1001; sockets opened from now on close at once.
    pub fn close_all(&self) {
        self.closing.cancel();
        self.tracker.close();
    }

    /// Waits until every socket has closed, at most `grace`; false if some are still open.
    pub async fn wait(&self, grace: Duration) -> bool {
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }

    /// How many sockets are open.
    pub fn open(&self) -> usize {
        self.tracker.len()
    }
}

/// GET /graphql/ws: upgrades to a `graphql-transport-ws` socket.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Operations over the socket run as this caller, without the `Authorization` header:
    // mutations are refused here anyway.
    // Each operation's time budget runs from when it arrives on the socket.
    let caller = Caller {
        authorization: None,
        arrived: None,
        ..super::request::caller(&headers, &extensions, &state.config.trusted_proxies)
    };
    let Ok(permit) = state.sockets.permits.clone().try_acquire_owned() else {
        tracing::warn!(
            limit = state.config.limits.websockets,
            "refusing a WebSocket: max-websockets are open"
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            format!(
                "Too many WebSocket connections: at most {} may be open on this server; retry later.\n",
                state.config.limits.websockets
            ),
        )
            .into_response();
    };
    // Taken now, so the server's shutdown waits for this socket even before it is open.
    let token = state.sockets.tracker.token();
    upgrade
        .protocols([PROTOCOL])
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| run(socket, state, caller, token, permit))
}

/// A message from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        #[allow(dead_code)] // accepted, not used: see the module docs
        payload: Option<Map<String, Value>>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Map<String, Value>>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<Map<String, Value>>,
    },
    Subscribe {
        id: String,
        payload: SubscribePayload,
    },
    Complete {
        id: String,
    },
}

/// The operation of a `subscribe` message.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribePayload {
    query: String,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
    #[serde(default)]
    extensions: Option<Map<String, Value>>,
}

/// What an operation's stream yields.
enum Out {
    /// A result: `next`, with this payload (possibly shared with other subscribers).
    Next(Arc<Payload>),
    /// The operation failed before executing: `error` (and no `complete`), with this payload.
    Error(Arc<Payload>),
    /// The operation ended: `complete`.
    Complete,
}

type OperationStream = Pin<Box<dyn Stream<Item = Executed> + Send>>;
type OutStream = Pin<Box<dyn Stream<Item = Out> + Send>>;

/// Why the connection loop ended.
enum End {
    /// Close with this code and reason.
    Close(u16, String),
    /// The client left or cannot be written to: just drop the socket.
    Drop,
    /// The client sent a Close frame: echo it (the close handshake), then drop the socket.
    Echo,
}

fn close_with(code: u16, reason: impl Into<String>) -> End {
    End::Close(code, reason.into())
}

/// One socket's state.
struct Connection {
    socket: WebSocket,
    state: AppState,
    caller: Caller,
    init_received: bool,
    operations: StreamMap<String, OutStream>,
}

async fn run(
    socket: WebSocket,
    state: AppState,
    caller: Caller,
    _token: TaskTrackerToken,
    _permit: OwnedSemaphorePermit,
) {
    let closing = state.sockets.closing.clone();
    let negotiated = socket.protocol().is_some_and(|p| p == PROTOCOL);
    let mut conn = Connection {
        socket,
        state,
        caller,
        init_received: false,
        operations: StreamMap::new(),
    };
    let end = if !negotiated {
        close_with(
            close::SUBPROTOCOL_NOT_ACCEPTABLE,
            "Subprotocol not acceptable",
        )
    } else {
        conn.serve(&closing).await
    };
    match end {
        End::Close(code, reason) => conn.close(code, reason).await,
        End::Echo => {
            // tungstenite has queued the reply to the client's Close frame, with the client's
            // code (RFC 6455, 5.5.1); writing it is all that is left of the handshake.
            let write_timeout = conn.state.config.timings.ws_write_timeout();
            let _ = tokio::time::timeout(write_timeout, futures::SinkExt::flush(&mut conn.socket))
                .await;
        }
        End::Drop => {}
    }
}

impl Connection {
    async fn serve(&mut self, closing: &CancellationToken) -> End {
        let timings = self.state.config.timings;
        let init_deadline = tokio::time::sleep(timings.ws_init_timeout());
        tokio::pin!(init_deadline);
        let every = timings.ws_keepalive();
        let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut heard_since_ping = true;
        // Made once: a fresh `cancelled()` each turn would lock the token's waiter list (shared
        // by every socket) twice per message, to register and to drop.
        let cancelled = closing.cancelled();
        tokio::pin!(cancelled);
        loop {
            tokio::select! {
                biased;
                () = &mut cancelled => {
                    return close_with(close::GOING_AWAY, "Server shutting down");
                }
                () = &mut init_deadline, if !self.init_received => {
                    return close_with(close::INIT_TIMEOUT, "Connection initialisation timeout");
                }
                incoming = self.socket.recv() => {
                    heard_since_ping = true;
                    let message = match incoming {
                        None => return End::Drop,
                        Some(Ok(message)) => message,
                        Some(Err(err)) => {
                            let err = err.to_string();
                            // tungstenite's CapacityError ("Space limit exceeded: Message too
                            // long: ..."); it is not otherwise distinguishable through axum.
                            if err.contains("Space limit exceeded") {
                                return close_with(close::TOO_BIG, format!("Message too big: at most {MAX_MESSAGE_BYTES} bytes"));
                            }
                            tracing::debug!(error = %err, "websocket read failed");
                            return End::Drop;
                        }
                    };
                    if let Err(end) = self.on_message(message).await {
                        return end;
                    }
                }
                Some((id, out)) = self.operations.next(), if !self.operations.is_empty() => {
                    if let Err(end) = self.on_output(id, out).await {
                        return end;
                    }
                }
                _ = keepalive.tick() => {
                    if !heard_since_ping {
                        tracing::debug!("websocket client stopped answering pings; dropping it");
                        return End::Drop;
                    }
                    heard_since_ping = false;
                    if let Err(end) = self.send(Message::Ping(Default::default())).await {
                        return end;
                    }
                }
            }
        }
    }

    async fn on_message(&mut self, message: Message) -> Result<(), End> {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                return Err(close_with(
                    close::BAD_REQUEST,
                    "Invalid message received: binary messages are not supported",
                ));
            }
            // tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) => return Ok(()),
            Message::Close(_) => return Err(End::Echo),
        };
        let message: ClientMessage = serde_json::from_str(text.as_str()).map_err(|err| {
            close_with(
                close::BAD_REQUEST,
                format!("Invalid message received: {err}"),
            )
        })?;
        match message {
            ClientMessage::ConnectionInit { .. } => {
                if self.init_received {
                    return Err(close_with(
                        close::TOO_MANY_INITS,
                        "Too many initialisation requests",
                    ));
                }
                self.init_received = true;
                self.send_json(json!({ "type": "connection_ack" })).await
            }
            ClientMessage::Ping { payload } => {
                let pong = match payload {
                    Some(payload) => json!({ "type": "pong", "payload": payload }),
                    None => json!({ "type": "pong" }),
                };
                self.send_json(pong).await
            }
            ClientMessage::Pong { .. } => Ok(()),
            ClientMessage::Subscribe { id, payload } => self.subscribe(id, payload).await,
            ClientMessage::Complete { id } => {
                // Completing an unknown or finished operation is allowed and does nothing.
                self.operations.remove(&id);
                Ok(())
            }
        }
    }

    async fn subscribe(&mut self, id: String, payload: SubscribePayload) -> Result<(), End> {
        // The acknowledgement is sent as soon as `connection_init` arrives.
        if !self.init_received {
            return Err(close_with(close::UNAUTHORIZED, "Unauthorized"));
        }
        if id.is_empty() {
            return Err(close_with(
                close::BAD_REQUEST,
                "Invalid message received: the subscribe id must not be empty",
            ));
        }
        if self.operations.contains_key(&id) {
            return Err(close_with(
                close::SUBSCRIBER_EXISTS,
                format!("Subscriber for {id} already exists"),
            ));
        }
        if self.operations.len() >= MAX_SUBSCRIPTIONS {
            let err = Error::limit(
                "subscriptions",
                format!(
                    "At most {MAX_SUBSCRIPTIONS} operations may be active on one connection; complete one first."
                ),
            )
            .into_server_error();
            return self.send_error(&id, vec![err]).await;
        }
        let mut request = Request::new(payload.query);
        if let Some(name) = payload.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = payload.variables {
            request = request.variables(Variables::from_json(Value::Object(variables)));
        }
        if let Some(extensions) = payload.extensions {
            for (key, value) in extensions {
                if let Ok(value) = async_graphql::Value::from_json(value) {
                    request.extensions.insert(key, value);
                }
            }
        }
        let caller = Caller {
            request_id: format!("{}/{id}", self.caller.request_id),
            ..self.caller.clone()
        };
        // The text it would run (a persisted query's stored text), or why it may not run; each
        // subscriber is let in on its own, also to a subscription it would share.
        let text = match self.state.executor.preflight(&caller, &request).await {
            Ok(text) => text,
            Err(err) => return self.send_error(&id, vec![err]).await,
        };
        let operation =
            super::request::operation_type(&self.state, &text, request.operation_name.as_deref());
        if operation == Some(OperationType::Mutation) {
            let err = Error::Forbidden(
                "Mutations are not accepted over WebSocket; send them to POST /graphql with an editor token.".into(),
            )
            .into_server_error();
            return self.send_error(&id, vec![err]).await;
        }
        let subscription = operation == Some(OperationType::Subscription);
        let executor = self.state.executor.clone();
        // A query runs exactly as over HTTP (loader, permit, time budget); a subscription is a
        // stream, unless it is only a dry run, which executes nothing either way.
        let dry_run = matches!(
            request.extensions.get(crate::graphql::extension::DRY_RUN),
            Some(async_graphql::Value::Boolean(true))
        );
        if subscription && !dry_run {
            let key = (
                request.query.clone(),
                request.operation_name.clone(),
                serde_json::to_string(&request.variables).unwrap_or_default(),
                // In key order: the same extensions make the same key.
                serde_json::to_string(
                    &request
                        .extensions
                        .iter()
                        .collect::<std::collections::BTreeMap<_, _>>(),
                )
                .unwrap_or_default(),
                executor.budget_scope(&caller),
            );
            let shared = self.state.fanout.join(key, &executor, &caller, request);
            let results = shared.map(|shared| match shared {
                Shared::Next(payload) => Out::Next(payload),
                Shared::Error(errors) => Out::Error(errors),
                Shared::Complete => Out::Complete,
            });
            self.operations.insert(id, Box::pin(results));
            return Ok(());
        }
        // A query over the socket is a request of its own: a span like an HTTP request's.
        let span = tracing::info_span!(
            "request",
            transport = "websocket",
            request_id = %caller.request_id,
            operation = tracing::field::Empty,
            operation_type = tracing::field::Empty,
            cost = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        let results: OperationStream = Box::pin(stream::once(
            async move { executor.execute_one(&caller, request).await }.instrument(span),
        ));
        let results = results
            .map(move |executed| {
                if !executed.report.executed {
                    Out::Error(to_json(&executed.response.errors))
                } else {
                    Out::Next(to_json(&executed))
                }
            })
            .chain(stream::once(async { Out::Complete }))
            // An `error` ends the operation without `complete`.
            .scan(false, |failed, out| {
                let item = (!*failed).then(|| {
                    *failed = matches!(out, Out::Error(_));
                    out
                });
                futures::future::ready(item)
            });
        self.operations.insert(id, Box::pin(results));
        Ok(())
    }

    async fn on_output(&mut self, id: String, out: Out) -> Result<(), End> {
        match out {
            Out::Next(payload) => self.send_payload(&id, "next", &payload).await,
            Out::Error(errors) => {
                self.operations.remove(&id);
                self.send_payload(&id, "error", &errors).await
            }
            Out::Complete => {
                self.operations.remove(&id);
                self.send_json(json!({ "id": id, "type": "complete" }))
                    .await
            }
        }
    }

    async fn send_error(&mut self, id: &str, errors: Vec<ServerError>) -> Result<(), End> {
        self.operations.remove(id);
        self.send_payload(id, "error", &to_json(&errors)).await
    }

    /// Writes `{"id":..,"type":..,"payload":..}` around an already serialized payload (built
    /// once for every socket that sends it under the same id).
    async fn send_payload(
        &mut self,
        id: &str,
        kind: &'static str,
        payload: &Payload,
    ) -> Result<(), End> {
        self.send(Message::Text(payload.message(id, kind))).await
    }

    async fn send_json(&mut self, message: Value) -> Result<(), End> {
        self.send(Message::Text(message.to_string().into())).await
    }

    /// Writes one message within `ws-write-timeout-ms`; a failure or timeout drops the socket.
    async fn send(&mut self, message: Message) -> Result<(), End> {
        let limit = self.state.config.timings.ws_write_timeout();
        match tokio::time::timeout(limit, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "websocket write failed");
                Err(End::Drop)
            }
            Err(_) => {
                tracing::info!("websocket client too slow to read; dropping it");
                Err(End::Drop)
            }
        }
    }

    /// Sends a close frame and waits briefly for the client's, so the frame is not lost to
    /// a reset.
    async fn close(&mut self, code: u16, reason: String) {
        let frame = CloseFrame {
            code,
            reason: truncate(reason, 123).into(),
        };
        if self.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// A close reason must fit in 123 bytes; cut on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// JSON of a payload, kept in the order it was built (selection order, `errors` first).
fn to_json(value: &impl serde::Serialize) -> Arc<Payload> {
    Payload::new(serde_json::to_string(value).unwrap_or_default())
}
