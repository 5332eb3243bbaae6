//! `/api/v1/tenants`, `/api/v1/keys` (both need the `admin` scope) and `/api/v1/actions`
//! (who changed what; `events:read`, limited to the instances the caller sees).

use std::collections::HashMap;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use zapwoot_store::ActionFilter;

use super::admin::{failure, parse_id};
use super::{Body, body, error, json_response, store_error};
use crate::access::Principal;
use crate::access::documents::{create_key, create_tenant, key_view, tenant_view, update_tenant};
use crate::instances::{self, AdminError};
use crate::state::State;

async fn document(app: &State, req: Request<Incoming>) -> Result<Value, Response<Body>> {
    let bytes = body::read(req, app.limits.admin_body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    instances::parse_document(&bytes).map_err(failure)
}

fn no_tenant(name: &str) -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no tenant named {name:?}"),
    )
}

/// `/api/v1/tenants{/name}`.
pub(super) async fn tenants(app: &State, req: Request<Incoming>, rest: &[&str]) -> Response<Body> {
    let method = req.method().clone();
    match (&method, rest) {
        (&Method::GET, []) => match app.store.tenants().list().await {
            Ok(all) => {
                let mut list = Vec::with_capacity(all.len());
                for t in &all {
                    let members = app.store.tenants().members(&t.name).await.ok();
                    list.push(tenant_view(t, members));
                }
                json_response(StatusCode::OK, &json!({ "tenants": list }))
            }
            Err(e) => store_error(&e),
        },
        (&Method::POST, []) => {
            let doc = match document(app, req).await {
                Ok(d) => d,
                Err(r) => return r,
            };
            match create_tenant(&app.store, &doc).await {
                Ok(t) => json_response(StatusCode::CREATED, &tenant_view(&t, None)),
                Err(f) => failure(f),
            }
        }
        (&Method::GET, [name]) => match app.store.tenants().get(name).await {
            Ok(Some(t)) => {
                let members = app.store.tenants().members(name).await.ok();
                let mut view = tenant_view(&t, members);
                if let (Ok(all), Value::Object(map)) =
                    (app.store.instances().list().await, &mut view)
                {
                    let names: Vec<String> = all
                        .into_iter()
                        .filter(|i| i.config.tenant.as_deref() == Some(*name))
                        .map(|i| i.config.name)
                        .collect();
                    map.insert("instance_names".into(), json!(names));
                }
                json_response(StatusCode::OK, &view)
            }
            Ok(None) => no_tenant(name),
            Err(e) => store_error(&e),
        },
        (&Method::PATCH, [name]) => {
            let doc = match document(app, req).await {
                Ok(d) => d,
                Err(r) => return r,
            };
            match update_tenant(&app.store, name, &doc).await {
                Ok(Some(t)) => json_response(StatusCode::OK, &tenant_view(&t, None)),
                Ok(None) => no_tenant(name),
                Err(f) => failure(f),
            }
        }
        (&Method::DELETE, [name]) => match app.store.tenants().delete(name).await {
            Ok(true) => json_response(StatusCode::OK, &json!({ "deleted": name })),
            Ok(false) => no_tenant(name),
            Err(zapwoot_store::StoreError::Conflict(why)) => failure(AdminError::Conflict(why)),
            Err(e) => store_error(&e),
        },
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    }
}

/// `/api/v1/keys{/id}`.
pub(super) async fn keys(app: &State, req: Request<Incoming>, rest: &[&str]) -> Response<Body> {
    let method = req.method().clone();
    match (&method, rest) {
        (&Method::GET, []) => match app.store.api_keys().list().await {
            Ok(all) => json_response(
                StatusCode::OK,
                &json!({ "keys": all.iter().map(key_view).collect::<Vec<_>>() }),
            ),
            Err(e) => store_error(&e),
        },
        (&Method::POST, []) => {
            let doc = match document(app, req).await {
                Ok(d) => d,
                Err(r) => return r,
            };
            match create_key(&app.store, &doc).await {
                Ok((key, secret)) => {
                    tracing::info!(key = key.id, prefix = %key.prefix, "API key created");
                    let mut view = key_view(&key);
                    if let Value::Object(map) = &mut view {
                        map.insert("key".into(), json!(secret));
                    }
                    json_response(StatusCode::CREATED, &view)
                }
                Err(f) => failure(f),
            }
        }
        (&Method::GET | &Method::DELETE, [id]) => {
            let id = match parse_id(id) {
                Ok(id) => id,
                Err(r) => return r,
            };
            let missing = || error(StatusCode::NOT_FOUND, "not_found", format!("no key {id}"));
            if method == Method::GET {
                return match app.store.api_keys().get(id).await {
                    Ok(Some(k)) => json_response(StatusCode::OK, &key_view(&k)),
                    Ok(None) => missing(),
                    Err(e) => store_error(&e),
                };
            }
            match app.store.api_keys().get(id).await {
                Ok(Some(_)) => {}
                Ok(None) => return missing(),
                Err(e) => return store_error(&e),
            }
            match app.store.api_keys().revoke(id).await {
                Ok(_) => {
                    app.keys.forget();
                    tracing::info!(key = id, "API key revoked");
                    json_response(StatusCode::OK, &json!({ "revoked": id }))
                }
                Err(e) => store_error(&e),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    }
}

/// `GET /api/v1/actions?instance=&target=&limit=`: who changed what, newest first.
pub(super) async fn list_actions(
    app: &State,
    who: &Principal,
    q: &HashMap<String, String>,
) -> Response<Body> {
    let all = match app.store.instances().list().await {
        Ok(i) => i,
        Err(e) => return store_error(&e),
    };
    let visible: Vec<_> = all.iter().filter(|i| who.sees(i)).collect();
    let mut filter = ActionFilter::default();
    if let Some(name) = q.get("instance") {
        let Some(i) = visible.iter().find(|i| i.config.name == *name) else {
            return failure(AdminError::NotFound(name.clone()));
        };
        filter.instances = Some(vec![i.id]);
    } else if !who.is_unlimited() {
        filter.instances = Some(visible.iter().map(|i| i.id).collect());
    }
    filter.target = q.get("target").cloned();
    filter.limit = q.get("limit").and_then(|l| l.parse().ok());
    match app.store.actions().list(filter).await {
        Ok(actions) => {
            let list: Vec<Value> = actions
                .iter()
                .map(|a| {
                    json!({
                        "id": a.id,
                        "at_ms": a.at_ms,
                        "actor": a.actor,
                        "action": a.action,
                        "instance": a.instance_id.and_then(|id| all.iter().find(|i| i.id == id)).map(|i| i.config.name.clone()),
                        "target": a.target,
                    })
                })
                .collect();
            json_response(StatusCode::OK, &json!({ "actions": list }))
        }
        Err(e) => store_error(&e),
    }
}

/// `POST /api/v1/instances/{name}/pairing-links {"expires_in_minutes"?: 30}`: a link to pair
/// the instance's phone without an account; its URL (with the token) is shown once.
pub(super) async fn pairing_link(
    app: &State,
    who: &Principal,
    name: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    let doc = match document(app, req).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if let Some(other) = doc.as_object().and_then(|m| {
        m.keys()
            .find(|k| *k != "expires_in_minutes" && *k != "expires_at")
    }) {
        return failure(AdminError::Invalid(
            other.clone(),
            "unknown field".to_owned(),
        ));
    }
    let now = std::time::SystemTime::now();
    let expires = match (doc.get("expires_in_minutes"), doc.get("expires_at")) {
        (None, None) => now + std::time::Duration::from_secs(30 * 60),
        (Some(v), None) => match v.as_u64().filter(|m| (1..=1440).contains(m)) {
            Some(m) => now + std::time::Duration::from_secs(m * 60),
            None => {
                return failure(AdminError::Invalid(
                    "expires_in_minutes".to_owned(),
                    "1 to 1440 minutes".to_owned(),
                ));
            }
        },
        (None, Some(v)) => {
            let at = v.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok());
            let day = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
            match at.filter(|at| *at > jiff::Timestamp::now() && *at <= day) {
                Some(at) => std::time::SystemTime::from(at),
                None => {
                    return failure(AdminError::Invalid(
                        "expires_at".to_owned(),
                        "an RFC 3339 time within the next 24 hours".to_owned(),
                    ));
                }
            }
        }
        (Some(_), Some(_)) => {
            return failure(AdminError::Invalid(
                "expires_at".to_owned(),
                "give expires_in_minutes or expires_at, not both".to_owned(),
            ));
        }
    };
    let instance = match instances::get(&app.store, name).await {
        Ok(i) => i,
        Err(f) => return failure(f),
    };
    let Some((token, hash)) = crate::console::pair::new_token() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "no random numbers",
        );
    };
    match app
        .store
        .pairing_links()
        .create(&hash, instance.id, &who.actor(), expires)
        .await
    {
        Ok(link) => {
            tracing::info!(instance = %name, link = link.id, "pairing link created");
            let expires_at = jiff::Timestamp::from_millisecond(link.expires_at_ms)
                .map(|t| t.to_string())
                .unwrap_or_default();
            json_response(
                StatusCode::CREATED,
                &json!({
                    "id": link.id,
                    "instance": name,
                    "url": format!("{}/pair/{token}", app.public_url.trim_end_matches('/')),
                    "expires_at": expires_at,
                }),
            )
        }
        Err(e) => store_error(&e),
    }
}
