//! The instance document of the admin API and CLI (README, "Configuration"), and its mapping to
//! the stored instance. Secrets are masked as `"***"` in every output.

use serde::Deserialize;
use serde_json::{Value, json};
use zapwoot_store::{GatewayKind, Instance, InstanceOptions, NewInstance, SecretString};
use zapwoot_sync::secret_names as s;

/// A field error: `(field path, message)`, answered as 422.
pub(crate) type Invalid = (String, String);

const MASK: &str = "***";

fn invalid(field: &str, message: &str) -> Invalid {
    (field.to_owned(), message.to_owned())
}

/// The instance document as written (every field optional here: what is required is
/// checked after parsing, so the answer names the field).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InstanceDocument {
    name: Option<String>,
    enabled: Option<bool>,
    gateway: Option<GatewayDocument>,
    chatwoot: Option<ChatwootDocument>,
    options: Option<InstanceOptions>,
    tenant: Option<String>,
}

/// `gateway`: wuzapi uses `token` and `hmac_key`; GOWA the rest.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GatewayDocument {
    kind: Option<String>,
    base_url: Option<String>,
    token: Option<String>,
    hmac_key: Option<String>,
    device_id: Option<String>,
    basic_auth: Option<BasicAuth>,
    webhook_secret: Option<String>,
}

/// `gateway.basic_auth` (GOWA).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BasicAuth {
    username: Option<String>,
    password: Option<String>,
}

/// `chatwoot`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChatwootDocument {
    base_url: Option<String>,
    account_id: Option<i64>,
    api_token: Option<String>,
    inbox_id: Option<i64>,
    webhook_secret: Option<String>,
}

/// A name of an instance or tenant: letters, digits, `-` and `_`, at most 64.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// An empty text is no text.
fn given(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str).filter(|s| !s.is_empty())
}

fn url(value: Option<&String>, field: &str) -> Result<String, Invalid> {
    let value = given(value).ok_or_else(|| invalid(field, "required"))?;
    let parsed = zapwoot_chatwoot::Url::parse(value)
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
    if let Some(refusal) = zapwoot_sync::netguard::never_refusal(value) {
        return Err(invalid(field, &format!("refused: {refusal}")));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// A text field that ends up in an HTTP header (tokens, passwords, device ids): control
/// characters would make every call fail, so they are refused at the door.
fn header_safe(value: Option<&String>, field: &str) -> Result<Option<String>, Invalid> {
    let value = given(value);
    if value.is_some_and(|t| t.chars().any(char::is_control)) {
        return Err(invalid(
            field,
            "must not contain control characters (CR, LF, …)",
        ));
    }
    Ok(value.map(str::to_owned))
}

/// Parses a document, answering a value of the wrong type with its path
/// (`chatwoot.account_id`, `options.max_media_bytes`).
fn parse(doc: &Value) -> Result<InstanceDocument, Invalid> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        (field, e.into_inner().to_string())
    })
}

/// Builds a stored instance from a document.
pub(crate) fn to_new_instance(doc: &Value) -> Result<NewInstance, Invalid> {
    let doc = parse(doc)?;
    let name = given(doc.name.as_ref()).ok_or_else(|| invalid("name", "required"))?;
    if !valid_name(name) {
        return Err(invalid(
            "name",
            "letters, digits, '-' and '_' only (at most 64)",
        ));
    }
    let gateway = doc
        .gateway
        .ok_or_else(|| invalid("gateway", "required object"))?;
    let chatwoot = doc
        .chatwoot
        .ok_or_else(|| invalid("chatwoot", "required object"))?;
    let kind: GatewayKind = given(gateway.kind.as_ref())
        .ok_or_else(|| invalid("gateway.kind", "required"))?
        .parse()
        .map_err(|_| invalid("gateway.kind", "must be wuzapi or gowa"))?;
    let account = chatwoot
        .account_id
        .filter(|a| *a > 0)
        .ok_or_else(|| invalid("chatwoot.account_id", "required positive integer"))?;
    let mut new = NewInstance::new(
        name,
        kind,
        url(gateway.base_url.as_ref(), "gateway.base_url")?,
        url(chatwoot.base_url.as_ref(), "chatwoot.base_url")?,
        account,
    );
    new.chatwoot_inbox_id = match chatwoot.inbox_id {
        None => None,
        Some(id) if id > 0 => Some(id),
        Some(_) => {
            return Err(invalid("chatwoot.inbox_id", "must be a positive integer"));
        }
    };
    new.enabled = doc.enabled.unwrap_or(true);
    // The engine fills missing options with defaults; a present but invalid one is an error
    // here rather than a silent reset to defaults.
    new.options = doc.options.unwrap_or_default();
    new.tenant = given(doc.tenant.as_ref()).map(str::to_owned);
    if let Some(t) = &new.tenant
        && !valid_name(t)
    {
        return Err(invalid(
            "tenant",
            "letters, digits, '-' and '_' only (at most 64)",
        ));
    }
    if let Some((option, reason)) = new.options.problem() {
        return Err(invalid(&format!("options.{option}"), &reason));
    }
    let mut secret = |name: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| v != MASK) {
            new.secrets.insert(name.to_owned(), SecretString::new(v));
        }
    };
    secret(
        s::CHATWOOT_API_TOKEN,
        header_safe(chatwoot.api_token.as_ref(), "chatwoot.api_token")?,
    );
    secret(
        s::CHATWOOT_WEBHOOK_SECRET,
        header_safe(chatwoot.webhook_secret.as_ref(), "chatwoot.webhook_secret")?,
    );
    match kind {
        GatewayKind::Wuzapi => {
            secret(
                s::GATEWAY_TOKEN,
                header_safe(gateway.token.as_ref(), "gateway.token")?,
            );
            secret(
                s::GATEWAY_HMAC_KEY,
                header_safe(gateway.hmac_key.as_ref(), "gateway.hmac_key")?,
            );
        }
        GatewayKind::Gowa => {
            let auth = gateway.basic_auth.unwrap_or_default();
            secret(
                s::GATEWAY_PASSWORD,
                header_safe(auth.password.as_ref(), "gateway.basic_auth.password")?,
            );
            secret(
                s::GATEWAY_WEBHOOK_SECRET,
                header_safe(gateway.webhook_secret.as_ref(), "gateway.webhook_secret")?,
            );
            new.gateway_username =
                header_safe(auth.username.as_ref(), "gateway.basic_auth.username")?;
            new.gateway_device_id = header_safe(gateway.device_id.as_ref(), "gateway.device_id")?;
        }
    }
    if !new.secrets.contains_key(s::CHATWOOT_API_TOKEN) {
        return Err(invalid("chatwoot.api_token", "required"));
    }
    if kind == GatewayKind::Wuzapi && !new.secrets.contains_key(s::GATEWAY_TOKEN) {
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
    let gateway = match c.gateway_kind {
        GatewayKind::Wuzapi => json!({
            "kind": c.gateway_kind.as_str(), "base_url": c.gateway_url,
            "token": secret(s::GATEWAY_TOKEN), "hmac_key": secret(s::GATEWAY_HMAC_KEY) }),
        GatewayKind::Gowa => json!({
            "kind": c.gateway_kind.as_str(), "base_url": c.gateway_url, "device_id": c.gateway_device_id,
            "basic_auth": { "username": c.gateway_username, "password": secret(s::GATEWAY_PASSWORD) },
            "webhook_secret": secret(s::GATEWAY_WEBHOOK_SECRET) }),
    };
    let mut doc = json!({
        "name": c.name,
        "enabled": c.enabled,
        "gateway": gateway,
        "chatwoot": { "base_url": c.chatwoot_url, "account_id": c.chatwoot_account_id, "api_token": secret(s::CHATWOOT_API_TOKEN),
                      "inbox_id": c.chatwoot_inbox_id, "webhook_secret": secret(s::CHATWOOT_WEBHOOK_SECRET) },
        "options": c.options,
        "tenant": c.tenant,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn wuzapi_doc() -> Value {
        json!({
            "name": "alpha",
            "gateway": { "kind": "wuzapi", "base_url": "http://127.0.0.1:8080/", "token": "tok-1",
                         "hmac_key": "k".repeat(32) },
            "chatwoot": { "base_url": "https://chat.example.com", "account_id": 3,
                          "api_token": "cw-token", "inbox_id": 9 },
        })
    }

    fn field_of(doc: &Value) -> String {
        to_new_instance(doc).expect_err("must be refused").0
    }

    fn with(mut doc: Value, pointer: &str, value: Value) -> Value {
        *doc.pointer_mut(pointer).expect("pointer into the document") = value;
        doc
    }

    #[test]
    fn a_wuzapi_document_becomes_an_instance_with_sealed_secrets() {
        let new = to_new_instance(&wuzapi_doc()).unwrap();
        assert_eq!(new.name, "alpha");
        assert!(new.enabled, "enabled by default");
        assert_eq!(new.gateway_kind, GatewayKind::Wuzapi);
        assert_eq!(
            new.gateway_url, "http://127.0.0.1:8080",
            "trailing slash dropped"
        );
        assert_eq!(new.chatwoot_account_id, 3);
        assert_eq!(new.chatwoot_inbox_id, Some(9));
        assert_eq!(new.secrets[s::GATEWAY_TOKEN].expose(), "tok-1");
        assert_eq!(new.secrets[s::CHATWOOT_API_TOKEN].expose(), "cw-token");
        assert!(!new.secrets.contains_key(s::GATEWAY_PASSWORD));
    }

    #[test]
    fn a_gowa_document_keeps_basic_auth_and_device() {
        let doc = json!({
            "name": "beta",
            "gateway": { "kind": "gowa", "base_url": "http://gowa:3000", "device_id": "dev-1",
                         "basic_auth": { "username": "admin", "password": "pw" },
                         "webhook_secret": "whsec" },
            "chatwoot": { "base_url": "http://chatwoot:3000", "account_id": 1, "api_token": "t" },
        });
        let new = to_new_instance(&doc).unwrap();
        assert_eq!(new.gateway_kind, GatewayKind::Gowa);
        assert_eq!(new.gateway_username.as_deref(), Some("admin"));
        assert_eq!(new.gateway_device_id.as_deref(), Some("dev-1"));
        assert_eq!(new.secrets[s::GATEWAY_PASSWORD].expose(), "pw");
        assert_eq!(new.secrets[s::GATEWAY_WEBHOOK_SECRET].expose(), "whsec");
        assert!(
            !new.secrets.contains_key(s::GATEWAY_TOKEN),
            "gowa has no token"
        );
    }

    #[test]
    fn every_refusal_names_its_field() {
        let cases = [
            (with(wuzapi_doc(), "/name", json!("no spaces")), "name"),
            (with(wuzapi_doc(), "/name", json!("")), "name"),
            (
                with(wuzapi_doc(), "/gateway/kind", json!("baileys")),
                "gateway.kind",
            ),
            (
                with(wuzapi_doc(), "/gateway/base_url", json!("ftp://x")),
                "gateway.base_url",
            ),
            (
                with(
                    wuzapi_doc(),
                    "/gateway/base_url",
                    json!("http://u:p@gw:8080"),
                ),
                "gateway.base_url",
            ),
            (
                with(wuzapi_doc(), "/gateway/token", json!("a\r\nb")),
                "gateway.token",
            ),
            (
                with(wuzapi_doc(), "/gateway/token", json!("")),
                "gateway.token",
            ),
            (
                with(wuzapi_doc(), "/gateway/hmac_key", json!("short")),
                "gateway.hmac_key",
            ),
            (
                with(wuzapi_doc(), "/chatwoot/account_id", json!(0)),
                "chatwoot.account_id",
            ),
            (
                with(wuzapi_doc(), "/chatwoot/account_id", json!("3")),
                "chatwoot.account_id",
            ),
            (
                with(wuzapi_doc(), "/chatwoot/inbox_id", json!(-1)),
                "chatwoot.inbox_id",
            ),
            (
                with(wuzapi_doc(), "/chatwoot/api_token", json!(null)),
                "chatwoot.api_token",
            ),
            (with(wuzapi_doc(), "/gateway", json!(null)), "gateway"),
        ];
        for (doc, field) in cases {
            assert_eq!(field_of(&doc), field, "{doc}");
        }
    }

    #[test]
    fn a_masked_secret_is_not_a_new_value() {
        let doc = with(wuzapi_doc(), "/gateway/hmac_key", json!(MASK));
        let new = to_new_instance(&doc).unwrap();
        assert!(!new.secrets.contains_key(s::GATEWAY_HMAC_KEY));
    }

    #[test]
    fn merge_patches_nulls_remove_and_masks_keep() {
        let mut target = json!({ "a": 1, "b": { "c": 2, "secret": "s3cret" }, "d": 4 });
        merge(
            &mut target,
            &json!({ "a": 10, "b": { "secret": MASK, "e": 5 }, "d": null }),
        );
        assert_eq!(
            target,
            json!({ "a": 10, "b": { "c": 2, "secret": "s3cret", "e": 5 } })
        );
    }
}
