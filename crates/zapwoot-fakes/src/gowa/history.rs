//! The fake GOWA's chat storage: what `/chats` and `/chat/{jid}/messages` list.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the parent module, split out by topic"
)]
use super::*;

/// One message of the chat storage behind `/chats` and `/chat/{jid}/messages`.
#[derive(Debug, Clone)]
pub(super) struct HistoryRow {
    pub(super) id: String,
    pub(super) chat: String,
    pub(super) sender: String,
    pub(super) name: String,
    pub(super) content: Option<String>,
    pub(super) secs: i64,
    pub(super) from_me: bool,
    pub(super) media_type: Option<String>,
    pub(super) filename: Option<String>,
}

impl HistoryRow {
    pub(super) fn from_payload(payload: &Map<String, Value>) -> Option<Self> {
        let get = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_owned);
        let media_type = ["image", "video", "audio", "document", "sticker"]
            .into_iter()
            .find(|k| payload.get(*k).is_some_and(|v| !v.is_null()))
            .map(str::to_owned);
        let filename = media_type.as_ref().and_then(|k| {
            let media = payload.get(k)?;
            media
                .as_str()
                .or_else(|| media.get("path").and_then(Value::as_str))
                .or_else(|| media.get("media_path").and_then(Value::as_str))
                .and_then(|p| p.rsplit('/').next())
                .map(str::to_owned)
        });
        Some(Self {
            id: get("id")?,
            chat: get("chat_id")?,
            sender: get("from").unwrap_or_default(),
            name: get("from_name").unwrap_or_default(),
            content: get("body"),
            secs: get("timestamp").and_then(|t| parse_rfc3339(&t))?,
            from_me: payload
                .get("is_from_me")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            media_type,
            filename,
        })
    }

    /// GOWA's `MessageInfo`.
    fn to_json(&self) -> Value {
        let stamp = crate::time::rfc3339(self.secs);
        json!({
            "id": self.id, "chat_jid": self.chat, "sender_jid": self.sender,
            "sender_display_name": self.name, "content": self.content.clone().unwrap_or_default(),
            "timestamp": stamp, "is_from_me": self.from_me,
            "media_type": self.media_type.clone().unwrap_or_default(),
            "filename": self.filename.clone().unwrap_or_default(),
            "url": self.media_type.as_ref().map(|_| format!("https://mmg.whatsapp.net/v/fake/{}.enc", self.id)).unwrap_or_default(),
            "file_length": 0, "created_at": stamp, "updated_at": stamp,
        })
    }
}

/// `YYYY-MM-DDTHH:MM:SS` + `Z` or `±HH:MM` (fractions ignored) → unix seconds.
pub(super) fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() < 19 {
        return None; // a date alone is not a time
    }
    let instant = text.parse::<jiff::Timestamp>().ok().or_else(|| {
        // No offset: UTC.
        text.parse::<jiff::civil::DateTime>()
            .ok()?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })?;
    Some(instant.as_second())
}

/// `GET /chats`: chats of the storage, most recent first, paged.
pub(super) fn chats(core: &Core, req: &FakeRequest) -> Reply {
    let (limit, offset) = paging(req, 25);
    let state = core.state();
    let mut latest: HashMap<&str, &HistoryRow> = HashMap::new();
    for row in &state.history {
        let entry = latest.entry(row.chat.as_str()).or_insert(row);
        if row.secs >= entry.secs {
            *entry = row;
        }
    }
    let mut list: Vec<&HistoryRow> = latest.into_values().collect();
    list.sort_by(|a, b| b.secs.cmp(&a.secs).then_with(|| a.chat.cmp(&b.chat)));
    let total = list.len();
    let data: Vec<Value> = list
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|r| {
            let t = crate::time::rfc3339(r.secs);
            json!({ "jid": r.chat, "name": r.name, "last_message_time": t, "ephemeral_expiration": 0, "created_at": t, "updated_at": t, "archived": false })
        })
        .collect();
    success(
        &json!({ "data": data, "pagination": { "limit": limit, "offset": offset, "total": total } }),
    )
}

/// `GET /chat/{jid}/messages`: newest first, `limit` at most 100, `start_time`/`end_time`
/// (RFC 3339) bound the timestamps.
pub(super) fn chat_messages(core: &Core, req: &FakeRequest, jid: &str) -> Reply {
    let (limit, offset) = paging(req, 50);
    // `Err(name)`: that bound is not a time.
    let bound = |name: &'static str| -> Result<Option<i64>, &'static str> {
        match req.query_param(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => parse_rfc3339(&v).map(Some).ok_or(name),
        }
    };
    let (start, end) = match (bound("start_time"), bound("end_time")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(name), _) | (_, Err(name)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                &format!("{name}: invalid time"),
            );
        }
    };
    let state = core.state();
    // Newest first; of one second, the last stored first.
    let mut rows: Vec<&HistoryRow> = state
        .history
        .iter()
        .rev()
        .filter(|r| r.chat == jid)
        .filter(|r| start.is_none_or(|s| r.secs >= s) && end.is_none_or(|e| r.secs <= e))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.secs));
    let total = rows.len();
    let data: Vec<Value> = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(HistoryRow::to_json)
        .collect();
    success(
        &json!({ "data": data, "pagination": { "limit": limit, "offset": offset, "total": total }, "chat_info": { "jid": jid } }),
    )
}

pub(super) fn paging(req: &FakeRequest, default: usize) -> (usize, usize) {
    let limit = req
        .query_param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(default)
        .clamp(1, 100);
    let offset = req
        .query_param("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    (limit, offset)
}
