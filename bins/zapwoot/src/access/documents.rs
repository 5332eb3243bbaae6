//! The tenant and key documents of the admin API and the CLI, and the operations both
//! offer on them.

use serde::Deserialize;
use serde_json::{Value, json};
use zapwoot_store::{ApiKey, NewApiKey, Store, Tenant, TenantMembers};

use super::Scope;
use super::keys;
use crate::document::valid_name;
use crate::instances::AdminError;

fn invalid(field: &str, message: impl Into<String>) -> AdminError {
    AdminError::Invalid(field.to_owned(), message.into())
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_default()
}

/// Parses `doc` as `T`, naming the field that is wrong or unknown.
fn parse<T: serde::de::DeserializeOwned>(doc: &Value) -> Result<T, AdminError> {
    if !doc.is_object() {
        return Err(AdminError::Malformed("expected a JSON object".to_owned()));
    }
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if let Some(unknown) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_owned())
        {
            return invalid(&unknown, "unknown field");
        }
        invalid(path.split('.').next().unwrap_or_default(), message)
    })
}

/// `POST /api/v1/tenants` and `PATCH /api/v1/tenants/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantDocument {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// A tenant as the API shows it.
pub(crate) fn tenant_view(t: &Tenant, members: Option<TenantMembers>) -> Value {
    let mut v = json!({
        "name": t.name,
        "description": t.description,
        "created_at": rfc3339(t.created_at_ms),
        "updated_at": rfc3339(t.updated_at_ms),
    });
    if let (Some(m), Value::Object(map)) = (members, &mut v) {
        map.insert("instances".into(), json!(m.instances));
        map.insert("subscriptions".into(), json!(m.subscriptions));
        map.insert("keys".into(), json!(m.keys));
    }
    v
}

/// Makes a tenant from `doc` (`{"name", "description"?}`).
pub(crate) async fn create_tenant(store: &Store, doc: &Value) -> Result<Tenant, AdminError> {
    let doc: TenantDocument = parse(doc)?;
    let name = doc.name.unwrap_or_default();
    if !valid_name(&name) {
        return Err(invalid(
            "name",
            "required: letters, digits, '-' and '_' only (at most 64)",
        ));
    }
    let description = doc.description.unwrap_or_default();
    if description.len() > 500 {
        return Err(invalid("description", "at most 500 characters"));
    }
    store
        .tenants()
        .create(&name, &description)
        .await
        .map_err(|e| match e {
            zapwoot_store::StoreError::Conflict(_) => {
                AdminError::Conflict(format!("a tenant named {name:?} exists"))
            }
            e => AdminError::Store(e),
        })
}

/// Changes a tenant's description from `doc` (`{"description"}`); `None` when absent.
pub(crate) async fn update_tenant(
    store: &Store,
    name: &str,
    doc: &Value,
) -> Result<Option<Tenant>, AdminError> {
    let doc: TenantDocument = parse(doc)?;
    if doc.name.is_some() {
        return Err(invalid("name", "a tenant cannot be renamed"));
    }
    let description = doc
        .description
        .ok_or_else(|| invalid("description", "required"))?;
    if description.len() > 500 {
        return Err(invalid("description", "at most 500 characters"));
    }
    store
        .tenants()
        .update(name, &description)
        .await
        .map_err(AdminError::Store)
}

/// `POST /api/v1/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDocument {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    instances: Option<Vec<String>>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    rate_per_minute: Option<u32>,
}

/// A key as the API shows it (never its secret).
pub(crate) fn key_view(k: &ApiKey) -> Value {
    let now = jiff::Timestamp::now().as_millisecond();
    json!({
        "id": k.id,
        "name": k.name,
        "prefix": k.prefix,
        "tenant": k.tenant,
        "instances": k.instances,
        "scopes": k.scopes,
        "rate_per_minute": k.rate_per_minute,
        "created_at": rfc3339(k.created_at_ms),
        "expires_at": k.expires_at_ms.map(rfc3339),
        "last_used_at": k.last_used_at_ms.map(rfc3339),
        "revoked_at": k.revoked_at_ms.map(rfc3339),
        "active": k.is_active(now),
    })
}

/// Makes a key from `doc`; the stored key and its secret, to be shown once.
pub(crate) async fn create_key(store: &Store, doc: &Value) -> Result<(ApiKey, String), AdminError> {
    let doc: KeyDocument = parse(doc)?;
    let name = doc.name.unwrap_or_default();
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "required: what the key is for (at most 64)",
        ));
    }
    let scopes = doc.scopes.unwrap_or_default();
    if scopes.is_empty() {
        return Err(invalid("scopes", "required: a non-empty list of scopes"));
    }
    if let Some(unknown) = scopes.iter().find(|s| Scope::parse(s).is_none()) {
        let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        return Err(invalid(
            "scopes",
            format!("unknown scope {unknown:?}: one of {}", known.join(", ")),
        ));
    }
    if scopes.iter().any(|s| s == "admin") && (doc.tenant.is_some() || doc.instances.is_some()) {
        return Err(invalid(
            "scopes",
            "an admin key reaches everything: it takes no tenant or instances",
        ));
    }
    if let Some(t) = &doc.tenant
        && store
            .tenants()
            .get(t)
            .await
            .map_err(AdminError::Store)?
            .is_none()
    {
        return Err(invalid("tenant", format!("no tenant named {t:?}")));
    }
    if let Some(names) = &doc.instances {
        if names.is_empty() {
            return Err(invalid(
                "instances",
                "a non-empty list of instance names, or absent",
            ));
        }
        let all = store.instances().list().await.map_err(AdminError::Store)?;
        for n in names {
            match all.iter().find(|i| i.config.name == *n) {
                None => return Err(invalid("instances", format!("no instance named {n:?}"))),
                Some(i) if doc.tenant.is_some() && i.config.tenant != doc.tenant => {
                    return Err(invalid(
                        "instances",
                        format!("instance {n:?} is not in the key's tenant"),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let expires_at = match &doc.expires_at {
        None => None,
        Some(text) => {
            let at: jiff::Timestamp = text
                .parse()
                .map_err(|_| invalid("expires_at", "an RFC 3339 time (2027-01-31T00:00:00Z)"))?;
            if at <= jiff::Timestamp::now() {
                return Err(invalid("expires_at", "must lie in the future"));
            }
            Some(std::time::SystemTime::from(at))
        }
    };
    if doc.rate_per_minute.is_some_and(|r| r == 0 || r > 1_000_000) {
        return Err(invalid(
            "rate_per_minute",
            "1 to 1000000 requests per minute",
        ));
    }
    let generated =
        keys::generate().ok_or_else(|| AdminError::Conflict("no random numbers".to_owned()))?;
    let mut new = NewApiKey::new(name, generated.prefix.clone(), scopes);
    new.tenant = doc.tenant;
    new.instances = doc.instances;
    new.expires_at = expires_at;
    new.rate_per_minute = doc.rate_per_minute;
    let key = store
        .api_keys()
        .create(&generated.hash, &new)
        .await
        .map_err(AdminError::Store)?;
    Ok((key, generated.secret))
}
