//! The purge webhook: after each commit, POSTs the surrogate keys the change touched to a
//! configured URL (`ANNALS_PURGE_URL`), so a CDN or cache in front (Fastly, Varnish, nginx
//! with a purge module, or a relay of your own) drops exactly the answers that changed.
//!
//! The request: `POST URL` with `Content-Type: application/json`, the body
//! `{"keys": ["article:12", "articles"]}` and the same keys space-separated in a
//! `Surrogate-Key` header. Any 2xx answer counts as done.
//!
//! Purging never blocks a write: keys are queued (and merged with keys still waiting) and
//! sent by one background task; a failed POST is retried with exponential backoff
//! ([`ATTEMPTS`] in all), then logged as an error and dropped. Only the process that
//! committed a change sends its purge.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{Notify, watch};

use super::keys::{Key, header_value};

/// Tries per purge before it is given up (and logged).
pub const ATTEMPTS: u32 = 6;
/// The wait before the first retry; it doubles with each further try.
pub const FIRST_RETRY: Duration = Duration::from_millis(200);
/// How long one POST may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Queues purges and sends them in the background.
#[derive(Debug, Clone)]
pub struct Purger {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    waiting: Mutex<BTreeSet<Key>>,
    wake: Notify,
    /// `true` while keys wait or a POST is in flight.
    busy: watch::Sender<bool>,
}

impl Purger {
    /// A purger POSTing to `url`; its task runs until every handle is dropped.
    pub fn start(url: String) -> Self {
        let inner = Arc::new(Inner {
            waiting: Mutex::new(BTreeSet::new()),
            wake: Notify::new(),
            busy: watch::Sender::new(false),
        });
        tokio::spawn(send_loop(Arc::downgrade(&inner), url));
        Self { inner }
    }

    /// Queues `keys` for purging; returns at once.
    pub fn purge(&self, keys: impl IntoIterator<Item = Key>) {
        let Ok(mut waiting) = self.inner.waiting.lock() else {
            return;
        };
        let before = waiting.len();
        waiting.extend(keys);
        if waiting.len() > before {
            self.inner.busy.send_replace(true);
            self.inner.wake.notify_one();
        }
    }

    /// Waits until every queued purge was sent or given up, at most `timeout` (the command
    /// line calls this before it exits). Whether everything was sent.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let mut busy = self.inner.busy.subscribe();
        tokio::time::timeout(timeout, busy.wait_for(|busy| !busy))
            .await
            .is_ok()
    }
}

async fn send_loop(inner: std::sync::Weak<Inner>, url: String) {
    let client = match reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("annals/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "cannot build the purge client; purges are off");
            return;
        }
    };
    loop {
        let keys: Vec<Key> = {
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let taken = match inner.waiting.lock() {
                Ok(mut waiting) => {
                    if waiting.is_empty() {
                        // Under the lock, so a purge queued meanwhile sets it back.
                        inner.busy.send_replace(false);
                    }
                    std::mem::take(&mut *waiting)
                }
                Err(_) => return,
            };
            if taken.is_empty() {
                // Woken by new keys; also wake now and then to notice the handles are gone.
                let _ = tokio::time::timeout(Duration::from_secs(1), inner.wake.notified()).await;
                continue;
            }
            taken.into_iter().collect()
        };
        send(&client, &url, &keys).await;
    }
}

/// POSTs `keys` until it succeeds or [`ATTEMPTS`] are spent.
async fn send(client: &reqwest::Client, url: &str, keys: &[Key]) {
    let names: Vec<String> = keys.iter().map(Key::to_string).collect();
    let body = serde_json::json!({ "keys": names });
    let header = header_value(keys, " ");
    let mut wait = FIRST_RETRY;
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .post(url)
            .header("surrogate-key", &header)
            .json(&body)
            .send()
            .await;
        let failure = match sent {
            Ok(response) if response.status().is_success() => {
                tracing::debug!(keys = %header, "purged");
                return;
            }
            Ok(response) => format!("answered {}", response.status()),
            Err(err) => err.to_string(),
        };
        if attempt == ATTEMPTS {
            tracing::error!(keys = %header, error = %failure, attempts = ATTEMPTS, "purge failed; giving up");
            return;
        }
        tracing::warn!(keys = %header, error = %failure, attempt, retry_in_ms = wait.as_millis() as u64, "purge failed; retrying");
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
}
