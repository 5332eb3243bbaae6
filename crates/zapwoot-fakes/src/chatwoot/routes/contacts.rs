//! The fake Chatwoot's contact routes: create, search, filter, update, contact inboxes.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the parent module, split out by topic"
)]
use super::*;

pub(super) fn filter_contact_inbox(core: &Core, req: &FakeRequest) -> Answer {
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

pub(super) fn filter_contacts(core: &Core, req: &FakeRequest) -> Answer {
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

pub(super) fn search_contacts(core: &Core, req: &FakeRequest) -> Answer {
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
pub(super) fn apply_contact_fields(
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

pub(super) fn create_contact(core: &Core, req: &FakeRequest) -> Answer {
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

pub(super) fn show_contact(core: &Core, contact: &str) -> Answer {
    let state = core.state();
    let contact = state.contacts.get(&id(contact)?).ok_or_else(not_found)?;
    ok(json!({ "payload": render::contact_rest(&state, contact, true) }))
}

pub(super) fn update_contact(core: &Core, req: &FakeRequest, contact: &str) -> Answer {
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

pub(super) fn add_contact_inbox(core: &Core, req: &FakeRequest, contact: &str) -> Answer {
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

pub(super) fn contact_conversations(core: &Core, contact: &str) -> Answer {
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
