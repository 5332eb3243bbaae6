//! Each instance's WhatsApp session as the bridge last saw it: [`ConnectionRecord`], written
//! by the [`Effect::Connection`](crate::Effect::Connection) of the events that observe it.

use std::fmt;

/// The state of a WhatsApp session, as the bridge records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionState {
    /// Logged in and connected: messages flow.
    Connected,
    /// Logged in but the connection is down (the gateway reconnects).
    Disconnected,
    /// Waiting for a phone to scan the QR code or type the linking code.
    Pairing,
    /// Not logged in: a phone has to pair again.
    LoggedOut,
    /// Banned by WhatsApp.
    Banned,
    /// Not seen yet.
    Unknown,
}

impl SessionState {
    /// Every state.
    pub const ALL: [Self; 6] = [
        Self::Connected,
        Self::Disconnected,
        Self::Pairing,
        Self::LoggedOut,
        Self::Banned,
        Self::Unknown,
    ];

    /// The stored (and API) name: `connected`, `disconnected`, `pairing`, `logged_out`,
    /// `banned`, `unknown`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::Pairing => "pairing",
            Self::LoggedOut => "logged_out",
            Self::Banned => "banned",
            Self::Unknown => "unknown",
        }
    }

    /// The state named `name`; anything else is [`Self::Unknown`].
    #[must_use]
    pub fn parse(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .unwrap_or(Self::Unknown)
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event saw of a session: the state, and who and why when it says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObservedConnection {
    /// Instance.
    pub instance_id: i64,
    /// The state seen.
    pub state: SessionState,
    /// How the gateway named it (`PairSuccess`, `LoggedOut`, `status poll`, …).
    pub detail: String,
    /// The account's JID, when known (kept from earlier observations otherwise).
    pub jid: Option<String>,
    /// The account's WhatsApp name, when known (kept from earlier observations otherwise).
    pub push_name: Option<String>,
    /// Why, when the gateway says (replaced on every change of state).
    pub reason: Option<String>,
}

impl ObservedConnection {
    /// `state` seen for `instance_id`, as `detail` names it.
    #[must_use]
    pub fn new(instance_id: i64, state: SessionState, detail: impl Into<String>) -> Self {
        Self {
            instance_id,
            state,
            detail: detail.into(),
            jid: None,
            push_name: None,
            reason: None,
        }
    }
}

/// An instance's session as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionRecord {
    /// Instance.
    pub instance_id: i64,
    /// The state now.
    pub state: SessionState,
    /// The account's JID (the last one seen, also after a logout).
    pub jid: Option<String>,
    /// The account's WhatsApp name.
    pub push_name: Option<String>,
    /// Why the session is in this state, when the gateway said.
    pub reason: Option<String>,
    /// How the gateway named the last observation.
    pub detail: String,
    /// Since when the state holds, unix milliseconds.
    pub since_ms: i64,
    /// The state last announced (`instance.status`), if any.
    pub announced: Option<SessionState>,
    /// When last observed, unix milliseconds.
    pub updated_at_ms: i64,
}

impl ConnectionRecord {
    /// A record of `state` since `since_ms`, nothing else known (tests, callers that build
    /// one to compare with).
    #[must_use]
    pub fn new(instance_id: i64, state: SessionState, since_ms: i64) -> Self {
        Self {
            instance_id,
            state,
            jid: None,
            push_name: None,
            reason: None,
            detail: String::new(),
            since_ms,
            announced: None,
            updated_at_ms: since_ms,
        }
    }

    /// The account's phone number (the JID's user part), when the JID is a phone JID.
    #[must_use]
    pub fn phone(&self) -> Option<&str> {
        let jid = self.jid.as_deref()?;
        let (user, server) = jid.split_once('@')?;
        let user = user.split([':', '.']).next().unwrap_or(user);
        (server == "s.whatsapp.net" && !user.is_empty() && user.bytes().all(|b| b.is_ascii_digit()))
            .then_some(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_phones_come_from_phone_jids() {
        for s in SessionState::ALL {
            assert_eq!(SessionState::parse(s.as_str()), s);
        }
        assert_eq!(SessionState::parse("nonsense"), SessionState::Unknown);
        let mut r = ConnectionRecord {
            instance_id: 1,
            state: SessionState::Connected,
            jid: Some("5511999990000:12@s.whatsapp.net".to_owned()),
            push_name: None,
            reason: None,
            detail: String::new(),
            since_ms: 0,
            announced: None,
            updated_at_ms: 0,
        };
        assert_eq!(r.phone(), Some("5511999990000"));
        r.jid = Some("123456@lid".to_owned());
        assert_eq!(r.phone(), None);
    }
}
