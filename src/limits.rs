//! Rate limits: how many requests one key (a web chat session, a client address) may
//! make, as token buckets that refill at a steady rate and hold a burst.
//!
//! In memory: a restart forgets them, which costs an abuser nothing they did not have
//! before, and keeps every request free of I/O.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before full ones are forgotten: a flood of new keys cannot grow memory
/// without bound.
const MAX_KEYS: usize = 100_000;

/// A token bucket per key.
pub struct Limiter<K> {
    /// Tokens a key gains per second.
    rate_per_second: f64,
    /// Tokens a key can hold: the burst it may send at once.
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K> Limiter<K>
where
    K: Eq + Hash + Clone,
{
    /// At most `per_minute` requests a minute for each key, all of them at once if it
    /// has been quiet. `per_minute = 0` turns the limit off.
    #[must_use]
    pub fn per_minute(per_minute: u32) -> Self {
        Self::with_rate(f64::from(per_minute) / 60.0, f64::from(per_minute))
    }

    /// At most `per_second` requests a second for each key, a second's worth at once.
    #[must_use]
    pub fn per_second(per_second: u32) -> Self {
        Self::with_rate(f64::from(per_second), f64::from(per_second))
    }

    fn with_rate(rate_per_second: f64, burst: f64) -> Self {
        Self {
            rate_per_second,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `key` at `now`: `Err` with the time to wait when the key
    /// has none left.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.burst <= 0.0 {
            return Ok(());
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            self.forget_full(&mut buckets, now);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate_per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - bucket.tokens;
        Err(Duration::from_secs_f64(missing / self.rate_per_second))
    }

    /// Forgets the keys that have been quiet long enough for their buckets to be full
    /// again (a full bucket is what a new key gets), and gives the table's room back:
    /// memory then follows the keys active in the last minutes, not every key ever seen.
    pub fn forget_quiet(&self, now: Instant) {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.retain(|_, bucket| !self.is_full(bucket, now));
        buckets.shrink_to_fit();
    }

    /// Drops the buckets that would be full by now (their keys have been quiet), or all
    /// of them if none would.
    fn forget_full(&self, buckets: &mut HashMap<K, Bucket>, now: Instant) {
        buckets.retain(|_, bucket| !self.is_full(bucket, now));
        if buckets.len() >= MAX_KEYS {
            buckets.clear();
        }
    }

    /// Whether a bucket has refilled to its burst by `now`.
    fn is_full(&self, bucket: &Bucket, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens + elapsed * self.rate_per_second >= self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_rate() {
        let limiter = Limiter::per_minute(60);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.take(&"a", start).is_ok());
        }
        let wait = limiter.take(&"a", start).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        // Another key is not slowed by the first.
        assert!(limiter.take(&"b", start).is_ok());
        // One token a second comes back.
        let later = start + Duration::from_millis(1_050);
        assert!(limiter.take(&"a", later).is_ok());
        assert!(limiter.take(&"a", later).is_err());
    }

    #[test]
    fn quiet_keys_are_forgotten_and_limited_ones_kept() {
        let limiter = Limiter::per_minute(60);
        let start = Instant::now();
        limiter.take(&"quiet", start).unwrap();
        for _ in 0..60 {
            limiter.take(&"busy", start).unwrap();
        }
        // Two seconds on: "quiet" is full again, "busy" has two of its sixty back.
        limiter.forget_quiet(start + Duration::from_secs(2));
        let kept: Vec<&str> = limiter.buckets.lock().unwrap().keys().copied().collect();
        assert_eq!(kept, vec!["busy"]);
        // Forgetting "busy" would have let it send a new burst at once.
        let later = start + Duration::from_secs(2);
        assert!(limiter.take(&"busy", later).is_ok());
        assert!(limiter.take(&"busy", later).is_ok());
        assert!(limiter.take(&"busy", later).is_err());
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = Limiter::per_minute(0);
        let now = Instant::now();
        for _ in 0..1_000 {
            assert!(limiter.take(&1, now).is_ok());
        }
    }
}
