//! `/api/v1/subscriptions`: outbound webhook subscriptions, their deliveries with attempts,
//! replay, secret rotation and test events.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use zapwoot_store::{
    DeliveryFilter, DeliveryState, NewSubscription, ReplayRange, SecretString, StoreError,
};

use super::admin::{failure, parse_id, query};
use super::{Body, body, error, json_response, store_error};
use crate::access::Principal;
use crate::instances::{self, AdminError};
use crate::state::State;
use crate::subscriptions::{
    DEFAULT_OVERLAP, delivery_view, from_document, generate_secret, now_ms, parse_secret,
    parse_time, send_test, view,
};

/// Dispatches `/api/v1/subscriptions/{rest}` (`rest` after `subscriptions`).
pub(crate) async fn handle(
    app: &Arc<State>,
    who: &Principal,
    req: Request<Incoming>,
    rest: &[&str],
) -> Response<Body> {
    let method = req.method().clone();
    if rest.is_empty() {
        return match method {
            Method::GET => list(app, who).await,
            Method::POST => create(app, who, req).await,
            _ => not_found(),
        };
    }
    let Some((id, rest)) = rest.split_first() else {
        return not_found();
    };
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match app.store.subscriptions().get(id).await {
        Ok(Some(s)) if who.sees_subscription(&s) => {}
        Ok(_) => return no_subscription(id),
        Err(e) => return store_error(&e),
    }
    match (&method, rest) {
        (&Method::GET, []) => show(app, id).await,
        (&Method::PATCH, []) => update(app, who, id, req).await,
        (&Method::DELETE, []) => delete(app, id).await,
        (&Method::GET, ["deliveries"]) => deliveries(app, id, &query(&req)).await,
        (&Method::GET, ["deliveries", d]) => delivery(app, id, d).await,
        (&Method::POST, ["deliveries", d, "replay"]) => replay_one(app, id, d).await,
        (&Method::POST, ["replay"]) => replay_range(app, id, req).await,
        (&Method::POST, ["rotate"]) => rotate(app, id, req).await,
        (&Method::POST, ["test"]) => test(app, id).await,
        _ => not_found(),
    }
}

fn not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, "not_found", "no such route")
}

fn no_subscription(id: i64) -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no subscription {id}"),
    )
}

/// The request's JSON object; an empty body counts as `{}`.
async fn document(app: &State, req: Request<Incoming>) -> Result<Value, Response<Body>> {
    let bytes = body::read(req, app.limits.admin_body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    instances::parse_document(&bytes).map_err(failure)
}

async fn list(app: &State, who: &Principal) -> Response<Body> {
    match app.store.subscriptions().list().await {
        Ok(all) => json_response(
            StatusCode::OK,
            &json!({ "subscriptions": all.iter().filter(|s| who.sees_subscription(s)).map(view).collect::<Vec<_>>() }),
        ),
        Err(e) => store_error(&e),
    }
}

/// Checks what a subscription may reach: a tenant's key makes its tenant's subscriptions
/// (of its instances only); any other tenant named must exist.
async fn within_reach(
    app: &State,
    who: &Principal,
    config: &mut NewSubscription,
    base: Option<&zapwoot_store::Subscription>,
) -> Result<(), AdminError> {
    if let Some(own) = &who.tenant {
        let was = base.map(|b| b.config.tenant.clone());
        match (&config.tenant, was) {
            (None, None) => config.tenant = Some(own.clone()),
            (Some(t), _) if t == own => {}
            _ => {
                return Err(AdminError::Invalid(
                    "tenant".to_owned(),
                    format!("this key belongs to tenant {own:?}: it may name no other"),
                ));
            }
        }
        if let Some(names) = &config.instances {
            let all = app
                .store
                .instances()
                .list()
                .await
                .map_err(AdminError::Store)?;
            if let Some(outside) = names
                .iter()
                .find(|n| !all.iter().any(|i| i.config.name == **n && who.sees(i)))
            {
                return Err(AdminError::Invalid(
                    "instances".to_owned(),
                    format!("no instance named {outside:?}"),
                ));
            }
        }
        return Ok(());
    }
    match &config.tenant {
        Some(t)
            if app
                .store
                .tenants()
                .get(t)
                .await
                .map_err(AdminError::Store)?
                .is_none() =>
        {
            Err(AdminError::Invalid(
                "tenant".to_owned(),
                format!("no tenant named {t:?}: create it with POST /api/v1/tenants"),
            ))
        }
        _ => Ok(()),
    }
}

async fn create(app: &State, who: &Principal, req: Request<Incoming>) -> Response<Body> {
    if !who.is_unlimited() && who.tenant.is_none() {
        return error(
            StatusCode::FORBIDDEN,
            "limited_key",
            "a key limited to instances but no tenant cannot make subscriptions",
        );
    }
    let doc = match document(app, req).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (mut config, enabled) = match from_document(&doc, None) {
        Ok(c) => c,
        Err(f) => return failure(f),
    };
    if let Err(f) = within_reach(app, who, &mut config, None).await {
        return failure(f);
    }
    let secret = config.secret.expose().to_owned();
    let created = match app.store.subscriptions().create(config).await {
        Ok(s) => s,
        Err(e) => return store_error(&e),
    };
    let created = if enabled == Some(false) {
        match app
            .store
            .subscriptions()
            .set_enabled(created.id, false)
            .await
        {
            Ok(_) => match app.store.subscriptions().get(created.id).await {
                Ok(Some(s)) => s,
                Ok(None) => return no_subscription(created.id),
                Err(e) => return store_error(&e),
            },
            Err(e) => return store_error(&e),
        }
    } else {
        created
    };
    let mut value = view(&created);
    if let Value::Object(map) = &mut value {
        map.insert("secret".into(), json!(secret));
    }
    json_response(StatusCode::CREATED, &value)
}

async fn show(app: &State, id: i64) -> Response<Body> {
    match app.store.subscriptions().get(id).await {
        Ok(Some(s)) => json_response(StatusCode::OK, &view(&s)),
        Ok(None) => no_subscription(id),
        Err(e) => store_error(&e),
    }
}

async fn update(app: &State, who: &Principal, id: i64, req: Request<Incoming>) -> Response<Body> {
    let doc = match document(app, req).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let current = match app.store.subscriptions().get(id).await {
        Ok(Some(s)) => s,
        Ok(None) => return no_subscription(id),
        Err(e) => return store_error(&e),
    };
    let (mut config, enabled) = match from_document(&doc, Some(&current)) {
        Ok(c) => c,
        Err(f) => return failure(f),
    };
    if let Err(f) = within_reach(app, who, &mut config, Some(&current)).await {
        return failure(f);
    }
    if config != current.config
        && let Err(e) = app.store.subscriptions().update(id, config).await
    {
        return store_error(&e);
    }
    if let Some(enabled) = enabled
        && let Err(e) = app.store.subscriptions().set_enabled(id, enabled).await
    {
        return store_error(&e);
    }
    if enabled == Some(true) {
        app.webhooks.notify();
    }
    show(app, id).await
}

async fn delete(app: &State, id: i64) -> Response<Body> {
    match app.store.subscriptions().delete(id).await {
        Ok(true) => json_response(StatusCode::OK, &json!({ "deleted": id })),
        Ok(false) => no_subscription(id),
        Err(e) => store_error(&e),
    }
}

fn bad_filter(message: &str) -> Response<Body> {
    error(StatusCode::BAD_REQUEST, "bad_filter", message)
}

async fn deliveries(app: &State, id: i64, q: &HashMap<String, String>) -> Response<Body> {
    match app.store.subscriptions().get(id).await {
        Ok(Some(_)) => {}
        Ok(None) => return no_subscription(id),
        Err(e) => return store_error(&e),
    }
    let mut filter = DeliveryFilter::subscription(id);
    if let Some(state) = q.get("state").or_else(|| q.get("status")) {
        let Some(state) = DeliveryState::parse(state) else {
            return bad_filter("state: pending, running, done, failed or dead");
        };
        filter.state = Some(state);
    }
    for (key, slot) in [
        ("since", &mut filter.since_ms),
        ("until", &mut filter.until_ms),
    ] {
        if let Some(text) = q.get(key) {
            let Some(ms) = parse_time(text) else {
                return bad_filter("since/until: RFC 3339 or unix milliseconds");
            };
            *slot = Some(ms);
        }
    }
    if let Some(before) = q.get("before") {
        let Ok(before) = before.parse() else {
            return bad_filter("before: a delivery id");
        };
        filter.before_id = Some(before);
    }
    filter.limit = Some(
        q.get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(50)
            .clamp(1, 500),
    );
    match app.store.deliveries().list(filter).await {
        Ok(list) => json_response(
            StatusCode::OK,
            &json!({ "deliveries": list.iter().map(delivery_view).collect::<Vec<_>>() }),
        ),
        Err(e) => store_error(&e),
    }
}

async fn delivery(app: &State, id: i64, delivery: &str) -> Response<Body> {
    let delivery = match parse_id(delivery) {
        Ok(d) => d,
        Err(r) => return r,
    };
    match app.store.deliveries().get(delivery).await {
        Ok(Some(d)) if d.subscription_id == id => json_response(StatusCode::OK, &delivery_view(&d)),
        Ok(_) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no delivery {delivery} of subscription {id}"),
        ),
        Err(e) => store_error(&e),
    }
}

async fn replay_one(app: &State, id: i64, delivery: &str) -> Response<Body> {
    let delivery = match parse_id(delivery) {
        Ok(d) => d,
        Err(r) => return r,
    };
    match app.store.deliveries().get(delivery).await {
        Ok(Some(d)) if d.subscription_id == id => {}
        Ok(_) => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no delivery {delivery} of subscription {id}"),
            );
        }
        Err(e) => return store_error(&e),
    }
    match app.store.deliveries().replay(delivery).await {
        Ok(_) => {
            app.webhooks.notify();
            json_response(StatusCode::ACCEPTED, &json!({ "replayed": [delivery] }))
        }
        Err(StoreError::Conflict(why)) => error(StatusCode::CONFLICT, "not_replayable", why),
        Err(e) => store_error(&e),
    }
}

async fn replay_range(app: &State, id: i64, req: Request<Incoming>) -> Response<Body> {
    let doc = match document(app, req).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let time = |key: &str| -> Result<Option<i64>, Response<Body>> {
        match doc.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_i64()),
            Some(Value::String(s)) => parse_time(s).map(Some).ok_or_else(|| {
                failure(instances::AdminError::Invalid(
                    key.to_owned(),
                    "RFC 3339 or unix milliseconds".to_owned(),
                ))
            }),
            Some(_) => Err(failure(instances::AdminError::Invalid(
                key.to_owned(),
                "RFC 3339 or unix milliseconds".to_owned(),
            ))),
        }
    };
    let since = match time("since") {
        Ok(Some(t)) => t,
        Ok(None) => {
            return failure(instances::AdminError::Invalid(
                "since".to_owned(),
                "required: the start of the range".to_owned(),
            ));
        }
        Err(r) => return r,
    };
    let until = match time("until") {
        Ok(t) => t.unwrap_or_else(now_ms),
        Err(r) => return r,
    };
    let mut range = ReplayRange::failed(since, until);
    range.include_done = doc
        .get("include_succeeded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match app.store.subscriptions().get(id).await {
        Ok(Some(_)) => {}
        Ok(None) => return no_subscription(id),
        Err(e) => return store_error(&e),
    }
    match app.store.deliveries().replay_all(id, range).await {
        Ok(n) => {
            app.webhooks.notify();
            json_response(StatusCode::ACCEPTED, &json!({ "replayed": n }))
        }
        Err(e) => store_error(&e),
    }
}

async fn rotate(app: &State, id: i64, req: Request<Incoming>) -> Response<Body> {
    let doc = match document(app, req).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let secret = match doc.get("secret") {
        Some(v) => parse_secret(v),
        None => generate_secret(),
    };
    let secret = match secret {
        Ok(s) => s,
        Err(f) => return failure(f),
    };
    let overlap = match doc.get("overlap_hours") {
        None => DEFAULT_OVERLAP,
        Some(v) => match v.as_u64().filter(|h| *h <= 24 * 30) {
            Some(h) => Duration::from_secs(h * 3600),
            None => {
                return failure(instances::AdminError::Invalid(
                    "overlap_hours".to_owned(),
                    "hours (0 to 720) the old secret keeps signing".to_owned(),
                ));
            }
        },
    };
    match app
        .store
        .subscriptions()
        .rotate_secret(id, SecretString::new(secret.clone()), overlap)
        .await
    {
        Ok(Some(s)) => {
            let mut value = view(&s);
            if let Value::Object(map) = &mut value {
                map.insert("secret".into(), json!(secret));
            }
            json_response(StatusCode::OK, &value)
        }
        Ok(None) => no_subscription(id),
        Err(e) => store_error(&e),
    }
}

async fn test(app: &State, id: i64) -> Response<Body> {
    match send_test(&app.store, id).await {
        Ok(delivery) => {
            app.webhooks.notify();
            json_response(StatusCode::ACCEPTED, &json!({ "delivery_id": delivery }))
        }
        Err(instances::AdminError::NotFound(_)) => no_subscription(id),
        Err(f) => failure(f),
    }
}
