//! Deterministic batching: every relation level of a request is one statement.
//!
//! async-graphql's DataLoader collects keys for a fixed delay, so how many statements a request
//! sends depends on timing: a list of more than 32 items is polled in several rounds, and under
//! load a round can miss the window. Here a request's keys are instead collected until the
//! request's own resolvers can make no more progress ([`Batched`] notices when polling the
//! request returns `Pending` without the request having woken itself), and only then is each
//! key type loaded with one statement. The level below then starts, and so on: the number of
//! statements is a function of the query's shape, never of row counts or scheduling.
//!
//! Work outside an HTTP request (subscriptions) uses a shared loader that falls back to a short
//! timer, like DataLoader.
//!
//! Each load of a request is a `load` span (the key type and how many keys) inside the span
//! that flushed it, so a trace shows one child per batched statement.

use std::{
    any::{Any, TypeId},
    collections::{HashMap, HashSet},
    future::Future,
    hash::Hash,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use async_graphql::{ErrorExtensions, dataloader::Loader};
use tokio::sync::oneshot;
use tracing::Instrument;

use super::loaders::{ContentLoader, Depends};
use crate::{cache::Dependencies, error::Error};

type Reply<V> = oneshot::Sender<Result<Option<V>, Arc<Error>>>;

/// The keys of one type waiting to be loaded, and who waits for which.
struct Pending<K: Send + Sync + Hash + Eq + Clone + 'static>
where
    ContentLoader: Loader<K>,
{
    keys: HashSet<K>,
    waiters: Vec<(K, Reply<<ContentLoader as Loader<K>>::Value>)>,
}

/// A type-erased [`Pending`] batch.
trait Batch: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    /// The key type, for the span: `SectionsOfArticle` and the like.
    fn name(&self) -> &'static str;
    /// How many distinct keys wait.
    fn len(&self) -> usize;
    fn dispatch(
        self: Box<Self>,
        loader: Arc<ContentLoader>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

impl<K> Batch for Pending<K>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    ContentLoader: Loader<K, Error = Arc<Error>>,
{
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn name(&self) -> &'static str {
        let name = std::any::type_name::<K>();
        name.rsplit("::").next().unwrap_or(name)
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn dispatch(
        self: Box<Self>,
        loader: Arc<ContentLoader>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let keys: Vec<K> = self.keys.into_iter().collect();
            let mut result = loader.load(&keys).await;
            // Most keys have one waiter: the last waiter of a key takes the value instead of a
            // copy (section bodies and the like are large).
            let mut remaining: HashMap<&K, usize> = HashMap::new();
            for (key, _) in &self.waiters {
                *remaining.entry(key).or_default() += 1;
            }
            let mut last = Vec::with_capacity(self.waiters.len());
            for (key, _) in &self.waiters {
                let left = remaining.get_mut(key).map(|n| {
                    *n -= 1;
                    *n
                });
                last.push(left == Some(0));
            }
            for ((key, reply), last) in self.waiters.into_iter().zip(last) {
                let answer = match &mut result {
                    Ok(values) if last => Ok(values.remove(&key)),
                    Ok(values) => Ok(values.get(&key).cloned()),
                    Err(err) => Err(err.clone()),
                };
                let _ = reply.send(answer);
            }
        })
    }
}

#[derive(Default)]
struct State {
    batches: HashMap<TypeId, Box<dyn Batch>>,
    timer_armed: bool,
    /// Batches loading right now.
    in_flight: usize,
    /// The request task, woken when the last in-flight batch has answered.
    waiting: Option<Waker>,
}

/// Collects keys and loads each key type with one statement per flush.
#[derive(Clone)]
pub struct BatchLoader {
    loader: Arc<ContentLoader>,
    state: Arc<Mutex<State>>,
    /// Flush this long after the first key if nobody flushes sooner (shared loaders only).
    fallback: Option<Duration>,
}

impl BatchLoader {
    /// A loader for one request, flushed by [`Batched`] whenever the request waits.
    pub fn per_request(loader: Arc<ContentLoader>) -> Self {
        Self {
            loader,
            state: Default::default(),
            fallback: None,
        }
    }

    /// A loader shared by work outside HTTP requests; it flushes on a short timer.
    pub fn shared(loader: Arc<ContentLoader>) -> Self {
        Self {
            loader,
            state: Default::default(),
            fallback: Some(Duration::from_millis(1)),
        }
    }

    /// The loader that runs the statements (for a query plan, which batches by itself).
    pub fn content(&self) -> &ContentLoader {
        &self.loader
    }

    /// A loader for one request over the same data source as this one.
    pub fn for_request(&self) -> Self {
        Self::per_request(self.loader.clone())
    }

    /// Loads the value for `key` in the next batch of its type.
    pub async fn load_one<K>(
        &self,
        key: K,
    ) -> Result<Option<<ContentLoader as Loader<K>>::Value>, Arc<Error>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        ContentLoader: Loader<K, Error = Arc<Error>>,
    {
        let (reply, answer) = oneshot::channel();
        let arm_timer = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let batch = state.batches.entry(TypeId::of::<K>()).or_insert_with(|| {
                Box::new(Pending::<K> {
                    keys: HashSet::new(),
                    waiters: Vec::new(),
                })
            });
            let pending = batch
                .as_any()
                .downcast_mut::<Pending<K>>()
                .expect("batches are keyed by their key type");
            pending.keys.insert(key.clone());
            pending.waiters.push((key, reply));
            self.fallback.is_some() && !std::mem::replace(&mut state.timer_armed, true)
        };
        if arm_timer && let Some(delay) = self.fallback {
            let this = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                this.flush();
            });
        }
        answer
            .await
            .unwrap_or_else(|_| Err(Arc::new(Error::internal("a batched load was dropped"))))
    }

    /// Starts loading every waiting batch now (the shared loader's timer).
    pub fn flush(&self) {
        self.flush_if(|_| true);
    }

    /// Starts loading every waiting batch unless a batch is still answering: its answers may
    /// add keys to the next level, which must wait for them to make one statement per level.
    fn flush_when_idle(&self, task: &Waker) {
        self.flush_if(|state| {
            if state.in_flight > 0 {
                state.waiting = Some(task.clone());
                false
            } else {
                true
            }
        });
    }

    fn flush_if(&self, ready: impl FnOnce(&mut State) -> bool) {
        let batches = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if !ready(&mut state) {
                return;
            }
            state.timer_armed = false;
            state.in_flight += state.batches.len();
            std::mem::take(&mut state.batches)
        };
        // Called while the request's future is polled: the current span is the request's.
        let parent = tracing::Span::current();
        for batch in batches.into_values() {
            let this = self.clone();
            let span = if parent.is_disabled() {
                tracing::Span::none()
            } else {
                tracing::info_span!(parent: &parent, "load", key = batch.name(), keys = batch.len())
            };
            let work = async move {
                batch.dispatch(this.loader.clone()).await;
                let waiting = {
                    let mut state = this.state.lock().unwrap_or_else(|e| e.into_inner());
                    state.in_flight -= 1;
                    if state.in_flight == 0 {
                        state.waiting.take()
                    } else {
                        None
                    }
                };
                if let Some(task) = waiting {
                    task.wake();
                }
            };
            tokio::spawn(work.instrument(span));
        }
    }
}

/// Loads one value for a key through the request's loader, mapping failures once.
pub async fn load<K>(
    ctx: &async_graphql::Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<ContentLoader as Loader<K>>::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static + Depends<<ContentLoader as Loader<K>>::Value>,
    ContentLoader: Loader<K, Error = Arc<Error>>,
{
    // The request's own loader when there is one (HTTP), else the schema's shared one.
    let loader = ctx.data::<BatchLoader>()?;
    let value = loader
        .load_one(key.clone())
        .await
        .map_err(|err| err.extend())?;
    // What the answer read, when it may be cached (surrogate keys).
    if let Some(dependencies) = ctx.data_opt::<Arc<Dependencies>>() {
        key.depends(value.as_ref(), dependencies);
    }
    Ok(value)
}

/// Wakes the real task and remembers that the future woke itself.
struct FlagWaker {
    woken: AtomicBool,
    task: Waker,
}

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake_by_ref();
    }
}

/// Most consecutive self-wakes before flushing anyway (keeps the task fair to others).
const MAX_ROUNDS: usize = 1_000;

/// Runs a request future and flushes its loader whenever the request has gone as far as it can.
pub struct Batched<F> {
    future: Pin<Box<tokio::task::Unconstrained<F>>>,
    loader: Option<BatchLoader>,
}

impl<F: Future> Batched<F> {
    /// Wraps `future`, whose resolvers load through `loader` (none: nothing to flush).
    pub fn new(loader: Option<BatchLoader>, future: F) -> Self {
        // Unconstrained: tokio's cooperative budget would otherwise make a oneshot return
        // Pending with a deferred self-wake, which looks like "waiting" and splits a level.
        // Fairness comes from MAX_ROUNDS instead.
        Self {
            future: Box::pin(tokio::task::unconstrained(future)),
            loader,
        }
    }

    fn flush(&self, task: &Waker) {
        if let Some(loader) = &self.loader {
            loader.flush_when_idle(task);
        }
    }
}

impl<F: Future> Future for Batched<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        for _ in 0..MAX_ROUNDS {
            let flag = Arc::new(FlagWaker {
                woken: AtomicBool::new(false),
                task: cx.waker().clone(),
            });
            let waker = Waker::from(flag.clone());
            if let Poll::Ready(output) = self.future.as_mut().poll(&mut Context::from_waker(&waker))
            {
                return Poll::Ready(output);
            }
            if !flag.woken.load(Ordering::Acquire) {
                // Every resolver that could run has run: what is pending now is one level.
                self.flush(cx.waker());
                return Poll::Pending;
            }
        }
        self.flush(cx.waker());
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::AtomicUsize,
        task::{Context, Poll},
    };

    use super::*;
    use crate::{config::Config, db::Db, graphql::loaders::ArticleById, store::columns::Columns};

    /// A future that wakes itself `wakes` times, then waits for nothing (`Pending` without a
    /// wake) `stalls` times, then is ready; it counts its polls.
    struct Script {
        wakes: usize,
        stalls: usize,
        polls: Arc<AtomicUsize>,
    }

    impl Future for Script {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            if self.wakes > 0 {
                self.wakes -= 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if self.stalls > 0 {
                self.stalls -= 1;
                return Poll::Pending;
            }
            Poll::Ready(())
        }
    }

    /// A waker that counts its wakes.
    struct Counting(AtomicUsize);

    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn poll_once<F: Future>(
        future: Pin<&mut Batched<F>>,
        wakes: &Arc<Counting>,
    ) -> Poll<F::Output> {
        let waker = Waker::from(wakes.clone());
        future.poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn self_wakes_are_polled_again_within_one_poll() {
        let polls = Arc::new(AtomicUsize::new(0));
        let mut batched = Batched::new(
            None,
            Script {
                wakes: 5,
                stalls: 0,
                polls: polls.clone(),
            },
        );
        let wakes = Arc::new(Counting(AtomicUsize::new(0)));
        assert!(poll_once(Pin::new(&mut batched), &wakes).is_ready());
        assert_eq!(polls.load(Ordering::Relaxed), 6);
        // The outer task was woken by each self-wake (passed through), never by the batcher.
        assert_eq!(wakes.0.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn pending_without_a_wake_returns_pending() {
        let polls = Arc::new(AtomicUsize::new(0));
        let mut batched = Batched::new(
            None,
            Script {
                wakes: 0,
                stalls: 1,
                polls: polls.clone(),
            },
        );
        let wakes = Arc::new(Counting(AtomicUsize::new(0)));
        assert!(poll_once(Pin::new(&mut batched), &wakes).is_pending());
        assert_eq!(polls.load(Ordering::Relaxed), 1);
        assert!(poll_once(Pin::new(&mut batched), &wakes).is_ready());
    }

    #[test]
    fn a_future_that_always_wakes_itself_yields_after_max_rounds() {
        let polls = Arc::new(AtomicUsize::new(0));
        let mut batched = Batched::new(
            None,
            Script {
                wakes: usize::MAX,
                stalls: 0,
                polls: polls.clone(),
            },
        );
        let wakes = Arc::new(Counting(AtomicUsize::new(0)));
        assert!(poll_once(Pin::new(&mut batched), &wakes).is_pending());
        assert_eq!(polls.load(Ordering::Relaxed), MAX_ROUNDS);
        // It yields, but asks to be polled again at once: it is not waiting for anything.
        assert_eq!(wakes.0.load(Ordering::Relaxed), MAX_ROUNDS + 1);
    }

    async fn seeded_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("batch.db").display()
        );
        let db = Db::connect(&Config::defaults(url)).await.unwrap();
        crate::store::prepare(&db.conn, true).await.unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn keys_waiting_together_are_loaded_with_one_statement() {
        let (_dir, db) = seeded_db().await;
        let loader = BatchLoader::per_request(Arc::new(ContentLoader::new(db.conn.clone())));
        let before = db.statements.get();
        let keys = Batched::new(Some(loader.clone()), async {
            futures::future::join_all(
                (1..=40).map(|id| loader.load_one(ArticleById(id, Columns::Full))),
            )
            .await
        })
        .await;
        assert_eq!(db.statements.get() - before, 1, "one statement for 40 keys");
        assert_eq!(keys.len(), 40);
        let found: Vec<_> = keys.into_iter().map(|k| k.unwrap()).collect();
        assert!(found[0].is_some(), "the seed article has id 1");
        assert!(found[39].is_none());
        // The same key asked twice gets the same answer twice.
        let twice = Batched::new(Some(loader.clone()), async {
            futures::future::join(
                loader.load_one(ArticleById(1, Columns::Full)),
                loader.load_one(ArticleById(1, Columns::Full)),
            )
            .await
        })
        .await;
        assert_eq!(
            twice.0.unwrap().map(|a| a.id),
            twice.1.unwrap().map(|a| a.id)
        );
        db.close().await;
    }

    #[tokio::test]
    async fn the_shared_loader_flushes_on_its_timer() {
        let (_dir, db) = seeded_db().await;
        let loader = BatchLoader::shared(Arc::new(ContentLoader::new(db.conn.clone())));
        let before = db.statements.get();
        let (a, b) = tokio::time::timeout(
            Duration::from_secs(5),
            futures::future::join(
                loader.load_one(ArticleById(1, Columns::Full)),
                loader.load_one(ArticleById(2, Columns::Full)),
            ),
        )
        .await
        .expect("the timer flushes without Batched");
        assert!(a.unwrap().is_some());
        assert!(b.unwrap().is_none());
        assert_eq!(db.statements.get() - before, 1);
        db.close().await;
    }
}
