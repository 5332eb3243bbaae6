//! The instance document of the admin API and CLI (ARCHITECTURE §4), and its mapping to the
//! stored instance. Secrets are masked as `"***"` in every output.

use serde_json::{Map, Value, json};
use zapwoot_store::{Instance, NewInstance, SecretString};
use zapwoot_sync::secret_names as s;

/// A field error: `(field path, message)`, answered as 422.
pub(crate) type Invalid = (String, String);

const MASK: &str = "***";

fn invalid(field: &str, message: &str) -> Invalid {
    (field.to_owned(), message.to_owned())
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

fn url(v: &Value, key: &str, field: &str) -> Result<String, Invalid> {
    let value = text(v, key).ok_or_else(|| invalid(field, "required"))?;
    let parsed = zapwoot_chatwoot::Url::parse(&value)
        .map_err(|e| invalid(field, &format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(field, "must be an http(s) URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(field, "must name a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            field,
            "must not carry credentials: use the token and basic_auth fields",
        ));
    }
    if let Some(refusal) = zapwoot_sync::netguard::never_refusal(&value) {
        return Err(invalid(field, &format!("refused: {refusal}")));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// A text field that ends up in an HTTP header (tokens, passwords, device ids): control
/// characters would make every call fail, so they are refused at the door.
fn header_safe(v: &Value, key: &str, field: &str) -> Result<Option<String>, Invalid> {
    let value = text(v, key);
    if value
        .as_deref()
        .is_some_and(|t| t.chars().any(char::is_control))
    {
        return Err(invalid(
            field,
            "must not contain control characters (CR, LF, …)",
        ));
    }
    Ok(value)
}

/// Builds a stored instance from a document.
pub(crate) fn to_new_instance(doc: &Value) -> Result<NewInstance, Invalid> {
    let name = text(doc, "name").ok_or_else(|| invalid("name", "required"))?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || name.len() > 64
    {
        return Err(invalid(
            "name",
            "letters, digits, '-' and '_' only (at most 64)",
        ));
    }
    let gateway = doc
        .get("gateway")
        .filter(|g| g.is_object())
        .ok_or_else(|| invalid("gateway", "required object"))?;
    let chatwoot = doc
        .get("chatwoot")
        .filter(|c| c.is_object())
        .ok_or_else(|| invalid("chatwoot", "required object"))?;
    let kind = text(gateway, "kind").ok_or_else(|| invalid("gateway.kind", "required"))?;
    if kind != "wuzapi" && kind != "gowa" {
        return Err(invalid("gateway.kind", "must be wuzapi or gowa"));
    }
    let account = chatwoot
        .get("account_id")
        .and_then(Value::as_i64)
        .filter(|a| *a > 0)
        .ok_or_else(|| invalid("chatwoot.account_id", "required positive integer"))?;
    let mut new = NewInstance::new(
        name,
        kind.clone(),
        url(gateway, "base_url", "gateway.base_url")?,
        url(chatwoot, "base_url", "chatwoot.base_url")?,
        account,
    );
    new.chatwoot_inbox_id = match chatwoot.get("inbox_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|i| *i > 0)
                .ok_or_else(|| invalid("chatwoot.inbox_id", "must be a positive integer"))?,
        ),
    };
    new.enabled = doc.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    new.options = match doc.get("options") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(o @ Value::Object(_)) => o.clone(),
        Some(_) => return Err(invalid("options", "must be an object")),
    };
    // The engine fills missing options with defaults; a present but invalid one is an error
    // here rather than a silent reset to defaults.
    match serde_json::from_value::<zapwoot_sync::InstanceOptions>(new.options.clone()) {
        Err(e) => return Err(invalid("options", &e.to_string())),
        Ok(options) => {
            if let Some((option, reason)) = options.problem() {
                return Err(invalid(&format!("options.{option}"), &reason));
            }
        }
    }
    let mut secret = |name: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| v != MASK) {
            new.secrets.insert(name.to_owned(), SecretString::new(v));
        }
    };
    secret(
        s::CHATWOOT_API_TOKEN,
        header_safe(chatwoot, "api_token", "chatwoot.api_token")?,
    );
    secret(
        s::CHATWOOT_WEBHOOK_SECRET,
        header_safe(chatwoot, "webhook_secret", "chatwoot.webhook_secret")?,
    );
    if kind == "wuzapi" {
        secret(
            s::GATEWAY_TOKEN,
            header_safe(gateway, "token", "gateway.token")?,
        );
        secret(
            s::GATEWAY_HMAC_KEY,
            header_safe(gateway, "hmac_key", "gateway.hmac_key")?,
        );
    } else {
        let auth = gateway.get("basic_auth").cloned().unwrap_or(Value::Null);
        secret(
            s::GATEWAY_PASSWORD,
            header_safe(&auth, "password", "gateway.basic_auth.password")?,
        );
        secret(
            s::GATEWAY_WEBHOOK_SECRET,
            header_safe(gateway, "webhook_secret", "gateway.webhook_secret")?,
        );
        new.gateway_username = header_safe(&auth, "username", "gateway.basic_auth.username")?;
        new.gateway_device_id = header_safe(gateway, "device_id", "gateway.device_id")?;
    }
    if !new.secrets.contains_key(s::CHATWOOT_API_TOKEN) {
        return Err(invalid("chatwoot.api_token", "required"));
    }
    if kind == "wuzapi" && !new.secrets.contains_key(s::GATEWAY_TOKEN) {
        return Err(invalid("gateway.token", "required for wuzapi"));
    }
    if new
        .secrets
        .get(s::GATEWAY_HMAC_KEY)
        .is_some_and(|k| k.expose().len() < 32)
    {
        return Err(invalid(
            "gateway.hmac_key",
            "wuzapi requires at least 32 characters",
        ));
    }
    Ok(new)
}

/// The document of a stored instance: secrets unmasked (for merging) or masked (for output).
pub(crate) fn to_document(instance: &Instance, masked: bool, public_url: &str) -> Value {
    let c = &instance.config;
    let secret = |name: &str| -> Value {
        c.secrets.get(name).map_or(Value::Null, |v| {
            if masked {
                json!(MASK)
            } else {
                json!(v.expose())
            }
        })
    };
    let gateway = if c.gateway_kind == "wuzapi" {
        json!({ "kind": "wuzapi", "base_url": c.gateway_url, "token": secret(s::GATEWAY_TOKEN), "hmac_key": secret(s::GATEWAY_HMAC_KEY) })
    } else {
        json!({ "kind": c.gateway_kind, "base_url": c.gateway_url, "device_id": c.gateway_device_id,
                "basic_auth": { "username": c.gateway_username, "password": secret(s::GATEWAY_PASSWORD) },
                "webhook_secret": secret(s::GATEWAY_WEBHOOK_SECRET) })
    };
    let mut doc = json!({
        "name": c.name,
        "enabled": c.enabled,
        "gateway": gateway,
        "chatwoot": { "base_url": c.chatwoot_url, "account_id": c.chatwoot_account_id, "api_token": secret(s::CHATWOOT_API_TOKEN),
                      "inbox_id": c.chatwoot_inbox_id, "webhook_secret": secret(s::CHATWOOT_WEBHOOK_SECRET) },
        "options": c.options,
    });
    if masked && let Value::Object(map) = &mut doc {
        let base = public_url.trim_end_matches('/');
        map.insert(
            "webhooks".into(),
            json!({
                "gateway": format!("{base}/webhooks/gateway/{}", instance.gateway_key.expose()),
                "chatwoot": format!("{base}/webhooks/chatwoot/{}", instance.chatwoot_key.expose()),
            }),
        );
    }
    doc
}

/// JSON merge patch (RFC 7386); `"***"` leaves a secret as it was.
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else if v.as_str() == Some(MASK) {
                    continue;
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}
