//! Per-key rate limits: a fixed one-minute window per key, in this process (each replica
//! counts its own requests).

use std::collections::HashMap;
use std::sync::Mutex;

/// Requests counted per key in the current minute.
#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    windows: Mutex<HashMap<i64, (i64, u32)>>,
}

impl RateLimits {
    /// Counts a request of key `id` at `now_ms` against `per_minute`; `Err(seconds)` to wait
    /// when the minute's requests are used up.
    pub(crate) fn check(&self, id: i64, per_minute: u32, now_ms: i64) -> Result<(), u64> {
        let minute = now_ms.div_euclid(60_000);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = windows.entry(id).or_insert((minute, 0));
        if window.0 != minute {
            *window = (minute, 0);
        }
        if window.1 >= per_minute {
            let left_ms = (minute + 1) * 60_000 - now_ms;
            return Err(u64::try_from((left_ms + 999) / 1000).unwrap_or(60).max(1));
        }
        window.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimits;

    #[test]
    fn a_minutes_requests_are_counted_then_refused_until_the_next_minute() {
        let r = RateLimits::default();
        let start = 600_000 + 15_000;
        assert!(r.check(1, 2, start).is_ok());
        assert!(r.check(1, 2, start + 1).is_ok());
        assert_eq!(r.check(1, 2, start + 2), Err(45));
        assert!(r.check(2, 2, start + 2).is_ok(), "another key counts apart");
        assert!(r.check(1, 2, 660_000).is_ok(), "a new minute");
    }
}
