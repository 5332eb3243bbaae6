//! Chatwoot webhook events: [`parse`] the raw body into an [`Event`].
//!
//! Verify the signature over the raw bytes first (`zapwoot-signing`), then parse.

mod event;
mod payload;
mod replay;

pub use event::{Event, ParseError, parse};
pub use payload::{
    ContactInboxRef, ConversationMeta, NamedRef, PushMessage, Sender, Typing, WebhookContact,
    WebhookConversation, WebhookMessage, WidgetTriggered,
};
pub use replay::message_created_body;
