//! Typed Chatwoot models, as Chatwoot v4.x really sends them (see the crate README for
//! the shapes' traps). Unknown fields are ignored unless a model keeps them in `extra`.

mod common;
mod contact;
mod conversation;
mod inbox;
mod message;
mod profile;

pub use common::{ConversationStatus, MessageType, Time};
pub use contact::{
    Contact, ContactInbox, ContactSearch, CreatedContact, InboxRef, NewContact, SearchMeta,
};
pub use conversation::{Conversation, ConversationMeta, NewConversation, StatusChange};
pub use inbox::{ApiChannel, Inbox, InboxSecret, NewApiInbox};
pub use message::{
    Attachment, Message, MessageList, MessageStatus, NewMessage, Upload, UploadData,
};
pub use profile::{AccountMembership, Profile};
