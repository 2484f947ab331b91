//! What `/healthz` and `/readyz` report: whether the store answers a read, whether the
//! workers that answer residents are still going round their loops, and whether the
//! server takes traffic.
//!
//! A worker that stopped ends the process (`Core::spawn_background`), so "alive" here
//! means "not stuck": each worker beats at every turn of its loop, and those loops wake
//! at least every `IDLE_POLL` of theirs (5 s for a queue worker, 30 s for the
//! dispatcher) or after each batch of work.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// A worker that has not beaten for this long is reported stuck: far longer than any
/// loop's idle wait or a batch of sends with their timeouts.
pub const STUCK_AFTER: Duration = Duration::from_secs(300);

/// The last beat of each worker, and whether the server takes traffic.
#[derive(Default)]
pub struct Health {
    beats: Mutex<BTreeMap<String, Instant>>,
    /// Set once start-up is done, cleared when shutting down: `/readyz`.
    ready: AtomicBool,
}

/// A worker as `/healthz` shows it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct WorkerReport {
    pub name: String,
    /// Seconds since its last beat.
    pub idle_seconds: u64,
    pub stuck: bool,
}

impl Health {
    /// Records that `worker` went round its loop.
    pub fn beat(&self, worker: &str) {
        let mut beats = self
            .beats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match beats.get_mut(worker) {
            Some(at) => *at = Instant::now(),
            None => {
                beats.insert(worker.to_owned(), Instant::now());
            }
        }
    }

    /// Every worker that has beaten, by name, as of `now`.
    #[must_use]
    pub fn workers(&self, now: Instant) -> Vec<WorkerReport> {
        let beats = self
            .beats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        beats
            .iter()
            .map(|(name, at)| {
                let idle = now.saturating_duration_since(*at);
                WorkerReport {
                    name: name.clone(),
                    idle_seconds: idle.as_secs(),
                    stuck: idle > STUCK_AFTER,
                }
            })
            .collect()
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_stops_beating_is_reported_stuck() {
        let health = Health::default();
        health.beat("dispatcher");
        health.beat("queue:line");
        let now = Instant::now();
        let reports = health.workers(now);
        assert_eq!(reports.len(), 2);
        assert!(reports.iter().all(|r| !r.stuck));
        let later = now + STUCK_AFTER + Duration::from_secs(1);
        let reports = health.workers(later);
        assert!(reports.iter().all(|r| r.stuck), "{reports:?}");
        assert!(reports[0].idle_seconds > STUCK_AFTER.as_secs());
    }

    #[test]
    fn ready_only_between_start_up_and_shutdown() {
        let health = Health::default();
        assert!(!health.is_ready());
        health.set_ready(true);
        assert!(health.is_ready());
        health.set_ready(false);
        assert!(!health.is_ready());
    }
}
