//! Events: every inbound webhook, as inbox, work queue and audit log.

use crate::mapping::{IdentityRecord, NewConversation, NewMessage, ReceiptLevel};

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A WhatsApp gateway (wuzapi, GOWA): WhatsApp → Chatwoot.
    Gateway,
    /// Chatwoot: Chatwoot → WhatsApp.
    Chatwoot,
    /// The send API: a message to WhatsApp, mirrored into Chatwoot.
    Api,
}

impl Source {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::Chatwoot => "chatwoot",
            Self::Api => "api",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "chatwoot" => Self::Chatwoot,
            "api" => Self::Api,
            _ => Self::Gateway,
        }
    }
}

/// Where an event stands in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventStatus {
    /// Waiting to be claimed.
    Pending,
    /// Claimed by a worker holding a lease.
    Running,
    /// Processed; its effects are recorded.
    Done,
    /// Failed, waiting for its retry time; blocks its lane until then.
    Failed,
    /// Retries exhausted (or a permanent error); no longer blocks its lane; replayable.
    Dead,
    /// Deliberately not processed (e.g. an echo of the bridge's own action).
    Ignored,
}

impl EventStatus {
    /// Every status.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Running,
        Self::Done,
        Self::Failed,
        Self::Dead,
        Self::Ignored,
    ];

    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Dead => "dead",
            Self::Ignored => "ignored",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// An inbound webhook to record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewEvent {
    /// Owning instance.
    pub instance_id: i64,
    /// Gateway or Chatwoot.
    pub source: Source,
    /// Upstream event name (`message`, `message_created`, …), for filtering.
    pub kind: String,
    /// Unique per instance and source (with `waits`): a second event with the same key is a
    /// duplicate.
    pub dedupe_key: String,
    /// How many times this webhook was already deferred behind later events of its lane: the
    /// deferred copies of one webhook share its dedupe key and differ by this count.
    pub waits: i32,
    /// Ordering lane within the instance (the canonical chat).
    pub lane: String,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// The raw request body, byte for byte.
    pub body: Vec<u8>,
    /// Not claimable before this time (unix milliseconds); `None` = at once. Used to re-queue
    /// an event behind later ones of its lane (a receipt that arrived before its message).
    pub not_before_ms: Option<i64>,
}

impl NewEvent {
    /// An event with the given routing fields and body.
    #[must_use]
    pub fn new(
        instance_id: i64,
        source: Source,
        dedupe_key: impl Into<String>,
        lane: impl Into<String>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            instance_id,
            source,
            kind: String::new(),
            dedupe_key: dedupe_key.into(),
            waits: 0,
            lane: lane.into(),
            content_type: String::new(),
            body: body.into(),
            not_before_ms: None,
        }
    }
}

/// The outcome of [`Events::record`](crate::Events::record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The event's id (the existing one for a duplicate).
    pub id: i64,
    /// `true` when an event with the same dedupe key already existed; nothing was written.
    pub duplicate: bool,
}

/// Proof that a worker holds an event; required to finish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The event.
    pub event_id: i64,
    /// The worker that claimed it.
    pub owner: String,
    /// The attempt number the claim started (1 for the first).
    pub attempt: i32,
}

/// What a worker records when it is done with an event (see `Events::complete`, `fail`,
/// `ignore`): written with other outcomes in one transaction.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub lease: Lease,
    pub status: EventStatus,
    pub next_attempt_at: Option<i64>,
    pub error: Option<String>,
    pub effects: Vec<Effect>,
    pub now: i64,
}

/// A stored event. `body` is `None` in listings and once pruned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventRecord {
    /// Id, increasing in arrival order.
    pub id: i64,
    /// Owning instance.
    pub instance_id: i64,
    /// Gateway or Chatwoot.
    pub source: Source,
    /// Upstream event name.
    pub kind: String,
    /// Dedupe key.
    pub dedupe_key: String,
    /// Times the webhook was deferred behind later events of its lane.
    pub waits: i32,
    /// Lane.
    pub lane: String,
    /// Request `Content-Type`.
    pub content_type: String,
    /// Raw body.
    pub body: Option<Vec<u8>>,
    /// Arrival time, unix milliseconds.
    pub received_at_ms: i64,
    /// Queue status.
    pub status: EventStatus,
    /// Attempts started so far.
    pub attempts: i32,
    /// Earliest next attempt, unix milliseconds.
    pub next_attempt_at_ms: i64,
    /// Worker holding the lease, while running.
    pub lease_owner: Option<String>,
    /// Lease expiry, unix milliseconds, while running.
    pub lease_expires_at_ms: Option<i64>,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When it became done, dead or ignored, unix milliseconds.
    pub finished_at_ms: Option<i64>,
}

/// A claimed event with its body and lease.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimedEvent {
    /// The event (`body` is always `Some`).
    pub event: EventRecord,
    /// The lease to pass to `complete`, `fail` or `ignore`.
    pub lease: Lease,
}

/// Filters for [`Events::list`](crate::Events::list); newest first, keyset-paginated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventFilter {
    /// Only this instance.
    pub instance_id: Option<i64>,
    /// Only these instances (a key limited to some sees only theirs).
    pub instance_ids: Option<Vec<i64>>,
    /// Only this status.
    pub status: Option<EventStatus>,
    /// Only this source (direction).
    pub source: Option<Source>,
    /// Received at or after, unix milliseconds.
    pub since_ms: Option<i64>,
    /// Received before, unix milliseconds.
    pub until_ms: Option<i64>,
    /// Page cursor: only ids below this one (pass the last id of the previous page).
    pub before_id: Option<i64>,
    /// Page size (default 50, at most 1000).
    pub limit: Option<i64>,
}

impl EventFilter {
    /// No filter: every event, newest first, 50 per page.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Only events of this instance.
    #[must_use]
    pub fn instance(mut self, instance_id: i64) -> Self {
        self.instance_id = Some(instance_id);
        self
    }

    /// Only events of these instances.
    #[must_use]
    pub fn instances(mut self, instance_ids: Vec<i64>) -> Self {
        self.instance_ids = Some(instance_ids);
        self
    }

    /// Only events in this status.
    #[must_use]
    pub fn status(mut self, status: EventStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only events from this source.
    #[must_use]
    pub fn source(mut self, source: Source) -> Self {
        self.source = Some(source);
        self
    }

    /// Only events received at or after this time (unix milliseconds).
    #[must_use]
    pub fn since_ms(mut self, since_ms: i64) -> Self {
        self.since_ms = Some(since_ms);
        self
    }

    /// Only events received before this time (unix milliseconds).
    #[must_use]
    pub fn until_ms(mut self, until_ms: i64) -> Self {
        self.until_ms = Some(until_ms);
        self
    }

    /// The page after the one that ended with event `id`.
    #[must_use]
    pub fn before_id(mut self, id: i64) -> Self {
        self.before_id = Some(id);
        self
    }

    /// Page size (1 to 1000).
    #[must_use]
    pub fn limit(mut self, limit: i64) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// A change written in the same transaction that finishes an event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Effect {
    /// Insert or update a message mapping (found by WhatsApp id + part, else Chatwoot id + part).
    Message(NewMessage),
    /// Raise a message's delivery status (never lowers it).
    Delivery {
        /// Instance.
        instance_id: i64,
        /// WhatsApp message id (every part is raised).
        wa_message_id: String,
        /// New status.
        status: ReceiptLevel,
    },
    /// Insert or update a conversation mapping (by Chatwoot conversation id).
    Conversation(NewConversation),
    /// Record that the bridge has seen Chatwoot messages up to this id (never lowers it).
    ConversationSeen {
        /// Instance.
        instance_id: i64,
        /// Chatwoot conversation id.
        chatwoot_conversation_id: i64,
        /// Highest Chatwoot message id seen.
        message_id: i64,
    },
    /// Record (`Some`) or close (`None`) the CSAT survey waiting for a rating in a
    /// conversation.
    CsatSurvey {
        /// Instance.
        instance_id: i64,
        /// Chatwoot conversation id.
        chatwoot_conversation_id: i64,
        /// The survey, or `None` once answered.
        survey: Option<crate::CsatSurvey>,
    },
    /// Insert or update an identity.
    Identity(IdentityRecord),
    /// Record a delivery of this notification for every matching enabled subscription.
    Notify(crate::Notification),
    /// Record what an event saw of the instance's WhatsApp session.
    Connection(crate::ObservedConnection),
    /// Record that the session's state was announced.
    ConnectionAnnounced {
        /// Instance.
        instance_id: i64,
        /// The state announced.
        state: crate::SessionState,
    },
    /// Record where an API message's Chatwoot mirror is.
    ApiMirrored {
        /// The API message.
        id: i64,
        /// Its Chatwoot conversation.
        chatwoot_conversation_id: i64,
        /// Its Chatwoot message.
        chatwoot_message_id: i64,
    },
    /// Record a follow-up event (a duplicate dedupe key writes nothing): work that must
    /// happen because this outcome did, in its own lane so it never holds this one up.
    Enqueue(NewEvent),
}

/// What [`Store::prune`](crate::Store::prune) removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Finished events whose raw body was dropped.
    pub bodies_cleared: usize,
    /// Finished events deleted.
    pub events_deleted: usize,
    /// Finished outbound deliveries deleted (with their attempts).
    pub deliveries_deleted: usize,
    /// Send API messages (and their idempotency keys) deleted after their send event.
    pub api_messages_deleted: usize,
}

/// How many events of one kind are in one status ([`Events::counts`](crate::Events::counts)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventCount {
    /// The instance.
    pub instance_id: i64,
    /// Where the events came from.
    pub source: Source,
    /// Their kind (upstream event name).
    pub kind: String,
    /// Their status.
    pub status: EventStatus,
    /// How many.
    pub count: i64,
}

/// How many events of one kind and status arrived in one minute
/// ([`Events::per_minute`](crate::Events::per_minute)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MinuteCount {
    /// The start of the minute, in ms since the Unix epoch.
    pub minute_start_ms: i64,
    /// Where the events came from.
    pub source: Source,
    /// Their kind (upstream event name).
    pub kind: String,
    /// Their status.
    pub status: EventStatus,
    /// How many.
    pub count: i64,
}
