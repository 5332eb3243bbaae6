//! Unix-second timestamps in headers and the tolerance check.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::VerifyError;

/// Seconds since the Unix epoch; a clock before 1970 counts as 0.
pub(crate) fn unix_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Parses a header holding decimal unix seconds (ASCII digits only, no sign, no spaces).
pub(crate) fn parse(header: &'static str, value: &[u8]) -> Result<u64, VerifyError> {
    let malformed = |reason| VerifyError::MalformedHeader { header, reason };
    if value.is_empty() {
        return Err(malformed("empty timestamp"));
    }
    if !value.iter().all(u8::is_ascii_digit) {
        return Err(malformed("timestamp must be decimal unix seconds"));
    }
    value.iter().try_fold(0u64, |acc, &digit| {
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(u64::from(digit - b'0')))
            .ok_or_else(|| malformed("timestamp out of range"))
    })
}

/// Accepts `timestamp` when it lies within `tolerance` of `now`, in either direction.
pub(crate) fn check(
    timestamp: u64,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let now = unix_seconds(now);
    let tolerance_secs = tolerance.as_secs();
    if timestamp <= now {
        let age = now - timestamp;
        if age > tolerance_secs {
            return Err(VerifyError::TimestampTooOld {
                age: Duration::from_secs(age),
                tolerance,
            });
        }
    } else {
        let ahead = timestamp - now;
        if ahead > tolerance_secs {
            return Err(VerifyError::TimestampTooNew {
                ahead: Duration::from_secs(ahead),
                tolerance,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_digits_only() {
        assert_eq!(parse("t", b"1649367553"), Ok(1_649_367_553));
        assert_eq!(parse("t", b"0"), Ok(0));
        assert_eq!(parse("t", b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"1.5",
            b"18446744073709551616",
            b"0x10",
        ] {
            assert!(
                matches!(
                    parse("t", bad),
                    Err(VerifyError::MalformedHeader { header: "t", .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn tolerance_is_inclusive_both_ways() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        let tol = Duration::from_secs(300);
        assert!(check(10_000, now, tol).is_ok());
        assert!(check(9_700, now, tol).is_ok());
        assert!(check(10_300, now, tol).is_ok());
        assert!(matches!(
            check(9_699, now, tol),
            Err(VerifyError::TimestampTooOld { .. })
        ));
        assert!(matches!(
            check(10_301, now, tol),
            Err(VerifyError::TimestampTooNew { .. })
        ));
        assert!(matches!(
            check(u64::MAX, now, tol),
            Err(VerifyError::TimestampTooNew { .. })
        ));
        assert!(matches!(
            check(0, now, tol),
            Err(VerifyError::TimestampTooOld { .. })
        ));
    }

    #[test]
    fn clock_before_epoch_counts_as_zero() {
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(unix_seconds(before), 0);
        assert!(check(0, before, Duration::ZERO).is_ok());
    }
}
