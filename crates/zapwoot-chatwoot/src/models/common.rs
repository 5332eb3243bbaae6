//! Small value types shared by several models.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A message's type. REST responses and `conversation.messages[]` carry an **integer**
/// (0–3); the top level of message webhooks carries a **string**. Both parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageType {
    /// From the contact (0, `incoming`).
    Incoming,
    /// From an agent, bot or the API (1, `outgoing`).
    Outgoing,
    /// System activity (2, `activity`).
    Activity,
    /// Automated template: greeting, out-of-office, CSAT (3, `template`).
    Template,
    /// A value this library does not know.
    Unknown(String),
}

impl MessageType {
    /// The string form (`incoming`, …).
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
            Self::Activity => "activity",
            Self::Template => "template",
            Self::Unknown(other) => other,
        }
    }

    fn from_str_value(text: &str) -> Self {
        match text {
            "incoming" | "0" => Self::Incoming,
            "outgoing" | "1" => Self::Outgoing,
            "activity" | "2" => Self::Activity,
            "template" | "3" => Self::Template,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl Serialize for MessageType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MessageType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MessageType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message type as a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MessageType, E> {
                Ok(MessageType::from_str_value(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MessageType, E> {
                Ok(MessageType::from_str_value(&v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MessageType, E> {
                Ok(MessageType::from_str_value(&v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A conversation's status; unknown values are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConversationStatus {
    /// Open.
    Open,
    /// Resolved.
    Resolved,
    /// Pending (waiting for a bot, or set so).
    Pending,
    /// Snoozed until a time.
    Snoozed,
    /// A value this library does not know.
    Unknown(String),
}

impl ConversationStatus {
    /// The string Chatwoot uses.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
            Self::Pending => "pending",
            Self::Snoozed => "snoozed",
            Self::Unknown(other) => other,
        }
    }

    /// Parses Chatwoot's string.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "open" => Self::Open,
            "resolved" => Self::Resolved,
            "pending" => Self::Pending,
            "snoozed" => Self::Snoozed,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl Serialize for ConversationStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ConversationStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Self::parse(&s))
    }
}

/// A point in time as Chatwoot sends it: unix seconds (integer, or float for
/// `updated_at`) in most places, an ISO-8601 string at the top of message webhooks.
#[derive(Debug, Clone, PartialEq)]
pub enum Time {
    /// Unix seconds.
    Unix(f64),
    /// ISO-8601 text (`2026-06-18T13:02:14.512Z`).
    Iso(String),
}

impl Time {
    /// Unix seconds, when the value can be read as such.
    #[must_use]
    pub fn unix_seconds(&self) -> Option<i64> {
        match self {
            #[allow(clippy::cast_possible_truncation)]
            Self::Unix(v) => v.is_finite().then_some(v.floor() as i64),
            Self::Iso(text) => parse_iso8601(text),
        }
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Unix(v) if v.fract() == 0.0 && v.abs() < 9.0e15 =>
            {
                #[allow(clippy::cast_possible_truncation)]
                serializer.serialize_i64(*v as i64)
            }
            Self::Unix(v) => serializer.serialize_f64(*v),
            Self::Iso(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Time;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("unix seconds or an ISO-8601 string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Time, E> {
                Ok(Time::Iso(v.to_owned()))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Time, E> {
                Ok(Time::Unix(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Time, E> {
                Ok(Time::Unix(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Time, E> {
                Ok(Time::Unix(v))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` → unix seconds.
fn parse_iso8601(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() < 19 {
        return None; // a date alone is not a time
    }
    let instant = text.parse::<jiff::Timestamp>().ok().or_else(|| {
        // No offset: UTC.
        text.parse::<jiff::civil::DateTime>()
            .ok()?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })?;
    Some(instant.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_from_int_and_string() {
        let parse = |json: &str| serde_json::from_str::<MessageType>(json).unwrap();
        assert_eq!(parse("0"), MessageType::Incoming);
        assert_eq!(parse("\"outgoing\""), MessageType::Outgoing);
        assert_eq!(parse("3"), MessageType::Template);
        assert_eq!(parse("9"), MessageType::Unknown("9".into()));
        assert!(serde_json::from_str::<MessageType>("null").is_err());
    }

    #[test]
    fn times_parse_both_ways() {
        assert_eq!(
            Time::Iso("2026-06-18T13:02:14.512Z".into()).unix_seconds(),
            Some(1_781_787_734)
        );
        assert_eq!(
            Time::Iso("1970-01-01T00:00:00Z".into()).unix_seconds(),
            Some(0)
        );
        assert_eq!(
            Time::Iso("2026-06-18T15:02:14+02:00".into()).unix_seconds(),
            Some(1_781_787_734)
        );
        assert_eq!(
            Time::Unix(1_781_787_734.9).unix_seconds(),
            Some(1_781_787_734)
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-06-18T13:02:14Zjunk",
            "2026-06-18",
        ] {
            assert_eq!(Time::Iso(bad.into()).unix_seconds(), None, "{bad}");
        }
        assert_eq!(
            serde_json::from_str::<Time>("1781787734").unwrap(),
            Time::Unix(1_781_787_734.0)
        );
        assert_eq!(
            serde_json::from_str::<Time>("1.5").unwrap(),
            Time::Unix(1.5)
        );
    }
}
