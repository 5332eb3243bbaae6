//! How a processing step failed, and the public error type.

use std::time::Duration;

use zapwoot_gateway::SendOutcome;

/// Why a step did not finish, deciding what happens to the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Transient: try again after backoff (at least `retry_after`).
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Something it depends on has not arrived yet (a receipt before its message): try again
    /// soon, a bounded number of times.
    Wait { reason: String },
    /// Will never work: dead-letter now.
    Permanent { reason: String },
}

impl Failure {
    pub(crate) fn retry(reason: impl Into<String>) -> Self {
        Self::Retry {
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub(crate) fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent {
            reason: reason.into(),
        }
    }

    pub(crate) fn reason(&self) -> &str {
        match self {
            Self::Retry { reason, .. } | Self::Wait { reason } | Self::Permanent { reason } => {
                reason
            }
        }
    }
}

impl From<zapwoot_chatwoot::Error> for Failure {
    fn from(err: zapwoot_chatwoot::Error) -> Self {
        let reason = format!("Chatwoot: {err}");
        match err.status() {
            // Chatwoot sends no Retry-After on 429: back off at least 5 s.
            Some(429) => Self::Retry {
                reason,
                retry_after: Some(err.retry_after().unwrap_or(Duration::from_secs(5))),
            },
            Some(408) => Self::retry(reason),
            _ if err.is_retryable() => Self::Retry {
                reason,
                retry_after: err.retry_after(),
            },
            _ => Self::permanent(reason),
        }
    }
}

impl From<zapwoot_gateway::Error> for Failure {
    fn from(err: zapwoot_gateway::Error) -> Self {
        match &err {
            zapwoot_gateway::Error::NotOnWhatsApp(_) => {
                Self::permanent("number is not on WhatsApp")
            }
            zapwoot_gateway::Error::LoggedOut(_) => Self::retry("gateway logged out"),
            zapwoot_gateway::Error::MediaUnavailable(m) => {
                Self::permanent(format!("media unavailable: {m}"))
            }
            zapwoot_gateway::Error::TooLarge { limit } => {
                Self::permanent(format!("media larger than {limit} bytes"))
            }
            e if e.send_outcome() == SendOutcome::MaybeSent => Self::permanent(format!(
                "gateway timed out; the message may have been sent: {e}"
            )),
            e if e.is_retryable() || e.status() == Some(408) => {
                Self::retry(format!("gateway: {e}"))
            }
            e => Self::permanent(format!("gateway: {e}")),
        }
    }
}

impl From<zapwoot_store::StoreError> for Failure {
    fn from(err: zapwoot_store::StoreError) -> Self {
        Self::retry(format!("store: {err}"))
    }
}

/// Errors of the engine's public API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] zapwoot_store::StoreError),
    /// An instance lacks something it needs (a secret, an inbox id, a valid URL).
    #[error("instance {instance}: {reason}")]
    Config {
        /// Instance name.
        instance: String,
        /// What is missing or wrong.
        reason: String,
    },
    /// The outbound webhook HTTP client could not be built (TLS set-up).
    #[error("webhook client: {0}")]
    Client(String),
}
