//! The fake Chatwoot's message routes: list, create (JSON or multipart), status, delete.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the parent module, split out by topic"
)]
use super::*;

pub(super) fn list_messages(core: &Core, req: &FakeRequest, conversation: &str) -> Answer {
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

pub(super) async fn create_message(
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
pub(super) struct MessageFields {
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

pub(super) async fn multipart_fields(
    content_type: &str,
    body: Bytes,
) -> Result<MessageFields, ApiError> {
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

pub(super) fn update_message_status(
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

pub(super) fn delete_message_route(core: &Core, conversation: &str, message: &str) -> Answer {
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
