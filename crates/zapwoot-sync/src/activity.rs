//! The activity bus: every effect the engine makes, as a normalized record, for live streams,
//! metrics and outbound subscriptions.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Activity {
    /// `message.received`, `message.sent`, `message.status`, `message.deleted`,
    /// `message.edited`, `reaction`, `conversation.status`, `instance.status`, `delivery.failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Instance name.
    pub instance: String,
    /// Unix milliseconds.
    pub timestamp_ms: i64,
    /// Details (stable shapes per type).
    pub data: Value,
}

impl Activity {
    /// A record of `kind` for `instance`, now.
    #[must_use]
    pub fn new(kind: &str, instance: &str, data: Value) -> Self {
        Self {
            kind: kind.to_owned(),
            instance: instance.to_owned(),
            timestamp_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            data,
        }
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
