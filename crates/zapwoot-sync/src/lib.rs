#![doc = include_str!("../README.md")]

mod activity;
mod conversation;
mod engine;
mod error;
mod identity;
mod import;
mod inbound;
pub mod ingest;
mod options;
mod outbound;
mod ports;
mod reconcile;
mod render;
mod retry;
mod runtime;
pub mod webhooks;

pub use activity::{Activity, ActivityBus};
pub use engine::Engine;
pub use error::SyncError;
pub use options::{ConversationPolicy, FromMe, InstanceOptions, RevokePolicy};
pub use ports::{BoxFuture, ChatwootApi, Downloaded};
pub use reconcile::{ReconcileDirection, Reconciled};
pub use retry::RetryPolicy;
pub use runtime::{InstanceRuntime, secret_names};
