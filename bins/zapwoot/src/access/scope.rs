//! The scopes an API key may hold.

/// One permission of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    /// Everything, tenants and keys included.
    Admin,
    /// Read instances, their connection and imports; test their upstreams.
    InstancesRead,
    /// Create, change, delete, provision, pair, reconcile and import instances.
    InstancesWrite,
    /// Send messages through the send API and read their status.
    MessagesSend,
    /// Read the event log, the actions and the live activity stream.
    EventsRead,
    /// Retry failed and dead events.
    EventsRetry,
    /// Read subscriptions and their deliveries.
    SubscriptionsRead,
    /// Create, change, rotate, test, replay and delete subscriptions.
    SubscriptionsWrite,
}

impl Scope {
    /// Every scope, in the order the README lists them.
    pub(crate) const ALL: [Self; 8] = [
        Self::Admin,
        Self::InstancesRead,
        Self::InstancesWrite,
        Self::MessagesSend,
        Self::EventsRead,
        Self::EventsRetry,
        Self::SubscriptionsRead,
        Self::SubscriptionsWrite,
    ];

    /// Its name (`messages:send`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::InstancesRead => "instances:read",
            Self::InstancesWrite => "instances:write",
            Self::MessagesSend => "messages:send",
            Self::EventsRead => "events:read",
            Self::EventsRetry => "events:retry",
            Self::SubscriptionsRead => "subscriptions:read",
            Self::SubscriptionsWrite => "subscriptions:write",
        }
    }

    /// The scope named `name`.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("events"), None);
    }
}
