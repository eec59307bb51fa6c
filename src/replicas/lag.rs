//! How far behind the primary a replica is, in time, from positions alone.
//!
//! `pg_last_xact_replay_timestamp()` says when the last replayed transaction committed: on a
//! primary that has written nothing for an hour, a perfectly current replica looks an hour
//! behind. Instead the health check samples the primary's position (`pg_current_wal_lsn()`)
//! every check; a replica that has replayed position `r` is at least as old as the first
//! sample it has not reached: its lag is the time since that sample was taken (0 when it has
//! reached the latest). The estimate is good to one check interval.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use super::lsn::Lsn;

/// The primary's recent positions, oldest first.
#[derive(Debug, Default)]
pub struct History {
    samples: VecDeque<(Instant, Lsn)>,
}

impl History {
    /// Records that the primary was at `lsn` at `at`; forgets samples older than `keep`
    /// (beyond which every replica counts as lagging anyway), keeping the newest.
    pub fn record(&mut self, at: Instant, lsn: Lsn, keep: Duration) {
        if self.samples.back().is_none_or(|&(_, last)| lsn > last) {
            self.samples.push_back((at, lsn));
        }
        while self.samples.len() > 1
            && self
                .samples
                .front()
                .is_some_and(|&(t, _)| at.saturating_duration_since(t) > keep)
        {
            self.samples.pop_front();
        }
    }

    /// How far behind a replica that has replayed `replayed` is at `now`; `None` when no
    /// sample has been taken yet.
    pub fn lag(&self, replayed: Lsn, now: Instant) -> Option<Duration> {
        let &(_, newest) = self.samples.back()?;
        if replayed >= newest {
            return Some(Duration::ZERO);
        }
        // The oldest position the replica has not reached: it has been behind since then.
        // When even the oldest kept sample is ahead, the lag is at least its age.
        let (since, _) = self.samples.iter().find(|&&(_, lsn)| lsn > replayed)?;
        Some(now.saturating_duration_since(*since))
    }

    /// The primary's latest known position.
    pub fn latest(&self) -> Option<Lsn> {
        self.samples.back().map(|&(_, lsn)| lsn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_first_position_not_reached() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let keep = Duration::from_secs(10);
        let mut history = History::default();
        assert_eq!(history.lag(Lsn(0), at(0)), None);
        history.record(at(0), Lsn(100), keep);
        history.record(at(500), Lsn(200), keep);
        history.record(at(1000), Lsn(300), keep);
        // An idle primary: the same position again adds nothing.
        history.record(at(1500), Lsn(300), keep);
        assert_eq!(history.lag(Lsn(300), at(2000)), Some(Duration::ZERO));
        assert_eq!(history.lag(Lsn(400), at(2000)), Some(Duration::ZERO));
        assert_eq!(
            history.lag(Lsn(250), at(2000)),
            Some(Duration::from_millis(1000))
        );
        assert_eq!(
            history.lag(Lsn(150), at(2000)),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            history.lag(Lsn(50), at(2000)),
            Some(Duration::from_millis(2000))
        );
        assert_eq!(history.latest(), Some(Lsn(300)));
    }

    #[test]
    fn old_samples_are_forgotten_but_the_newest_kept() {
        let start = Instant::now();
        let keep = Duration::from_secs(1);
        let mut history = History::default();
        history.record(start, Lsn(1), keep);
        history.record(start + Duration::from_secs(5), Lsn(2), keep);
        assert_eq!(history.samples.len(), 1);
        // Behind the only sample: at least its age.
        let later = start + Duration::from_secs(7);
        assert_eq!(history.lag(Lsn(1), later), Some(Duration::from_secs(2)));
    }
}
