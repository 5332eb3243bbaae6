//! The time the dispatcher schedules by: the system clock, or a hand-moved one in tests.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of "now" in unix milliseconds.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time, unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        unix_ms(SystemTime::now())
    }
}

/// The system clock plus an offset moved by hand: retry schedules spanning days run in a test
/// in moments, and the clock is never behind the time the store stamps new rows with.
/// Clones share one offset.
#[derive(Debug, Clone)]
pub struct ManualClock {
    offset: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock showing the system time until moved.
    #[must_use]
    pub fn new() -> Self {
        Self {
            offset: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        SystemClock
            .now_ms()
            .saturating_add(self.offset.load(Ordering::SeqCst))
    }
}

pub(crate) fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Formats unix milliseconds as RFC 3339 UTC with milliseconds (`2026-11-21T08:47:41.123Z`).
pub(crate) fn rfc3339(ms: i64) -> String {
    let instant = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!("{instant:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_781_787_734_123), "2026-06-18T13:02:14.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn manual_clock_moves_when_told() {
        let clock = ManualClock::new();
        let start = clock.now_ms();
        let shared = clock.clone();
        shared.advance(Duration::from_secs(3600));
        let moved = clock.now_ms() - start;
        assert!((3_600_000..3_610_000).contains(&moved), "{moved}");
    }
}
