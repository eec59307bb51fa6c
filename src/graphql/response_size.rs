//! Bounds what responses cost in memory: each response's size, counted while it is built,
//! and the bytes all executions together may hold.
//!
//! A response lives three times over while it is answered (the rows loaded, async-graphql's
//! value tree, the JSON bytes), so peak memory follows the responses in flight. Two bounds:
//! - **Per response** ([`ResponseSize`]): every resolved field adds the JSON size of its key
//!   and, for a scalar, its value; past `max-response-bytes` the execution stops resolving and
//!   the response becomes one `LIMIT_EXCEEDED` error (`responseSize`).
//! - **All together** ([`ResponseMemory`]): before a query runs it reserves its estimated size
//!   (its cost times [`BYTES_PER_NODE`], at most the per-response limit) from a budget of
//!   `response-memory-bytes`, waiting (within its time budget) while the budget is taken; what
//!   it produces beyond the estimate it reserves as it goes, waiting again when the budget is
//!   spent. So that executions which all hold part of the budget cannot wait on each other for
//!   ever, one of them at a time may go on unreserved (the overdraft): it never waits, finishes,
//!   and releases. Response memory in flight is therefore at most the budget plus one largest
//!   response. Reservations are released when the response has been serialized.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use async_graphql::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The estimated JSON bytes of one node a query's cost counts, for the reservation before it
/// runs (a section with a heading and a paragraph; a point with a label and a summary).
pub const BYTES_PER_NODE: u64 = 256;

/// Reservations are counted in KiB, so a budget of gigabytes fits a semaphore.
const UNIT: u64 = 1024;

/// The smallest reservation, in bytes: a query of cost 0 still produces a response.
const MIN_RESERVATION: u64 = 4 * UNIT;

/// Growth past the reservation is taken in steps of at least this many bytes.
const GROWTH_STEP: u64 = 64 * UNIT;

/// The response bytes all executions together may hold; one per server.
#[derive(Debug, Clone)]
pub struct ResponseMemory {
    budget: Arc<Semaphore>,
    /// One permit: the execution that may grow without a reservation.
    overdraft: Arc<Semaphore>,
    units: u64,
    max_response: u64,
}

impl ResponseMemory {
    /// A budget of `total` bytes for responses of at most `max_response` bytes each (the
    /// budget is raised to at least one largest response, so every query can run).
    pub fn new(total: u64, max_response: u64) -> Self {
        let units = total.max(max_response).max(MIN_RESERVATION).div_ceil(UNIT);
        let units = units.min(Semaphore::MAX_PERMITS as u64);
        Self {
            budget: Arc::new(Semaphore::new(units as usize)),
            overdraft: Arc::new(Semaphore::new(1)),
            units,
            max_response,
        }
    }

    /// The size counter for one response, reserving nothing yet.
    pub fn response(&self) -> ResponseSize {
        ResponseSize(Arc::new(Inner {
            memory: Some(self.clone()),
            limit: self.max_response,
            used: AtomicU64::new(0),
            exceeded: AtomicBool::new(false),
            reserved: Mutex::new(None),
            overdraft: Mutex::new(None),
            held: AtomicU64::new(0),
            overdrawn: AtomicBool::new(false),
        }))
    }

    /// Bytes of the budget not reserved right now.
    pub fn available(&self) -> u64 {
        self.budget.available_permits() as u64 * UNIT
    }

    fn units_for(&self, bytes: u64) -> u32 {
        bytes.div_ceil(UNIT).clamp(1, self.units) as u32
    }
}

/// Counts one response's bytes and holds its share of the [`ResponseMemory`] budget.
#[derive(Debug, Clone, Default)]
pub struct ResponseSize(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    memory: Option<ResponseMemory>,
    limit: u64,
    used: AtomicU64,
    exceeded: AtomicBool,
    reserved: Mutex<Option<OwnedSemaphorePermit>>,
    overdraft: Mutex<Option<OwnedSemaphorePermit>>,
    /// Bytes `reserved` holds, readable without its lock (every field checks it).
    held: AtomicU64,
    /// Whether `overdraft` is held, readable without its lock.
    overdrawn: AtomicBool,
}

impl ResponseSize {
    /// Reserves the estimated size of a query of `cost` nodes, waiting while the budget is
    /// taken. Without a budget (printing the schema, unit tests) it returns at once.
    pub async fn admit(&self, cost: u64) {
        let Some(memory) = &self.0.memory else {
            return;
        };
        let estimate = cost
            .saturating_mul(BYTES_PER_NODE)
            .clamp(MIN_RESERVATION, self.0.limit.max(MIN_RESERVATION));
        let units = memory.units_for(estimate);
        if let Ok(permit) = memory.budget.clone().acquire_many_owned(units).await {
            self.hold(permit);
        }
    }

    /// Adds the JSON size of a resolved field (its key and, for a scalar, its value), waiting
    /// for budget when the response outgrows its reservation. `false` once the response is over
    /// its limit: the execution should stop.
    pub async fn add_field(&self, key: &str, value: Option<&Value>) -> bool {
        let mut bytes = key_bytes(key);
        if let Some(value) = value {
            bytes += scalar_size(value);
        }
        self.add(bytes).await
    }

    /// Adds `bytes` counted elsewhere (as [`Self::add_field`] counts), e.g. by a query plan.
    pub async fn add_bytes(&self, bytes: u64) -> bool {
        self.add(bytes).await
    }
    /// Whether the response went over its limit.
    pub fn exceeded(&self) -> bool {
        self.0.exceeded.load(Ordering::Relaxed)
    }

    /// The bytes counted so far.
    pub fn used(&self) -> u64 {
        self.0.used.load(Ordering::Relaxed)
    }

    /// The per-response limit in bytes.
    pub fn limit(&self) -> u64 {
        self.0.limit
    }

    /// Takes the reservation (and the overdraft, if this response holds it) out, to be
    /// dropped once the response has been serialized.
    pub fn take_reservation(&self) -> Option<Reservation> {
        let reserved = lock(&self.0.reserved).take();
        let overdraft = lock(&self.0.overdraft).take();
        self.0.held.store(0, Ordering::Relaxed);
        self.0.overdrawn.store(false, Ordering::Relaxed);
        (reserved.is_some() || overdraft.is_some()).then_some(Reservation {
            _reserved: reserved,
            _overdraft: overdraft,
        })
    }

    async fn add(&self, bytes: u64) -> bool {
        let used = self.0.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if self.0.limit > 0 && used > self.0.limit {
            self.0.exceeded.store(true, Ordering::Relaxed);
            return false;
        }
        let Some(memory) = &self.0.memory else {
            return true;
        };
        // The common case, without a lock: within the reservation, or holding the overdraft.
        let held = self.0.held.load(Ordering::Relaxed);
        if used <= held || self.0.overdrawn.load(Ordering::Relaxed) {
            return true;
        }
        let units = memory.units_for((used - held).max(GROWTH_STEP));
        if let Ok(permit) = memory.budget.clone().try_acquire_many_owned(units) {
            self.hold(permit);
            return true;
        }
        // The budget is spent: wait for some of it, or for the overdraft, whichever is free
        // first (the overdraft's holder never waits, so it always finishes and frees both).
        tokio::select! {
            Ok(permit) = memory.budget.clone().acquire_many_owned(units) => self.hold(permit),
            Ok(token) = memory.overdraft.clone().acquire_owned() => {
                *lock(&self.0.overdraft) = Some(token);
                self.0.overdrawn.store(true, Ordering::Relaxed);
            }
        }
        true
    }

    fn hold(&self, permit: OwnedSemaphorePermit) {
        let mut reserved = lock(&self.0.reserved);
        let held = match reserved.as_mut() {
            Some(held) => {
                held.merge(permit);
                held
            }
            None => reserved.insert(permit),
        };
        self.0
            .held
            .store(held.num_permits() as u64 * UNIT, Ordering::Relaxed);
    }
}

/// A response's share of the budget; dropping it releases the share.
#[derive(Debug)]
pub struct Reservation {
    _reserved: Option<OwnedSemaphorePermit>,
    _overdraft: Option<OwnedSemaphorePermit>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a field counts for its key: `"key":` and a separator.
pub fn key_bytes(key: &str) -> u64 {
    key.len() as u64 + 4
}

/// What a string value counts: its quotes (escapes are rare in content and not worth a scan).
pub fn string_bytes(s: &str) -> u64 {
    s.len() as u64 + 2
}

/// What a number counts.
pub const NUMBER_BYTES: u64 = 8;
/// What a boolean counts.
pub const BOOLEAN_BYTES: u64 = 5;
/// What a null counts.
pub const NULL_BYTES: u64 = 4;

/// The JSON size of a scalar; containers count through their fields.
fn scalar_size(value: &Value) -> u64 {
    match value {
        Value::Null => NULL_BYTES,
        Value::Boolean(_) => BOOLEAN_BYTES,
        Value::Number(_) => NUMBER_BYTES,
        Value::String(s) => string_bytes(s),
        Value::Enum(name) => string_bytes(name),
        Value::Binary(bytes) => bytes.len() as u64 * 4 / 3 + 2,
        Value::List(_) | Value::Object(_) => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_response_over_its_limit_is_stopped() {
        let memory = ResponseMemory::new(1 << 20, 100);
        let size = memory.response();
        assert!(
            size.add_field("title", Some(&Value::from("x".repeat(50))))
                .await
        );
        assert!(!size.exceeded());
        assert!(
            !size
                .add_field("summary", Some(&Value::from("y".repeat(50))))
                .await
        );
        assert!(size.exceeded());
        assert!(size.used() > 100);
    }

    #[tokio::test]
    async fn admission_waits_while_the_budget_is_reserved() {
        // Room for two largest responses.
        let memory = ResponseMemory::new(2 << 20, 1 << 20);
        let first = memory.response();
        let second = memory.response();
        first.admit(1_000_000).await;
        second.admit(1_000_000).await;
        assert_eq!(memory.available(), 0);
        let third = memory.response();
        let waiting = tokio::spawn({
            let third = third.clone();
            async move { third.admit(1_000_000).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "admitted beyond the budget");
        drop(first.take_reservation());
        tokio::time::timeout(std::time::Duration::from_secs(1), waiting)
            .await
            .expect("admitted once memory was released")
            .unwrap();
        drop(second.take_reservation());
        drop(third.take_reservation());
        assert_eq!(memory.available(), 2 << 20);
    }

    #[tokio::test]
    async fn growth_waits_for_budget_or_takes_the_one_overdraft() {
        let memory = ResponseMemory::new(1 << 20, 1 << 20);
        let total = memory.available();
        let hog = memory.response();
        hog.admit(1 << 30).await; // takes the whole budget
        let first = memory.response();
        // Nothing left to reserve: the first to outgrow takes the overdraft and goes on.
        assert!(
            first
                .add_field("body", Some(&Value::from("z".repeat(200_000))))
                .await
        );
        assert!(
            first
                .add_field("more", Some(&Value::from("z".repeat(200_000))))
                .await
        );
        // A second must wait until the budget or the overdraft is released.
        let second = memory.response();
        let growing = tokio::spawn({
            let second = second.clone();
            async move {
                second
                    .add_field("body", Some(&Value::from("z".repeat(200_000))))
                    .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(
            !growing.is_finished(),
            "grew past the budget and the overdraft"
        );
        drop(first.take_reservation());
        let grown = tokio::time::timeout(std::time::Duration::from_secs(1), growing)
            .await
            .expect("the overdraft was passed on")
            .unwrap();
        assert!(grown);
        drop(second.take_reservation());
        drop(hog.take_reservation());
        assert_eq!(memory.available(), total);
    }

    #[test]
    fn small_queries_reserve_little() {
        let memory = ResponseMemory::new(24 << 20, 8 << 20);
        let size = memory.response();
        futures::executor::block_on(size.admit(10));
        assert_eq!(memory.available(), (24 << 20) - MIN_RESERVATION);
    }
}
