//! Subscription documents (what the admin API and the CLI accept and show) and the
//! operations both offer: create, change, rotate, test, replay.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use zapwoot_store::{Delivery, NewSubscription, SecretString, Store, Subscription};
use zapwoot_sync::webhooks::{test_notification, url_refusal};

use crate::instances::AdminError;

/// How long a rotated-out secret still signs, unless the request says otherwise.
pub(crate) const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// Headers a subscription may not set (the bridge sets them).
const RESERVED_HEADERS: [&str; 7] = [
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// The userinfo of a URL (`https://user:pw@host/…`), if any, and where it sits.
fn userinfo_range(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    Some(start..at)
}

/// `https://user:pw@host/…` → `https://***@host/…`: credentials in a URL are secrets too.
pub(crate) fn mask_userinfo(url: &str) -> String {
    match userinfo_range(url) {
        Some(range) => format!("{}***{}", &url[..range.start], &url[range.end..]),
        None => url.to_owned(),
    }
}

/// The JSON shape of a subscription: everything but the secret; header values and URL
/// credentials masked.
pub(crate) fn view(s: &Subscription) -> Value {
    let headers: Map<String, Value> = s
        .config
        .headers
        .keys()
        .map(|k| (k.clone(), json!("***")))
        .collect();
    json!({
        "id": s.id,
        "url": mask_userinfo(&s.config.url),
        "events": s.config.events,
        "instances": s.config.instances,
        "tenant": s.config.tenant,
        "headers": headers,
        "allow_private_network": s.config.allow_private_network,
        "ordered": s.config.ordered,
        "enabled": s.enabled,
        "disabled_reason": s.disabled_reason,
        "failing_since_ms": s.failing_since_ms,
        "previous_secret_until_ms": s.previous_secret_until_ms,
        "created_at_ms": s.created_at_ms,
    })
}

/// The JSON shape of a delivery with its attempts.
pub(crate) fn delivery_view(d: &Delivery) -> Value {
    let attempts: Vec<Value> = d
        .history
        .iter()
        .map(|a| {
            json!({
                "attempted_at_ms": a.attempted_at_ms,
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "error": a.error,
                "response": a.response,
            })
        })
        .collect();
    json!({
        "id": d.id,
        "subscription_id": d.subscription_id,
        "webhook_id": d.message_id,
        "type": d.event_type,
        "instance_id": d.instance_id,
        "state": d.state.as_str(),
        "attempts_in_schedule": d.attempts,
        "next_attempt_at_ms": d.next_attempt_at_ms,
        "created_at_ms": d.created_at_ms,
        "finished_at_ms": d.finished_at_ms,
        "last_error": d.last_error,
        "payload": serde_json::from_str::<Value>(&d.payload).unwrap_or(Value::Null),
        "attempts": attempts,
    })
}

fn invalid(field: &str, message: impl Into<String>) -> AdminError {
    AdminError::Invalid(field.to_owned(), message.into())
}

/// The subscription document as written: every field optional here (what a new subscription
/// needs is checked after parsing), unknown fields refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionDocument {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    events: Option<Vec<String>>,
    /// Absent: unchanged; `null`: every instance.
    #[serde(default, deserialize_with = "present")]
    instances: Option<Option<Vec<String>>>,
    #[serde(default)]
    secret: Option<Value>,
    #[serde(default)]
    headers: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    allow_private_network: Option<bool>,
    #[serde(default)]
    ordered: Option<bool>,
    #[serde(default)]
    enabled: Option<bool>,
    /// Absent: unchanged; `null`: no tenant.
    #[serde(default, deserialize_with = "present")]
    tenant: Option<Option<String>>,
}

/// A field that is present, even as `null` (`Some(None)`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// What each field must be, for answers about values of the wrong type.
fn expected(field: &str) -> &'static str {
    match field {
        "url" => "an http(s) URL",
        "events" => "a non-empty list of event names or patterns",
        "instances" => "a list of instance names, or null for all",
        "headers" => "an object of header names to string values",
        "secret" => "must be a whsec_ secret (base64 of 24 to 64 bytes)",
        "tenant" => "a tenant's name, or null for none",
        _ => "true or false",
    }
}

fn parse_document(doc: &Value) -> Result<SubscriptionDocument, AdminError> {
    if !doc.is_object() {
        return Err(AdminError::Malformed("expected a JSON object".to_owned()));
    }
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let field = path.split('.').next().unwrap_or_default().to_owned();
        let message = e.into_inner().to_string();
        // serde names an unknown field as "unknown field `name`, expected …".
        if let Some(unknown) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_owned())
        {
            return invalid(&unknown, "unknown field");
        }
        invalid(&field, expected(&field))
    })
}

/// Builds the subscription a document describes, over `base` (a change) or from nothing (a
/// new one: `url` and `events` required; a secret generated when none is given). Returns the
/// settings and the `enabled` flag when the document has one.
pub(crate) fn from_document(
    doc: &Value,
    base: Option<&Subscription>,
) -> Result<(NewSubscription, Option<bool>), AdminError> {
    let doc = parse_document(doc)?;
    let mut config = match base {
        Some(s) => s.config.clone(),
        None => {
            let secret = match &doc.secret {
                Some(v) => parse_secret(v)?,
                None => generate_secret()?,
            };
            NewSubscription::new(String::new(), Vec::new(), SecretString::new(secret))
        }
    };
    if base.is_some() && doc.secret.is_some() {
        return Err(invalid(
            "secret",
            "change a secret with POST /api/v1/subscriptions/{id}/rotate",
        ));
    }
    if let Some(mut url) = doc.url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid("url", "an http(s) URL"));
        }
        // A masked URL sent back (`https://***@host`) keeps the credentials it had.
        if let Some(range) = userinfo_range(&url).filter(|r| &url[r.clone()] == "***") {
            let old = userinfo_range(&config.url).map(|r| config.url[r].to_owned());
            match old {
                Some(old) => url.replace_range(range, &old),
                None => {
                    return Err(invalid(
                        "url",
                        "\"***\" stands for credentials it never had",
                    ));
                }
            }
        }
        config.url = url;
    } else if base.is_none() {
        return Err(invalid("url", "required http(s) URL"));
    }
    if let Some(events) = doc.events {
        if events.is_empty() {
            return Err(invalid(
                "events",
                "a non-empty list of event names or patterns",
            ));
        }
        if let Some(bad) = events
            .iter()
            .find(|e| e.is_empty() || e.contains(char::is_whitespace))
        {
            return Err(invalid(
                "events",
                format!("{bad:?} is not an event name or pattern"),
            ));
        }
        config.events = events;
    } else if base.is_none() {
        return Err(invalid(
            "events",
            "required non-empty list of event names or patterns",
        ));
    }
    if let Some(tenant) = doc.tenant {
        config.tenant = tenant;
    }
    if let Some(instances) = doc.instances {
        config.instances = instances;
    }
    if let Some(headers) = &doc.headers {
        config.headers = parse_headers(headers)?;
    }
    if let Some(flag) = doc.allow_private_network {
        config.allow_private_network = flag;
    }
    if let Some(flag) = doc.ordered {
        config.ordered = flag;
    }
    if let Some(refusal) = url_refusal(&config.url, config.allow_private_network) {
        return Err(invalid("url", refusal));
    }
    Ok((config, doc.enabled))
}

fn parse_headers(map: &BTreeMap<String, Value>) -> Result<BTreeMap<String, String>, AdminError> {
    let mut headers = BTreeMap::new();
    for (name, v) in map {
        let Some(text) = v.as_str() else {
            return Err(invalid(
                "headers",
                format!("{name}: the value must be a string"),
            ));
        };
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(text).is_err()
        {
            return Err(invalid("headers", format!("{name}: not a valid header")));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(invalid("headers", format!("{name} is set by the bridge")));
        }
        headers.insert(name.clone(), text.to_owned());
    }
    Ok(headers)
}

/// A `whsec_` secret from a document.
pub(crate) fn parse_secret(value: &Value) -> Result<String, AdminError> {
    // Standard Webhooks: `whsec_` + base64 of 24 to 64 random bytes.
    let valid = value.as_str().filter(|s| {
        s.starts_with("whsec_")
            && zapwoot_signing::Secret::from_standard(s)
                .is_ok_and(|k| (24..=64).contains(&k.expose_bytes().len()))
    });
    match valid {
        Some(s) => Ok(s.to_owned()),
        None => Err(invalid(
            "secret",
            "must be a whsec_ secret (base64 of 24 to 64 bytes)",
        )),
    }
}

/// A fresh random `whsec_` secret.
pub(crate) fn generate_secret() -> Result<String, AdminError> {
    zapwoot_signing::Secret::generate()
        .map(|s| s.expose_standard())
        .map_err(|_| AdminError::Upstream("the system random generator failed".to_owned()))
}

/// Records a test event for subscription `id`; returns the delivery id.
pub(crate) async fn send_test(store: &Store, id: i64) -> Result<i64, AdminError> {
    let now = now_ms();
    store
        .deliveries()
        .deliver_to(id, test_notification(id, now))
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("subscription {id}")))
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A time given as unix milliseconds or RFC 3339 (`2026-11-21T08:00:00Z`,
/// `2026-11-21T05:00:00-03:00`); `None` if it is neither.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    if !has_rfc3339_offset(text) {
        return None;
    }
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_millisecond)
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
    fn times_parse_from_rfc3339_and_milliseconds() {
        assert_eq!(parse_time("1781787734123"), Some(1_781_787_734_123));
        assert_eq!(parse_time("2026-06-18T13:02:14Z"), Some(1_781_787_734_000));
        assert_eq!(
            parse_time("2026-06-18T10:02:14.5-03:00"),
            Some(1_781_787_734_500)
        );
        assert_eq!(
            parse_time("2000-02-29T00:00:00.123456Z"),
            Some(951_782_400_123)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00+00:00"), Some(0));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-06-18T13:02:14",
            "2026-06-18T13:02:14+0300",
            "2026-06-18T13:02:14.Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn documents_are_validated() {
        let ok = json!({"url": "https://crm.example.com/h", "events": ["message.*"], "headers": {"X-Tenant": "acme"}});
        let (config, enabled) = from_document(&ok, None).unwrap_or_else(|_| unreachable!());
        assert!(config.secret.expose().starts_with("whsec_"));
        assert_eq!(enabled, None);
        assert!(config.ordered);
        for (doc, field) in [
            (json!({"events": ["*"]}), "url"),
            (json!({"url": "ftp://x", "events": ["*"]}), "url"),
            (json!({"url": "http://10.0.0.1/", "events": ["*"]}), "url"),
            (json!({"url": "https://x.example", "events": []}), "events"),
            (
                json!({"url": "https://x.example", "events": ["a b"]}),
                "events",
            ),
            (
                json!({"url": "https://x.example", "events": ["*"], "secret": "nope"}),
                "secret",
            ),
            (
                json!({"url": "https://x.example", "events": ["*"], "headers": {"Webhook-Id": "x"}}),
                "headers",
            ),
            (
                json!({"url": "https://x.example", "events": ["*"], "colour": "red"}),
                "colour",
            ),
            // Values of the wrong type name their field.
            (json!({"url": 7, "events": ["*"]}), "url"),
            (json!({"url": "https://x.example", "events": "*"}), "events"),
            (
                json!({"url": "https://x.example", "events": ["*"], "instances": "alpha"}),
                "instances",
            ),
            (
                json!({"url": "https://x.example", "events": ["*"], "headers": {"X-N": 1}}),
                "headers",
            ),
            (
                json!({"url": "https://x.example", "events": ["*"], "ordered": "yes"}),
                "ordered",
            ),
        ] {
            match from_document(&doc, None) {
                Err(AdminError::Invalid(f, _)) => assert_eq!(f, field, "{doc}"),
                other => unreachable!(
                    "{doc} should be refused: {:?}",
                    other.map(|_| ()).err().map(|e| e.to_string())
                ),
            }
        }
        let lan =
            json!({"url": "http://10.0.0.1/", "events": ["*"], "allow_private_network": true});
        assert!(from_document(&lan, None).is_ok());
        assert!(matches!(
            from_document(&json!(["not", "an", "object"]), None),
            Err(AdminError::Malformed(_))
        ));
        // `instances`: absent keeps, null means every instance, a list limits.
        let some = json!({"url": "https://x.example", "events": ["*"], "instances": ["alpha"]});
        let (config, _) = from_document(&some, None).unwrap_or_else(|_| unreachable!());
        assert_eq!(config.instances, Some(vec!["alpha".to_owned()]));
        let all = json!({"url": "https://x.example", "events": ["*"], "instances": null});
        let (config, _) = from_document(&all, None).unwrap_or_else(|_| unreachable!());
        assert_eq!(config.instances, None);
    }
}
