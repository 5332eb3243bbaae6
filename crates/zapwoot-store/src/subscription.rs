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
        }
    }
}

/// A stored subscription, secret opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Subscription {
    /// Store id.
    pub id: i64,
    /// Fields as created.
    pub config: NewSubscription,
    /// Deliveries are attempted only while enabled.
    pub enabled: bool,
    /// Start of the current run of failures, unix milliseconds.
    pub failing_since_ms: Option<i64>,
    /// Created, unix milliseconds.
    pub created_at_ms: i64,
}
