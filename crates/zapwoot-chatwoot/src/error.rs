//! [`Error`]: what went wrong talking to Chatwoot.

use std::time::Duration;

/// A failed Chatwoot call. Never contains the API token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL or a built URL is not valid.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    /// The request did not get an answer (connection refused or reset, timeout…).
    #[error("request to Chatwoot failed: {message}")]
    Transport {
        /// What failed, token scrubbed.
        message: String,
        /// The HTTP client's error (its URL removed).
        #[source]
        source: reqwest::Error,
    },
    /// Chatwoot answered with a non-success status.
    #[error("Chatwoot answered {status}: {body}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The first 512 characters of the body (token scrubbed).
        body: String,
        /// `Retry-After` in seconds, when sent. Chatwoot sends none on 429, so this is
        /// usually `None` and the caller chooses a backoff.
        retry_after: Option<Duration>,
    },
    /// A success response whose body is not the expected JSON.
    #[error("unexpected response from Chatwoot: {0}")]
    Decode(#[source] serde_json::Error),
    /// A download was larger than the caller's cap.
    #[error("attachment is larger than the {limit}-byte cap")]
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// Writing a download to its destination failed.
    #[error("cannot write the download: {0}")]
    Write(String),
}

impl Error {
    /// The HTTP status, when Chatwoot answered.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `true` for failures worth retrying later: transport errors, 429 and 5xx.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// `Retry-After` as sent by the server (absent on Chatwoot's own 429s).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// `true` for 404.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}
