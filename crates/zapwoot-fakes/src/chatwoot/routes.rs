//! Request routing and handlers of the fake Chatwoot.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::state::{
    Contact, ContactInbox, Conversation, Role, SenderRef, State, User, is_e164_suffix, now,
};
use super::{ApiError, Core, MessageParams, error, not_found, render};
use crate::random;
use crate::server::{FakeRequest, Reply, empty, json as json_response, plain};

type Answer = Result<(StatusCode, Value), ApiError>;

fn ok(value: Value) -> Answer {
    Ok((StatusCode::OK, value))
}

fn unprocessable(message: &str, attribute: &str) -> ApiError {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({ "message": message, "attributes": [attribute] }),
    )
}

fn unauthorized(message: &str) -> ApiError {
    error(StatusCode::UNAUTHORIZED, message)
}

pub(crate) async fn handle(core: &Arc<Core>, req: FakeRequest) -> Reply {
    let path = req.path.clone();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method.clone();
    match (&method, segments.as_slice()) {
        (&Method::GET, ["rails", "active_storage", "blobs", "redirect", key, name])
        | (
            &Method::GET,
            [
                "rails",
                "active_storage",
                "representations",
                "redirect",
                key,
                _,
                name,
            ],
        ) => Reply::Send(redirect_to_storage(core, key, name)),
        (&Method::GET, ["storage", key, _name]) => Reply::Send(serve_blob(core, key)),
        (_, ["api", "v1", "profile"]) if method == Method::GET => {
            Reply::Send(respond(profile(core, &req)))
        }
        (_, ["api", "v1", "accounts", account, rest @ ..]) => {
            let rest: Vec<String> = rest.iter().map(|s| (*s).to_owned()).collect();
            match account_route(core, &req, account, &rest).await {
                Some(answer) => Reply::Send(respond(answer)),
                None => Reply::Unrouted(json_response(
                    StatusCode::NOT_FOUND,
                    &json!({ "error": "Resource could not be found" }),
                )),
            }
        }
        _ => Reply::Unrouted(plain(StatusCode::NOT_FOUND, "Not Found")),
    }
}

fn respond(answer: Answer) -> http::Response<http_body_util::Full<Bytes>> {
    match answer {
        Ok((status, Value::Null)) | Err((status, Value::Null)) => empty(status),
        Ok((status, value)) | Err((status, value)) => json_response(status, &value),
    }
}

/// `api_access_token` (or `Api-Access-Token`) → user.
fn authenticate(core: &Core, req: &FakeRequest) -> Result<User, ApiError> {
    let token = req
        .header("api_access_token")
        .or_else(|| req.header("api-access-token"));
    let Some(token) = token else {
        return Err((
            StatusCode::UNAUTHORIZED,
            json!({ "errors": ["You need to sign in or sign up before continuing."] }),
        ));
    };
    core.state()
        .user_by_token(token)
        .cloned()
        .ok_or_else(|| unauthorized("Invalid Access Token"))
}

fn profile(core: &Core, req: &FakeRequest) -> Answer {
    let user = authenticate(core, req)?;
    let state = core.state();
    ok(json!({
        "id": user.id, "email": user.email, "name": user.name, "available_name": user.name,
        "account_id": state.account_id, "role": user.role.as_str(), "access_token": user.token,
        "accounts": [{ "id": state.account_id, "name": state.account_name, "status": "active",
                       "role": user.role.as_str(), "availability": "online" }],
    }))
}

fn body_json(req: &FakeRequest) -> Result<Map<String, Value>, ApiError> {
    if req.body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "request body must be a JSON object",
        )),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("Error occurred while parsing request parameters: {e}"),
        )),
    }
}

fn id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| not_found())
}

/// Field type checks, following the swagger schemas.
fn opt_str(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(unprocessable(&format!("{key} must be a string"), key)),
    }
}

fn opt_u64(body: &Map<String, Value>, key: &str) -> Result<Option<u64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| unprocessable(&format!("{key} must be a positive integer"), key)),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| unprocessable(&format!("{key} must be an integer"), key)),
        Some(_) => Err(unprocessable(&format!("{key} must be an integer"), key)),
    }
}

fn opt_object(
    body: &Map<String, Value>,
    key: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(_) => Err(unprocessable(&format!("{key} must be an object"), key)),
    }
}

fn flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

async fn account_route(
    core: &Arc<Core>,
    req: &FakeRequest,
    account: &str,
    rest: &[String],
) -> Option<Answer> {
    let user = match authenticate(core, req) {
        Ok(user) => user,
        Err(e) => return Some(Err(e)),
    };
    if account.parse::<u64>().ok() != Some(core.state().account_id) {
        return Some(Err(unauthorized(
            "You are not authorized to access this account",
        )));
    }
    let admin = user.role == Role::Administrator;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let m = &req.method;
    let answer = match rest.as_slice() {
        ["inboxes"] if m == Method::GET => list_inboxes(core, admin),
        ["inboxes"] if m == Method::POST => {
            admin_only(admin).and_then(|()| create_inbox(core, req))
        }
        ["inboxes", i] if m == Method::GET => show_inbox(core, i, admin),
        ["inboxes", i] if m == Method::PATCH => {
            admin_only(admin).and_then(|()| update_inbox(core, req, i))
        }
        ["inboxes", i, "reset_secret"] if m == Method::POST => {
            admin_only(admin).and_then(|()| reset_secret(core, i))
        }
        ["contact_inboxes", "filter"] if m == Method::POST => filter_contact_inbox(core, req),
        ["contacts", "filter"] if m == Method::POST => filter_contacts(core, req),
        ["contacts", "search"] if m == Method::GET => search_contacts(core, req),
        ["contacts"] if m == Method::POST => create_contact(core, req),
        ["contacts", c] if m == Method::GET => show_contact(core, c),
        ["contacts", c] if m == Method::PUT || m == Method::PATCH => update_contact(core, req, c),
        ["contacts", c, "contact_inboxes"] if m == Method::POST => add_contact_inbox(core, req, c),
        ["contacts", c, "conversations"] if m == Method::GET => contact_conversations(core, c),
        ["conversations"] if m == Method::GET => list_conversations(core, req),
        ["conversations"] if m == Method::POST => create_conversation(core, req),
        ["conversations", c] if m == Method::GET => show_conversation(core, c),
        ["conversations", c, "toggle_status"] if m == Method::POST => toggle_status(core, req, c),
        ["conversations", c, "toggle_typing_status"] if m == Method::POST => {
            toggle_typing(core, req, c, &user)
        }
        ["conversations", c, "messages"] if m == Method::GET => list_messages(core, req, c),
        ["conversations", c, "messages"] if m == Method::POST => {
            create_message(core, req, c, &user).await
        }
        ["conversations", c, "messages", msg] if m == Method::PATCH => {
            update_message_status(core, req, c, msg)
        }
        ["conversations", c, "messages", msg] if m == Method::DELETE => {
            delete_message_route(core, c, msg)
        }
        _ => return None,
    };
    Some(answer)
}

fn admin_only(admin: bool) -> Result<(), ApiError> {
    if admin {
        Ok(())
    } else {
        Err(unauthorized("You are not authorized to do this action"))
    }
}

// ----------------------------------------------------------------------------------- inboxes

fn list_inboxes(core: &Core, admin: bool) -> Answer {
    let state = core.state();
    ok(
        json!({ "payload": state.inboxes.values().map(|i| render::inbox(i, admin, core.config.sign_webhooks)).collect::<Vec<_>>() }),
    )
}

fn show_inbox(core: &Core, inbox: &str, admin: bool) -> Answer {
    let state = core.state();
    let inbox = state.inboxes.get(&id(inbox)?).ok_or_else(not_found)?;
    ok(render::inbox(inbox, admin, core.config.sign_webhooks))
}

fn create_inbox(core: &Core, req: &FakeRequest) -> Answer {
    let body = body_json(req)?;
    let name = opt_str(&body, "name")?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| unprocessable("Name can't be blank", "name"))?;
    let channel = opt_object(&body, "channel")?.ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "param is missing or the value is empty: channel",
        )
    })?;
    if channel.get("type").and_then(Value::as_str) != Some("api") {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid channel type",
        ));
    }
    let webhook_url = opt_str(&channel, "webhook_url")?;
    if webhook_url.as_ref().is_some_and(|u| u.len() > 2048) {
        return Err(unprocessable(
            "Webhook url is too long (maximum is 2048 characters)",
            "webhook_url",
        ));
    }
    let mut state = core.state();
    let inbox_id = state.next_id();
    let inbox = super::state::Inbox {
        id: inbox_id,
        name,
        api: true,
        webhook_url,
        secret: random::base58(24),
        identifier: random::base58(24),
        lock_to_single_conversation: flag(body.get("lock_to_single_conversation")),
    };
    let rendered = render::inbox(&inbox, true, core.config.sign_webhooks);
    state.inboxes.insert(inbox_id, inbox);
    ok(rendered)
}

fn update_inbox(core: &Core, req: &FakeRequest, inbox: &str) -> Answer {
    let body = body_json(req)?;
    let mut state = core.state();
    let inbox = state.inboxes.get_mut(&id(inbox)?).ok_or_else(not_found)?;
    if let Some(name) = opt_str(&body, "name")? {
        inbox.name = name;
    }
    if let Some(channel) = opt_object(&body, "channel")?
        && let Some(url) = opt_str(&channel, "webhook_url")?
    {
        inbox.webhook_url = Some(url);
    }
    if body.contains_key("lock_to_single_conversation") {
        inbox.lock_to_single_conversation = flag(body.get("lock_to_single_conversation"));
    }
    ok(render::inbox(inbox, true, core.config.sign_webhooks))
}

fn reset_secret(core: &Core, inbox: &str) -> Answer {
    let mut state = core.state();
    let inbox = state
        .inboxes
        .get_mut(&id(inbox)?)
        .filter(|i| i.api)
        .ok_or_else(not_found)?;
    inbox.secret = random::base58(24);
    ok(render::inbox(inbox, true, core.config.sign_webhooks))
}

// ---------------------------------------------------------------------------------- contacts

fn filter_contact_inbox(core: &Core, req: &FakeRequest) -> Answer {
    let body = body_json(req)?;
    let inbox_id = opt_u64(&body, "inbox_id")?.ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "param is missing or the value is empty: inbox_id",
        )
    })?;
    let source_id = opt_str(&body, "source_id")?.ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "param is missing or the value is empty: source_id",
        )
    })?;
    let state = core.state();
    let Some(ci) = state.contact_inbox_by_source(inbox_id, &source_id) else {
        return Err((StatusCode::NOT_FOUND, Value::Null)); // `head :not_found`
    };
    let contact = state.contacts.get(&ci.contact_id).ok_or_else(not_found)?;
    ok(render::contact_rest(&state, contact, true))
}

fn filter_contacts(core: &Core, req: &FakeRequest) -> Answer {
    let body = body_json(req)?;
    let Some(Value::Array(filters)) = body.get("payload") else {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "param is missing or the value is empty: payload",
        ));
    };
    let state = core.state();
    let matches: Vec<Value> = state
        .contacts
        .values()
        .filter(|c| {
            filters.iter().all(|f| {
                let key = f
                    .get("attribute_key")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let op = f
                    .get("filter_operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let values: Vec<&str> = f
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|v| v.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let field = match key {
                    "phone_number" => c.phone_number.as_deref(),
                    "email" => c.email.as_deref(),
                    "identifier" => c.identifier.as_deref(),
                    "name" => Some(c.name.as_str()),
                    _ => None,
                };
                op == "equal_to" && field.is_some_and(|v| values.contains(&v))
            })
        })
        .map(|c| render::contact_rest(&state, c, false))
        .collect();
    ok(json!({ "meta": { "count": matches.len(), "current_page": 1 }, "payload": matches }))
}

fn search_contacts(core: &Core, req: &FakeRequest) -> Answer {
    let q = req.query_param("q").unwrap_or_default();
    let page: usize = req
        .query_param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let with_inboxes = req.query_param("include_contact_inboxes").as_deref() != Some("false");
    let lower = q.to_lowercase();
    let state = core.state();
    let all: Vec<&Contact> = state
        .contacts
        .values()
        .filter(|c| {
            c.name.to_lowercase().contains(&lower)
                || c.email
                    .as_deref()
                    .is_some_and(|e| e.to_lowercase().contains(&lower))
                || c.phone_number.as_deref().is_some_and(|p| p.contains(&q))
                || c.identifier.as_deref().is_some_and(|i| i.contains(&q))
        })
        .collect();
    let payload: Vec<Value> = all
        .iter()
        .skip((page - 1) * 15)
        .take(15)
        .map(|c| render::contact_rest(&state, c, with_inboxes))
        .collect();
    ok(
        json!({ "meta": { "count": all.len(), "current_page": page.to_string(), "has_more": all.len() > page * 15 }, "payload": payload }),
    )
}

/// Validates and applies contact fields (create and update).
fn apply_contact_fields(
    state: &State,
    contact: &mut Contact,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(name) = opt_str(body, "name")? {
        contact.name = name;
    }
    if body.contains_key("phone_number") {
        let phone = opt_str(body, "phone_number")?.filter(|p| !p.is_empty());
        if let Some(p) = &phone {
            if !is_e164_suffix(p) {
                return Err(unprocessable(
                    "Phone number should be in e164 format",
                    "phone_number",
                ));
            }
            if state
                .contacts
                .values()
                .any(|c| c.id != contact.id && c.phone_number.as_deref() == Some(p))
            {
                return Err(unprocessable(
                    "Phone number has already been taken",
                    "phone_number",
                ));
            }
        }
        contact.phone_number = phone;
    }
    if body.contains_key("email") {
        let email = opt_str(body, "email")?
            .filter(|e| !e.is_empty())
            .map(|e| e.to_lowercase());
        if let Some(e) = &email
            && state
                .contacts
                .values()
                .any(|c| c.id != contact.id && c.email.as_deref() == Some(e))
        {
            return Err(unprocessable("Email has already been taken", "email"));
        }
        contact.email = email;
    }
    if body.contains_key("identifier") {
        let identifier = opt_str(body, "identifier")?.filter(|i| !i.is_empty());
        if let Some(i) = &identifier
            && state
                .contacts
                .values()
                .any(|c| c.id != contact.id && c.identifier.as_deref() == Some(i))
        {
            return Err(unprocessable(
                "Identifier has already been taken",
                "identifier",
            ));
        }
        contact.identifier = identifier;
    }
    if let Some(blocked) = body.get("blocked") {
        contact.blocked = flag(Some(blocked));
    }
    // Attribute maps are merged, not replaced.
    if let Some(attrs) = opt_object(body, "additional_attributes")? {
        contact.additional_attributes.extend(attrs);
    }
    if let Some(attrs) = opt_object(body, "custom_attributes")? {
        contact.custom_attributes.extend(attrs);
    }
    Ok(())
}

fn create_contact(core: &Core, req: &FakeRequest) -> Answer {
    let body = body_json(req)?;
    let inbox_id = opt_u64(&body, "inbox_id")?;
    let source_id = opt_str(&body, "source_id")?;
    let mut state = core.state();
    if let Some(inbox) = inbox_id
        && !state.inboxes.contains_key(&inbox)
    {
        return Err(not_found());
    }
    let contact_id = state.next_id();
    let mut contact = Contact {
        id: contact_id,
        name: String::new(),
        phone_number: None,
        email: None,
        identifier: None,
        blocked: false,
        additional_attributes: Map::new(),
        custom_attributes: Map::new(),
        created_at: now(),
    };
    apply_contact_fields(&state, &mut contact, &body)?;
    if let (Some(inbox), Some(source)) = (inbox_id, &source_id)
        && state.contact_inbox_by_source(inbox, source).is_some()
    {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "source_id should be unique",
        ));
    }
    state.contacts.insert(contact_id, contact.clone());
    let contact_inbox = inbox_id.map(|inbox| {
        let ci = ContactInbox {
            id: state.next_id(),
            contact_id,
            inbox_id: inbox,
            source_id: source_id.unwrap_or_else(random::uuid),
            created_at: now(),
        };
        state.contact_inboxes.push(ci.clone());
        ci
    });
    let contact_json = render::contact_rest(&state, &contact, true);
    let contact_inbox_json = contact_inbox.map_or(Value::Null, |ci| {
        let inbox = state
            .inboxes
            .get(&ci.inbox_id)
            .map_or(Value::Null, |i| render::inbox(i, false, false));
        json!({ "inbox": inbox, "source_id": ci.source_id })
    });
    ok(json!({ "payload": { "contact": contact_json, "contact_inbox": contact_inbox_json } }))
}

fn show_contact(core: &Core, contact: &str) -> Answer {
    let state = core.state();
    let contact = state.contacts.get(&id(contact)?).ok_or_else(not_found)?;
    ok(json!({ "payload": render::contact_rest(&state, contact, true) }))
}

fn update_contact(core: &Core, req: &FakeRequest, contact: &str) -> Answer {
    let body = body_json(req)?;
    let mut state = core.state();
    let contact_id = id(contact)?;
    let mut contact = state
        .contacts
        .get(&contact_id)
        .cloned()
        .ok_or_else(not_found)?;
    apply_contact_fields(&state, &mut contact, &body)?;
    state.contacts.insert(contact_id, contact.clone());
    ok(json!({ "payload": render::contact_rest(&state, &contact, true) }))
}

fn add_contact_inbox(core: &Core, req: &FakeRequest, contact: &str) -> Answer {
    let body = body_json(req)?;
    let contact_id = id(contact)?;
    let inbox_id = opt_u64(&body, "inbox_id")?.ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "param is missing or the value is empty: inbox_id",
        )
    })?;
    let source_id = opt_str(&body, "source_id")?.unwrap_or_else(random::uuid);
    let mut state = core.state();
    if !state.contacts.contains_key(&contact_id) {
        return Err(not_found());
    }
    let inbox = state
        .inboxes
        .get(&inbox_id)
        .cloned()
        .ok_or_else(not_found)?;
    match state.contact_inbox_by_source(inbox_id, &source_id) {
        Some(ci) if ci.contact_id != contact_id => {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ActiveRecord::RecordNotUnique",
            ));
        }
        Some(_) => {}
        None => {
            let ci = ContactInbox {
                id: state.next_id(),
                contact_id,
                inbox_id,
                source_id: source_id.clone(),
                created_at: now(),
            };
            state.contact_inboxes.push(ci);
        }
    }
    ok(
        json!({ "source_id": source_id, "inbox": { "id": inbox.id, "name": inbox.name, "channel_type": "Channel::Api" } }),
    )
}

fn contact_conversations(core: &Core, contact: &str) -> Answer {
    let contact_id = id(contact)?;
    let state = core.state();
    if !state.contacts.contains_key(&contact_id) {
        return Err(not_found());
    }
    let mut list: Vec<&Conversation> = state
        .conversations
        .values()
        .filter(|c| c.contact_id == contact_id)
        .collect();
    list.sort_by(|a, b| b.last_activity_at.total_cmp(&a.last_activity_at));
    let payload: Vec<Value> = list
        .into_iter()
        .take(20)
        .map(|c| render::conversation_rest(&state, core.base(), c))
        .collect();
    ok(json!({ "payload": payload }))
}

// ----------------------------------------------------------------------------- conversations

const STATUSES: [&str; 4] = ["open", "resolved", "pending", "snoozed"];

fn list_conversations(core: &Core, req: &FakeRequest) -> Answer {
    let inbox: Option<u64> = req.query_param("inbox_id").and_then(|i| i.parse().ok());
    let status = req
        .query_param("status")
        .unwrap_or_else(|| "open".to_owned());
    let page: usize = req
        .query_param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let state = core.state();
    let mut list: Vec<&Conversation> = state
        .conversations
        .values()
        .filter(|c| {
            inbox.is_none_or(|i| c.inbox_id == i) && (status == "all" || c.status == status)
        })
        .collect();
    list.sort_by(|a, b| b.last_activity_at.total_cmp(&a.last_activity_at));
    let count = list.len();
    let payload: Vec<Value> = list
        .into_iter()
        .skip((page - 1) * 25)
        .take(25)
        .map(|c| render::conversation_rest(&state, core.base(), c))
        .collect();
    ok(
        json!({ "data": { "meta": { "mine_count": 0, "unassigned_count": count, "assigned_count": 0, "all_count": count }, "payload": payload } }),
    )
}

fn create_conversation(core: &Core, req: &FakeRequest) -> Answer {
    let body = body_json(req)?;
    let source_id = opt_str(&body, "source_id")?.ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "param is missing or the value is empty: source_id",
        )
    })?;
    let inbox_id = opt_u64(&body, "inbox_id")?;
    let contact_id = opt_u64(&body, "contact_id")?;
    let status = opt_str(&body, "status")?.unwrap_or_else(|| "open".to_owned());
    if !STATUSES.contains(&status.as_str()) {
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("'{status}' is not a valid status"),
        ));
    }
    let additional = opt_object(&body, "additional_attributes")?.unwrap_or_default();
    let custom = opt_object(&body, "custom_attributes")?.unwrap_or_default();
    let mut state = core.state();
    let contact_inbox = match (inbox_id, contact_id) {
        (Some(inbox), Some(contact)) => {
            if !state.inboxes.contains_key(&inbox) || !state.contacts.contains_key(&contact) {
                return Err(not_found());
            }
            match state.contact_inbox_by_source(inbox, &source_id).cloned() {
                Some(ci) if ci.contact_id != contact => {
                    return Err(error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "source_id should be unique",
                    ));
                }
                Some(ci) => ci,
                None => {
                    let ci = ContactInbox {
                        id: state.next_id(),
                        contact_id: contact,
                        inbox_id: inbox,
                        source_id: source_id.clone(),
                        created_at: now(),
                    };
                    state.contact_inboxes.push(ci.clone());
                    ci
                }
            }
        }
        _ => state
            .contact_inboxes
            .iter()
            .find(|ci| ci.source_id == source_id)
            .cloned()
            .ok_or_else(not_found)?,
    };
    let locked = state
        .inboxes
        .get(&contact_inbox.inbox_id)
        .is_some_and(|i| i.lock_to_single_conversation);
    if locked
        && let Some(last) = state
            .conversations
            .values()
            .rev()
            .find(|c| c.contact_inbox_id == contact_inbox.id)
    {
        return ok(render::conversation_rest(&state, core.base(), last));
    }
    let blocked = state
        .contacts
        .get(&contact_inbox.contact_id)
        .is_some_and(|c| c.blocked);
    let display_id = state.conversations.keys().next_back().map_or(1, |k| k + 1);
    let t = now();
    state.conversations.insert(
        display_id,
        Conversation {
            id: display_id,
            inbox_id: contact_inbox.inbox_id,
            contact_id: contact_inbox.contact_id,
            contact_inbox_id: contact_inbox.id,
            status: if blocked {
                "resolved".to_owned()
            } else {
                status
            },
            additional_attributes: additional,
            custom_attributes: custom,
            created_at: t,
            updated_at: t,
            last_activity_at: t,
        },
    );
    core.emit_conversation(&state, display_id, "conversation_created", None);
    let conversation = state.conversations.get(&display_id).ok_or_else(not_found)?;
    ok(render::conversation_rest(&state, core.base(), conversation))
}

fn show_conversation(core: &Core, conversation: &str) -> Answer {
    let state = core.state();
    let conversation = state
        .conversations
        .get(&id(conversation)?)
        .ok_or_else(not_found)?;
    ok(render::conversation_rest(&state, core.base(), conversation))
}

fn toggle_status(core: &Core, req: &FakeRequest, conversation: &str) -> Answer {
    let body = body_json(req)?;
    let conversation_id = id(conversation)?;
    let mut state = core.state();
    let current = state
        .conversations
        .get(&conversation_id)
        .map(|c| c.status.clone())
        .ok_or_else(not_found)?;
    let next = match opt_str(&body, "status")? {
        Some(s) if STATUSES.contains(&s.as_str()) => s,
        Some(s) => {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("'{s}' is not a valid status"),
            ));
        }
        None if current == "open" => "resolved".to_owned(),
        None => "open".to_owned(),
    };
    core.set_status(&mut state, conversation_id, &next);
    ok(
        json!({ "meta": {}, "payload": { "success": true, "conversation_id": conversation_id, "current_status": next, "snoozed_until": body.get("snoozed_until").cloned().unwrap_or(Value::Null) } }),
    )
}

fn toggle_typing(core: &Core, req: &FakeRequest, conversation: &str, user: &User) -> Answer {
    let body = body_json(req)?;
    let conversation_id = id(conversation)?;
    let state = core.state();
    if !state.conversations.contains_key(&conversation_id) {
        return Err(not_found());
    }
    let on = match opt_str(&body, "typing_status")?.as_deref() {
        Some("on") => true,
        Some("off") => false,
        _ => {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "typing_status must be on or off",
            ));
        }
    };
    core.emit_typing(
        &state,
        conversation_id,
        user,
        on,
        flag(body.get("is_private")),
    );
    ok(Value::Null)
}

// ---------------------------------------------------------------------------------- messages

fn list_messages(core: &Core, req: &FakeRequest, conversation: &str) -> Answer {
    let conversation_id = id(conversation)?;
    let before: Option<u64> = req.query_param("before").and_then(|v| v.parse().ok());
    let after: Option<u64> = req.query_param("after").and_then(|v| v.parse().ok());
    let state = core.state();
    let conversation = state
        .conversations
        .get(&conversation_id)
        .ok_or_else(not_found)?;
    let ids = state
        .conversation_messages
        .get(&conversation_id)
        .cloned()
        .unwrap_or_default();
    let selected: Vec<u64> = match (before, after) {
        (_, Some(after)) => ids.into_iter().filter(|i| *i > after).take(100).collect(),
        (Some(before), None) => {
            let older: Vec<u64> = ids.into_iter().filter(|i| *i < before).collect();
            older
                .get(older.len().saturating_sub(20)..)
                .unwrap_or_default()
                .to_vec()
        }
        (None, None) => ids
            .get(ids.len().saturating_sub(20)..)
            .unwrap_or_default()
            .to_vec(),
    };
    let payload: Vec<Value> = selected
        .iter()
        .filter_map(|i| state.messages.get(i))
        .map(|m| render::message_rest(&state, core.base(), m))
        .collect();
    let contact = state
        .contacts
        .get(&conversation.contact_id)
        .map_or(Value::Null, render::contact_push);
    ok(
        json!({ "meta": { "labels": [], "additional_attributes": {}, "contact": contact, "agent_last_seen_at": 0, "assignee_last_seen_at": 0 }, "payload": payload }),
    )
}

async fn create_message(
    core: &Arc<Core>,
    req: &FakeRequest,
    conversation: &str,
    user: &User,
) -> Answer {
    let conversation_id = id(conversation)?;
    let content_type = req.header("content-type").unwrap_or_default().to_owned();
    let fields = if content_type.starts_with("multipart/form-data") {
        multipart_fields(&content_type, req.body.clone()).await?
    } else {
        let body = body_json(req)?;
        let mut fields = MessageFields::default();
        for (k, v) in body {
            fields.values.insert(k, v);
        }
        fields
    };
    let params = fields.into_params()?;
    let message_id = core.create_message(conversation_id, params, SenderRef::User(user.id))?;
    let state = core.state();
    let message = state.messages.get(&message_id).ok_or_else(not_found)?;
    ok(render::message_rest(&state, core.base(), message))
}

#[derive(Debug, Default)]
struct MessageFields {
    values: Map<String, Value>,
    files: Vec<(String, String, Bytes)>,
}

impl MessageFields {
    fn into_params(self) -> Result<MessageParams, ApiError> {
        let v = &self.values;
        let message_type = match opt_str(v, "message_type")?.as_deref() {
            None | Some("outgoing") => 1,
            Some("incoming") => 0,
            Some("template") => 3,
            Some(other) => {
                return Err(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("'{other}' is not a valid message_type"),
                ));
            }
        };
        let content_attributes = match v.get("content_attributes") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            // Multipart sends it as a JSON string.
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(unprocessable(
                        "content_attributes must be a JSON object",
                        "content_attributes",
                    ));
                }
            },
            Some(_) => {
                return Err(unprocessable(
                    "content_attributes must be an object",
                    "content_attributes",
                ));
            }
        };
        Ok(MessageParams {
            content: opt_str(v, "content")?,
            message_type,
            private: flag(v.get("private")),
            content_type: opt_str(v, "content_type")?.unwrap_or_default(),
            content_attributes,
            source_id: opt_str(v, "source_id")?,
            echo_id: v.get("echo_id").cloned(),
            external_created_at: v.get("external_created_at").cloned(),
            is_voice_message: flag(v.get("is_voice_message")),
            attachments: self.files,
        })
    }
}

async fn multipart_fields(content_type: &str, body: Bytes) -> Result<MessageFields, ApiError> {
    let bad = |e: &dyn std::fmt::Display| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("invalid multipart body: {e}"),
        )
    };
    let boundary = multer::parse_boundary(content_type).map_err(|e| bad(&e))?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = MessageFields::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| bad(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let part_type = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.map_err(|e| bad(&e))?;
        if name == "attachments[]" {
            let Some(file_name) = file_name else {
                // Strings are ActiveStorage signed blob ids (direct uploads): not supported here.
                return Err(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "attachments[] must be file parts",
                ));
            };
            fields.files.push((
                file_name,
                part_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
                data,
            ));
        } else {
            fields.values.insert(
                name,
                Value::String(String::from_utf8_lossy(&data).into_owned()),
            );
        }
    }
    Ok(fields)
}

fn update_message_status(
    core: &Core,
    req: &FakeRequest,
    conversation: &str,
    message: &str,
) -> Answer {
    let body = body_json(req)?;
    let conversation_id = id(conversation)?;
    let message_id = id(message)?;
    let mut state = core.state();
    let inbox_id = state
        .conversations
        .get(&conversation_id)
        .map(|c| c.inbox_id)
        .ok_or_else(not_found)?;
    if !state.inboxes.get(&inbox_id).is_some_and(|i| i.api) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "Message status update is only allowed for API inboxes",
        ));
    }
    let m = state
        .messages
        .get_mut(&message_id)
        .filter(|m| m.conversation_id == conversation_id)
        .ok_or_else(not_found)?;
    let status = opt_str(&body, "status")?;
    let changed = match status.as_deref() {
        Some(s @ ("sent" | "delivered" | "read" | "failed"))
            if !(m.status == "read" && s == "delivered") && m.status != s =>
        {
            m.status = s.to_owned();
            if s == "failed" {
                let external = body.get("external_error").cloned().unwrap_or(Value::Null);
                m.content_attributes
                    .insert("external_error".into(), external);
            } else {
                m.content_attributes
                    .insert("external_error".into(), Value::Null);
            }
            true
        }
        _ => false,
    };
    if changed {
        core.emit_message(&state, message_id, "message_updated");
    }
    let m = state.messages.get(&message_id).ok_or_else(not_found)?;
    ok(render::message_rest(&state, core.base(), m))
}

fn delete_message_route(core: &Core, conversation: &str, message: &str) -> Answer {
    let conversation_id = id(conversation)?;
    let message_id = id(message)?;
    let belongs = core
        .state()
        .messages
        .get(&message_id)
        .is_some_and(|m| m.conversation_id == conversation_id);
    if !belongs || !delete_message(core, message_id) {
        return Err(not_found());
    }
    let state = core.state();
    let m = state.messages.get(&message_id).ok_or_else(not_found)?;
    ok(render::message_rest(&state, core.base(), m))
}

/// Upstream's soft delete: localized text, `{deleted: true}`, attachments destroyed.
pub(crate) fn delete_message(core: &Core, message_id: u64) -> bool {
    let mut state = core.state();
    let Some(m) = state.messages.get_mut(&message_id) else {
        return false;
    };
    m.content = Some("This message was deleted".to_owned());
    m.content_type = "text".to_owned();
    m.content_attributes = Map::from_iter([("deleted".to_owned(), Value::Bool(true))]);
    let removed = std::mem::take(&mut m.attachment_ids);
    for attachment in removed {
        if let Some(a) = state.attachments.remove(&attachment) {
            state.blobs.remove(&a.blob_key);
        }
    }
    core.emit_message(&state, message_id, "message_updated");
    true
}

// ---------------------------------------------------------------------------------- storage

fn redirect_to_storage(
    core: &Core,
    key: &str,
    name: &str,
) -> http::Response<http_body_util::Full<Bytes>> {
    if !core.state().blobs.contains_key(key) {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    }
    let mut response = empty(StatusCode::FOUND);
    let location = format!("{}/storage/{key}/{name}", core.base());
    if let Ok(value) = http::HeaderValue::from_str(&location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    response
}

fn serve_blob(core: &Core, key: &str) -> http::Response<http_body_util::Full<Bytes>> {
    let state = core.state();
    let Some(attachment) = state
        .blobs
        .get(key)
        .and_then(|id| state.attachments.get(id))
    else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    let mut response = http::Response::new(http_body_util::Full::new(attachment.bytes.clone()));
    let headers = response.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(&attachment.content_type) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    let disposition = format!(
        "inline; filename=\"{}\"",
        attachment.file_name.replace('"', "")
    );
    if let Ok(v) = http::HeaderValue::from_str(&disposition) {
        headers.insert(http::header::CONTENT_DISPOSITION, v);
    }
    response
}
