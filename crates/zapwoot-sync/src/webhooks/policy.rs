//! [`WebhookPolicy`]: the retry schedule, timeouts and limits of outbound webhooks.

use std::time::Duration;

/// How deliveries are sent and retried. The default follows the Standard Webhooks schedule
/// (the first attempt at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and
/// 24 h — about three days), with ±20 % jitter, a 15 s request timeout, and a subscription
/// disabled after 5 days of failures with no success in between.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookPolicy {
    /// Delay before each retry; the delivery is given up after the last.
    pub schedule: Vec<Duration>,
    /// Fraction of each delay added or removed at random (0.2 = ±20 %), so receivers coming
    /// back are not hit by every retry at once.
    pub jitter: f64,
    /// Least delay after a `429` or a timeout (the receiver is overloaded).
    pub overload_delay: Duration,
    /// Whole-request timeout (connect, send, answer).
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// A subscription failing this long without a single success is disabled.
    pub disable_after: Duration,
    /// At most this much of a response body is read.
    pub max_response_bytes: usize,
    /// Deliveries sent at once by one dispatcher.
    pub concurrency: usize,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        let secs = Duration::from_secs;
        Self {
            schedule: vec![
                secs(5),
                secs(5 * 60),
                secs(30 * 60),
                secs(2 * 3600),
                secs(5 * 3600),
                secs(10 * 3600),
                secs(14 * 3600),
                secs(20 * 3600),
                secs(24 * 3600),
            ],
            jitter: 0.2,
            overload_delay: secs(60),
            timeout: secs(15),
            connect_timeout: secs(10),
            disable_after: secs(5 * 24 * 3600),
            max_response_bytes: 64 * 1024,
            concurrency: 32,
        }
    }
}

/// Why an attempt failed, as far as scheduling cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setback {
    /// Any failure without a more specific rule.
    Plain,
    /// `429`, or no answer within the timeout.
    Overloaded,
}

impl WebhookPolicy {
    /// The delay before the retry that follows failed attempt `attempt` (1 = the first), or
    /// `None` when the schedule is exhausted. `key` picks the jitter (stable per delivery and
    /// attempt); `retry_after` (from the response) is honoured within `[delay, 2 × delay]`.
    pub(crate) fn retry_delay(
        &self,
        attempt: i32,
        key: i64,
        setback: Setback,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
        let base = *self.schedule.get(index)?;
        let mut delay = jittered(base, self.jitter, key, attempt);
        if setback == Setback::Overloaded {
            delay = delay.max(self.overload_delay);
        }
        if let Some(asked) = retry_after {
            delay = asked.clamp(delay, delay.saturating_mul(2));
        }
        Some(delay)
    }

    /// How long a claimed delivery is reserved: the request timeout plus a margin.
    pub(crate) fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(10)
    }
}

/// `base` moved by up to ±`jitter`, by a hash of (`key`, `attempt`): spread, but reproducible.
fn jittered(base: Duration, jitter: f64, key: i64, attempt: i32) -> Duration {
    let jitter = jitter.clamp(0.0, 1.0);
    if jitter == 0.0 {
        return base;
    }
    // splitmix64 of the key and attempt: a uniform value in [0, 1).
    let mut x = (key as u64) ^ (u64::from(attempt.unsigned_abs()) << 48) ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
    base.mul_f64(1.0 + jitter * (2.0 * unit - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_spans_about_three_days() {
        let policy = WebhookPolicy::default();
        let total: Duration = policy.schedule.iter().sum();
        assert_eq!(total.as_secs(), 75 * 3600 + 35 * 60 + 5);
        assert_eq!(
            policy.retry_delay(10, 1, Setback::Plain, None),
            None,
            "10 attempts in all"
        );
        assert_eq!(policy.retry_delay(0, 1, Setback::Plain, None), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_spreads() {
        let policy = WebhookPolicy::default();
        let mut seen = std::collections::BTreeSet::new();
        for key in 0..200 {
            for (i, base) in policy.schedule.iter().enumerate() {
                let attempt = i32::try_from(i + 1).unwrap_or(1);
                let d = policy.retry_delay(attempt, key, Setback::Plain, None);
                let d = d.unwrap_or_default();
                assert!(
                    d >= base.mul_f64(0.8) && d <= base.mul_f64(1.2),
                    "{d:?} vs {base:?}"
                );
                if i == 3 {
                    seen.insert(d.as_secs());
                }
            }
        }
        assert!(
            seen.len() > 100,
            "jitter spreads retries: {} distinct",
            seen.len()
        );
    }

    #[test]
    fn overload_and_retry_after_adjust_the_delay() {
        let policy = WebhookPolicy {
            jitter: 0.0,
            ..WebhookPolicy::default()
        };
        let at = |setback, retry_after| policy.retry_delay(1, 7, setback, retry_after);
        assert_eq!(at(Setback::Plain, None), Some(Duration::from_secs(5)));
        assert_eq!(at(Setback::Overloaded, None), Some(Duration::from_secs(60)));
        assert_eq!(
            at(Setback::Plain, Some(Duration::from_secs(8))),
            Some(Duration::from_secs(8))
        );
        assert_eq!(
            at(Setback::Plain, Some(Duration::from_secs(3600))),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            at(Setback::Plain, Some(Duration::ZERO)),
            Some(Duration::from_secs(5))
        );
    }
}
