//! Multiplexed subscriptions: every subscription with the same operation (query text,
//! operation name, variables, extensions) shares one execution, the way Hasura multiplexes
//! live queries.
//!
//! - The first subscriber of an operation starts a hub: one task that executes the
//!   subscription once (one event-bus receiver, one resolution of each event's
//!   `article { ... }`) and serializes each result once, to shared bytes.
//! - Every subscriber of the hub holds a receiver of those bytes (a bounded broadcast of
//!   `ANNALS_SUBSCRIBER_BUFFER` results, one ring for the whole hub), so memory per subscriber does
//!   not grow with the event rate or the number of subscribers, and the statements per event
//!   do not grow with the number of subscribers.
//! - A subscriber that falls that many results behind gets one `LIMIT_EXCEEDED`
//!   error (limit `subscriberBuffer`, `missed`) and `complete`, like an unshared subscription.
//! - A subscriber that joins a running hub gets every result produced after it joined.
//! - When the last subscriber leaves, the hub stops. When cost budgets are on, subscriptions
//!   are shared only within one client (the budget is charged when a hub starts).
//! - The hub executes as its first subscriber's caller: an internal error names that
//!   subscriber's request id.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock},
};

use async_graphql::Request;
use axum::extract::ws::Utf8Bytes;
use futures::{Stream, StreamExt, stream};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{
    error::Error,
    events::{EventBus, Subscribed},
    graphql::execute::{Caller, Executor},
    metrics,
};

/// What identifies a shareable subscription: query, operation name, variables and extensions
/// (as JSON), and the budget's client when budgets are on.
pub type Key = (String, Option<String>, String, String, Option<String>);

/// A message payload serialized once, with the message around it also built once: for the
/// first operation id it is sent under, and shared by every socket that sends it under the
/// same id (most clients number their operations alike). Other ids build their own.
#[derive(Debug)]
pub struct Payload {
    json: Box<str>,
    /// `(id, type)` and the text of `{"id":..,"type":..,"payload":..}` for them.
    message: OnceLock<(Box<str>, &'static str, Utf8Bytes)>,
}

impl Payload {
    /// A payload of this JSON.
    pub fn new(json: impl Into<Box<str>>) -> Arc<Self> {
        Arc::new(Self {
            json: json.into(),
            message: OnceLock::new(),
        })
    }

    /// The payload's JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The text of the `kind` message (`next`, `error`) of operation `id` with this payload.
    pub fn message(&self, id: &str, kind: &'static str) -> Utf8Bytes {
        let (for_id, for_kind, text) = self
            .message
            .get_or_init(|| (id.into(), kind, message(id, kind, &self.json).into()));
        if **for_id == *id && *for_kind == kind {
            text.clone()
        } else {
            message(id, kind, &self.json).into()
        }
    }
}

/// `{"id":..,"type":..,"payload":..}` around an already serialized payload.
fn message(id: &str, kind: &str, payload: &str) -> String {
    let id = serde_json::to_string(id).unwrap_or_default();
    let mut text = String::with_capacity(id.len() + kind.len() + payload.len() + 32);
    text.push_str("{\"id\":");
    text.push_str(&id);
    text.push_str(",\"type\":\"");
    text.push_str(kind);
    text.push_str("\",\"payload\":");
    text.push_str(payload);
    text.push('}');
    text
}

/// One result of a shared subscription, serialized once.
#[derive(Debug, Clone)]
pub enum Shared {
    /// A `next` message's payload.
    Next(Arc<Payload>),
    /// An `error` message's payload (the operation failed before executing).
    Error(Arc<Payload>),
    /// The subscription ended.
    Complete,
}

/// The hubs of this process.
#[derive(Clone)]
pub struct Fanout {
    hubs: Arc<Mutex<HashMap<Key, Hub>>>,
    bus: Option<EventBus>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
    /// Results buffered per member before it counts as too slow.
    buffer: usize,
}

struct Hub {
    id: u64,
    /// The key, shared with every member (a member holds no copy of the query).
    key: Arc<Key>,
    sender: broadcast::Sender<Shared>,
    members: usize,
    task: tokio::task::AbortHandle,
}

impl Fanout {
    /// Hubs fed by `bus` (`None`: subscriptions subscribe through the schema's bus themselves).
    pub fn new(bus: Option<EventBus>, buffer: usize) -> Self {
        Self {
            hubs: Arc::default(),
            buffer: buffer.max(1),
            bus,
            next_id: Arc::default(),
        }
    }

    /// How many distinct shared subscriptions run now.
    pub fn hubs(&self) -> usize {
        self.hubs.lock().map(|hubs| hubs.len()).unwrap_or(0)
    }

    /// Joins the hub of `key`, starting it (executing `request` as `caller`) if there is none.
    pub fn join(
        &self,
        key: Key,
        executor: &Executor,
        caller: &Caller,
        request: Request,
    ) -> Pin<Box<dyn Stream<Item = Shared> + Send>> {
        let mut hubs = self.hubs.lock().expect("hubs lock");
        let receiver = if let Some(hub) = hubs.get_mut(&key) {
            hub.members += 1;
            if let Some(bus) = &self.bus {
                bus.share(1);
            }
            let receiver = hub.sender.subscribe();
            let member = (hub.id, hub.key.clone());
            drop(hubs);
            (receiver, member)
        } else {
            let (sender, receiver) = broadcast::channel(self.buffer);
            let id = self
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Subscribed now, so the new member misses no event committed after it joined.
            let request = match &self.bus {
                Some(bus) => request.data(Subscribed::new(bus.subscribe())),
                None => request,
            };
            let results = executor.subscribe(caller, request);
            let key = Arc::new(key);
            let task = tokio::spawn(run_hub(
                self.clone(),
                key.clone(),
                id,
                sender.clone(),
                Box::pin(results),
            ));
            hubs.insert(
                (*key).clone(),
                Hub {
                    id,
                    key: key.clone(),
                    sender,
                    members: 1,
                    task: task.abort_handle(),
                },
            );
            (receiver, (id, key))
        };
        let member = Member {
            fanout: self.clone(),
            key: receiver.1.1,
            hub: receiver.1.0,
            delivered: metrics::counter_handle(metrics::EVENTS_DELIVERED),
        };
        Box::pin(stream::unfold(
            State::Live(receiver.0, member),
            |state| async move {
                let State::Live(mut receiver, member) = state else {
                    return match state {
                        // A lag error is followed by `complete`, like an unshared stream's end.
                        State::Lagged => Some((Shared::Complete, State::Done)),
                        _ => None,
                    };
                };
                match receiver.recv().await {
                    Ok(Shared::Next(payload)) => {
                        member.delivered.increment(1);
                        Some((Shared::Next(payload), State::Live(receiver, member)))
                    }
                    Ok(Shared::Error(errors)) => Some((Shared::Error(errors), State::Done)),
                    Ok(Shared::Complete) | Err(RecvError::Closed) => {
                        Some((Shared::Complete, State::Done))
                    }
                    Err(RecvError::Lagged(missed)) => {
                        metrics::count(metrics::EVENTS_DROPPED, missed);
                        let buffer = member.fanout.buffer;
                        drop(member);
                        Some((Shared::Next(lagged(missed, buffer)), State::Lagged))
                    }
                }
            },
        ))
    }

    /// Forgets hub `id` of `key` (it ended): its members are no longer counted on the bus.
    fn remove(&self, key: &Key, id: u64) {
        let mut hubs = self.hubs.lock().expect("hubs lock");
        if hubs.get(key).is_some_and(|hub| hub.id == id)
            && let Some(hub) = hubs.remove(key)
            && let Some(bus) = &self.bus
        {
            bus.share(-(hub.members as isize - 1));
        }
    }
}

/// Where one member's stream is.
enum State {
    Live(broadcast::Receiver<Shared>, Member),
    Lagged,
    Done,
}

/// One subscriber of a hub; leaving stops the hub when it was the last.
struct Member {
    fanout: Fanout,
    key: Arc<Key>,
    hub: u64,
    /// Counts this member's deliveries (a handle: no look-up per event).
    delivered: ::metrics::Counter,
}

impl Drop for Member {
    fn drop(&mut self) {
        let Ok(mut hubs) = self.fanout.hubs.lock() else {
            return;
        };
        let Some(hub) = hubs.get_mut(&*self.key).filter(|hub| hub.id == self.hub) else {
            return;
        };
        hub.members -= 1;
        if hub.members == 0 {
            hub.task.abort();
            hubs.remove(&*self.key);
        } else if let Some(bus) = &self.fanout.bus {
            bus.share(-1);
        }
    }
}

/// Runs one shared subscription: each result serialized once and sent to every member.
async fn run_hub(
    fanout: Fanout,
    key: Arc<Key>,
    id: u64,
    sender: broadcast::Sender<Shared>,
    mut results: Pin<Box<dyn Stream<Item = crate::graphql::execute::Executed> + Send>>,
) {
    let mut first = true;
    while let Some(executed) = results.next().await {
        if first && !executed.report.executed {
            // Failed before executing: `error`, and the operation is over.
            let errors = serde_json::to_string(&executed.response.errors).unwrap_or_default();
            drop(results);
            fanout.remove(&key, id);
            let _ = sender.send(Shared::Error(Payload::new(errors)));
            return;
        }
        first = false;
        let payload = serde_json::to_string(&executed).unwrap_or_default();
        let _ = sender.send(Shared::Next(Payload::new(payload)));
    }
    // The stream ended: let go of its receiver before the members hear `complete`.
    drop(results);
    fanout.remove(&key, id);
    let _ = sender.send(Shared::Complete);
}

/// The payload a member that missed `missed` results gets (`errors` first, as every
/// response is written).
fn lagged(missed: u64, buffer: usize) -> Arc<Payload> {
    let error = Error::Lagged { missed, buffer }.into_server_error();
    let error = serde_json::to_string(&error).unwrap_or_default();
    Payload::new(format!("{{\"errors\":[{error}],\"data\":null}}"))
}

#[cfg(test)]
mod tests {
    use super::Payload;

    #[test]
    fn a_message_is_built_once_per_id_and_right_for_every_id() {
        let payload = Payload::new(r#"{"data":{"x":1}}"#);
        let first = payload.message("1", "next");
        assert_eq!(
            first.as_str(),
            r#"{"id":"1","type":"next","payload":{"data":{"x":1}}}"#
        );
        // The same id shares the bytes built first.
        let again = payload.message("1", "next");
        assert_eq!(again.as_str().as_ptr(), first.as_str().as_ptr());
        // Another id (escaped as JSON) or type gets a message of its own.
        assert_eq!(
            payload.message("a\"b", "next").as_str(),
            r#"{"id":"a\"b","type":"next","payload":{"data":{"x":1}}}"#
        );
        assert_eq!(
            payload.message("1", "error").as_str(),
            r#"{"id":"1","type":"error","payload":{"data":{"x":1}}}"#
        );
    }
}
