//! Retry schedule: exponential backoff with ±20 % jitter, `Retry-After` honoured, bounded.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When to try a failed event again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Delay after the first failure; doubles each attempt.
    pub base: Duration,
    /// Longest delay.
    pub max_delay: Duration,
    /// Attempts before the event is dead-lettered.
    pub max_attempts: i32,
    /// Attempts an event may wait for something that has not arrived yet (a receipt before
    /// its message), at `wait_delay` each, before it proceeds without it.
    pub max_waits: i32,
    /// Delay between waits.
    pub wait_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(10 * 60),
            max_attempts: 12,
            max_waits: 6,
            wait_delay: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// The delay after attempt `attempt` (1-based) failed; `retry_after` from the upstream wins
    /// when longer (clamped to `max_delay`).
    #[must_use]
    pub fn delay(&self, attempt: i32, retry_after: Option<Duration>) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let backoff = self.base.saturating_mul(1 << exponent).min(self.max_delay);
        let jittered = jitter(backoff);
        retry_after.map_or(jittered, |ra| ra.min(self.max_delay).max(jittered))
    }

    /// The time of the next attempt, or `None` when attempts are exhausted.
    #[must_use]
    pub fn next_attempt(&self, attempt: i32, retry_after: Option<Duration>) -> Option<SystemTime> {
        (attempt < self.max_attempts).then(|| SystemTime::now() + self.delay(attempt, retry_after))
    }
}

/// ±20 %, from the clock's sub-second noise (no RNG needed for spreading retries).
fn jitter(delay: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let factor = 0.8 + f64::from(nanos % 400) / 1000.0;
    delay.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_and_caps() {
        let policy = RetryPolicy::default();
        for attempt in 1..10 {
            let expected = Duration::from_secs(1 << (attempt - 1)).min(policy.max_delay);
            let d = policy.delay(attempt, None);
            assert!(
                d >= expected.mul_f64(0.79) && d <= expected.mul_f64(1.21),
                "{attempt}: {d:?}"
            );
        }
        assert!(policy.delay(40, None) <= policy.max_delay.mul_f64(1.21));
        assert!(policy.delay(1, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
        assert!(policy.next_attempt(policy.max_attempts, None).is_none());
        assert!(policy.next_attempt(1, None).is_some());
    }
}
