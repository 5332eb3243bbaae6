//! The admin API under `/api/v1` (bearer token, compared in constant time).

use std::collections::HashMap;
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};
use zapwoot_store::{EventFilter, EventRecord, EventStatus, Instance, Source};

use super::{
    Body, body, connection, error, json_response, messages, sse, store_error, subscriptions,
};
use crate::document::to_document;
use crate::instances::{self, AdminError};
use crate::state::State;

/// Whether `req` carries the admin token.
pub(super) fn is_admin(app: &State, req: &Request<Incoming>) -> bool {
    authorized(app, req).is_ok()
}

/// The bearer token, or a console session (whose unsafe requests must carry its CSRF token
/// in `X-CSRF-Token`: a cookie alone is sent by any page's form).
async fn authorize(app: &State, req: &Request<Incoming>) -> Result<(), Response<Body>> {
    if req.headers().contains_key(header::AUTHORIZATION)
        || crate::console::session::cookie(req.headers(), crate::console::session::COOKIE).is_none()
    {
        return authorized(app, req);
    }
    let Some(signed) = crate::console::session::current(app, req.headers()).await else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the console session has ended: sign in again",
        ));
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let given = req
        .headers()
        .get(crate::console::session::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if safe || crate::console::session::same(&signed.csrf, given) {
        Ok(())
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            "csrf",
            "a console request must carry its page's CSRF token in X-CSRF-Token",
        ))
    }
}

fn authorized(app: &State, req: &Request<Incoming>) -> Result<(), Response<Body>> {
    let Some(expected) = &app.admin_token else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "admin_api_disabled",
            "the admin API is off: set ZAPWOOT_ADMIN_TOKEN",
        ));
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if expected.matches(given) {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin bearer token is required",
        ))
    }
}

pub(super) fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

pub(super) fn failure(f: AdminError) -> Response<Body> {
    match f {
        AdminError::Invalid(field, message) => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "error": { "code": "invalid_field", "message": format!("{field}: {message}"), "field": field } }),
        ),
        AdminError::Malformed(m) => error(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("malformed JSON: {m}"),
        ),
        AdminError::NotFound(name) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no instance named {name:?}"),
        ),
        AdminError::Conflict(m) => error(StatusCode::CONFLICT, "conflict", m),
        AdminError::Upstream(m) => error(StatusCode::BAD_GATEWAY, "upstream_error", m),
        AdminError::Store(e) => store_error(&e),
    }
}

/// Dispatches `/api/v1/{rest}`.
pub(crate) async fn handle(
    app: &Arc<State>,
    req: Request<Incoming>,
    rest: &[String],
) -> Response<Body> {
    if let Err(r) = authorize(app, &req).await {
        return r;
    }
    let method = req.method().clone();
    let parts: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (&method, parts.as_slice()) {
        (&Method::GET, ["instances"]) => list_instances(app).await,
        (&Method::POST, ["instances"]) => create_instance(app, req).await,
        (&Method::GET, ["instances", name]) => show_instance(app, name).await,
        (&Method::PATCH, ["instances", name]) => update_instance(app, name, req).await,
        (&Method::DELETE, ["instances", name]) => delete_instance(app, name).await,
        (&Method::POST, ["instances", name, "provision"]) => provision(app, name).await,
        (&Method::POST, ["instances", name, "test"]) => test_instance(app, name).await,
        (&Method::POST, ["instances", name, "reconcile"]) => reconcile(app, name, req).await,
        (&Method::POST, ["instances", name, "import"]) => import(app, name, req).await,
        (_, ["instances", name, "connection", rest @ ..]) => {
            connection::handle(app, name, req, rest).await
        }
        (&Method::POST, ["instances", name, "messages"]) => messages::create(app, name, req).await,
        (&Method::GET, ["instances", name, "messages", id]) => messages::show(app, name, id).await,
        (&Method::GET, ["imports"]) => list_imports(app, &query(&req)).await,
        (&Method::GET, ["imports", id]) => show_import(app, id).await,
        (&Method::GET, ["events"]) => list_events(app, &query(&req)).await,
        (&Method::GET, ["events", id]) => show_event(app, id).await,
        (&Method::POST, ["events", id, "retry"]) => retry_event(app, id).await,
        (&Method::GET, ["activity"]) => {
            let last = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            sse::stream(app, last, query(&req).remove("instance"))
        }
        (_, ["subscriptions", rest @ ..]) => {
            let rest = rest.to_vec();
            subscriptions::handle(app, req, &rest).await
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    }
}

async fn list_instances(app: &State) -> Response<Body> {
    match app.store.instances().list().await {
        Ok(all) => {
            let docs: Vec<Value> = all
                .iter()
                .map(|i| to_document(i, true, &app.public_url))
                .collect();
            json_response(StatusCode::OK, &json!({ "instances": docs }))
        }
        Err(e) => store_error(&e),
    }
}

fn instance_answer(app: &State, status: StatusCode, instance: &Instance) -> Response<Body> {
    let mut doc = to_document(instance, true, &app.public_url);
    let problem = app.apply_instance(instance);
    if let Value::Object(map) = &mut doc {
        map.insert("running".into(), json!(problem.is_none()));
        map.insert("not_running_reason".into(), json!(problem));
    }
    json_response(status, &doc)
}

async fn create_instance(app: &State, req: Request<Incoming>) -> Response<Body> {
    let bytes = match body::read(req, app.limits.admin_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let created = match instances::parse_document(&bytes) {
        Ok(doc) => instances::create(&app.store, &doc).await,
        Err(f) => Err(f),
    };
    match created {
        Ok(instance) => {
            tracing::info!(instance = %instance.config.name, "instance created");
            instance_answer(app, StatusCode::CREATED, &instance)
        }
        Err(f) => failure(f),
    }
}

async fn show_instance(app: &State, name: &str) -> Response<Body> {
    match instances::get(&app.store, name).await {
        Ok(instance) => {
            let mut doc = to_document(&instance, true, &app.public_url);
            if let Value::Object(map) = &mut doc {
                map.insert(
                    "running".into(),
                    json!(app.engine.runtime(instance.id).is_some()),
                );
            }
            json_response(StatusCode::OK, &doc)
        }
        Err(f) => failure(f),
    }
}

async fn update_instance(app: &State, name: &str, req: Request<Incoming>) -> Response<Body> {
    let bytes = match body::read(req, app.limits.admin_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let updated = match instances::parse_document(&bytes) {
        Ok(patch) => instances::update(&app.store, name, &patch).await,
        Err(f) => Err(f),
    };
    match updated {
        Ok(instance) => {
            tracing::info!(instance = %instance.config.name, "instance updated");
            instance_answer(app, StatusCode::OK, &instance)
        }
        Err(f) => failure(f),
    }
}

async fn delete_instance(app: &State, name: &str) -> Response<Body> {
    let instance = match instances::get(&app.store, name).await {
        Ok(i) => i,
        Err(f) => return failure(f),
    };
    match app.store.instances().delete(name).await {
        Ok(true) => {
            app.forget_instance(instance.id);
            tracing::info!(instance = %name, "instance deleted");
            json_response(StatusCode::OK, &json!({ "deleted": name }))
        }
        Ok(false) => failure(AdminError::NotFound(name.to_owned())),
        Err(e) => store_error(&e),
    }
}

async fn provision(app: &State, name: &str) -> Response<Body> {
    match instances::provision(&app.store, name, &app.public_url).await {
        Ok((instance, notes)) => {
            tracing::info!(instance = %name, inbox = ?instance.config.chatwoot_inbox_id, "instance provisioned");
            let mut response = instance_answer(app, StatusCode::OK, &instance);
            if !notes.is_empty() {
                let mut doc = to_document(&instance, true, &app.public_url);
                if let Value::Object(map) = &mut doc {
                    map.insert(
                        "running".into(),
                        json!(app.engine.runtime(instance.id).is_some()),
                    );
                    map.insert("notes".into(), json!(notes));
                }
                response = json_response(StatusCode::OK, &doc);
            }
            response
        }
        Err(f) => failure(f),
    }
}

async fn test_instance(app: &State, name: &str) -> Response<Body> {
    match instances::get(&app.store, name).await {
        Ok(instance) => json_response(StatusCode::OK, &instances::test(&instance).await.0),
        Err(f) => failure(f),
    }
}

/// `POST /instances/{name}/reconcile` `{"hours"?: 24}`: recover what upstreams never posted.
async fn reconcile(app: &State, name: &str, req: Request<Incoming>) -> Response<Body> {
    let bytes = match body::read(req, app.limits.admin_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let hours = if bytes.iter().all(u8::is_ascii_whitespace) {
        24
    } else {
        match instances::parse_document(&bytes) {
            Ok(doc)
                if doc
                    .as_object()
                    .is_some_and(|m| m.keys().any(|k| k != "hours")) =>
            {
                let field = doc
                    .as_object()
                    .and_then(|m| m.keys().find(|k| *k != "hours").cloned())
                    .unwrap_or_default();
                return failure(AdminError::Invalid(field, "unknown field".to_owned()));
            }
            Ok(doc) => match doc.get("hours") {
                None => 24,
                Some(h) => match h.as_u64().filter(|h| (1..=24 * 90).contains(h)) {
                    Some(h) => h,
                    None => {
                        return failure(AdminError::Invalid(
                            "hours".to_owned(),
                            "1 to 2160: how far back to look at conversations".to_owned(),
                        ));
                    }
                },
            },
            Err(f) => return failure(f),
        }
    };
    let instance = match instances::get(&app.store, name).await {
        Ok(i) => i,
        Err(f) => return failure(f),
    };
    if app.engine.runtime(instance.id).is_none() {
        return error(
            StatusCode::CONFLICT,
            "not_running",
            format!("instance {name:?} is not running"),
        );
    }
    let since = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
    match instances::reconcile(&app.engine, &instance, since).await {
        Ok(reports) => json_response(
            StatusCode::OK,
            &json!({ "instance": name, "hours": hours, "reconciled": reports }),
        ),
        Err(f) => failure(f),
    }
}

/// `POST /instances/{name}/import` `{"days": N}`: import the last N days of the gateway's
/// chats in the background (resuming an unfinished import of the same length); answers the
/// job, which `GET /imports/{id}` and the activity stream (`import`) follow.
async fn import(app: &Arc<State>, name: &str, req: Request<Incoming>) -> Response<Body> {
    let bytes = match body::read(req, app.limits.admin_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let doc = match instances::parse_document(&bytes) {
        Ok(d) => d,
        Err(f) => return failure(f),
    };
    let Some(days) = doc
        .get("days")
        .and_then(Value::as_u64)
        .filter(|d| (1..=365).contains(d))
        .and_then(|d| u32::try_from(d).ok())
    else {
        return failure(AdminError::Invalid(
            "days".to_owned(),
            "required: 1 to 365 days of history".to_owned(),
        ));
    };
    let instance = match instances::get(&app.store, name).await {
        Ok(i) => i,
        Err(f) => return failure(f),
    };
    if app.engine.runtime(instance.id).is_none() {
        return error(
            StatusCode::CONFLICT,
            "not_running",
            format!("instance {name:?} is not running"),
        );
    }
    let fresh = app
        .importing
        .lock()
        .map(|mut set| set.insert(instance.id))
        .unwrap_or(false);
    if !fresh {
        return error(
            StatusCode::CONFLICT,
            "import_running",
            format!("an import of {name:?} is running"),
        );
    }
    let job = match instances::start_import(&app.engine, &instance, days).await {
        Ok(job) => job,
        Err(f) => {
            if let Ok(mut set) = app.importing.lock() {
                set.remove(&instance.id);
            }
            return failure(f);
        }
    };
    let answer = instances::import_json(&job, name);
    let app = Arc::clone(app);
    tokio::spawn(async move {
        let id = job.instance_id;
        match app.engine.run_import(job, |_| {}).await {
            Ok(job) => tracing::info!(
                job = job.id,
                state = job.state.as_str(),
                queued = job.messages_queued,
                "import finished"
            ),
            Err(e) => tracing::warn!(error = %e, "import stopped"),
        }
        if let Ok(mut set) = app.importing.lock() {
            set.remove(&id);
        }
    });
    json_response(StatusCode::ACCEPTED, &answer)
}

async fn list_imports(app: &State, q: &HashMap<String, String>) -> Response<Body> {
    let instances = match app.store.instances().list().await {
        Ok(i) => i,
        Err(e) => return store_error(&e),
    };
    let filter = match q.get("instance") {
        Some(name) => match instances.iter().find(|i| i.config.name == *name) {
            Some(i) => Some(i.id),
            None => return failure(AdminError::NotFound(name.clone())),
        },
        None => None,
    };
    let name = |id: i64| {
        instances
            .iter()
            .find(|i| i.id == id)
            .map(|i| i.config.name.clone())
            .unwrap_or_default()
    };
    match app.store.imports().list(filter).await {
        Ok(jobs) => json_response(
            StatusCode::OK,
            &json!({ "imports": jobs.iter().map(|j| instances::import_json(j, &name(j.instance_id))).collect::<Vec<_>>() }),
        ),
        Err(e) => store_error(&e),
    }
}

async fn show_import(app: &State, id: &str) -> Response<Body> {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match app.store.imports().get(id).await {
        Ok(Some(job)) => {
            let name = app
                .store
                .instances()
                .by_id(job.instance_id)
                .await
                .ok()
                .flatten()
                .map(|i| i.config.name)
                .unwrap_or_default();
            json_response(StatusCode::OK, &instances::import_json(&job, &name))
        }
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no import {id}"),
        ),
        Err(e) => store_error(&e),
    }
}

/// Replaces every secret of `instance` found in `text` with `***` (legacy wuzapi webhooks
/// carry the user token in the body).
fn redact(instance: Option<&Instance>, text: &str) -> String {
    let mut out = text.to_owned();
    if let Some(instance) = instance {
        for secret in instance.config.secrets.values() {
            let s = secret.expose();
            if s.len() >= 4 {
                out = out.replace(s, "***");
            }
        }
    }
    out
}

pub(crate) fn event_json(
    event: &EventRecord,
    names: &HashMap<i64, &Instance>,
    with_body: bool,
) -> Value {
    let instance = names.get(&event.instance_id).copied();
    let mut value = json!({
        "id": event.id,
        "instance": instance.map(|i| i.config.name.clone()),
        "source": event.source.as_str(),
        "direction": match event.source { Source::Gateway => "inbound", _ => "outbound" },
        "kind": event.kind,
        "dedupe_key": event.dedupe_key,
        "lane": event.lane,
        "status": event.status.as_str(),
        "attempts": event.attempts,
        "received_at_ms": event.received_at_ms,
        "next_attempt_at_ms": event.next_attempt_at_ms,
        "finished_at_ms": event.finished_at_ms,
        "last_error": event.last_error.as_deref().map(|e| redact(instance, e)),
    });
    if with_body && let Value::Object(map) = &mut value {
        map.insert("content_type".into(), json!(event.content_type));
        let body = event.body.as_ref().map(|b| {
            let text = redact(instance, &String::from_utf8_lossy(b));
            serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text))
        });
        map.insert("body".into(), body.unwrap_or(Value::Null));
    }
    value
}

async fn list_events(app: &State, q: &HashMap<String, String>) -> Response<Body> {
    let instances = match app.store.instances().list().await {
        Ok(i) => i,
        Err(e) => return store_error(&e),
    };
    let mut filter = EventFilter::new().limit(
        q.get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(50)
            .clamp(1, 500),
    );
    if let Some(name) = q.get("instance") {
        let Some(instance) = instances.iter().find(|i| i.config.name == *name) else {
            return failure(AdminError::NotFound(name.clone()));
        };
        filter = filter.instance(instance.id);
    }
    if let Some(status) = q.get("status") {
        let Some(status) = EventStatus::parse(status) else {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_filter",
                "status: pending, running, done, failed, dead or ignored",
            );
        };
        filter = filter.status(status);
    }
    match q
        .get("direction")
        .or_else(|| q.get("source"))
        .map(String::as_str)
    {
        None => {}
        Some("inbound" | "gateway") => filter = filter.source(Source::Gateway),
        Some("outbound" | "chatwoot") => filter = filter.source(Source::Chatwoot),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_filter",
                "direction: inbound or outbound",
            );
        }
    }
    if let Some(before) = q.get("before").and_then(|b| b.parse().ok()) {
        filter = filter.before_id(before);
    }
    let names: HashMap<i64, &Instance> = instances.iter().map(|i| (i.id, i)).collect();
    match app.store.events().list(filter).await {
        Ok(events) => {
            let list: Vec<Value> = events
                .iter()
                .map(|e| event_json(e, &names, false))
                .collect();
            json_response(StatusCode::OK, &json!({ "events": list }))
        }
        Err(e) => store_error(&e),
    }
}

pub(super) fn parse_id(id: &str) -> Result<i64, Response<Body>> {
    id.parse()
        .map_err(|_| error(StatusCode::BAD_REQUEST, "bad_id", "ids are integers"))
}

async fn show_event(app: &State, id: &str) -> Response<Body> {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match event_document(app, id).await {
        Ok(Some(shown)) => json_response(StatusCode::OK, &shown.document),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", format!("no event {id}")),
        Err(e) => store_error(&e),
    }
}

/// An event as `GET /api/v1/events/{id}` shows it.
pub(crate) struct ShownEvent {
    pub(crate) event: EventRecord,
    /// Its document with the body, its instance's secrets redacted.
    pub(crate) document: Value,
    /// Its instance's name, when the instance is still there.
    pub(crate) instance: Option<String>,
}

/// The event `id` with its document, `None` when there is no such event.
pub(crate) async fn event_document(
    app: &State,
    id: i64,
) -> Result<Option<ShownEvent>, zapwoot_store::StoreError> {
    let Some(event) = app.store.events().get(id).await? else {
        return Ok(None);
    };
    let instance = app
        .store
        .instances()
        .by_id(event.instance_id)
        .await
        .ok()
        .flatten();
    let names: HashMap<i64, &Instance> = instance.iter().map(|i| (i.id, i)).collect();
    let document = event_json(&event, &names, true);
    Ok(Some(ShownEvent {
        event,
        document,
        instance: instance.map(|i| i.config.name),
    }))
}

async fn retry_event(app: &State, id: &str) -> Response<Body> {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match app.store.events().retry(id).await {
        Ok(true) => {
            app.engine.notify();
            json_response(StatusCode::ACCEPTED, &json!({ "retried": id }))
        }
        Ok(false) => error(StatusCode::NOT_FOUND, "not_found", format!("no event {id}")),
        Err(zapwoot_store::StoreError::Conflict(why)) => {
            error(StatusCode::CONFLICT, "not_retryable", why)
        }
        Err(e) => store_error(&e),
    }
}
