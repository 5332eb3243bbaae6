//! The fake wuzapi's message history: the `message_history` table and `GET /chat/history`.
//!
//! As wuzapi: with `history` 0 nothing is kept and the endpoint answers 501; otherwise every
//! message event is stored (once per message id) and each chat is trimmed to its newest
//! `history` rows; `chat_jid=index` lists the chats per instance id; a chat's rows come newest
//! first, `limit` of them (default 50). Rows of received messages carry the event as
//! `data_json`; rows of messages sent through the API have `sender_jid` `me` and no
//! `data_json`, as builds that do not fill it.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::{envelope, fail};
use crate::server::{FakeRequest, Reply};

/// One `message_history` row.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub chat: String,
    pub sender: String,
    pub message_id: String,
    /// When it was stored, unix seconds.
    pub at: i64,
    pub kind: String,
    pub text: String,
    pub media_link: String,
    pub quoted: String,
    pub data_json: String,
}

impl Row {
    /// The row wuzapi stores for a received `Message` event (`None` for events it skips).
    pub(super) fn from_event(
        event: &Value,
        envelope: &Map<String, Value>,
        at: i64,
    ) -> Option<Self> {
        let info = event.get("Info")?;
        let text_at = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let message = event.get("Message").unwrap_or(&Value::Null);
        let (kind, text, quoted) =
            if let Some(t) = message.get("conversation").and_then(Value::as_str) {
                ("text", t.to_owned(), String::new())
            } else if let Some(x) = message.get("extendedTextMessage") {
                let quoted = x
                    .get("contextInfo")
                    .map(|c| text_at(c, "stanzaID"))
                    .unwrap_or_default();
                ("text", text_at(x, "text"), quoted)
            } else if let Some(r) = message.get("reactionMessage") {
                let target = r.get("key").map(|k| text_at(k, "ID")).unwrap_or_default();
                ("reaction", text_at(r, "text"), target)
            } else if let Some((kind, m)) = ["image", "video", "audio", "document", "sticker"]
                .iter()
                .find_map(|k| message.get(format!("{k}Message")).map(|m| (*k, m)))
            {
                (kind, text_at(m, "caption"), String::new())
            } else {
                return None;
            };
        let media_link = envelope
            .get("s3")
            .map(|s| text_at(s, "url"))
            .unwrap_or_default();
        Some(Self {
            chat: text_at(info, "Chat"),
            sender: text_at(info, "Sender"),
            message_id: text_at(info, "ID"),
            at,
            kind: kind.to_owned(),
            text,
            media_link,
            quoted,
            data_json: event.to_string(),
        })
    }
}

/// The table, for one instance.
#[derive(Debug, Default)]
pub(super) struct History {
    /// Messages kept per chat (`history`); 0 = off.
    pub keep: u64,
    rows: Vec<(u64, Row)>,
    next_id: u64,
}

impl History {
    /// An empty table keeping `keep` messages per chat.
    pub(super) fn new(keep: u64) -> Self {
        Self {
            keep,
            ..Self::default()
        }
    }

    /// Stores `row` unless history is off or the message is already there; trims its chat.
    pub(super) fn save(&mut self, row: Row) {
        if self.keep == 0
            || self
                .rows
                .iter()
                .any(|(_, r)| r.message_id == row.message_id)
        {
            return;
        }
        self.next_id += 1;
        let chat = row.chat.clone();
        self.rows.push((self.next_id, row));
        let mut in_chat: Vec<(i64, u64)> = self
            .rows
            .iter()
            .filter(|(_, r)| r.chat == chat)
            .map(|(id, r)| (r.at, *id))
            .collect();
        in_chat.sort_unstable_by(|a, b| b.cmp(a));
        let keep = usize::try_from(self.keep).unwrap_or(usize::MAX);
        let dropped: Vec<u64> = in_chat.iter().skip(keep).map(|(_, id)| *id).collect();
        self.rows.retain(|(id, _)| !dropped.contains(id));
    }

    /// `GET /chat/history`.
    pub(super) fn answer(&self, user_id: &str, req: &FakeRequest) -> Reply {
        if self.keep == 0 {
            return fail(
                StatusCode::NOT_IMPLEMENTED,
                "message history is disabled for this user",
            );
        }
        let Some(chat) = req.query_param("chat_jid").filter(|c| !c.is_empty()) else {
            return fail(StatusCode::BAD_REQUEST, "chat_jid is required");
        };
        if chat == "index" {
            let mut chats: Vec<(String, i64)> = Vec::new();
            for (_, row) in &self.rows {
                match chats.iter_mut().find(|(c, _)| *c == row.chat) {
                    Some((_, last)) => *last = (*last).max(row.at),
                    None => chats.push((row.chat.clone(), row.at)),
                }
            }
            chats.sort_by_key(|(_, last)| std::cmp::Reverse(*last));
            let entries: Vec<Value> = chats
                .iter()
                .map(|(c, last)| json!({ "chat_jid": c, "last_updated": crate::time::rfc3339(*last) }))
                .collect();
            return envelope(StatusCode::OK, &json!({ user_id: entries }));
        }
        let limit = match req.query_param("limit") {
            None => 50,
            Some(l) => match l.parse::<usize>() {
                Ok(l) => l,
                Err(_) => return fail(StatusCode::BAD_REQUEST, "invalid limit"),
            },
        };
        let mut rows: Vec<&(u64, Row)> = self.rows.iter().filter(|(_, r)| r.chat == chat).collect();
        rows.sort_by_key(|(id, r)| std::cmp::Reverse((r.at, *id)));
        let data: Vec<Value> = rows
            .into_iter()
            .take(limit)
            .map(|(id, r)| {
                let mut row = json!({
                    "id": id, "user_id": user_id, "chat_jid": r.chat, "sender_jid": r.sender,
                    "message_id": r.message_id, "timestamp": crate::time::rfc3339(r.at),
                    "message_type": r.kind, "text_content": r.text, "media_link": r.media_link,
                    "data_json": r.data_json,
                });
                if let (false, Some(map)) = (r.quoted.is_empty(), row.as_object_mut()) {
                    map.insert("quoted_message_id".into(), json!(r.quoted));
                }
                row
            })
            .collect();
        envelope(StatusCode::OK, &Value::Array(data))
    }
}
