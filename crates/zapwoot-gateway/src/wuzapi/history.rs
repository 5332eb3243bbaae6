//! wuzapi's message history, `GET /chat/history`: for recovering messages whose webhook never
//! arrived and for importing past chats.
//!
//! What wuzapi does (upstream `db.go` `HistoryMessage`, the `/chat/history` handler):
//! - it keeps the last `history` messages of each chat, a per-instance setting (`POST
//!   /session/history`, shown by `/session/status`); with `0` (the default) it keeps nothing
//!   and the endpoint answers **501**;
//! - `?chat_jid=index` lists the chats, per instance id:
//!   `{"<userID>": [{"chat_jid", "last_updated"}]}`;
//! - `?chat_jid=<jid>&limit=N` (default 50) gives that chat's rows **newest first**:
//!   `{id, user_id, chat_jid, sender_jid, message_id, timestamp, message_type, text_content,
//!   media_link, quoted_message_id, data_json}`. `timestamp` is when wuzapi stored the row;
//!   `data_json`, in builds that fill it, is the whatsmeow event as JSON; `media_link` is the
//!   S3 URL when S3 is on; messages sent through the API are stored with `sender_jid` `me`.
//!
//! Each row becomes the `Message` webhook wuzapi would have posted (JSON format): the stored
//! event when there is one, else an event rebuilt from the columns. Parsed by
//! [`parse`](super::parse), it gives the same dedupe key as the real webhook.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::WuzapiClient;
use crate::history::{self, ChatSummary, HistoryMessage};
use crate::json::text;
use crate::{Error, Jid};

/// Most rows asked for per chat (wuzapi keeps `history` per chat; this bounds a huge setting).
const MAX_ROWS: u64 = 10_000;

/// The instance's history setting, from `GET /session/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HistorySettings {
    /// The instance id (`id`): the key of its chats in the index.
    pub user_id: Option<String>,
    /// Messages kept per chat (`history`, a number or a numeric string).
    pub keep: u64,
    /// The session's own JID, for rows stored with `sender_jid` `me`.
    pub own: Option<Jid>,
}

impl WuzapiClient {
    /// The instance's history setting.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub(super) async fn history_settings(&self) -> Result<HistorySettings, Error> {
        let data = self
            .call_query(Method::GET, "session/status", &[], None)
            .await?;
        let keep = match data.get("history") {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
            _ => 0,
        };
        Ok(HistorySettings {
            user_id: match data.get("id") {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            keep,
            own: text(&data, "jid")
                .and_then(|j| Jid::parse(j).ok())
                .map(|j| j.to_non_device()),
        })
    }

    /// The settings, or [`Error::Unsupported`] when the instance keeps no history.
    async fn history_enabled(&self) -> Result<HistorySettings, Error> {
        let settings = self.history_settings().await?;
        if settings.keep == 0 {
            return Err(disabled());
        }
        Ok(settings)
    }

    /// `GET /chat/history?chat_jid=index`: the chats with a stored message at or after `since`
    /// (unix seconds), most recent first.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the instance keeps no history (`history` 0, or 501);
    /// otherwise as [`send_text`](Self::send_text).
    pub async fn history_chats(&self, since: i64) -> Result<Vec<ChatSummary>, Error> {
        let settings = self.history_enabled().await?;
        let data = self
            .call_query(Method::GET, "chat/history", &[("chat_jid", "index")], None)
            .await
            .map_err(off_when_501)?;
        Ok(chat_index(&data, settings.user_id.as_deref(), since))
    }

    /// `GET /chat/history?chat_jid=&limit=`: the stored messages of `chat` sent in
    /// `[since, until)` (unix seconds), oldest first, each as its `Message` webhook.
    ///
    /// # Errors
    /// As [`history_chats`](Self::history_chats).
    pub async fn chat_history(
        &self,
        chat: &Jid,
        since: i64,
        until: i64,
    ) -> Result<Vec<HistoryMessage>, Error> {
        let settings = self.history_enabled().await?;
        let limit = settings.keep.clamp(50, MAX_ROWS).to_string();
        let chat_text = chat.to_string();
        let data = self
            .call_query(
                Method::GET,
                "chat/history",
                &[("chat_jid", &chat_text), ("limit", &limit)],
                None,
            )
            .await
            .map_err(off_when_501)?;
        let rows = data.as_array().map_or(&[][..], Vec::as_slice);
        Ok(messages(rows, &settings, since, until))
    }
}

fn disabled() -> Error {
    Error::Unsupported("this wuzapi instance keeps no message history (history = 0)")
}

fn off_when_501(error: Error) -> Error {
    if error.status() == Some(501) {
        disabled()
    } else {
        error
    }
}

/// The index's chats for `user_id` (any instance's when the index has only one, or when the
/// id is unknown), active at or after `since`, most recent first.
fn chat_index(data: &Value, user_id: Option<&str>, since: i64) -> Vec<ChatSummary> {
    let Some(index) = data.as_object() else {
        return Vec::new();
    };
    let entries: Vec<&Value> = match user_id.and_then(|id| index.get(id)) {
        Some(mine) => mine.as_array().into_iter().flatten().collect(),
        None if index.len() == 1 || user_id.is_none() => index
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .collect(),
        None => Vec::new(),
    };
    let mut chats: Vec<ChatSummary> = Vec::new();
    for entry in entries {
        let Some(jid) = text(entry, "chat_jid").and_then(|j| Jid::parse(j).ok()) else {
            continue;
        };
        let last = text(entry, "last_updated").and_then(crate::json::rfc3339);
        if last.is_some_and(|t| t < since) || chats.iter().any(|c| c.jid == jid) {
            continue;
        }
        chats.push(ChatSummary {
            jid,
            name: None,
            last_message_at: last,
        });
    }
    chats.sort_by_key(|c| std::cmp::Reverse(c.last_message_at));
    chats
}

/// Rows (newest first) → webhooks in `[since, until)`, oldest first, each id once.
fn messages(
    rows: &[Value],
    settings: &HistorySettings,
    since: i64,
    until: i64,
) -> Vec<HistoryMessage> {
    // Reversed, then a stable sort by time: wuzapi's order holds within a second.
    let mut messages: Vec<HistoryMessage> = rows
        .iter()
        .rev()
        .filter_map(|row| history_message(row, settings))
        .filter(|m| m.timestamp >= since && m.timestamp < until)
        .collect();
    messages.sort_by_key(|m| m.timestamp);
    let mut seen = std::collections::HashSet::new();
    messages.retain(|m| seen.insert(m.id.clone()));
    messages
}

/// One row as the JSON `Message` webhook wuzapi would have posted; `None` for rows that
/// carry no message (deletions, empty reactions) or lack an id.
fn history_message(row: &Value, settings: &HistorySettings) -> Option<HistoryMessage> {
    let id = text(row, "message_id")?.to_owned();
    let stored = text(row, "timestamp").and_then(crate::json::rfc3339);
    let event = stored_event(row, &id).or_else(|| rebuilt_event(row, &id, stored, settings))?;
    let timestamp = event
        .pointer("/Info/Timestamp")
        .and_then(Value::as_str)
        .and_then(crate::json::rfc3339)
        .or(stored)?;
    let mut webhook = Map::new();
    webhook.insert("type".into(), json!("Message"));
    webhook.insert("event".into(), event);
    if let Some(user) = settings.user_id.as_deref().or_else(|| text(row, "user_id")) {
        webhook.insert("userID".into(), json!(user));
    }
    if let Some(link) = text(row, "media_link") {
        webhook.insert("s3".into(), json!({ "url": link }));
    }
    Some(HistoryMessage {
        id,
        timestamp,
        content_type: "application/json",
        webhook: Value::Object(webhook).to_string().into_bytes(),
    })
}

/// `data_json` when it holds this message's event (`{Info, Message}`), or a whole webhook
/// envelope (`{type, event}`) around it.
fn stored_event(row: &Value, id: &str) -> Option<Value> {
    let raw = text(row, "data_json").or_else(|| text(row, "datajson"))?;
    let value: Value = serde_json::from_str(raw).ok()?;
    let event = if value.get("Info").is_some() {
        value
    } else {
        value
            .get("event")
            .filter(|e| e.get("Info").is_some())?
            .clone()
    };
    (event.pointer("/Info/ID").and_then(Value::as_str) == Some(id)).then_some(event)
}

/// A whatsmeow event rebuilt from the row's columns (builds that store no `data_json`).
fn rebuilt_event(
    row: &Value,
    id: &str,
    stored: Option<i64>,
    settings: &HistorySettings,
) -> Option<Value> {
    let chat = text(row, "chat_jid")?;
    let body = text(row, "text_content");
    let message = match text(row, "message_type").unwrap_or("text") {
        "text" => json!({ "conversation": body? }),
        kind @ ("image" | "video" | "audio" | "document" | "sticker") => {
            let mut media = Map::new();
            if let Some(caption) = body.filter(|_| kind != "audio" && kind != "sticker") {
                media.insert("caption".into(), json!(caption));
            }
            json!({ format!("{kind}Message"): media })
        }
        "reaction" => json!({ "reactionMessage": {
            "key": { "ID": text(row, "quoted_message_id")? },
            "text": body.unwrap_or_default(),
        } }),
        // Deletions and the like are not messages to recover.
        "delete" | "revoke" | "edit" => return None,
        _ => json!({ "conversation": body? }),
    };
    let sender = text(row, "sender_jid").unwrap_or(chat);
    let own = settings.own.as_ref().map(ToString::to_string);
    let from_me = sender == "me" || own.as_deref() == Some(sender);
    let sender = if sender == "me" {
        own.as_deref().unwrap_or(sender)
    } else {
        sender
    };
    let info = json!({
        "ID": id,
        "Chat": chat,
        "Sender": sender,
        "IsFromMe": from_me,
        "IsGroup": chat.ends_with("@g.us"),
        "Timestamp": history::rfc3339(stored?),
        "PushName": "",
    });
    // A text that quoted another message.
    let message = match (text(row, "quoted_message_id"), message.get("conversation")) {
        (Some(quoted), Some(text)) => json!({ "extendedTextMessage": {
            "text": text,
            "contextInfo": { "stanzaID": quoted },
        } }),
        _ => message,
    };
    Some(json!({ "Info": info, "Message": message }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InboundEvent;
    use crate::event::{Content, MediaSource};

    const CHAT: &str = "5511987654321@s.whatsapp.net";

    fn settings() -> HistorySettings {
        HistorySettings {
            user_id: Some("u1".into()),
            keep: 100,
            own: Some(Jid::parse("5511900000000@s.whatsapp.net").unwrap()),
        }
    }

    fn row(id: &str, at: &str, kind: &str, body: &str) -> Value {
        json!({ "id": 1, "user_id": "u1", "chat_jid": CHAT, "sender_jid": CHAT, "message_id": id,
                "timestamp": at, "message_type": kind, "text_content": body, "media_link": "",
                "data_json": "" })
    }

    fn parsed(message: &HistoryMessage) -> InboundEvent {
        let webhook = super::super::parse(message.content_type, &message.webhook).unwrap();
        assert_eq!(webhook.user_id.as_deref(), Some("u1"));
        webhook.events.into_iter().next().unwrap()
    }

    #[test]
    fn rows_come_back_oldest_first_within_the_window() {
        let rows = [
            row("C", "2026-11-21T10:00:02Z", "text", "três"),
            row("B", "2026-11-21T10:00:01-03:00", "text", "dois"),
            row("A", "2026-11-21T10:00:01Z", "text", "um"),
            row("OLD", "2026-11-20T10:00:00Z", "text", "velha"),
            row("A", "2026-11-21T10:00:01Z", "text", "um"),
        ];
        let since = crate::json::rfc3339("2026-11-21T00:00:00Z").unwrap();
        let got = messages(&rows, &settings(), since, since + 86_400);
        let ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            ["A", "C", "B"],
            "by time, each id once, outside the window dropped"
        );
        let InboundEvent::Message(m) = parsed(&got[0]) else {
            panic!()
        };
        assert_eq!(m.id, "A");
        assert!(matches!(&m.content, Content::Text { body } if body == "um"));
        assert_eq!(
            m.origin.chat.as_ref().map(ToString::to_string).as_deref(),
            Some(CHAT)
        );
    }

    #[test]
    fn a_stored_event_is_used_as_it_is() {
        let event = json!({ "Info": { "ID": "M1", "Chat": CHAT, "Sender": CHAT, "IsFromMe": false,
                            "Timestamp": "2026-11-21T09:00:00-03:00", "PushName": "Maria" },
                            "Message": { "imageMessage": { "caption": "foto", "directPath": "/v/x.enc",
                                         "mimetype": "image/jpeg", "mediaKey": "a2V5" } } });
        let mut stored = row("M1", "2026-11-21T12:00:05Z", "image", "foto");
        stored["data_json"] = json!(event.to_string());
        let got = history_message(&stored, &settings()).unwrap();
        assert_eq!(
            got.timestamp,
            crate::json::rfc3339("2026-11-21T12:00:00Z").unwrap(),
            "the message's own time"
        );
        let InboundEvent::Message(m) = parsed(&got) else {
            panic!()
        };
        let Content::Image { media, caption } = &m.content else {
            panic!("{:?}", m.content)
        };
        assert_eq!(caption.as_deref(), Some("foto"));
        assert!(
            matches!(media.source, MediaSource::WuzapiDownload { .. }),
            "downloadable with its keys"
        );

        // A whole envelope in data_json works too; another message's event does not.
        stored["data_json"] = json!(json!({ "type": "Message", "event": event }).to_string());
        assert_eq!(
            history_message(&stored, &settings()).unwrap().webhook,
            got.webhook
        );
        stored["message_id"] = json!("OTHER");
        let rebuilt = history_message(&stored, &settings()).unwrap();
        assert_ne!(rebuilt.webhook, got.webhook);
    }

    #[test]
    fn columns_rebuild_texts_media_quotes_and_own_messages() {
        let mut own = row("S1", "2026-11-21T10:00:00Z", "text", "enviada pela API");
        own["sender_jid"] = json!("me");
        let InboundEvent::Message(m) = parsed(&history_message(&own, &settings()).unwrap()) else {
            panic!()
        };
        assert!(m.origin.from_me);
        assert_eq!(
            m.origin.chat.as_ref().map(ToString::to_string).as_deref(),
            Some(CHAT)
        );

        let mut media = row("P1", "2026-11-21T10:00:00Z", "image", "legenda");
        media["media_link"] = json!("https://bucket.example/p1.jpg");
        let InboundEvent::Message(m) = parsed(&history_message(&media, &settings()).unwrap())
        else {
            panic!()
        };
        assert!(matches!(&m.content, Content::Image { media, caption }
            if caption.as_deref() == Some("legenda")
                && media.source == MediaSource::Url("https://bucket.example/p1.jpg".into())));

        let mut reply = row("R1", "2026-11-21T10:00:00Z", "text", "isso");
        reply["quoted_message_id"] = json!("A");
        let InboundEvent::Message(m) = parsed(&history_message(&reply, &settings()).unwrap())
        else {
            panic!()
        };
        assert_eq!(m.quote.map(|q| q.id).as_deref(), Some("A"));

        let mut reaction = row("X1", "2026-11-21T10:00:00Z", "reaction", "👍");
        reaction["quoted_message_id"] = json!("A");
        assert!(
            matches!(parsed(&history_message(&reaction, &settings()).unwrap()),
            InboundEvent::Reaction(r) if r.target_id == "A")
        );

        for unusable in [
            row("D1", "2026-11-21T10:00:00Z", "delete", ""),
            row("E1", "2026-11-21T10:00:00Z", "text", ""),
            row("", "2026-11-21T10:00:00Z", "text", "sem id"),
            row("T1", "not a time", "text", "sem hora"),
            json!({ "message_id": "N1" }),
            json!("garbage"),
        ] {
            assert!(
                history_message(&unusable, &settings()).is_none(),
                "{unusable}"
            );
        }
    }

    #[test]
    fn the_index_gives_this_instances_chats_most_recent_first() {
        let index = json!({
            "u1": [{ "chat_jid": CHAT, "last_updated": "2026-11-21T10:00:00Z" },
                   { "chat_jid": "120363000000000000@g.us", "last_updated": "2026-11-21T11:00:00Z" },
                   { "chat_jid": "5511911111111@s.whatsapp.net", "last_updated": "2026-11-01T00:00:00Z" },
                   { "chat_jid": "not a jid" }],
            "other": [{ "chat_jid": "5511922222222@s.whatsapp.net", "last_updated": "2026-11-21T12:00:00Z" }],
        });
        let since = crate::json::rfc3339("2026-11-20T00:00:00Z").unwrap();
        let chats = chat_index(&index, Some("u1"), since);
        let jids: Vec<String> = chats.iter().map(|c| c.jid.to_string()).collect();
        assert_eq!(jids, ["120363000000000000@g.us", CHAT]);
        assert!(
            chat_index(&index, Some("unknown"), 0).is_empty(),
            "another instance's chats are not ours"
        );
        let single = json!({ "42": index["u1"].clone() });
        assert_eq!(
            chat_index(&single, Some("u1"), since).len(),
            2,
            "old builds: integer ids"
        );
        assert!(chat_index(&json!(null), Some("u1"), 0).is_empty());
    }
}
