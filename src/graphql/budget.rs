//! Cost budgets per client: a token bucket of query cost points.
//!
//! Each client (an editor by token name, or an anonymous reader by IP address) has a bucket
//! holding up to `per_minute` points that refills continuously at `per_minute` points per
//! minute. A query is charged its cost before it executes; one that costs more than is left is
//! refused with `LIMIT_EXCEEDED` (limit `rate`) and told when to retry. Dry runs are free.
//!
//! The buckets live in this process: replicas behind a load balancer each keep their own.

use std::{collections::HashMap, sync::Mutex, time::Instant};

/// Most buckets kept before full (idle) ones are forgotten.
const MAX_BUCKETS: usize = 10_000;

/// The buckets of every client this process has seen.
#[derive(Debug)]
pub struct Budgets {
    per_minute: u64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    points: f64,
    updated: Instant,
}

/// A client's budget after a charge (or a look).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Points per minute (and most points a bucket holds).
    pub limit: u64,
    /// Points left now.
    pub remaining: u64,
    /// Seconds until the bucket is full again.
    pub reset: u64,
    /// When refused: seconds until the refused query would be affordable.
    pub retry_after: Option<u64>,
}

impl Budgets {
    /// Buckets of `per_minute` points each.
    pub fn new(per_minute: u64) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn per_second(&self) -> f64 {
        self.per_minute as f64 / 60.0
    }

    fn seconds_for(&self, points: f64) -> u64 {
        (points.max(0.0) / self.per_second()).ceil() as u64
    }

    fn standing(&self, points: f64, retry_after: Option<u64>) -> Standing {
        Standing {
            limit: self.per_minute,
            remaining: points.max(0.0).floor() as u64,
            reset: self.seconds_for(self.per_minute as f64 - points),
            retry_after,
        }
    }

    /// Runs `f` on `client`'s bucket, refilled to now.
    fn with_bucket<T>(&self, client: &str, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let now = Instant::now();
        let capacity = self.per_minute as f64;
        let rate = self.per_second();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(client) {
            buckets.retain(|_, b| {
                b.points + now.duration_since(b.updated).as_secs_f64() * rate < capacity
            });
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            points: capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated);
        bucket.points = (bucket.points + elapsed.as_secs_f64() * rate).min(capacity);
        bucket.updated = now;
        f(bucket)
    }

    /// Takes `cost` points from `client`'s bucket, or refuses (taking nothing) with the
    /// seconds to wait.
    pub fn charge(&self, client: &str, cost: u64) -> Result<Standing, Standing> {
        let cost_points = cost as f64;
        self.with_bucket(client, |bucket| {
            if cost_points <= bucket.points {
                bucket.points -= cost_points;
                Ok(self.standing(bucket.points, None))
            } else {
                // A query dearer than a full bucket waits for a full bucket and still fails;
                // the cost limit normally sits below the budget.
                let needed = cost_points.min(self.per_minute as f64) - bucket.points;
                let wait = self.seconds_for(needed).max(1);
                Err(self.standing(bucket.points, Some(wait)))
            }
        })
    }

    /// `client`'s budget now, charging nothing.
    pub fn peek(&self, client: &str) -> Standing {
        self.with_bucket(client, |bucket| self.standing(bucket.points, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_refuses_and_refills() {
        let budgets = Budgets::new(600);
        assert_eq!(budgets.charge("a", 500).unwrap().remaining, 100);
        let refused = budgets.charge("a", 200).unwrap_err();
        assert_eq!(refused.remaining, 100);
        // 100 points missing at 10 points a second.
        assert!(matches!(refused.retry_after, Some(9..=10)), "{refused:?}");
        // Other clients have their own bucket.
        assert_eq!(budgets.charge("b", 600).unwrap().remaining, 0);
        assert_eq!(budgets.peek("b").reset, 60);
    }

    #[test]
    fn a_query_dearer_than_the_bucket_is_refused() {
        let budgets = Budgets::new(60);
        let refused = budgets.charge("a", 1_000).unwrap_err();
        assert_eq!(refused.retry_after, Some(1));
    }
}
