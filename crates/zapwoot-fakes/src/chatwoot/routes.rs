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

mod contacts;
mod conversations;
mod inboxes;
mod messages;
use contacts::{
    add_contact_inbox, contact_conversations, create_contact, filter_contact_inbox,
    filter_contacts, search_contacts, show_contact, update_contact,
};
use conversations::{
    create_conversation, list_conversations, show_conversation, toggle_status, toggle_typing,
};
use inboxes::{create_inbox, list_inboxes, reset_secret, show_inbox, update_inbox};
pub(crate) use messages::delete_message;
use messages::{create_message, delete_message_route, list_messages, update_message_status};

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
        (
            &Method::POST,
            [
                "public",
                "api",
                "v1",
                "inboxes",
                inbox,
                "contacts",
                source,
                "conversations",
                conversation,
                "toggle_typing",
            ],
        ) => Reply::Send(respond(public_toggle_typing(
            core,
            &req,
            inbox,
            source,
            conversation,
        ))),
        (&Method::PUT, ["public", "api", "v1", "csat_survey", uuid]) => {
            Reply::Send(respond(public_csat(core, &req, uuid)))
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

/// `POST /public/api/v1/inboxes/{identifier}/contacts/{source_id}/conversations/{id}/toggle_typing`
/// (`Public::Api::V1::Inboxes::ConversationsController#toggle_typing`): no token; the API
/// inbox by its identifier, the contact inbox by source id, the conversation by display id
/// among that contact inbox's conversations (else 404); `typing_status` `on` / `off` emits
/// the typing webhook as the contact, anything else nothing; 200 with no body.
fn public_toggle_typing(
    core: &Core,
    req: &FakeRequest,
    identifier: &str,
    source: &str,
    conversation: &str,
) -> Answer {
    let state = core.state();
    let inbox = state
        .inboxes
        .values()
        .find(|i| i.api && i.identifier == identifier)
        .ok_or_else(not_found)?;
    let source = crate::server::decode(source);
    let contact_inbox = state
        .contact_inbox_by_source(inbox.id, &source)
        .ok_or_else(not_found)?
        .clone();
    let conversation_id = conversation.parse::<u64>().map_err(|_| not_found())?;
    let found = state
        .conversations
        .get(&conversation_id)
        .is_some_and(|c| c.contact_inbox_id == contact_inbox.id);
    if !found {
        return Err(not_found());
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let status = body
        .get("typing_status")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| req.query_param("typing_status"));
    let on = match status.as_deref() {
        Some("on") => true,
        Some("off") => false,
        _ => return Ok((StatusCode::OK, Value::Null)),
    };
    drop(state);
    let mut state = core.state();
    state.contact_typing.push((conversation_id, on));
    core.emit_contact_typing(&state, conversation_id, on);
    Ok((StatusCode::OK, Value::Null))
}

/// `PUT /public/api/v1/csat_survey/{uuid}` (`Public::Api::V1::CsatSurveyController#update`):
/// the conversation by UUID and its `input_csat` message (else 404), 422 after 14 days, then
/// `message.submitted_values.csat_survey_response` `{rating, feedback_message}` is stored on
/// the message (a `message_updated` webhook) and counted as a response.
fn public_csat(core: &Core, req: &FakeRequest, uuid: &str) -> Answer {
    let mut state = core.state();
    let conversation_id = state
        .conversations
        .keys()
        .copied()
        .find(|id| render::conversation_uuid(*id) == uuid)
        .ok_or_else(not_found)?;
    let message_id = state
        .messages
        .values()
        .find(|m| m.conversation_id == conversation_id && m.content_type == "input_csat")
        .map(|m| m.id)
        .ok_or_else(not_found)?;
    if state
        .messages
        .get(&message_id)
        .is_some_and(|m| now() - m.created_at > 14.0 * 86_400.0)
    {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "You cannot update the CSAT survey after 14 days",
        ));
    }
    let body: Value = serde_json::from_slice(&req.body).map_err(|_| not_found())?;
    let response = body
        .pointer("/message/submitted_values/csat_survey_response")
        .cloned()
        .unwrap_or(Value::Null);
    let feedback = response
        .get("feedback_message")
        .cloned()
        .unwrap_or(Value::Null);
    let rating = response
        .get("rating")
        .and_then(Value::as_u64)
        .and_then(|r| u8::try_from(r).ok())
        .filter(|r| (1..=5).contains(r))
        .ok_or_else(|| unprocessable("Rating must be between 1 and 5", "rating"))?;
    if let Some(m) = state.messages.get_mut(&message_id) {
        m.content_attributes.insert(
            "submitted_values".into(),
            json!({ "csat_survey_response": { "rating": rating, "feedback_message": feedback } }),
        );
    }
    state.csat_responses.push((conversation_id, rating));
    core.emit_message(&state, message_id, "message_updated");
    let rendered = state.messages.get(&message_id).map_or(Value::Null, |m| {
        render::message_rest(&state, core.base(), m)
    });
    ok(rendered)
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
