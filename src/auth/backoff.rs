//! Per-account backoff for failed sign-ins, on top of the per-IP rate
//! limit: an attacker spreading guesses over many addresses still meets a
//! growing wait on each account they try.
//!
//! Keyed by the identity as typed (lower-cased), not by the account, so an
//! unknown identity backs off exactly like a known one and nothing tells
//! which accounts exist. The first few failures are free; after that each
//! failure doubles the wait, up to a cap. A success clears the count. The
//! wait is short by design: long lockouts would let anyone lock a victim
//! out of their account.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use moka::sync::Cache;

/// Failures allowed before any wait.
const FREE_FAILURES: u32 = 5;
/// The longest wait.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

pub struct Backoff {
    failures: Cache<String, Failures>,
    /// Serializes read-modify-write of one entry across threads.
    update: Mutex<()>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            failures: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
            update: Mutex::new(()),
        }
    }
}

impl Backoff {
    /// `Err(wait)` while `key` must wait before its next attempt.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        match self.failures.get(key).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failure; returns the wait it imposes, if any.
    pub fn failed(&self, key: &str) -> Option<Duration> {
        let _guard = self.update.lock().unwrap_or_else(|e| e.into_inner());
        let count = self.failures.get(key).map_or(0, |f| f.count) + 1;
        let wait = (count > FREE_FAILURES).then(|| {
            let doublings = (count - FREE_FAILURES - 1).min(16);
            Duration::from_secs(1u64 << doublings).min(MAX_WAIT)
        });
        self.failures.insert(
            key.to_owned(),
            Failures {
                count,
                locked_until: wait.map(|w| Instant::now() + w),
            },
        );
        wait
    }

    pub fn succeeded(&self, key: &str) {
        self.failures.invalidate(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_and_double() {
        let b = Backoff::default();
        for _ in 0..FREE_FAILURES {
            assert!(b.check("a").is_ok());
            assert_eq!(b.failed("a"), None);
        }
        assert_eq!(b.failed("a"), Some(Duration::from_secs(1)));
        assert!(b.check("a").is_err());
        assert!(b.check("b").is_ok(), "per key");
        assert_eq!(b.failed("a"), Some(Duration::from_secs(2)));
        assert_eq!(b.failed("a"), Some(Duration::from_secs(4)));
        for _ in 0..30 {
            b.failed("a");
        }
        assert_eq!(b.failed("a"), Some(MAX_WAIT));
        b.succeeded("a");
        assert!(b.check("a").is_ok());
    }
}
