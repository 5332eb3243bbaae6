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
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| std::str::from_utf8(b.get(r)?).ok()?.parse::<i64>().ok();
    if b.len() < 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b' '))
    {
        return None;
    }
    let (year, month, day, hour, minute, second) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if year < 1971
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = b.get(19..)?;
    if let Some((b'.', tail)) = rest.split_first() {
        rest = tail.get(tail.iter().take_while(|c| c.is_ascii_digit()).count()..)?;
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digit = |c: &u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
            let minutes = (digit(h1)? * 10 + digit(h2)?) * 60 + digit(m1)? * 10 + digit(m2)?;
            if *sign == b'-' {
                -minutes * 60
            } else {
                minutes * 60
            }
        }
        _ => return None,
    };
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
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
