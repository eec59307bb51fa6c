//! Progress of long work on standard error: a live bar on a terminal, otherwise a plain line
//! at the start, at most one a second while it runs, and one at the end.

use std::{
    io::IsTerminal,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressStyle};

/// Plain progress lines are at most this often.
const PLAIN_EVERY: Duration = Duration::from_secs(1);

/// The progress of one piece of work of known size.
pub struct Progress {
    label: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts reporting `label` work of `total` items.
    pub fn new(label: &'static str, total: u64) -> Self {
        let now = Instant::now();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(label);
            bar
        });
        if bar.is_none() {
            eprintln!("{label}: 0/{total}");
        }
        Self {
            label,
            total,
            done: 0,
            started: now,
            last_line: now,
            bar,
        }
    }

    fn rate(&self) -> f64 {
        self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-3)
    }

    /// Records that `done` items are finished.
    pub fn set(&mut self, done: u64) {
        self.done = done.min(self.total);
        match &self.bar {
            Some(bar) => bar.set_position(self.done),
            None if self.last_line.elapsed() >= PLAIN_EVERY && self.done < self.total => {
                self.last_line = Instant::now();
                eprintln!(
                    "{}: {}/{} ({:.0}/s)",
                    self.label,
                    self.done,
                    self.total,
                    self.rate()
                );
            }
            None => {}
        }
    }

    /// Records one more finished item.
    pub fn inc(&mut self) {
        self.set(self.done + 1);
    }

    /// Ends the report with the totals.
    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!(
            "{}: {}/{} in {:.1}s ({:.0}/s)",
            self.label,
            self.done,
            self.total,
            self.started.elapsed().as_secs_f64(),
            self.rate()
        );
    }
}
