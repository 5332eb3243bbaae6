//! The admin API under `/api/v1` (bearer token, compared in constant time).

use std::collections::HashMap;
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use zapwoot_store::{EventFilter, EventRecord, EventStatus, Instance, Source};

use super::{
    Body, access, body, connection, error, guard, json_response, messages, sse, store_error,
    subscriptions,
};
use crate::access::{Principal, Scope};
use crate::document::to_document;
use crate::instances::{self, AdminError};
use crate::state::State;

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

/// Dispatches `/api/v1/{rest}`: authorizes the caller, checks the route's scope and that
/// the instance it names is one the caller sees (else 404, as if there were none), and
/// records what a successful change did and who did it.
pub(crate) async fn handle(
    app: &Arc<State>,
    req: Request<Incoming>,
    rest: &[String],
) -> Response<Body> {
    let who = match guard::authorize(app, &req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let method = req.method().clone();
    let parts: Vec<&str> = rest.iter().map(String::as_str).collect();
    let Some(scope) = guard::required_scope(&method, &parts) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such route");
    };
    if !who.allows(scope) {
        return guard::missing_scope(scope);
    }
    if scope == Scope::Admin && !who.is_unlimited() {
        return guard::missing_scope(scope);
    }
    let mut instance_id = None;
    if let ["instances", name, ..] = parts.as_slice() {
        match instances::get(&app.store, name).await {
            Ok(i) if who.sees(&i) => instance_id = Some(i.id),
            Ok(_) => return failure(AdminError::NotFound((*name).to_owned())),
            Err(AdminError::NotFound(_)) => {}
            Err(f) => return failure(f),
        }
    }
    let action = guard::action(&method, &parts);
    let response = dispatch(app, &who, req, &method, &parts).await;
    if let Some(action) = action
        && response.status().is_success()
    {
        if action.0 == "event.retry"
            && let Some(id) = parts.get(1).and_then(|id| id.parse().ok())
            && let Ok(Some(event)) = app.store.events().get(id).await
        {
            instance_id = Some(event.instance_id);
        }
        guard::record(app, &who, action, instance_id).await;
    }
    response
}

async fn dispatch(
    app: &Arc<State>,
    who: &Principal,
    req: Request<Incoming>,
    method: &Method,
    parts: &[&str],
) -> Response<Body> {
    match (method, parts) {
        (&Method::GET, ["instances"]) => list_instances(app, who).await,
        (&Method::POST, ["instances"]) => create_instance(app, who, req).await,
        (&Method::GET, ["instances", name]) => show_instance(app, name).await,
        (&Method::PATCH, ["instances", name]) => update_instance(app, who, name, req).await,
        (&Method::DELETE, ["instances", name]) => delete_instance(app, name).await,
        (&Method::POST, ["instances", name, "provision"]) => provision(app, name).await,
        (&Method::POST, ["instances", name, "test"]) => test_instance(app, name).await,
        (&Method::POST, ["instances", name, "reconcile"]) => reconcile(app, name, req).await,
        (&Method::POST, ["instances", name, "import"]) => import(app, name, req).await,
        (_, ["instances", name, "connection", rest @ ..]) => {
            connection::handle(app, name, req, rest).await
        }
        (&Method::POST, ["instances", name, "pairing-links"]) => {
            access::pairing_link(app, who, name, req).await
        }
        (&Method::POST, ["instances", name, "messages"]) => messages::create(app, name, req).await,
        (&Method::GET, ["instances", name, "messages", id]) => messages::show(app, name, id).await,
        (&Method::GET, ["imports"]) => list_imports(app, who, &query(&req)).await,
        (&Method::GET, ["imports", id]) => show_import(app, who, id).await,
        (&Method::GET, ["events"]) => list_events(app, who, &query(&req)).await,
        (&Method::GET, ["events", id]) => show_event(app, who, id).await,
        (&Method::POST, ["events", id, "retry"]) => retry_event(app, who, id).await,
        (&Method::GET, ["actions"]) => access::list_actions(app, who, &query(&req)).await,
        (&Method::GET, ["activity"]) => {
            let last = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let visible = match visible_names(app, who).await {
                Ok(v) => v,
                Err(r) => return r,
            };
            sse::stream(app, last, query(&req).remove("instance"), visible)
        }
        (_, ["subscriptions", rest @ ..]) => subscriptions::handle(app, who, req, rest).await,
        (_, ["tenants", rest @ ..]) => access::tenants(app, req, rest).await,
        (_, ["keys", rest @ ..]) => access::keys(app, req, rest).await,
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    }
}

/// The names of the instances `who` sees, `None` when it sees every one.
pub(super) async fn visible_names(
    app: &State,
    who: &Principal,
) -> Result<Option<std::collections::HashSet<String>>, Response<Body>> {
    if who.is_unlimited() {
        return Ok(None);
    }
    let all = app
        .store
        .instances()
        .list()
        .await
        .map_err(|e| store_error(&e))?;
    Ok(Some(
        all.into_iter()
            .filter(|i| who.sees(i))
            .map(|i| i.config.name)
            .collect(),
    ))
}

async fn list_instances(app: &State, who: &Principal) -> Response<Body> {
    match app.store.instances().list().await {
        Ok(all) => {
            let docs: Vec<Value> = all
                .iter()
                .filter(|i| who.sees(i))
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

async fn create_instance(app: &State, who: &Principal, req: Request<Incoming>) -> Response<Body> {
    if who.instances.is_some() {
        return error(
            StatusCode::FORBIDDEN,
            "limited_key",
            "this key is limited to its instances: it cannot create others",
        );
    }
    let bytes = match body::read(req, app.limits.admin_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut doc = match instances::parse_document(&bytes) {
        Ok(doc) => doc,
        Err(f) => return failure(f),
    };
    if let Err(f) = tenant_of_document(app, who, &mut doc, true).await {
        return failure(f);
    }
    let created = instances::create(&app.store, &doc).await;
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

async fn update_instance(
    app: &State,
    who: &Principal,
    name: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    let bytes = match body::read(req, app.limits.admin_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut patch = match instances::parse_document(&bytes) {
        Ok(patch) => patch,
        Err(f) => return failure(f),
    };
    if let Err(f) = tenant_of_document(app, who, &mut patch, false).await {
        return failure(f);
    }
    let updated = instances::update(&app.store, name, &patch).await;
    match updated {
        Ok(instance) => {
            tracing::info!(instance = %instance.config.name, "instance updated");
            instance_answer(app, StatusCode::OK, &instance)
        }
        Err(f) => failure(f),
    }
}

/// Checks the `tenant` of an instance document: a tenant's key may name only its own tenant
/// (and a new instance gets it when none is named); any other tenant must exist.
pub(super) async fn tenant_of_document(
    app: &State,
    who: &Principal,
    doc: &mut Value,
    new: bool,
) -> Result<(), AdminError> {
    let Value::Object(map) = doc else {
        return Ok(());
    };
    let named = map.get("tenant").cloned();
    if let Some(own) = &who.tenant {
        match named {
            None if new => {
                map.insert("tenant".into(), json!(own));
            }
            None => {}
            Some(Value::String(t)) if t == *own => {}
            Some(_) => {
                return Err(AdminError::Invalid(
                    "tenant".to_owned(),
                    format!("this key belongs to tenant {own:?}: it may name no other"),
                ));
            }
        }
        return Ok(());
    }
    match named {
        Some(Value::String(t)) if !t.is_empty() => match app.store.tenants().get(&t).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(AdminError::Invalid(
                "tenant".to_owned(),
                format!("no tenant named {t:?}: create it with POST /api/v1/tenants"),
            )),
            Err(e) => Err(AdminError::Store(e)),
        },
        Some(Value::Null | Value::String(_)) | None => Ok(()),
        Some(_) => Err(AdminError::Invalid(
            "tenant".to_owned(),
            "a tenant's name, or null for none".to_owned(),
        )),
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

async fn list_imports(app: &State, who: &Principal, q: &HashMap<String, String>) -> Response<Body> {
    let instances: Vec<Instance> = match app.store.instances().list().await {
        Ok(i) => i.into_iter().filter(|i| who.sees(i)).collect(),
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
            &json!({ "imports": jobs.iter().filter(|j| instances.iter().any(|i| i.id == j.instance_id)).map(|j| instances::import_json(j, &name(j.instance_id))).collect::<Vec<_>>() }),
        ),
        Err(e) => store_error(&e),
    }
}

async fn show_import(app: &State, who: &Principal, id: &str) -> Response<Body> {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match app.store.imports().get(id).await {
        Ok(Some(job)) => {
            let instance = app
                .store
                .instances()
                .by_id(job.instance_id)
                .await
                .ok()
                .flatten();
            if !instance
                .as_ref()
                .map_or(who.is_unlimited(), |i| who.sees(i))
            {
                return error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("no import {id}"),
                );
            }
            let name = instance.map(|i| i.config.name).unwrap_or_default();
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

async fn list_events(app: &State, who: &Principal, q: &HashMap<String, String>) -> Response<Body> {
    let instances: Vec<Instance> = match app.store.instances().list().await {
        Ok(i) => i.into_iter().filter(|i| who.sees(i)).collect(),
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
    } else if !who.is_unlimited() {
        filter = filter.instances(instances.iter().map(|i| i.id).collect());
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

async fn show_event(app: &State, who: &Principal, id: &str) -> Response<Body> {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match event_document(app, id).await {
        Ok(Some(shown)) if sees_event(app, who, &shown.event).await => {
            json_response(StatusCode::OK, &shown.document)
        }
        Ok(Some(_)) => error(StatusCode::NOT_FOUND, "not_found", format!("no event {id}")),
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
    let mut document = event_json(&event, &names, true);
    let mut on_event = zapwoot_store::ActionFilter::default();
    on_event.target = Some(format!("event:{id}"));
    let actions = app.store.actions().list(on_event).await?;
    if let Value::Object(map) = &mut document {
        let list: Vec<Value> = actions
            .iter()
            .map(|a| json!({ "at_ms": a.at_ms, "actor": a.actor, "action": a.action }))
            .collect();
        map.insert("actions".into(), json!(list));
    }
    Ok(Some(ShownEvent {
        event,
        document,
        instance: instance.map(|i| i.config.name),
    }))
}

/// Whether `who` sees the instance of `event`.
async fn sees_event(app: &State, who: &Principal, event: &EventRecord) -> bool {
    if who.is_unlimited() {
        return true;
    }
    matches!(app.store.instances().by_id(event.instance_id).await, Ok(Some(i)) if who.sees(&i))
}

async fn retry_event(app: &State, who: &Principal, id: &str) -> Response<Body> {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if !who.is_unlimited() {
        match app.store.events().get(id).await {
            Ok(Some(event)) if sees_event(app, who, &event).await => {}
            Ok(_) => return error(StatusCode::NOT_FOUND, "not_found", format!("no event {id}")),
            Err(e) => return store_error(&e),
        }
    }
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
