//! What the fake Chatwoot does on every change: state access, message creation and the webhooks each change causes.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the parent module, split out by topic"
)]
use super::*;

impl Core {
    /// Whether events of `inbox_id` go anywhere (rendering a webhook body is not free).
    pub(super) fn posts_webhooks(&self, state: &State, inbox_id: u64) -> bool {
        state
            .inboxes
            .get(&inbox_id)
            .is_some_and(|i| i.webhook_url.as_deref().is_some_and(|u| !u.is_empty()))
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        crate::server::lock(&self.state)
    }

    pub(crate) fn base(&self) -> &str {
        self.base.get().map_or("", String::as_str)
    }

    pub(super) fn enqueue(
        &self,
        state: &State,
        inbox_id: u64,
        event: &str,
        body: &Value,
        message_id: Option<u64>,
    ) {
        let Some(inbox) = state.inboxes.get(&inbox_id) else {
            return;
        };
        let Some(url) = inbox.webhook_url.clone().filter(|u| !u.is_empty()) else {
            return;
        };
        let secret = self.config.sign_webhooks.then_some(inbox.secret.as_str());
        let core = self.this.get().cloned().unwrap_or_default();
        self.webhooks.post(webhooks::post(
            core,
            url,
            secret,
            event,
            body.to_string().into_bytes(),
            message_id,
        ));
    }

    pub(crate) fn emit_message(&self, state: &State, message_id: u64, event: &str) {
        let Some(m) = state.messages.get(&message_id) else {
            return;
        };
        if m.message_type == 2 || !self.posts_webhooks(state, m.inbox_id) {
            return; // activity messages are never posted
        }
        let body = render::message_webhook(state, self.base(), m, event);
        self.enqueue(state, m.inbox_id, event, &body, Some(message_id));
    }

    pub(crate) fn emit_conversation(
        &self,
        state: &State,
        conversation_id: u64,
        event: &str,
        changed: Option<Value>,
    ) {
        let Some(c) = state.conversations.get(&conversation_id) else {
            return;
        };
        let mut body = render::conversation_webhook(state, self.base(), c);
        if let Value::Object(map) = &mut body {
            map.insert("event".into(), json!(event));
            if event != "conversation_created" {
                map.insert("changed_attributes".into(), changed.unwrap_or(Value::Null));
            }
        }
        self.enqueue(state, c.inbox_id, event, &body, None);
    }

    /// An agent typing in the dashboard: `conversation_typing_on` / `_off` with the user.
    pub(crate) fn emit_typing(
        &self,
        state: &State,
        conversation_id: u64,
        user: &User,
        on: bool,
        private: bool,
    ) {
        self.typing_webhook(
            state,
            conversation_id,
            &render::user_webhook(user),
            on,
            private,
        );
    }

    /// The contact typing through the public API: the same webhooks, with the contact as
    /// `user` (as upstream's `trigger_typing_event` with `user: @conversation.contact`).
    pub(crate) fn emit_contact_typing(&self, state: &State, conversation_id: u64, on: bool) {
        let contact = state
            .conversations
            .get(&conversation_id)
            .and_then(|c| state.contacts.get(&c.contact_id));
        if let Some(contact) = contact {
            let user = render::contact_webhook(state, contact);
            self.typing_webhook(state, conversation_id, &user, on, false);
        }
    }

    fn typing_webhook(
        &self,
        state: &State,
        conversation_id: u64,
        user: &serde_json::Value,
        on: bool,
        private: bool,
    ) {
        let Some(c) = state.conversations.get(&conversation_id) else {
            return;
        };
        let event = if on {
            "conversation_typing_on"
        } else {
            "conversation_typing_off"
        };
        let body = json!({
            "event": event,
            "user": user,
            "conversation": render::conversation_webhook(state, self.base(), c),
            "is_private": private,
        });
        self.enqueue(state, c.inbox_id, event, &body, None);
    }

    /// Sets a conversation's status, emitting `conversation_status_changed` (with
    /// `changed_attributes: null`, as upstream) and `conversation_updated`.
    pub(crate) fn set_status(&self, state: &mut State, conversation_id: u64, status: &str) {
        let Some(c) = state.conversations.get_mut(&conversation_id) else {
            return;
        };
        if c.status == status {
            return;
        }
        let previous = std::mem::replace(&mut c.status, status.to_owned());
        c.updated_at = now();
        self.emit_conversation(state, conversation_id, "conversation_status_changed", None);
        let changed =
            json!([{ "status": { "previous_value": previous, "current_value": status } }]);
        self.emit_conversation(
            state,
            conversation_id,
            "conversation_updated",
            Some(changed),
        );
    }

    /// Creates a message like `MessageBuilder`: validation, reply resolution, reopening.
    pub(crate) fn create_message(
        &self,
        conversation_id: u64,
        params: MessageParams,
        sender: SenderRef,
    ) -> Result<u64, ApiError> {
        let mut state = self.state();
        let state = &mut *state;
        let conversation = state
            .conversations
            .get(&conversation_id)
            .cloned()
            .ok_or_else(not_found)?;
        let inbox_api = state
            .inboxes
            .get(&conversation.inbox_id)
            .is_some_and(|i| i.api);
        let unprocessable = |m: &str| error(http::StatusCode::UNPROCESSABLE_ENTITY, m);
        if params.message_type == 0 && !inbox_api {
            return Err(unprocessable(
                "Incoming messages are only allowed in Api inboxes",
            ));
        }
        if params.attachments.len() > 15 {
            return Err(unprocessable(
                "Validation failed: Attachments exceed the limit of 15",
            ));
        }
        if params
            .content
            .as_deref()
            .is_some_and(|c| c.chars().count() > 150_000)
        {
            return Err(unprocessable(
                "Validation failed: Content is too long (maximum is 150000 characters)",
            ));
        }
        if state.flood_exceeded(conversation_id, self.config.flood_limit) {
            return Err(unprocessable("Validation failed: Too many messages"));
        }
        let mut attributes = params.content_attributes;
        resolve_reply(state, conversation_id, &mut attributes);
        if let Some(at) = params.external_created_at {
            attributes.insert("external_created_at".into(), at);
        }
        let sender = match (params.message_type, sender) {
            (0, _) => SenderRef::Contact(conversation.contact_id),
            (_, s) => s,
        };
        let id = state.next_id();
        let mut attachment_ids = Vec::new();
        for (file_name, content_type, bytes) in params.attachments {
            let attachment_id = state.next_id();
            let blob_key = format!("{}--{}", random::base58(28), attachment_id);
            state.blobs.insert(blob_key.clone(), attachment_id);
            let file_type = state::file_type(&content_type).to_owned();
            state.attachments.insert(
                attachment_id,
                Attachment {
                    id: attachment_id,
                    message_id: id,
                    voice: params.is_voice_message && file_type == "audio",
                    file_type,
                    content_type,
                    file_name,
                    blob_key,
                    bytes,
                },
            );
            attachment_ids.push(attachment_id);
        }
        let t = now();
        state.insert_message(Message {
            id,
            conversation_id,
            inbox_id: conversation.inbox_id,
            content: params.content,
            message_type: params.message_type,
            content_type: if params.content_type.is_empty() {
                "text".into()
            } else {
                params.content_type
            },
            content_attributes: attributes,
            private: params.private,
            status: "sent".into(),
            source_id: params.source_id,
            echo_id: params.echo_id,
            sender,
            created_at: t,
            attachment_ids,
        });
        if let Some(c) = state.conversations.get_mut(&conversation_id) {
            c.last_activity_at = t;
            c.updated_at = t;
        }
        self.emit_message(state, id, "message_created");
        if params.message_type == 0
            && matches!(conversation.status.as_str(), "resolved" | "snoozed")
        {
            self.set_status(state, conversation_id, "open");
        }
        Ok(id)
    }

    /// What upstream does when an API-inbox message webhook fails.
    pub(crate) fn mark_delivery_failed(&self, message_id: u64, error: &str) {
        let mut state = self.state();
        let Some(m) = state.messages.get_mut(&message_id) else {
            return;
        };
        if m.status == "failed" {
            return;
        }
        m.status = "failed".into();
        m.content_attributes
            .insert("external_error".into(), json!(error));
        self.emit_message(&state, message_id, "message_updated");
    }
}

/// `Messages::InReplyToMessageBuilder`: resolves `in_reply_to` ⇄ `in_reply_to_external_id`
/// within the conversation; unknown → both null.
pub(super) fn resolve_reply(
    state: &State,
    conversation_id: u64,
    attributes: &mut Map<String, Value>,
) {
    let in_conversation = |pred: &dyn Fn(&Message) -> bool| {
        state
            .conversation_messages
            .get(&conversation_id)
            .and_then(|ids| {
                ids.iter()
                    .filter_map(|id| state.messages.get(id))
                    .find(|m| pred(m))
            })
    };
    let by_id = attributes.get("in_reply_to").and_then(Value::as_u64);
    let by_external = attributes
        .get("in_reply_to_external_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if by_id.is_none() && by_external.is_none() {
        return;
    }
    let target = match (by_id, by_external) {
        (Some(id), _) => in_conversation(&|m| m.id == id),
        (None, Some(ext)) => in_conversation(&|m| m.source_id.as_deref() == Some(&ext)),
        _ => None,
    };
    attributes.insert(
        "in_reply_to".into(),
        target.map_or(Value::Null, |m| json!(m.id)),
    );
    attributes.insert(
        "in_reply_to_external_id".into(),
        target
            .and_then(|m| m.source_id.clone())
            .map_or(Value::Null, Value::from),
    );
}
