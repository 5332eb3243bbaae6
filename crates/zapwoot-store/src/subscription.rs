//! Outbound webhook subscriptions (third-party receivers).

use std::collections::BTreeMap;

use crate::SecretString;

/// A subscription to create.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewSubscription {
    /// Receiver URL.
    pub url: String,
    /// Event names or patterns (`message.*`).
    pub events: Vec<String>,
    /// Instance names; `None` = all.
    pub instances: Option<Vec<String>>,
    /// Signing secret (`whsec_…`), sealed at rest.
    pub secret: SecretString,
    /// Extra request headers.
    pub headers: BTreeMap<String, String>,
    /// Allow loopback/private targets.
    pub allow_private_network: bool,
    /// Deliver in lane order (slower) rather than in parallel.
    pub ordered: bool,
    /// The tenant it belongs to, if any: it then receives only that tenant's instances'
    /// notifications, and only keys of that tenant (or unlimited ones) see it.
    pub tenant: Option<String>,
}

impl NewSubscription {
    /// An ordered subscription of `url` to `events` of every instance.
    #[must_use]
    pub fn new(url: impl Into<String>, events: Vec<String>, secret: SecretString) -> Self {
        Self {
            url: url.into(),
            events,
            instances: None,
            secret,
            headers: BTreeMap::new(),
            allow_private_network: false,
            ordered: true,
            tenant: None,
        }
    }
}

/// A stored subscription, secret opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Subscription {
    /// The subscription's id, assigned by the store (the `{id}` of `/api/v1/subscriptions/{id}`).
    pub id: i64,
    /// Its settings as stored now (creation plus any later update).
    pub config: NewSubscription,
    /// Deliveries are attempted only while enabled.
    pub enabled: bool,
    /// Start of the current run of failures, unix milliseconds.
    pub failing_since_ms: Option<i64>,
    /// Why it was disabled automatically (`410 Gone`, days of failures), if it was.
    pub disabled_reason: Option<String>,
    /// The secret before the last rotation, still signed with until `previous_secret_until_ms`.
    pub previous_secret: Option<SecretString>,
    /// End of the rotation window, unix milliseconds.
    pub previous_secret_until_ms: Option<i64>,
    /// Created, unix milliseconds.
    pub created_at_ms: i64,
}

impl Subscription {
    /// Whether a notification of `event_type` about `instance` (a name; `None` for
    /// notifications about no instance) passes this subscription's filters. Patterns are
    /// exact names, `*`, or a prefix ending in `.*` (`message.*` matches `message.sent`).
    #[must_use]
    pub fn matches(&self, event_type: &str, instance: Option<&str>) -> bool {
        filter_matches(
            &self.config.events,
            self.config.instances.as_deref(),
            event_type,
            instance,
        )
    }

    /// The secrets to sign with at `now_ms`: the current one, and the previous one while its
    /// rotation window lasts.
    #[must_use]
    pub fn signing_secrets(&self, now_ms: i64) -> Vec<&SecretString> {
        let mut secrets = vec![&self.config.secret];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.previous_secret_until_ms)
            && now_ms < until
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// The filter of [`Subscription::matches`], on the stored columns.
pub(crate) fn filter_matches(
    events: &[String],
    instances: Option<&[String]>,
    event_type: &str,
    instance: Option<&str>,
) -> bool {
    let wanted = events.iter().any(|pattern| {
        pattern == "*"
            || pattern == event_type
            || pattern
                .strip_suffix('*')
                .is_some_and(|prefix| prefix.ends_with('.') && event_type.starts_with(prefix))
    });
    let instance_ok = match (instances, instance) {
        (None, _) => true,
        (Some(names), Some(name)) => names.iter().any(|n| n == name),
        (Some(_), None) => false,
    };
    wanted && instance_ok
}

#[cfg(test)]
mod tests {
    use super::filter_matches;

    #[test]
    fn patterns_match_names_prefixes_and_instances() {
        let events = ["message.*".to_owned(), "reaction".to_owned()];
        let alpha = ["alpha".to_owned()];
        assert!(filter_matches(&events, None, "message.sent", Some("beta")));
        assert!(filter_matches(&events, None, "reaction", None));
        assert!(!filter_matches(&events, None, "messages", None));
        assert!(!filter_matches(&events, None, "message", None));
        assert!(!filter_matches(&events, None, "reaction.removed", None));
        assert!(filter_matches(
            &events,
            Some(&alpha),
            "message.sent",
            Some("alpha")
        ));
        assert!(!filter_matches(
            &events,
            Some(&alpha),
            "message.sent",
            Some("beta")
        ));
        assert!(!filter_matches(&events, Some(&alpha), "message.sent", None));
        assert!(filter_matches(
            &["*".to_owned()],
            None,
            "endpoint.disabled",
            None
        ));
    }
}
