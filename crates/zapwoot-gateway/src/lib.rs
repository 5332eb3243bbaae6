#![doc = include_str!("../README.md")]

mod error;
mod event;
mod gateway;
mod history;
mod http;
mod jid;
mod json;
mod kind;
mod pairing;

pub mod gowa;
pub mod wuzapi;

pub use error::{Error, ParseError, SendOutcome};
pub use event::{
    Call, Connection, ConnectionState, ContactCard, Content, DeleteForMe, Edit, GroupAction,
    GroupParticipants, GroupSubject, InboundEvent, Media, MediaSource, Message, Origin, Presence,
    PresenceState, Quote, Reaction, Receipt, ReceiptStatus, Revoke,
};
pub use gateway::{
    BoxFuture, File, FileData, Gateway, Health, MediaFile, MessageRef, Outgoing, OutgoingBody, Sent,
};
pub use history::{ChatSummary, HistoryMessage};
pub use http::sniff_mime;
pub use jid::{Jid, JidError, Server};
pub use kind::{GatewayKind, UnknownGatewayKind, Webhook, WebhookError};
pub use pairing::{PairCode, QrCode};
