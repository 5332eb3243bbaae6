#![doc = include_str!("../README.md")]

pub mod chatwoot;
mod faults;
mod random;
mod receiver;
mod server;

pub use chatwoot::{FakeChatwoot, FakeChatwootConfig, FakeInbox, WebhookDelivery, WebhookOrder};
pub use faults::{FaultAction, Faults};
pub use receiver::Receiver;
pub use server::{FakeRequest, LoggedRequest};
