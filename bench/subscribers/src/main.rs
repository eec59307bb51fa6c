//! Subscription benchmark client: opens many `graphql-transport-ws` subscribers of one
//! article (127.0.0.1 only, many sockets per task), then sends one `updateArticle` a second
//! and reports, per event, the time from sending the mutation to the last subscriber's
//! `next` (an upper bound on commit-to-last-subscriber), from the mutation's answer to the
//! last `next` (a lower bound: the answer leaves after the commit), and from sending to the
//! first subscriber's `next`; the servers' RSS before and after subscribing, and their CPU
//! and this client's own CPU per event. See bench/SUBSCRIPTIONS.md.
//!
//! ```text
//! annals-bench-subscribers --ws ws://127.0.0.1:8080/graphql/ws[,ws://127.0.0.1:8081/graphql/ws]
//!     --http http://127.0.0.1:8080/graphql --token TOKEN --pids PID[,PID]
//!     [--subscribers 1000] [--events 20] [--per-task 500] [--slug de-stalinization]
//!     [--deadline 240]
//! ```

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt, stream::SelectAll};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{
    Message, client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig,
};

/// Each socket's read buffer.
const READ_BUFFER_BYTES: usize = 4 * 1024;

const SUBSCRIPTION: &str = "subscription($slug: String) { articleChanged(slug: $slug) { kind version article { title version } } }";

/// Per-event tallies shared by every reader task.
struct Tally {
    start: Instant,
    delivered: Vec<AtomicUsize>,
    /// Nanoseconds since `start` of the earliest delivery.
    first: Vec<AtomicU64>,
    /// Nanoseconds since `start` of the latest delivery.
    last: Vec<AtomicU64>,
    ready: AtomicUsize,
    failed: AtomicUsize,
    errors: AtomicUsize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts: HashMap<String, String> = HashMap::new();
    for pair in args.chunks(2) {
        if let [key, value] = pair {
            opts.insert(key.trim_start_matches("--").to_owned(), value.clone());
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(err) = runtime.block_on(run(opts)) {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

fn opt<'a>(opts: &'a HashMap<String, String>, key: &str, default: &'a str) -> &'a str {
    opts.get(key).map(String::as_str).unwrap_or(default)
}

async fn run(opts: HashMap<String, String>) -> Result<(), String> {
    let ws: Vec<String> = opt(&opts, "ws", "ws://127.0.0.1:8080/graphql/ws")
        .split(',')
        .map(str::to_owned)
        .collect();
    for url in &ws {
        if !url.starts_with("ws://127.0.0.1:") {
            return Err(format!("{url}: only ws://127.0.0.1 is allowed"));
        }
    }
    let http = opt(&opts, "http", "http://127.0.0.1:8080/graphql").to_owned();
    let token = opt(&opts, "token", "").to_owned();
    let pids: Vec<u32> = opt(&opts, "pids", "")
        .split(',')
        .filter_map(|p| p.parse().ok())
        .collect();
    let n: usize = opt(&opts, "subscribers", "1000")
        .parse()
        .map_err(|_| "subscribers")?;
    let events: usize = opt(&opts, "events", "20").parse().map_err(|_| "events")?;
    let per_task: usize = opt(&opts, "per-task", "500")
        .parse()
        .map_err(|_| "per-task")?;
    let slug = opt(&opts, "slug", "de-stalinization").to_owned();
    let deadline = Instant::now()
        + Duration::from_secs(
            opt(&opts, "deadline", "240")
                .parse()
                .map_err(|_| "deadline")?,
        );

    let client = reqwest::Client::new();
    let article = post(
        &client,
        &http,
        &token,
        json!({ "query": "query($slug: String!) { article(slug: $slug) { id version } }", "variables": { "slug": slug } }),
    )
    .await?;
    let id = article["data"]["article"]["id"]
        .as_str()
        .ok_or("no such article")?
        .to_owned();
    let base = article["data"]["article"]["version"]
        .as_i64()
        .ok_or("no version")?;

    let rss_before = rss(&pids);
    let tally = Arc::new(Tally {
        start: Instant::now(),
        delivered: (0..events).map(|_| AtomicUsize::new(0)).collect(),
        first: (0..events).map(|_| AtomicU64::new(u64::MAX)).collect(),
        last: (0..events).map(|_| AtomicU64::new(0)).collect(),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        errors: AtomicUsize::new(0),
    });
    let subscribe_start = Instant::now();
    let mut tasks = Vec::new();
    for first in (0..n).step_by(per_task.max(1)) {
        let count = per_task.min(n - first);
        let urls: Vec<String> = (first..first + count)
            .map(|i| ws[i % ws.len()].clone())
            .collect();
        tasks.push(tokio::spawn(group(urls, slug.clone(), base, tally.clone())));
    }
    while tally.ready.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed) < n {
        if Instant::now() > deadline {
            return Err("subscribing took past the deadline".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subscribe_secs = subscribe_start.elapsed().as_secs_f64();
    let ready = tally.ready.load(Ordering::Relaxed);
    // Let allocations settle before reading RSS.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss(&pids);
    let cpu_before = cpu_ticks(&pids);
    let own_cpu_before = cpu_ticks_of("self");

    let mut sent = Vec::new();
    let mut answered = Vec::new();
    let mut round_trips = Vec::new();
    let tick = Instant::now();
    for e in 0..events {
        tokio::time::sleep_until((tick + Duration::from_secs(e as u64)).into()).await;
        let version = base + e as i64;
        let at = Instant::now();
        let body = post(
            &client,
            &http,
            &token,
            json!({
                "query": "mutation($id: ID!, $v: Int!, $title: String!) { updateArticle(id: $id, expectedVersion: $v, input: { title: $title }) { article { version } } }",
                "variables": { "id": id, "v": version, "title": format!("Bench title {e}") },
            }),
        )
        .await?;
        if body.get("errors").is_some() {
            return Err(format!("mutation failed: {body}"));
        }
        round_trips.push(at.elapsed().as_secs_f64() * 1e3);
        sent.push(at);
        answered.push(Instant::now());
    }
    let wait_until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < wait_until
        && tally
            .delivered
            .iter()
            .any(|d| d.load(Ordering::Relaxed) < ready)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu_after = cpu_ticks(&pids);
    let own_cpu_after = cpu_ticks_of("self");
    let rss_end = rss(&pids);

    // Per event, from `since[e]` to the delivery `at[e]` (nanoseconds after `tally.start`).
    let span = |since: &[Instant], at: &[AtomicU64]| {
        let mut ms: Vec<f64> = since
            .iter()
            .zip(at)
            .map(|(since, at)| {
                let at = tally.start + Duration::from_nanos(at.load(Ordering::Relaxed));
                at.saturating_duration_since(*since).as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let latencies = span(&sent, &tally.last);
    let after_answer = span(&answered, &tally.last);
    let firsts = span(&sent, &tally.first);
    round_trips.sort_by(f64::total_cmp);
    let complete = tally
        .delivered
        .iter()
        .filter(|d| d.load(Ordering::Relaxed) == ready)
        .count();
    let delivered: usize = tally
        .delivered
        .iter()
        .map(|d| d.load(Ordering::Relaxed))
        .sum();
    let per_sub_kib = (rss_after.saturating_sub(rss_before)) as f64 / ready.max(1) as f64;
    let cpu_ms =
        (cpu_after.saturating_sub(cpu_before)) as f64 * 1e3 / clock_ticks() / events as f64;
    let own_cpu_ms =
        (own_cpu_after.saturating_sub(own_cpu_before)) as f64 * 1e3 / clock_ticks() / events as f64;
    let report = json!({
        "subscribers": n,
        "ready": ready,
        "failed": tally.failed.load(Ordering::Relaxed),
        "servers": ws.len(),
        "subscribe_seconds": round2(subscribe_secs),
        "events": events,
        "events_delivered_to_all": complete,
        "deliveries": delivered,
        "expected_deliveries": ready * events,
        "error_messages": tally.errors.load(Ordering::Relaxed),
        "latency_ms": {
            "p50": round2(pct(&latencies, 0.50)),
            "p99": round2(pct(&latencies, 0.99)),
            "max": round2(latencies.last().copied().unwrap_or(0.0)),
        },
        "first_subscriber_ms_p50": round2(pct(&firsts, 0.50)),
        "last_after_mutation_answer_ms": {
            "p50": round2(pct(&after_answer, 0.50)),
            "p99": round2(pct(&after_answer, 0.99)),
        },
        "mutation_round_trip_ms_p50": round2(pct(&round_trips, 0.50)),
        "rss_kib": { "before": rss_before, "subscribed": rss_after, "end": rss_end },
        "rss_kib_per_subscriber": round2(per_sub_kib),
        "server_cpu_ms_per_event": round2(cpu_ms),
        "client_cpu_ms_per_event": round2(own_cpu_ms),
    });
    println!("{report:#}");
    for task in tasks {
        task.abort();
    }
    Ok(())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Value,
) -> Result<Value, String> {
    let mut request = client.post(url).json(&body);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    response.json().await.map_err(|e| e.to_string())
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `urls.len()` subscribers one after another, then reads them all from this one task.
async fn group(urls: Vec<String>, slug: String, base: i64, tally: Arc<Tally>) {
    let mut sockets: SelectAll<Socket> = SelectAll::new();
    for url in urls {
        match open(&url, &slug).await {
            Ok(socket) => {
                sockets.push(socket);
                tally.ready.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                if tally.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("a subscriber failed: {err}");
                }
            }
        }
    }
    while let Some(message) = sockets.next().await {
        let Ok(Message::Text(text)) = message else {
            continue;
        };
        let now = tally.start.elapsed().as_nanos() as u64;
        // Typed and borrowing: much cheaper than a `Value`, on cores the server shares.
        let next = match serde_json::from_str::<NextMessage>(text.as_str()) {
            Ok(next) if next.kind == "next" && next.payload.errors.is_none() => next,
            _ => {
                tally.errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        let version = next
            .payload
            .data
            .and_then(|data| data.article_changed)
            .map_or(0, |change| change.version);
        let index = version - base - 1;
        if index >= 0 && (index as usize) < tally.delivered.len() {
            tally.delivered[index as usize].fetch_add(1, Ordering::Relaxed);
            tally.first[index as usize].fetch_min(now, Ordering::Relaxed);
            tally.last[index as usize].fetch_max(now, Ordering::Relaxed);
        }
    }
}

/// The part of a `next` message the client checks.
#[derive(serde::Deserialize)]
struct NextMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    payload: NextPayload,
}

#[derive(serde::Deserialize, Default)]
struct NextPayload {
    #[serde(default)]
    errors: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    data: Option<NextData>,
}

#[derive(serde::Deserialize)]
struct NextData {
    #[serde(rename = "articleChanged")]
    article_changed: Option<Change>,
}

#[derive(serde::Deserialize)]
struct Change {
    version: i64,
}

/// Connects, initialises, subscribes, and waits for a `pong` proving the server took it.
async fn open(url: &str, slug: &str) -> Result<Socket, String> {
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    // tungstenite 0.26 zeroes its whole read buffer before every read: at the default
    // 128 KiB that memset was three quarters of this client's CPU, on cores it shares with
    // the server. Messages here are a few hundred bytes.
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .map_err(|e| e.to_string())?;
    let send = |v: Value| Message::text(v.to_string());
    socket
        .send(send(json!({ "type": "connection_init", "payload": {} })))
        .await
        .map_err(|e| e.to_string())?;
    socket
        .send(send(json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION, "variables": { "slug": slug } } })))
        .await
        .map_err(|e| e.to_string())?;
    socket
        .send(send(json!({ "type": "ping" })))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let value: Value =
                    serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
                match value["type"].as_str() {
                    Some("pong") => return Ok(socket),
                    Some("connection_ack") => {}
                    _ => return Err(format!("unexpected {value}")),
                }
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.to_string()),
            None => return Err("closed".into()),
        }
    }
}

/// Resident memory of `pids`, in KiB.
fn rss(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .sum()
}

/// User plus system CPU time of `pids`, in clock ticks.
fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter().map(|pid| cpu_ticks_of(&pid.to_string())).sum()
}

/// User plus system CPU time of process `pid` (or `self`), in clock ticks.
fn cpu_ticks_of(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .into_iter()
        .filter_map(|stat| {
            // Fields after the command (which may contain spaces) start at ") ".
            let rest = stat.rsplit_once(") ")?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command.
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

/// Clock ticks per second (USER_HZ, 100 on Linux).
fn clock_ticks() -> f64 {
    100.0
}
