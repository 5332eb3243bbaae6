//! The activity bus: every effect the engine makes, as a normalized record, for live streams,
//! metrics and outbound subscriptions.

mod kinds;
mod parts;

#[cfg(test)]
mod golden;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::ser::{Serialize, SerializeStruct, Serializer};
use tokio::sync::broadcast;

pub use kinds::{
    ActivityKind, ConversationStatus, DeletedBy, DeliveryFailed, EndpointDisabled, EndpointTest,
    GroupParticipantsChange, ImportProgress, InstanceStatus, MessageDeleted, MessageEdited,
    MessageReceived, MessageSent, MessageStatusChange, Reaction, ReconciledPass,
};
pub use parts::{
    AgentInfo, AgentKind, ChatType, ContactInfo, GroupInfo, LocationInfo, MediaInfo, MessageSender,
    PollInfo, QuotedMessage, SentVia,
};

/// One thing that happened. Serializes as `{"type", "instance", "timestamp_ms", "data"}`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Activity {
    /// What happened, with its details.
    pub kind: ActivityKind,
    /// Instance name (empty for records about no instance, such as `endpoint.disabled`).
    pub instance: String,
    /// Unix milliseconds.
    pub timestamp_ms: i64,
}

impl Activity {
    /// A record of `kind` for `instance`, now.
    #[must_use]
    pub fn new(instance: &str, kind: ActivityKind) -> Self {
        Self {
            kind,
            instance: instance.to_owned(),
            timestamp_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// The same record at another time (tests, clocks other than the wall clock).
    #[must_use]
    pub fn at(mut self, timestamp_ms: i64) -> Self {
        self.timestamp_ms = timestamp_ms;
        self
    }

    /// The activity type (`message.received`, …).
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The details as a JSON object (the `data` of stream records and webhooks).
    #[must_use]
    pub fn data(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(&self.kind) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }
}

impl Serialize for Activity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut record = serializer.serialize_struct("Activity", 4)?;
        record.serialize_field("type", self.name())?;
        record.serialize_field("instance", &self.instance)?;
        record.serialize_field("timestamp_ms", &self.timestamp_ms)?;
        record.serialize_field("data", &self.kind)?;
        record.end()
    }
}

/// A broadcast channel of [`Activity`]; slow subscribers miss old records rather than slowing
/// the engine.
#[derive(Debug, Clone)]
pub struct ActivityBus {
    sender: broadcast::Sender<Activity>,
}

impl Default for ActivityBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl ActivityBus {
    /// A bus keeping the last `capacity` records for slow subscribers.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity.max(1)).0,
        }
    }

    /// Publishes a record (no-op without subscribers).
    pub fn publish(&self, activity: Activity) {
        let _ = self.sender.send(activity);
    }

    /// Subscribes to records published from now on.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Activity> {
        self.sender.subscribe()
    }
}
