//! The fake Chatwoot's conversation routes: list, create, show, status and typing.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the parent module, split out by topic"
)]
use super::*;

pub(super) const STATUSES: [&str; 4] = ["open", "resolved", "pending", "snoozed"];

pub(super) fn list_conversations(core: &Core, req: &FakeRequest) -> Answer {
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

pub(super) fn create_conversation(core: &Core, req: &FakeRequest) -> Answer {
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

pub(super) fn show_conversation(core: &Core, conversation: &str) -> Answer {
    let state = core.state();
    let conversation = state
        .conversations
        .get(&id(conversation)?)
        .ok_or_else(not_found)?;
    ok(render::conversation_rest(&state, core.base(), conversation))
}

pub(super) fn toggle_status(core: &Core, req: &FakeRequest, conversation: &str) -> Answer {
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

pub(super) fn toggle_typing(
    core: &Core,
    req: &FakeRequest,
    conversation: &str,
    user: &User,
) -> Answer {
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
