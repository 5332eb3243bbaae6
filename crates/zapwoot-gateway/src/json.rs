//! Small helpers for walking webhook JSON whose shape varies between gateway versions.

use serde_json::Value;

use crate::Jid;

/// A non-empty string at `key`.
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A string at the first of `keys` that has one (gateways disagree on capitalisation).
pub(crate) fn text_any<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| text(value, k))
}

/// A bool at `key` (absent = false).
pub(crate) fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A JID at `key`, ignoring empty or invalid values; device suffixes removed.
pub(crate) fn jid(value: &Value, key: &str) -> Option<Jid> {
    text(value, key)
        .and_then(|s| Jid::parse(s).ok())
        .map(|j| j.to_non_device())
}

/// A number that may be sent as a JSON number or a string (protobuf uint64s).
pub(crate) fn number(value: &Value, key: &str) -> Option<f64> {
    match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A non-negative integer that may be sent as a number or a string.
pub(crate) fn unsigned(value: &Value, key: &str) -> Option<u64> {
    match value.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// RFC 3339 (`2026-06-18T13:02:14-03:00`, fractions allowed) → unix seconds. Go's zero
/// time (`0001-01-01T00:00:00Z`) gives `None`.
pub(crate) fn rfc3339(text: &str) -> Option<i64> {
    if !has_rfc3339_offset(text) {
        return None;
    }
    // Before 1971 is a zero time (Go's `0001-01-01T00:00:00Z`), not a real one.
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_second)
        .filter(|secs| *secs >= 365 * 86_400)
}

/// RFC 3339 wants `Z` or `±HH:MM` at the end; ISO 8601's `+0300` is refused as before.
fn has_rfc3339_offset(text: &str) -> bool {
    let b = text.as_bytes();
    matches!(b.last(), Some(b'Z' | b'z'))
        || (b.len() >= 6
            && matches!(b.get(b.len() - 6), Some(b'+' | b'-'))
            && b.get(b.len() - 3) == Some(&b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339("2026-06-18T13:02:14Z"), Some(1_781_787_734));
        assert_eq!(rfc3339("2026-06-18T10:02:14-03:00"), Some(1_781_787_734));
        assert_eq!(
            rfc3339("2026-06-18T13:02:14.123456789Z"),
            Some(1_781_787_734)
        );
        assert_eq!(rfc3339("0001-01-01T00:00:00Z"), None, "Go zero time");
        for bad in [
            "",
            "2026-06-18",
            "2026-06-18T13:02:14",
            "2026-06-18T13:02:14+0300",
            "2026-13-18T13:02:14Z",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }
}
