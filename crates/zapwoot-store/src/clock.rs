//! The time the store stamps and schedules by: the system clock, or one moved by hand in tests.

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

/// The system clock plus an offset moved by hand: leases expire, retries fall due and
/// retention passes in a test at once instead of after a sleep. Clones share one offset, so
/// the store and the test (and a dispatcher) can read the same clock.
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

/// A time in unix milliseconds (before 1970 counts as 0).
pub(crate) fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_when_told_and_clones_share_it() {
        let clock = ManualClock::new();
        let other = clock.clone();
        let before = clock.now_ms();
        other.advance(Duration::from_secs(3600));
        let after = clock.now_ms();
        assert!(after - before >= 3_600_000, "{before} → {after}");
        assert!(SystemClock.now_ms() < after);
    }
}
