//! Rebuilding a webhook Chatwoot never delivered, from what its REST API returns.
//!
//! Chatwoot posts each webhook at most once; a bridge that was down misses it for good. Listing
//! a conversation's messages (`GET …/messages?after=`) finds them again, and
//! [`message_created_body`] turns one into the body of its `message_created` webhook, so it
//! takes the same path (and dedupe key) as the real one would have.

use serde_json::{Map, Value, json};

use crate::models::{Attachment, Message};

/// The `message_created` webhook body for `message` of conversation `conversation_id`
/// (whose status is `status`, e.g. `open`). Parsing it with [`parse`](super::parse) gives the
/// event, and the [`dedupe_key`](super::Event::dedupe_key), of the real webhook.
#[must_use]
pub fn message_created_body(message: &Message, conversation_id: u64, status: &str) -> Vec<u8> {
    let mut body = Map::new();
    body.insert("event".into(), json!("message_created"));
    body.insert("id".into(), json!(message.id));
    body.insert("content".into(), json!(message.content));
    body.insert("content_type".into(), json!(message.content_type));
    body.insert(
        "content_attributes".into(),
        Value::Object(message.content_attributes.clone()),
    );
    body.insert("message_type".into(), json!(message.message_type.as_str()));
    body.insert("private".into(), json!(message.private));
    body.insert("source_id".into(), json!(message.source_id));
    if let Some(sender) = &message.sender {
        body.insert("sender".into(), sender.clone());
    }
    body.insert(
        "conversation".into(),
        json!({ "id": conversation_id, "inbox_id": message.inbox_id, "status": status }),
    );
    if let Some(inbox) = message.inbox_id {
        body.insert("inbox".into(), json!({ "id": inbox }));
    }
    if !message.attachments.is_empty() {
        body.insert(
            "attachments".into(),
            Value::Array(message.attachments.iter().map(attachment).collect()),
        );
    }
    Value::Object(body).to_string().into_bytes()
}

fn attachment(a: &Attachment) -> Value {
    json!({
        "id": a.id,
        "message_id": a.message_id,
        "file_type": a.file_type,
        "extension": a.extension,
        "content_type": a.content_type,
        "data_url": a.data_url,
        "thumb_url": a.thumb_url,
        "file_size": a.file_size,
        "coordinates_lat": a.coordinates_lat,
        "coordinates_long": a.coordinates_long,
        "fallback_title": a.fallback_title,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{Event, parse};

    #[test]
    fn a_listed_message_becomes_its_webhook() {
        let listed: Message = serde_json::from_value(json!({
            "id": 41, "content": "Olá **Maria**", "message_type": 1, "content_type": "text",
            "content_attributes": {"in_reply_to": 40}, "private": false, "source_id": null,
            "conversation_id": 7, "inbox_id": 3, "created_at": 1_781_787_734,
            "sender": {"id": 2, "name": "Ana", "type": "user"},
            "attachments": [{"id": 9, "message_id": 41, "file_type": "file", "extension": "pdf",
                             "data_url": "https://cw.example/rails/active_storage/x/menu.pdf"}]
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let event = parse(&message_created_body(&listed, 7, "open"))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(event.dedupe_key(), "message_created:41");
        let Event::MessageCreated(m) = event else {
            unreachable!("not a message_created event")
        };
        assert_eq!(m.conversation_id(), Some(7));
        assert_eq!(m.in_reply_to(), Some(40));
        assert_eq!(m.content.as_deref(), Some("Olá **Maria**"));
        assert!(!m.private);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].file_name().as_deref(), Some("menu.pdf"));
        assert!(matches!(
            m.sender,
            Some(crate::webhook::Sender::User { .. })
        ));
    }
}
