//! Messages and attachments.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{MessageType, Time};

/// A message (REST shape: integer `message_type`, unix `created_at`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Message id.
    pub id: u64,
    /// Text (raw markdown); `None` for attachment-only messages.
    #[serde(default)]
    pub content: Option<String>,
    /// Incoming, outgoing, activity or template.
    pub message_type: MessageType,
    /// `text` unless an interactive type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// `in_reply_to`, `deleted`, `external_error`, custom keys…
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content_attributes: Map<String, Value>,
    /// Private note.
    #[serde(default)]
    pub private: bool,
    /// `sent`, `delivered`, `read`, `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Free text the creator set (not unique).
    #[serde(default)]
    pub source_id: Option<String>,
    /// Conversation display id.
    #[serde(default)]
    pub conversation_id: Option<u64>,
    /// Inbox.
    #[serde(default)]
    pub inbox_id: Option<u64>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<Time>,
    /// Echo of the create request's `echo_id` (REST responses only).
    #[serde(default)]
    pub echo_id: Option<Value>,
    /// Sender (push data), when present.
    #[serde(default)]
    pub sender: Option<Value>,
    /// Attachments (absent when none).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

impl Message {
    /// `content_attributes.in_reply_to`, the Chatwoot id this message replies to.
    #[must_use]
    pub fn in_reply_to(&self) -> Option<u64> {
        self.content_attributes
            .get("in_reply_to")
            .and_then(Value::as_u64)
    }

    /// `content_attributes.deleted == true`.
    #[must_use]
    pub fn is_deleted(&self) -> bool {
        self.content_attributes
            .get("deleted")
            .and_then(Value::as_bool)
            == Some(true)
    }
}

pub(crate) fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

/// An attachment as Chatwoot describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Attachment {
    /// Attachment id.
    pub id: u64,
    /// Owning message.
    #[serde(default)]
    pub message_id: Option<u64>,
    /// `image`, `audio`, `video`, `file`, `location`, `fallback`, `contact`…
    pub file_type: String,
    /// File extension.
    #[serde(default)]
    pub extension: Option<String>,
    /// MIME type (Chatwoot ≥ 4.x).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Download URL: redirects (302) to storage; no auth; follow redirects.
    #[serde(default)]
    pub data_url: Option<String>,
    /// Thumbnail URL (images only; `""` otherwise).
    #[serde(default)]
    pub thumb_url: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub file_size: Option<u64>,
    /// Latitude (location attachments).
    #[serde(default)]
    pub coordinates_lat: Option<f64>,
    /// Longitude (location attachments).
    #[serde(default)]
    pub coordinates_long: Option<f64>,
    /// Title (location/fallback attachments).
    #[serde(default)]
    pub fallback_title: Option<String>,
}

impl Attachment {
    /// The file name at the end of `data_url`, percent-decoded.
    #[must_use]
    pub fn file_name(&self) -> Option<String> {
        let url = self.data_url.as_deref()?;
        let path = url.split(['?', '#']).next()?;
        path.rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(percent_decode)
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET …/messages` result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct MessageList {
    /// Conversation meta (contact, assignee, labels…).
    #[serde(default)]
    pub meta: Value,
    /// Messages, oldest first.
    pub payload: Vec<Message>,
}

/// Status for `PATCH …/messages/{id}` (API inboxes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MessageStatus {
    /// Sent.
    Sent,
    /// Delivered.
    Delivered,
    /// Read (Chatwoot ignores read → delivered).
    Read,
    /// Failed, with `external_error`.
    Failed,
}

/// Where the bytes of an attachment are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadData {
    /// In memory.
    Memory(Vec<u8>),
    /// In a file on disk (large media the caller spooled), streamed when uploaded.
    Path {
        /// The file.
        path: std::path::PathBuf,
        /// Its size in bytes.
        len: u64,
    },
}

/// A file to attach: bytes, real file name and MIME type (the MIME type decides
/// Chatwoot's `file_type`: `image/*`, `video/*`, `audio/*` or `file`).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Upload {
    /// File name shown to agents.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Content.
    pub data: UploadData,
}

impl Upload {
    /// An attachment in memory.
    #[must_use]
    pub fn new(
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        bytes: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            file_name: file_name.into(),
            content_type: content_type.into(),
            data: UploadData::Memory(bytes.into()),
        }
    }

    /// An attachment of `len` bytes on disk at `path` (it must stay there until uploaded).
    #[must_use]
    pub fn from_path(
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        path: impl Into<std::path::PathBuf>,
        len: u64,
    ) -> Self {
        Self {
            file_name: file_name.into(),
            content_type: content_type.into(),
            data: UploadData::Path {
                path: path.into(),
                len,
            },
        }
    }

    /// Size in bytes.
    #[must_use]
    pub fn len(&self) -> u64 {
        match &self.data {
            UploadData::Memory(bytes) => bytes.len() as u64,
            UploadData::Path { len, .. } => *len,
        }
    }

    /// Whether the attachment is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("len", &self.len())
            .finish()
    }
}

/// A message to create. Sent as JSON, or as `multipart/form-data` when it has attachments
/// (one `attachments[]` part per file, `content_attributes` as a JSON string).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewMessage {
    /// Text (raw markdown).
    pub content: Option<String>,
    /// `Incoming` (API inboxes only) or `Outgoing`.
    pub message_type: MessageType,
    /// Private note.
    pub private: bool,
    /// Stored as-is; keys like `in_reply_to` (a Chatwoot message id) are understood.
    pub content_attributes: Map<String, Value>,
    /// Free text stored on the message (not unique).
    pub source_id: Option<String>,
    /// Stored into `content_attributes.external_created_at` (unix seconds).
    pub external_created_at: Option<i64>,
    /// Echoed in the REST response only.
    pub echo_id: Option<String>,
    /// Tags audio attachments as voice messages.
    pub is_voice_message: bool,
    /// Files (at most 15).
    pub attachments: Vec<Upload>,
}

impl NewMessage {
    /// An incoming message (from the contact) with `content`.
    #[must_use]
    pub fn incoming(content: impl Into<String>) -> Self {
        Self::with_type(MessageType::Incoming, content)
    }

    /// An outgoing message with `content`.
    #[must_use]
    pub fn outgoing(content: impl Into<String>) -> Self {
        Self::with_type(MessageType::Outgoing, content)
    }

    fn with_type(message_type: MessageType, content: impl Into<String>) -> Self {
        let content: String = content.into();
        Self {
            content: (!content.is_empty()).then_some(content),
            message_type,
            private: false,
            content_attributes: Map::new(),
            source_id: None,
            external_created_at: None,
            echo_id: None,
            is_voice_message: false,
            attachments: Vec::new(),
        }
    }

    /// Replies to Chatwoot message `id` (`content_attributes.in_reply_to`).
    #[must_use]
    pub fn in_reply_to(mut self, id: u64) -> Self {
        self.content_attributes
            .insert("in_reply_to".to_owned(), Value::from(id));
        self
    }

    /// Sets `source_id`.
    #[must_use]
    pub fn source_id(mut self, source_id: impl Into<String>) -> Self {
        self.source_id = Some(source_id.into());
        self
    }

    /// Adds an attachment.
    #[must_use]
    pub fn attach(mut self, upload: Upload) -> Self {
        self.attachments.push(upload);
        self
    }

    /// Makes it a private note.
    #[must_use]
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// The JSON body (without attachments).
    pub(crate) fn json_body(&self) -> Value {
        let mut body = Map::new();
        if let Some(content) = &self.content {
            body.insert("content".into(), Value::from(content.as_str()));
        }
        body.insert(
            "message_type".into(),
            Value::from(self.message_type.as_str()),
        );
        body.insert("private".into(), Value::from(self.private));
        if !self.content_attributes.is_empty() {
            body.insert(
                "content_attributes".into(),
                Value::Object(self.content_attributes.clone()),
            );
        }
        if let Some(source_id) = &self.source_id {
            body.insert("source_id".into(), Value::from(source_id.as_str()));
        }
        if let Some(at) = self.external_created_at {
            body.insert("external_created_at".into(), Value::from(at));
        }
        if let Some(echo) = &self.echo_id {
            body.insert("echo_id".into(), Value::from(echo.as_str()));
        }
        if self.is_voice_message {
            body.insert("is_voice_message".into(), Value::from(true));
        }
        Value::Object(body)
    }
}
