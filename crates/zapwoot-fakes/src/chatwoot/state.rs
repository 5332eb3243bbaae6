//! The fake Chatwoot's in-memory database.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Map, Value};

/// Unix seconds with fractions.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Administrator,
    Agent,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::Agent => "agent",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) token: String,
    pub(crate) role: Role,
}

#[derive(Debug, Clone)]
pub(crate) struct Inbox {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) api: bool,
    pub(crate) webhook_url: Option<String>,
    pub(crate) secret: String,
    pub(crate) identifier: String,
    pub(crate) lock_to_single_conversation: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) phone_number: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) identifier: Option<String>,
    pub(crate) blocked: bool,
    pub(crate) additional_attributes: Map<String, Value>,
    pub(crate) custom_attributes: Map<String, Value>,
    pub(crate) created_at: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct ContactInbox {
    pub(crate) id: u64,
    pub(crate) contact_id: u64,
    pub(crate) inbox_id: u64,
    pub(crate) source_id: String,
    pub(crate) created_at: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Conversation {
    pub(crate) id: u64,
    pub(crate) inbox_id: u64,
    pub(crate) contact_id: u64,
    pub(crate) contact_inbox_id: u64,
    pub(crate) status: String,
    pub(crate) additional_attributes: Map<String, Value>,
    pub(crate) custom_attributes: Map<String, Value>,
    pub(crate) created_at: f64,
    pub(crate) updated_at: f64,
    pub(crate) last_activity_at: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SenderRef {
    User(u64),
    Contact(u64),
    None,
}

#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: u64,
    pub(crate) conversation_id: u64,
    pub(crate) inbox_id: u64,
    pub(crate) content: Option<String>,
    /// 0 incoming, 1 outgoing, 2 activity, 3 template.
    pub(crate) message_type: u8,
    pub(crate) content_type: String,
    pub(crate) content_attributes: Map<String, Value>,
    pub(crate) private: bool,
    pub(crate) status: String,
    pub(crate) source_id: Option<String>,
    pub(crate) echo_id: Option<Value>,
    pub(crate) sender: SenderRef,
    pub(crate) created_at: f64,
    pub(crate) attachment_ids: Vec<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    pub(crate) id: u64,
    pub(crate) message_id: u64,
    pub(crate) file_type: String,
    pub(crate) content_type: String,
    pub(crate) file_name: String,
    pub(crate) blob_key: String,
    pub(crate) bytes: Bytes,
    pub(crate) voice: bool,
}

/// Everything the fake stores.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) account_id: u64,
    pub(crate) account_name: String,
    pub(crate) users: Vec<User>,
    pub(crate) inboxes: BTreeMap<u64, Inbox>,
    pub(crate) contacts: BTreeMap<u64, Contact>,
    /// Public-API `toggle_typing` calls accepted: conversation and on/off, in order.
    pub(crate) contact_typing: Vec<(u64, bool)>,
    /// Public-API CSAT answers accepted: conversation and rating, in order.
    pub(crate) csat_responses: Vec<(u64, u8)>,
    pub(crate) contact_inboxes: Vec<ContactInbox>,
    pub(crate) conversations: BTreeMap<u64, Conversation>,
    pub(crate) messages: BTreeMap<u64, Message>,
    pub(crate) conversation_messages: HashMap<u64, Vec<u64>>,
    pub(crate) attachments: BTreeMap<u64, Attachment>,
    pub(crate) blobs: HashMap<String, u64>,
    pub(crate) recent_creates: HashMap<u64, VecDeque<Instant>>,
    pub(crate) next_id: u64,
}

impl State {
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn user_by_token(&self, token: &str) -> Option<&User> {
        self.users.iter().find(|u| u.token == token)
    }

    pub(crate) fn user(&self, id: u64) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn contact_inbox(&self, id: u64) -> Option<&ContactInbox> {
        self.contact_inboxes.iter().find(|ci| ci.id == id)
    }

    pub(crate) fn contact_inbox_by_source(
        &self,
        inbox_id: u64,
        source_id: &str,
    ) -> Option<&ContactInbox> {
        self.contact_inboxes
            .iter()
            .find(|ci| ci.inbox_id == inbox_id && ci.source_id == source_id)
    }

    /// The last chat message of a conversation (non-activity, non-private).
    pub(crate) fn last_chat_message(&self, conversation_id: u64) -> Option<&Message> {
        self.conversation_messages
            .get(&conversation_id)?
            .iter()
            .rev()
            .filter_map(|id| self.messages.get(id))
            .find(|m| m.message_type != 2 && !m.private)
    }

    pub(crate) fn insert_message(&mut self, message: Message) {
        self.conversation_messages
            .entry(message.conversation_id)
            .or_default()
            .push(message.id);
        self.messages.insert(message.id, message);
    }

    /// Upstream's flood guard: at most `limit` messages per conversation per minute.
    pub(crate) fn flood_exceeded(&mut self, conversation_id: u64, limit: Option<u32>) -> bool {
        let Some(limit) = limit else { return false };
        let window = self.recent_creates.entry(conversation_id).or_default();
        let cutoff = Instant::now().checked_sub(std::time::Duration::from_secs(60));
        while window.front().is_some_and(|t| Some(*t) < cutoff) {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return true;
        }
        window.push_back(Instant::now());
        false
    }
}

/// `Chatwoot`'s E.164 check: `/\+[1-9]\d{1,14}\z/`, **not anchored at the start**.
pub(crate) fn is_e164_suffix(phone: &str) -> bool {
    phone
        .char_indices()
        .filter(|(_, c)| *c == '+')
        .any(|(i, _)| {
            let rest = phone.get(i + 1..).unwrap_or_default();
            let len = rest.chars().count();
            (2..=15).contains(&len)
                && rest.chars().all(|c| c.is_ascii_digit())
                && rest.chars().next().is_some_and(|c| c != '0')
        })
}

/// `file_type` from a part's Content-Type (`app/helpers/file_type_helper.rb`).
pub(crate) fn file_type(content_type: &str) -> &'static str {
    let ct = content_type.to_ascii_lowercase();
    if [
        "image/jpeg",
        "image/jpg",
        "image/png",
        "image/gif",
        "image/bmp",
        "image/webp",
    ]
    .contains(&ct.as_str())
    {
        "image"
    } else if ["video/ogg", "video/mp4", "video/webm", "video/quicktime"].contains(&ct.as_str()) {
        "video"
    } else if ct.contains("audio/") {
        "audio"
    } else {
        "file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_like_upstream() {
        for ok in ["+5511987654321", "+12", "abc+5511", "+551198765432112"] {
            assert!(is_e164_suffix(ok), "{ok}");
        }
        for bad in [
            "5511987654321",
            "+0551",
            "+1",
            "+5511 98765",
            "+5511987654321x",
            "",
            "+1234567890123456",
        ] {
            assert!(!is_e164_suffix(bad), "{bad}");
        }
    }

    #[test]
    fn file_types_like_upstream() {
        assert_eq!(file_type("image/png"), "image");
        assert_eq!(file_type("image/heic"), "file");
        assert_eq!(file_type("video/3gpp"), "file");
        assert_eq!(file_type("audio/ogg; codecs=opus"), "audio");
        assert_eq!(file_type("application/pdf"), "file");
    }
}
