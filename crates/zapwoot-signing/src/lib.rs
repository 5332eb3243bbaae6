#![doc = include_str!("../README.md")]

mod error;
mod hex;
mod keyring;
mod secret;
mod timestamp;

pub mod chatwoot;
pub mod hub;
pub mod plain_hex;
pub mod standard;

pub use error::{SecretError, SignError, VerifyError};
pub use keyring::{DEFAULT_TOLERANCE, Keyring};
pub use secret::Secret;
