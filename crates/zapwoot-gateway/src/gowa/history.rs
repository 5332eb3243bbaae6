//! GOWA's chat history: the chat list and a chat's messages, each turned into the `message`
//! webhook GOWA would have posted for it (gap recovery and import read these).

use serde_json::{Value, json};

use super::GowaClient;
use crate::json::{flag, text};
use crate::{ChatSummary, Error, HistoryMessage, Jid, history};

impl GowaClient {
    /// `GET /chats`, every page: the chats whose last message is at or after `since` (unix
    /// seconds).
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn chats_since(&self, since: i64) -> Result<Vec<ChatSummary>, Error> {
        let mut chats = Vec::new();
        let mut offset = 0usize;
        loop {
            let offset_text = offset.to_string();
            let results = self
                .get("chats", &[("limit", "100"), ("offset", &offset_text)])
                .await?;
            let page = results
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for chat in &page {
                let Some(jid) = text(chat, "jid").and_then(|j| Jid::parse(j).ok()) else {
                    continue;
                };
                let last = text(chat, "last_message_time").and_then(crate::json::rfc3339);
                if last.is_some_and(|t| t < since) {
                    continue;
                }
                chats.push(ChatSummary {
                    jid,
                    name: text(chat, "name").map(str::to_owned),
                    last_message_at: last,
                });
            }
            offset += page.len();
            let total = results
                .pointer("/pagination/total")
                .and_then(Value::as_u64)
                .and_then(|t| usize::try_from(t).ok());
            if page.len() < 100 || total.is_some_and(|t| offset >= t) {
                return Ok(chats);
            }
        }
    }

    /// `GET /chat/{jid}/messages?start_time=&end_time=`, every page, oldest first: the
    /// messages of `chat` sent in `[since, until)` (unix seconds), each turned into the
    /// `message` webhook GOWA (≥ v8) posts for it — `device_id` is the session's own JID, as in
    /// webhooks, so the dedupe keys match.
    ///
    /// # Errors
    /// As [`send_message`](Self::send_message).
    pub async fn chat_messages(
        &self,
        chat: &Jid,
        since: i64,
        until: i64,
    ) -> Result<Vec<HistoryMessage>, Error> {
        let device = self
            .status()
            .await?
            .jid
            .map(|j| j.to_non_device().to_string())
            .unwrap_or_default();
        // `@` unencoded in the path: builds before v9.2 did not percent-decode it.
        let path = format!("chat/{chat}/messages");
        let (start, end) = (history::rfc3339(since), history::rfc3339(until));
        let mut rows = Vec::new();
        let mut offset = 0usize;
        loop {
            let offset_text = offset.to_string();
            let results = self
                .get(
                    &path,
                    &[
                        ("limit", "100"),
                        ("offset", &offset_text),
                        ("start_time", &start),
                        ("end_time", &end),
                    ],
                )
                .await?;
            let page = results
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            offset += page.len();
            let full = page.len() >= 100;
            rows.extend(page);
            if !full {
                break;
            }
        }
        // GOWA lists newest first; reversed, then a stable sort by time, keeps its order for
        // messages of the same second (timestamps have second precision).
        let mut messages: Vec<HistoryMessage> = rows
            .iter()
            .rev()
            .filter_map(|row| history_message(row, chat, &device))
            .filter(|m| m.timestamp >= since && m.timestamp < until)
            .collect();
        messages.sort_by_key(|m| m.timestamp);
        let mut seen = std::collections::HashSet::new();
        messages.retain(|m| seen.insert(m.id.clone()));
        Ok(messages)
    }
}

/// One row of `/chat/{jid}/messages` as its `message` webhook body.
fn history_message(row: &Value, chat: &Jid, device: &str) -> Option<HistoryMessage> {
    let id = text(row, "id")?.to_owned();
    let timestamp = text(row, "timestamp").and_then(crate::json::rfc3339)?;
    let mut payload = serde_json::Map::new();
    payload.insert("id".into(), json!(id));
    payload.insert(
        "chat_id".into(),
        json!(text(row, "chat_jid").unwrap_or(&chat.to_string())),
    );
    payload.insert("from".into(), json!(text(row, "sender_jid")));
    payload.insert("from_name".into(), json!(text(row, "sender_display_name")));
    payload.insert("timestamp".into(), json!(history::rfc3339(timestamp)));
    payload.insert("is_from_me".into(), json!(flag(row, "is_from_me")));
    let content = text(row, "content");
    match text(row, "media_type") {
        Some(kind @ ("image" | "video" | "audio" | "document" | "sticker")) => {
            payload.insert(
                kind.into(),
                json!({ "url": text(row, "url"), "filename": text(row, "filename"), "caption": content }),
            );
            if let Some(caption) = content {
                payload.insert("body".into(), json!(caption));
            }
        }
        _ => {
            payload.insert("body".into(), json!(content.unwrap_or_default()));
        }
    }
    let webhook = json!({ "event": "message", "device_id": device, "payload": payload });
    Some(HistoryMessage {
        id,
        timestamp,
        content_type: "application/json",
        webhook: webhook.to_string().into_bytes(),
    })
}
