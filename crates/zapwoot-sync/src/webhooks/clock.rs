//! The time the dispatcher schedules by: the store's [`Clock`] (the system clock, or a
//! hand-moved one in tests), and the formats it writes times in.

use std::time::{SystemTime, UNIX_EPOCH};

pub use zapwoot_store::{Clock, ManualClock, SystemClock};

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
}
