//! The JSON shapes Chatwoot v4.15 answers and posts (see `shared/specs/chatwoot.md` §2, §3.5).

use serde_json::{Map, Value, json};

use super::state::{Attachment, Contact, Conversation, Inbox, Message, SenderRef, State, User};

const MESSAGE_TYPES: [&str; 4] = ["incoming", "outgoing", "activity", "template"];

#[allow(clippy::cast_possible_truncation)]
fn unix(t: f64) -> i64 {
    t.floor() as i64
}

/// `2026-06-18T13:02:14.512Z`.
pub(crate) fn iso(t: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let millis = (t * 1000.0).floor() as i64;
    let instant = jiff::Timestamp::from_millisecond(millis).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!("{instant:.3}")
}

pub(crate) fn account(state: &State) -> Value {
    json!({ "id": state.account_id, "name": state.account_name })
}

/// `secret` is the webhook secret admins see on Chatwoot ≥ 4.13 (older ones have none).
pub(crate) fn inbox(i: &Inbox, admin: bool, secret: bool) -> Value {
    let mut v = json!({
        "id": i.id,
        "name": i.name,
        "channel_id": i.id,
        "channel_type": if i.api { "Channel::Api" } else { "Channel::WebWidget" },
        "lock_to_single_conversation": i.lock_to_single_conversation,
        "enable_auto_assignment": true,
        "greeting_enabled": false,
        "greeting_message": null,
        "working_hours_enabled": false,
        "csat_survey_enabled": false,
        "avatar_url": "",
    });
    if i.api
        && let Value::Object(map) = &mut v
    {
        map.insert(
            "webhook_url".into(),
            json!(i.webhook_url.clone().unwrap_or_default()),
        );
        map.insert("inbox_identifier".into(), json!(i.identifier));
        map.insert("additional_attributes".into(), json!({}));
        if admin {
            map.insert("hmac_token".into(), json!(format!("hmac-{}", i.identifier)));
            if secret {
                map.insert("secret".into(), json!(i.secret));
            }
        }
    }
    v
}

pub(crate) fn user_push(u: &User) -> Value {
    json!({
        "id": u.id, "name": u.name, "available_name": u.name, "avatar_url": "",
        "type": "user", "availability_status": "online", "thumbnail": ""
    })
}

pub(crate) fn user_webhook(u: &User) -> Value {
    json!({ "id": u.id, "name": u.name, "email": u.email, "type": "user" })
}

fn contact_fields(c: &Contact) -> Map<String, Value> {
    let v = json!({
        "additional_attributes": c.additional_attributes,
        "custom_attributes": c.custom_attributes,
        "email": c.email,
        "id": c.id,
        "identifier": c.identifier,
        "name": c.name,
        "phone_number": c.phone_number,
        "thumbnail": "",
        "blocked": c.blocked,
    });
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// REST contact (`_contact.json.jbuilder`), optionally with its contact inboxes.
pub(crate) fn contact_rest(state: &State, c: &Contact, with_inboxes: bool) -> Value {
    let mut map = contact_fields(c);
    map.insert("availability_status".into(), json!("offline"));
    map.insert("last_activity_at".into(), json!(unix(c.created_at)));
    map.insert("created_at".into(), json!(unix(c.created_at)));
    if with_inboxes {
        let inboxes: Vec<Value> = state
            .contact_inboxes
            .iter()
            .filter(|ci| ci.contact_id == c.id)
            .filter_map(|ci| {
                let i = state.inboxes.get(&ci.inbox_id)?;
                Some(json!({
                    "source_id": ci.source_id,
                    "inbox": { "id": i.id, "avatar_url": "", "channel_id": i.id, "name": i.name,
                               "channel_type": if i.api { "Channel::Api" } else { "Channel::WebWidget" }, "provider": null }
                }))
            })
            .collect();
        map.insert("contact_inboxes".into(), Value::Array(inboxes));
    }
    Value::Object(map)
}

/// Contact push data (inside conversations and as message sender: **with** `type`).
pub(crate) fn contact_push(c: &Contact) -> Value {
    let mut map = contact_fields(c);
    map.insert("type".into(), json!("contact"));
    Value::Object(map)
}

/// `Contact#webhook_data`: **no** `type` key.
pub(crate) fn contact_webhook(state: &State, c: &Contact) -> Value {
    let mut map = contact_fields(c);
    map.insert("account".into(), account(state));
    map.insert("avatar".into(), json!(""));
    Value::Object(map)
}

pub(crate) fn attachment(base: &str, a: &Attachment) -> Value {
    let name = url_escape(&a.file_name);
    let data_url = format!(
        "{base}/rails/active_storage/blobs/redirect/{}/{name}",
        a.blob_key
    );
    let extension = a.file_name.rsplit_once('.').map(|(_, e)| e.to_owned());
    let mut v = json!({
        "id": a.id,
        "message_id": a.message_id,
        "file_type": a.file_type,
        "account_id": 1,
        "extension": extension,
        "content_type": a.content_type,
        "data_url": data_url,
        "thumb_url": if a.file_type == "image" {
            format!("{base}/rails/active_storage/representations/redirect/{}/thumb/{name}", a.blob_key)
        } else { String::new() },
        "file_size": a.bytes.len(),
        "width": null,
        "height": null,
    });
    if a.file_type == "audio"
        && let Value::Object(map) = &mut v
    {
        map.insert(
            "data_url".into(),
            json!(format!("{data_url}?disposition=inline")),
        );
        map.insert("transcribed_text".into(), json!(""));
        if a.voice {
            map.insert("meta".into(), json!({ "is_voice_message": true }));
        }
    }
    v
}

fn attachments(state: &State, base: &str, m: &Message) -> Vec<Value> {
    m.attachment_ids
        .iter()
        .filter_map(|id| state.attachments.get(id))
        .map(|a| attachment(base, a))
        .collect()
}

fn sender_push(state: &State, m: &Message) -> Value {
    match m.sender {
        SenderRef::User(id) => state.user(id).map_or(Value::Null, user_push),
        SenderRef::Contact(id) => state.contacts.get(&id).map_or(Value::Null, contact_push),
        SenderRef::None => Value::Null,
    }
}

/// REST message (`_message.json.jbuilder`): integer `message_type`, unix `created_at`.
pub(crate) fn message_rest(state: &State, base: &str, m: &Message) -> Value {
    let mut v = json!({
        "id": m.id,
        "content": m.content,
        "inbox_id": m.inbox_id,
        "conversation_id": m.conversation_id,
        "message_type": m.message_type,
        "content_type": m.content_type,
        "status": m.status,
        "content_attributes": m.content_attributes,
        "created_at": unix(m.created_at),
        "private": m.private,
        "source_id": m.source_id,
        "sender": sender_push(state, m),
    });
    if let Value::Object(map) = &mut v {
        if let Some(echo) = &m.echo_id {
            map.insert("echo_id".into(), echo.clone());
        }
        if !m.attachment_ids.is_empty() {
            map.insert(
                "attachments".into(),
                Value::Array(attachments(state, base, m)),
            );
        }
    }
    v
}

/// Push data of a message, as in `conversation.messages[]`.
fn message_push(state: &State, base: &str, m: &Message) -> Value {
    let conversation = state.conversations.get(&m.conversation_id);
    let source_id = conversation
        .and_then(|c| state.contact_inbox(c.contact_inbox_id))
        .map(|ci| ci.source_id.clone());
    let mut v = json!({
        "id": m.id,
        "content": m.content,
        "account_id": state.account_id,
        "inbox_id": m.inbox_id,
        "conversation_id": m.conversation_id,
        "message_type": m.message_type,
        "created_at": unix(m.created_at),
        "updated_at": iso(m.created_at),
        "private": m.private,
        "status": m.status,
        "source_id": m.source_id,
        "content_type": m.content_type,
        "content_attributes": m.content_attributes,
        "sender_type": match m.sender { SenderRef::User(_) => json!("User"), SenderRef::Contact(_) => json!("Contact"), SenderRef::None => Value::Null },
        "sender_id": match m.sender { SenderRef::User(id) | SenderRef::Contact(id) => json!(id), SenderRef::None => Value::Null },
        "external_source_ids": {},
        "additional_attributes": {},
        "processed_message_content": m.content,
        "sentiment": {},
        "conversation": {
            "assignee_id": null,
            "unread_count": 0,
            "last_activity_at": conversation.map(|c| unix(c.last_activity_at)),
            "contact_inbox": { "source_id": source_id },
        },
        "sender": sender_push(state, m),
    });
    if !m.attachment_ids.is_empty()
        && let Value::Object(map) = &mut v
    {
        map.insert(
            "attachments".into(),
            Value::Array(attachments(state, base, m)),
        );
    }
    v
}

/// REST conversation (`_conversation.json.jbuilder`).
pub(crate) fn conversation_rest(state: &State, base: &str, c: &Conversation) -> Value {
    let sender = state
        .contacts
        .get(&c.contact_id)
        .map_or(Value::Null, contact_push);
    let last: Vec<Value> = state
        .last_chat_message(c.id)
        .map(|m| message_rest(state, base, m))
        .into_iter()
        .collect();
    json!({
        "id": c.id,
        "uuid": conversation_uuid(c.id),
        "account_id": state.account_id,
        "inbox_id": c.inbox_id,
        "status": c.status,
        "meta": { "sender": sender, "channel": "Channel::Api", "assignee": null, "hmac_verified": false },
        "messages": last,
        "additional_attributes": c.additional_attributes,
        "custom_attributes": c.custom_attributes,
        "labels": [],
        "muted": false,
        "can_reply": true,
        "snoozed_until": null,
        "unread_count": 0,
        "priority": null,
        "timestamp": unix(c.last_activity_at),
        "created_at": unix(c.created_at),
        "updated_at": c.updated_at,
        "last_activity_at": unix(c.last_activity_at),
        "waiting_since": unix(c.created_at),
        "sla_policy_id": null,
    })
}

/// `Conversations::EventDataPresenter#webhook_data`.
pub(crate) fn conversation_webhook(state: &State, base: &str, c: &Conversation) -> Value {
    let sender = state
        .contacts
        .get(&c.contact_id)
        .map_or(Value::Null, contact_push);
    let ci = state.contact_inbox(c.contact_inbox_id);
    let last: Vec<Value> = state
        .last_chat_message(c.id)
        .map(|m| message_push(state, base, m))
        .into_iter()
        .collect();
    json!({
        "additional_attributes": c.additional_attributes,
        "can_reply": true,
        "channel": "Channel::Api",
        "contact_inbox": ci.map(|ci| json!({
            "id": ci.id, "contact_id": ci.contact_id, "inbox_id": ci.inbox_id, "source_id": ci.source_id,
            "created_at": iso(ci.created_at), "updated_at": iso(ci.created_at), "hmac_verified": false,
            "pubsub_token": format!("pubsub-{}", ci.id),
        })),
        "id": c.id,
        "inbox_id": c.inbox_id,
        "messages": last,
        "labels": [],
        "meta": { "sender": sender, "assignee": null, "assignee_type": null, "team": null, "hmac_verified": false },
        "status": c.status,
        "custom_attributes": c.custom_attributes,
        "snoozed_until": null,
        "unread_count": 0,
        "first_reply_created_at": null,
        "priority": null,
        "waiting_since": unix(c.created_at),
        "agent_last_seen_at": 0,
        "contact_last_seen_at": 0,
        "last_activity_at": unix(c.last_activity_at),
        "timestamp": unix(c.last_activity_at),
        "created_at": unix(c.created_at),
        "updated_at": c.updated_at,
        "account": account(state),
    })
}

/// The fake's conversation UUIDs: derived from the id, so they can be found again.
pub(crate) fn conversation_uuid(id: u64) -> String {
    format!("00000000-0000-4000-8000-{id:012}")
}

/// `MessageContentPresenter#webhook_content`: a CSAT survey carries its link.
fn webhook_content(base: &str, m: &Message) -> Option<String> {
    if m.content_type == "input_csat" {
        let link = format!(
            "{}/survey/responses/{}",
            base.trim_end_matches('/'),
            conversation_uuid(m.conversation_id)
        );
        return Some(match &m.content {
            Some(text) => format!("{text}\n{link}"),
            None => link,
        });
    }
    m.content.clone()
}

/// `Message#webhook_data`: string `message_type`, ISO `created_at`, no `status`, and
/// `attachments` only when there are some.
pub(crate) fn message_webhook(state: &State, base: &str, m: &Message, event: &str) -> Value {
    let conversation = state
        .conversations
        .get(&m.conversation_id)
        .map_or(Value::Null, |c| conversation_webhook(state, base, c));
    let sender = match m.sender {
        SenderRef::User(id) => state.user(id).map_or(Value::Null, user_webhook),
        SenderRef::Contact(id) => state
            .contacts
            .get(&id)
            .map_or(Value::Null, |c| contact_webhook(state, c)),
        SenderRef::None => Value::Null,
    };
    let inbox = state.inboxes.get(&m.inbox_id);
    let mut v = json!({
        "account": account(state),
        "additional_attributes": {},
        "content_attributes": m.content_attributes,
        "content_type": m.content_type,
        "content": webhook_content(base, m),
        "conversation": conversation,
        "created_at": iso(m.created_at),
        "id": m.id,
        "inbox": { "id": m.inbox_id, "name": inbox.map(|i| i.name.clone()) },
        "message_type": MESSAGE_TYPES.get(usize::from(m.message_type)).copied().unwrap_or("incoming"),
        "private": m.private,
        "sender": sender,
        "source_id": m.source_id,
        "event": event,
    });
    if !m.attachment_ids.is_empty()
        && let Value::Object(map) = &mut v
    {
        map.insert(
            "attachments".into(),
            Value::Array(attachments(state, base, m)),
        );
    }
    v
}

/// Percent-escapes a file name for a URL path segment.
pub(crate) fn url_escape(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso(1_781_787_734.512), "2026-06-18T13:02:14.512Z");
        assert_eq!(iso(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(951_782_400.0), "2000-02-29T00:00:00.000Z");
    }
}
