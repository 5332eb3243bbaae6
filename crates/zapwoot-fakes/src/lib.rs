#![doc = include_str!("../README.md")]

pub mod chatwoot;
mod dispatch;
mod faults;
pub mod gowa;
mod pairing;
mod random;
mod receiver;
mod server;
mod time;
pub mod wuzapi;

pub use chatwoot::{FakeChatwoot, FakeChatwootConfig, FakeInbox};
pub use dispatch::{WebhookDelivery, WebhookOrder};
pub use faults::{FaultAction, Faults};
pub use gowa::{FakeGowa, FakeGowaConfig, GowaGeneration, GowaSend};
pub use pairing::code_in_png;
pub use receiver::Receiver;
pub use server::{FakeRequest, LoggedRequest};
pub use wuzapi::{FakeWuzapi, FakeWuzapiConfig, WuzapiFormat, WuzapiMessage, WuzapiSend};
