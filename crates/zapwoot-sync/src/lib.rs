#![doc = include_str!("../README.md")]

mod activity;
mod clients;
mod confirm;
mod conversation;
mod csat;
mod engine;
mod error;
mod identity;
mod import;
mod inbound;
pub mod ingest;
pub mod integration;
mod media;
pub mod netguard;
mod outbound;
pub mod pairing;
mod ports;
mod read_marks;
mod reconcile;
mod render;
mod retry;
mod runtime;
pub mod send;
pub mod session;
mod source_ids;
mod step;
mod tls;
mod typing;
pub mod webhooks;

pub use activity::{Activity, ActivityBus, ActivityKind};
/// The typed payloads of [`ActivityKind`].
pub mod activities {
    pub use crate::activity::{
        AgentInfo, AgentKind, ChatType, ContactInfo, ConversationStatus, DeletedBy, DeliveryFailed,
        EndpointDisabled, EndpointTest, GroupInfo, GroupParticipantsChange, ImportProgress,
        InstanceStatus, LocationInfo, MediaInfo, MessageDeleted, MessageEdited, MessageReceived,
        MessageSender, MessageSent, MessageStatusChange, PollInfo, QuotedMessage, Reaction,
        ReconciledPass, SentVia,
    };
}
pub use clients::GatewayClient;
pub use engine::Engine;
pub use error::SyncError;
pub use media::Origin;
pub use ports::{BoxFuture, ChatwootApi};
pub use reconcile::{ReconcileDirection, Reconciled};
pub use retry::RetryPolicy;
pub use runtime::{InstanceRuntime, secret_names, upstream_http};
pub use zapwoot_store::{
    ConversationPolicy, FromMe, InstanceOptions, MAX_MEDIA_BYTES_LIMIT, RevokePolicy,
};
