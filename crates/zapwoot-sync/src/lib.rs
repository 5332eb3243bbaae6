#![doc = include_str!("../README.md")]

mod activity;
mod confirm;
mod conversation;
mod engine;
mod error;
mod identity;
mod import;
mod inbound;
pub mod ingest;
mod media;
pub mod netguard;
mod options;
mod outbound;
mod ports;
mod reconcile;
mod render;
mod retry;
mod runtime;
mod step;
mod tls;
pub mod webhooks;

pub use activity::{Activity, ActivityBus};
pub use engine::Engine;
pub use error::SyncError;
pub use media::Origin;
pub use options::{
    ConversationPolicy, FromMe, InstanceOptions, MAX_MEDIA_BYTES_LIMIT, RevokePolicy,
};
pub use ports::{BoxFuture, ChatwootApi};
pub use reconcile::{ReconcileDirection, Reconciled};
pub use retry::RetryPolicy;
pub use runtime::{InstanceRuntime, secret_names};
