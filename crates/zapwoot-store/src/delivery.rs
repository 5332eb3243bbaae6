//! Outbound webhook deliveries (the outbox): a [`Notification`] is fanned out to every enabled
//! subscription whose filter matches, as one [`Delivery`] row each, in the same transaction as
//! the change that caused it. Not to be confused with [`ReceiptLevel`](crate::ReceiptLevel),
//! the WhatsApp receipt of a message.

use crate::Subscription;

/// Something that happened, to be delivered to every matching subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// The `webhook-id`: stable across retries and replays, unique per subscription (a second
    /// notification with the same id is not delivered again). 1–256 printable ASCII
    /// characters without `.`, `,` or spaces.
    pub message_id: String,
    /// Event type (`message.received`, …), matched against subscription filters.
    pub event_type: String,
    /// The instance it concerns, if any (store id and name, for instance filters).
    pub instance: Option<(i64, String)>,
    /// Ordering key: an ordered subscription receives the deliveries of one lane one at a
    /// time, in the order they were recorded.
    pub lane: String,
    /// The request body (JSON), exactly as it will be signed and sent.
    pub payload: String,
}

impl Notification {
    /// A notification of `event_type` with this id and body, for no particular instance.
    #[must_use]
    pub fn new(
        message_id: impl Into<String>,
        event_type: impl Into<String>,
        payload: impl Into<String>,
    ) -> Self {
        Self {
            message_id: message_id.into(),
            event_type: event_type.into(),
            instance: None,
            lane: String::new(),
            payload: payload.into(),
        }
    }

    /// The same notification about instance `id` named `name`.
    #[must_use]
    pub fn for_instance(mut self, id: i64, name: impl Into<String>) -> Self {
        self.instance = Some((id, name.into()));
        self
    }

    /// The same notification in ordering lane `lane`.
    #[must_use]
    pub fn in_lane(mut self, lane: impl Into<String>) -> Self {
        self.lane = lane.into();
        self
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Pending,
    /// Leased by a worker right now.
    Running,
    /// The receiver answered 2xx.
    Done,
    /// Failed; retried at `next_attempt_at`.
    Failed,
    /// Gave up after the whole retry schedule (replayable).
    Dead,
}

impl DeliveryState {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
}

/// One attempt to deliver: what the receiver answered, or why there was no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryAttempt {
    /// When the request started, unix milliseconds.
    pub attempted_at_ms: i64,
    /// HTTP status, `None` when no response came (refused, timeout, blocked target).
    pub status_code: Option<u16>,
    /// Request duration.
    pub latency_ms: i64,
    /// Why it failed, in words (never a secret).
    pub error: Option<String>,
    /// The start of the response body (capped), for diagnosis.
    pub response: Option<String>,
}

impl DeliveryAttempt {
    /// An attempt started at `attempted_at_ms` that took `latency_ms`.
    #[must_use]
    pub fn new(attempted_at_ms: i64, latency_ms: i64) -> Self {
        Self {
            attempted_at_ms,
            status_code: None,
            latency_ms,
            error: None,
            response: None,
        }
    }
}

/// A stored delivery with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// Store id.
    pub id: i64,
    /// The subscription it goes to.
    pub subscription_id: i64,
    /// The `webhook-id`.
    pub message_id: String,
    /// Event type.
    pub event_type: String,
    /// Instance store id, if any.
    pub instance_id: Option<i64>,
    /// Ordering lane.
    pub lane: String,
    /// Request body.
    pub payload: String,
    /// State.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due, unix milliseconds.
    pub next_attempt_at_ms: i64,
    /// Recorded, unix milliseconds.
    pub created_at_ms: i64,
    /// Done or given up, unix milliseconds.
    pub finished_at_ms: Option<i64>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// Every attempt, oldest first (empty in claims).
    pub history: Vec<DeliveryAttempt>,
}

/// Proof that a worker holds a delivery; ends with [`Deliveries::finish`](crate::Deliveries::finish).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLease {
    /// The delivery.
    pub delivery_id: i64,
    /// The worker.
    pub owner: String,
    /// Attempt number of this claim (1 = first).
    pub attempt: i32,
}

/// A claimed delivery, with its subscription (URL, headers, secrets) opened.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClaimedDelivery {
    /// The delivery.
    pub delivery: Delivery,
    /// Its lease.
    pub lease: DeliveryLease,
    /// Where and how to send it.
    pub subscription: Subscription,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryNext {
    /// Delivered.
    Done,
    /// Try again at this time (unix milliseconds).
    RetryAt(i64),
    /// Give up (the schedule is exhausted).
    Dead,
}

/// The subscription's state after an attempt was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionHealth {
    /// Start of the current run of failures (`None` after a success).
    pub failing_since_ms: Option<i64>,
    /// Still enabled.
    pub enabled: bool,
}

/// Which deliveries to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryFilter {
    /// Only this subscription's.
    pub subscription_id: Option<i64>,
    /// Only in this state.
    pub state: Option<DeliveryState>,
    /// Recorded at or after, unix milliseconds.
    pub since_ms: Option<i64>,
    /// Recorded before, unix milliseconds.
    pub until_ms: Option<i64>,
    /// Only ids below this (paging).
    pub before_id: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

impl DeliveryFilter {
    /// The deliveries of one subscription.
    #[must_use]
    pub fn subscription(id: i64) -> Self {
        Self {
            subscription_id: Some(id),
            ..Self::default()
        }
    }
}

/// Which deliveries a range replay sends again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayRange {
    /// Recorded at or after, unix milliseconds.
    pub since_ms: i64,
    /// Recorded before, unix milliseconds.
    pub until_ms: i64,
    /// Also send deliveries that already succeeded (default: only failed and dead ones).
    pub include_done: bool,
}

impl ReplayRange {
    /// Failed and dead deliveries recorded in `[since_ms, until_ms)`.
    #[must_use]
    pub fn failed(since_ms: i64, until_ms: i64) -> Self {
        Self {
            since_ms,
            until_ms,
            include_done: false,
        }
    }
}
