//! The WhatsApp session of each instance: what the gateway says about it (webhooks, and
//! status polls recorded as events with [`observation_event`]) updates its durable
//! [`ConnectionRecord`] at once; a change is *announced*
//! (`instance.status` activity and outbound webhook, a note in Chatwoot) only once it has held
//! for [`SETTLE`], so a connection that drops and comes back within seconds says nothing.
//!
//! The announcement is itself an event: each change enqueues a check, claimable [`SETTLE`]
//! later in its own lane, in the transaction that records the change. The check announces
//! when the state still holds and has held long enough, so it survives restarts and runs once
//! across replicas.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use zapwoot_gateway::{ConnectionState, Health};
use zapwoot_store::{ConnectionRecord, NewEvent, ObservedConnection, SessionState, Source};

/// How long a new session state must hold before it is announced.
pub const SETTLE: Duration = Duration::from_secs(10);

/// How long the bridge treats a session as pairing after a QR or linking code was asked for
/// while the gateway still says "not logged in" (a poll then says `logged_out`).
pub const PAIRING_WINDOW: Duration = Duration::from_secs(180);

/// The content type of the events [`observation_event`] records.
pub const OBSERVATION_CONTENT_TYPE: &str = "application/vnd.zapwoot.session-observation+json";

/// The content type of the settle checks the engine enqueues for itself.
pub(crate) const CHECK_CONTENT_TYPE: &str = "application/vnd.zapwoot.session-check+json";

/// The lane of session observations (the gateway's session webhooks use it too).
pub(crate) const LANE: &str = "_session";

/// The lane of settle checks (apart, so a waiting check holds nothing up).
pub(crate) const CHECK_LANE: &str = "_session_check";

/// The session state a gateway's connection event means.
#[must_use]
pub fn state_of(state: ConnectionState) -> SessionState {
    match state {
        ConnectionState::Connected => SessionState::Connected,
        ConnectionState::Disconnected => SessionState::Disconnected,
        ConnectionState::LoggedOut => SessionState::LoggedOut,
        ConnectionState::Pairing => SessionState::Pairing,
        ConnectionState::Banned => SessionState::Banned,
        _ => SessionState::Unknown,
    }
}

/// What a status poll (`health`) says of the session, given what is recorded: `None` when it
/// says nothing new (the same state; or "not logged in" during a pairing that is younger than
/// [`PAIRING_WINDOW`], or of a banned session).
#[must_use]
pub fn polled(
    instance_id: i64,
    health: &Health,
    current: Option<&ConnectionRecord>,
    now_ms: i64,
) -> Option<ObservedConnection> {
    let state = match (health.logged_in, health.connected) {
        (true, true) => SessionState::Connected,
        (true, false) => SessionState::Disconnected,
        (false, _) => SessionState::LoggedOut,
    };
    if let Some(record) = current {
        let pairing_window = i64::try_from(PAIRING_WINDOW.as_millis()).unwrap_or(i64::MAX);
        let keeps = record.state == state
            || (state == SessionState::LoggedOut
                && (record.state == SessionState::Banned
                    || (record.state == SessionState::Pairing
                        && now_ms - record.since_ms < pairing_window)));
        let names_new_jid = state == SessionState::Connected
            && health.jid.as_ref().map(ToString::to_string) != record.jid
            && health.jid.is_some();
        if keeps && !names_new_jid {
            return None;
        }
    }
    let mut seen = ObservedConnection::new(instance_id, state, "status poll");
    seen.jid = health.jid.as_ref().map(ToString::to_string);
    Some(seen)
}

/// Whom a connected session is, for a sentence: ` as Loja Alpha (+5511…)`, or nothing.
pub(crate) fn as_whom(record: &ConnectionRecord) -> String {
    match (record.push_name.as_deref(), record.phone()) {
        (Some(n), Some(p)) => format!(" as {n} (+{p})"),
        (None, Some(p)) => format!(" as +{p}"),
        (Some(n), None) => format!(" as {n}"),
        (None, None) => String::new(),
    }
}

/// The recorded reason, for a sentence: ` (reason code 401)`, or nothing.
pub(crate) fn because(record: &ConnectionRecord) -> String {
    record
        .reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default()
}

/// The body of an observation event.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Observation {
    pub(crate) state: String,
    pub(crate) detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) jid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) push_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
}

impl Observation {
    pub(crate) fn into_observed(self, instance_id: i64) -> ObservedConnection {
        let mut seen =
            ObservedConnection::new(instance_id, SessionState::parse(&self.state), self.detail);
        seen.jid = self.jid;
        seen.push_name = self.push_name;
        seen.reason = self.reason;
        seen
    }
}

/// An event that records `seen` (a status poll, a pairing started through the API or the
/// CLI), processed in order with the gateway's own session webhooks. `at_ms` makes its
/// dedupe key (one observation per instance, state and millisecond).
#[must_use]
pub fn observation_event(seen: &ObservedConnection, at_ms: i64) -> NewEvent {
    let body = Observation {
        state: seen.state.as_str().to_owned(),
        detail: seen.detail.clone(),
        jid: seen.jid.clone(),
        push_name: seen.push_name.clone(),
        reason: seen.reason.clone(),
    };
    let mut event = NewEvent::new(
        seen.instance_id,
        Source::Gateway,
        format!("session:{}:{at_ms}", seen.state.as_str()),
        LANE,
        serde_json::to_vec(&body).unwrap_or_default(),
    );
    event.kind = "session".to_owned();
    event.content_type = OBSERVATION_CONTENT_TYPE.to_owned();
    event
}

/// The body of a settle check: the state to announce once it has held.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Check {
    pub(crate) state: String,
}

/// A settle check for `state`, claimable at `due_ms`; `key` tells checks apart (the event
/// that saw the change, or the `since` a re-check waits for).
pub(crate) fn check_event(
    instance_id: i64,
    state: SessionState,
    key: &str,
    due_ms: i64,
) -> NewEvent {
    let body = Check {
        state: state.as_str().to_owned(),
    };
    let mut event = NewEvent::new(
        instance_id,
        Source::Gateway,
        format!("session-check:{}:{key}", state.as_str()),
        CHECK_LANE,
        serde_json::to_vec(&body).unwrap_or_default(),
    );
    event.kind = "session.check".to_owned();
    event.content_type = CHECK_CONTENT_TYPE.to_owned();
    event.not_before_ms = Some(due_ms);
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use zapwoot_gateway::Jid;

    fn record(state: SessionState, since_ms: i64) -> ConnectionRecord {
        let mut r = ConnectionRecord::new(1, state, since_ms);
        r.jid = Some("5511900000000@s.whatsapp.net".into());
        r
    }

    fn health(logged_in: bool, connected: bool) -> Health {
        Health::new(
            connected,
            logged_in,
            logged_in.then(|| Jid::parse("5511900000000@s.whatsapp.net").unwrap()),
        )
    }

    #[test]
    fn polls_report_only_what_is_new() {
        let now = 1_000_000;
        assert_eq!(
            polled(1, &health(true, true), None, now).map(|s| s.state),
            Some(SessionState::Connected)
        );
        let connected = record(SessionState::Connected, 0);
        assert!(polled(1, &health(true, true), Some(&connected), now).is_none());
        assert_eq!(
            polled(1, &health(true, false), Some(&connected), now).map(|s| s.state),
            Some(SessionState::Disconnected)
        );
        assert_eq!(
            polled(1, &health(false, false), Some(&connected), now).map(|s| s.state),
            Some(SessionState::LoggedOut)
        );
        let pairing = record(SessionState::Pairing, now - 5_000);
        assert!(polled(1, &health(false, true), Some(&pairing), now).is_none());
        let stale = record(SessionState::Pairing, now - 200_000);
        assert_eq!(
            polled(1, &health(false, true), Some(&stale), now).map(|s| s.state),
            Some(SessionState::LoggedOut)
        );
        let banned = record(SessionState::Banned, 0);
        assert!(polled(1, &health(false, false), Some(&banned), now).is_none());
    }
}
