//! Errors: calls ([`Error`]) and webhook parsing ([`ParseError`]).

/// Whether a failed send may nevertheless have reached WhatsApp (the outcome of a send the
/// gateway did not confirm).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendOutcome {
    /// The request never got to do anything (connection refused, 4xx, validation).
    NotSent,
    /// Outcome unknown (timeout after the request was sent, GOWA 504 `GATEWAY_TIMEOUT`):
    /// do **not** blindly resend; look the message up first or accept a possible duplicate.
    MaybeSent,
}

/// A failed gateway call. Never contains the gateway token or password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL is not valid.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    /// No answer (connection refused or reset, timeout).
    #[error("request to the gateway failed: {message}")]
    Transport {
        /// What failed, secrets scrubbed.
        message: String,
        /// Whether it may have been sent.
        outcome: SendOutcome,
        /// The HTTP client's error (its URL removed).
        #[source]
        source: reqwest::Error,
    },
    /// The gateway answered with an error.
    #[error("gateway answered {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Status {
        /// HTTP status.
        status: u16,
        /// GOWA's error `code` (`VALIDATION_ERROR`…), when given.
        code: Option<String>,
        /// The gateway's message.
        message: String,
        /// Whether it may have been sent.
        outcome: SendOutcome,
    },
    /// The WhatsApp session is logged out or not connected: an operator must act.
    #[error("WhatsApp session not connected: {0}")]
    LoggedOut(String),
    /// The recipient has no WhatsApp account.
    #[error("not on WhatsApp: {0}")]
    NotOnWhatsApp(String),
    /// A success response whose body is not what was expected.
    #[error("unexpected response from the gateway: {message}")]
    Decode {
        /// What was wrong with it.
        message: String,
        /// The decoder's error, when one failed.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A media file is larger than the caller's cap.
    #[error("media is larger than the {limit}-byte cap")]
    TooLarge {
        /// The cap.
        limit: u64,
    },
    /// The gateway no longer has the media, or never had it.
    #[error("media unavailable: {0}")]
    MediaUnavailable(String),
    /// The operation is not possible with this gateway.
    #[error("not supported by this gateway: {0}")]
    Unsupported(&'static str),
    /// Pairing was asked for, but the session is already logged in to WhatsApp.
    #[error("the WhatsApp session is already paired")]
    AlreadyPaired,
}

impl Error {
    /// A response that is not what was expected.
    pub(crate) fn decode(message: impl Into<String>) -> Self {
        Self::Decode {
            message: message.into(),
            source: None,
        }
    }

    /// A response a decoder refused, keeping the decoder's error.
    pub(crate) fn decode_from(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Decode {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// Worth retrying later: transport errors, 429 and 5xx.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Whether the failed call may have delivered the message anyway.
    #[must_use]
    pub fn send_outcome(&self) -> SendOutcome {
        match self {
            Self::Transport { outcome, .. } | Self::Status { outcome, .. } => *outcome,
            _ => SendOutcome::NotSent,
        }
    }

    /// The HTTP status, when the gateway answered.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Why a webhook body could not be parsed. Never echoes the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not valid JSON (or the form's `jsonData` is not).
    #[error("body is not valid JSON: {0}")]
    Json(String),
    /// JSON, but not an object.
    #[error("body is not a JSON object")]
    NotAnObject,
    /// A field the event needs is missing.
    #[error("missing field {0}")]
    Missing(&'static str),
}
