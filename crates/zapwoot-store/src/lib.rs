#![doc = include_str!("../README.md")]

mod api_message;
mod backend;
mod clock;
mod connection;
mod delivery;
mod error;
mod event;
mod group_commit;
mod import;
mod ingest;
mod instance;
mod intents;
mod mapping;
mod options;
mod outcomes;
mod rows;
mod schema;
mod seal;
mod secret_string;
mod store;
mod subscription;

pub use api_message::{Accepted, ApiMessage, KEY_RETENTION, NewApiMessage};
pub use backend::Backend;
pub use clock::{Clock, ManualClock, SystemClock};
pub use connection::{ConnectionRecord, ObservedConnection, SessionState};
pub use delivery::{
    ClaimedDelivery, Delivery, DeliveryAttempt, DeliveryFilter, DeliveryLease, DeliveryNext,
    DeliveryState, Notification, ReplayRange, SubscriptionHealth,
};
pub use error::{SealError, StoreError};
pub use event::{
    ClaimedEvent, Effect, EventCount, EventFilter, EventRecord, EventStatus, Lease, MinuteCount,
    NewEvent, PruneReport, Recorded, Source,
};
pub use import::{ImportJob, ImportState};
pub use instance::{Instance, NewInstance};
pub use mapping::{
    ConversationMap, CsatSurvey, Direction, Identity, IdentityKeys, IdentityRecord, MessageMap,
    MessageState, NewConversation, NewMessage, ReceiptLevel,
};
pub use options::{
    CSAT_WINDOW_HOURS, ConversationPolicy, FromMe, InstanceOptions, MAX_MEDIA_BYTES_LIMIT,
    RevokePolicy,
};
pub use seal::{Sealer, SealingKey};
pub use secret_string::SecretString;
pub use store::{
    Action, ActionFilter, Actions, ApiKey, ApiKeys, Connections, ConsoleSession, ConsoleSessions,
    Deliveries, Events, Imports, Instances, Mappings, NewAction, NewApiKey, PairingLink,
    PairingLinks, Sends, Store, StoreOptions, Subscriptions, Tenant, TenantMembers, Tenants,
};
pub use subscription::{NewSubscription, Subscription};
pub use zapwoot_gateway::GatewayKind;
