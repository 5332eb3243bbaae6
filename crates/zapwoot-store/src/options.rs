//! Per-instance behaviour options (the `options` object of the instance document), stored
//! typed with the instance and read by the sync engine.

use serde::{Deserialize, Serialize};

/// What to do with WhatsApp messages typed on the phone itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromMe {
    /// Mirror as outgoing messages (default).
    #[default]
    Outgoing,
    /// Mirror as private notes.
    PrivateNote,
    /// Ignore.
    Ignore,
}

/// Which Chatwoot conversation a new WhatsApp message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationPolicy {
    /// The latest conversation of the chat unless resolved; else a new one (default).
    #[default]
    ReuseOpen,
    /// Always the latest conversation (Chatwoot reopens it).
    Reopen,
    /// A new conversation whenever the latest was resolved (same as `reuse_open`, never
    /// adopting conversations the bridge did not create).
    NewAfterResolved,
}

/// What a WhatsApp "delete for everyone" does in Chatwoot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokePolicy {
    /// Delete the mapped Chatwoot message (default).
    #[default]
    Delete,
    /// Keep it and add a private note.
    Note,
}

/// Instance options. Unknown keys are ignored; missing keys take defaults.
///
/// ```
/// let options: zapwoot_store::InstanceOptions = serde_json::from_value(serde_json::json!({
///     "conversation": "reopen", "from_me": "private_note", "groups": false
/// }))?;
/// assert_eq!(options.conversation, zapwoot_store::ConversationPolicy::Reopen);
/// assert!(options.sign_agent_name, "defaults fill the rest");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InstanceOptions {
    /// Prefix agent messages with `*Agent name*:`.
    pub sign_agent_name: bool,
    /// Conversation policy.
    pub conversation: ConversationPolicy,
    /// Bridge group chats.
    pub groups: bool,
    /// In groups, prefix each message with the sender's name and number.
    pub group_sender_prefix: bool,
    /// Messages typed on the phone.
    pub from_me: FromMe,
    /// Chats to ignore (exact JIDs).
    pub ignore_jids: Vec<String>,
    /// Revokes.
    pub revoke: RevokePolicy,
    /// Largest media file carried, in bytes (default 40 MiB).
    pub max_media_bytes: u64,
    /// Chatwoot requests per second for this instance (token bucket).
    pub chatwoot_rate_per_second: u32,
    /// Concurrent calls to the gateway.
    pub gateway_concurrency: u32,
    /// Messages the send API sends per minute for this instance, at most (default 20: bulk
    /// sending gets numbers banned).
    pub send_rate_per_minute: u32,
    /// Send API messages queued for this instance before new ones are refused with 429
    /// (default 500).
    pub send_queue_limit: u32,
    /// When an agent answers in Chatwoot, mark the customer's unread messages in that chat
    /// read on WhatsApp (blue ticks), once each; direct chats only (default true).
    pub mark_read_on_reply: bool,
    /// Typing indicators both ways: an agent typing in Chatwoot shows "typing…" on WhatsApp,
    /// a customer typing on WhatsApp shows it in Chatwoot (default true).
    pub typing: bool,
    /// Decline incoming WhatsApp calls (the agent sees the missed call either way; default
    /// false).
    pub reject_calls: bool,
    /// A customer's rating (1–5, or 1–5 stars) answering Chatwoot's CSAT survey within
    /// [`CSAT_WINDOW_HOURS`] is submitted to Chatwoot's CSAT reports (default true).
    pub csat_capture: bool,
    /// Agents may log the number out of WhatsApp by typing `logout` in the instance's
    /// integration conversation in Chatwoot (default false: anyone who can read the inbox
    /// could cut the number off).
    pub chatwoot_logout_command: bool,
    /// With `reject_calls`, the text sent to the caller once per call (default none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_reply: Option<String>,
    /// Origins (`http://minio:9000`) whose loopback or private addresses media may be
    /// fetched from; elsewhere media URLs must resolve to public addresses.
    pub media_origins: Vec<String>,
    /// The bridged number's JID, when the gateway does not say it (GOWA ≤ v7 tells own
    /// messages only by comparing with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_jid: Option<String>,
}

impl Default for InstanceOptions {
    fn default() -> Self {
        Self {
            sign_agent_name: true,
            conversation: ConversationPolicy::ReuseOpen,
            groups: true,
            group_sender_prefix: true,
            from_me: FromMe::Outgoing,
            ignore_jids: Vec::new(),
            revoke: RevokePolicy::Delete,
            max_media_bytes: 40 * 1024 * 1024,
            chatwoot_rate_per_second: 40,
            gateway_concurrency: 4,
            send_rate_per_minute: 20,
            send_queue_limit: 500,
            mark_read_on_reply: true,
            typing: true,
            reject_calls: false,
            csat_capture: true,
            chatwoot_logout_command: false,
            call_reply: None,
            media_origins: Vec::new(),
            own_jid: None,
        }
    }
}

/// How long after a CSAT survey a rating counts as its answer.
pub const CSAT_WINDOW_HOURS: u64 = 12;

/// The largest `max_media_bytes` accepted: media are held in memory while relayed.
pub const MAX_MEDIA_BYTES_LIMIT: u64 = 128 * 1024 * 1024;

impl InstanceOptions {
    /// Why these options cannot be used, as `(option, reason)`: zero rates or concurrency
    /// (which would stall the instance), a media limit outside 1 byte..128 MiB, a
    /// `media_origins` entry that is not an `http(s)://host[:port]` origin.
    #[must_use]
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.chatwoot_rate_per_second == 0 {
            return Some(("chatwoot_rate_per_second", "must be at least 1".into()));
        }
        if self.gateway_concurrency == 0 {
            return Some(("gateway_concurrency", "must be at least 1".into()));
        }
        if self.send_rate_per_minute == 0 {
            return Some(("send_rate_per_minute", "must be at least 1".into()));
        }
        if self.send_queue_limit == 0 {
            return Some(("send_queue_limit", "must be at least 1".into()));
        }
        if self.max_media_bytes == 0 || self.max_media_bytes > MAX_MEDIA_BYTES_LIMIT {
            return Some((
                "max_media_bytes",
                format!("must be between 1 and {MAX_MEDIA_BYTES_LIMIT}"),
            ));
        }
        for origin in &self.media_origins {
            let ok = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
                    && u.username().is_empty()
            });
            if !ok {
                return Some((
                    "media_origins",
                    format!("{origin:?} is not an http(s)://host[:port] origin"),
                ));
            }
        }
        None
    }
}
