//! Error types. None of them ever carries secret material or an expected signature.

use std::time::Duration;

/// Why a signature was not accepted.
///
/// The message names the failing header and what is wrong with it; it never contains a
/// secret, nor the signature the keyring expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header the scheme requires was absent.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// A header was present but could not be parsed.
    #[error("malformed header `{header}`: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signed timestamp is older than the tolerance allows.
    #[error("timestamp is {age:?} old, beyond the {tolerance:?} tolerance")]
    TimestampTooOld {
        /// How old the timestamp is.
        age: Duration,
        /// The tolerance in force.
        tolerance: Duration,
    },
    /// The signed timestamp lies further in the future than the tolerance allows.
    #[error("timestamp is {ahead:?} in the future, beyond the {tolerance:?} tolerance")]
    TimestampTooNew {
        /// How far ahead the timestamp is.
        ahead: Duration,
        /// The tolerance in force.
        tolerance: Duration,
    },
    /// The signature is well formed but matches none of the keyring's secrets.
    #[error("signature matches none of the configured secrets")]
    NoMatch,
}

impl VerifyError {
    /// `true` when the request carried no signature at all (as opposed to a wrong one).
    #[must_use]
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::MissingHeader(_))
    }
}

/// Why a secret could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret has no bytes.
    #[error("secret is empty")]
    Empty,
    /// A `whsec_…` secret whose body is not valid standard base64.
    #[error("secret is not valid base64 after the optional `whsec_` prefix")]
    InvalidBase64,
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// Why a payload could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A Standard Webhooks message id must be non-empty printable ASCII without `.`,
    /// spaces or commas, so that the signed content `{id}.{timestamp}.{body}` is unambiguous.
    #[error("invalid webhook message id: {0}")]
    InvalidMessageId(&'static str),
}
