//! Times as the fakes' upstreams print them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Go's `time.RFC3339` in UTC, seconds precision: `2026-11-21T10:00:00Z`.
pub(crate) fn rfc3339(secs: i64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let iso = crate::chatwoot::iso(secs as f64);
    format!("{}Z", iso.split('.').next().unwrap_or(&iso))
}
