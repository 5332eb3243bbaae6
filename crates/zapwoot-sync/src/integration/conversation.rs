//! The integration conversation itself: found or created once, reopened when resolved, and
//! the bridge's notes posted in it (or, for commands typed elsewhere, in the customer's
//! conversation) exactly once.

use zapwoot_chatwoot::{ConversationStatus, NewContact, NewConversation, NewMessage};
use zapwoot_store::NewConversation as StoredConversation;

use super::CHAT;
use crate::error::Failure;
use crate::step::Ctx;

/// The source id of the integration contact in the instance's inbox (fixed: the contact is
/// found again after anything is lost).
pub(crate) fn contact_source_id(instance: &str) -> String {
    format!("zapwoot:status:{instance}")
}

/// The name agents see on the integration contact.
pub(crate) fn contact_name(instance: &str) -> String {
    format!("zapwoot · {instance}")
}

/// The instance's integration conversation, open: created on first need, reused ever after
/// (the mapping survives restarts and is shared by replicas; only the integration lane
/// creates it, so two workers never both do), reopened when an agent resolved it.
pub(crate) async fn open(ctx: &Ctx<'_>) -> Result<u64, Failure> {
    if let Some(found) = ctx.conversation_for_chat(CHAT).await? {
        let id = u64::try_from(found.conversation.chatwoot_conversation_id).unwrap_or_default();
        if found.conversation.status != "open" {
            // Chatwoot's status webhook brings the mapping up to date.
            ctx.chatwoot()
                .await
                .set_conversation_status(id, &ConversationStatus::Open)
                .await?;
        }
        return Ok(id);
    }
    let source = contact_source_id(&ctx.rt.name);
    let contact = match ctx
        .chatwoot()
        .await
        .find_contact_by_source_id(ctx.rt.inbox_id, &source)
        .await?
    {
        Some(contact) => contact.id,
        None => {
            let mut new = NewContact::new();
            new.inbox_id = Some(ctx.rt.inbox_id);
            new.source_id = Some(source.clone());
            new.name = Some(contact_name(&ctx.rt.name));
            ctx.chatwoot().await.create_contact(&new).await?.contact.id
        }
    };
    // A conversation created just before a crash (so never mapped) is the one to keep.
    let existing = ctx
        .chatwoot()
        .await
        .contact_conversations(contact)
        .await?
        .into_iter()
        .find(|c| c.inbox_id == ctx.rt.inbox_id);
    let conversation = match existing {
        Some(c) => c,
        None => {
            ctx.chatwoot()
                .await
                .create_conversation(&NewConversation::new(source, ctx.rt.inbox_id, contact))
                .await?
        }
    };
    if conversation.status != ConversationStatus::Open {
        ctx.chatwoot()
            .await
            .set_conversation_status(conversation.id, &ConversationStatus::Open)
            .await?;
    }
    ctx.save_conversation(StoredConversation::new(
        ctx.rt.id,
        CHAT,
        i64::try_from(conversation.id).unwrap_or(i64::MAX),
        "open",
    ))
    .await?;
    Ok(conversation.id)
}

/// Posts `note` as a private note in `conversation`, once: keyed by the event and `key`, so
/// an event retried after a crash finds what it posted and does not post it again.
pub(crate) async fn post(
    ctx: &Ctx<'_>,
    conversation: u64,
    key: &str,
    note: NewMessage,
) -> Result<(), Failure> {
    let source = format!("ZAPWOOT:zw:{}:{key}", ctx.event_id);
    if ctx.attempt > 1 {
        let recent = ctx
            .chatwoot()
            .await
            .messages(conversation, None, None)
            .await?;
        if recent
            .payload
            .iter()
            .any(|m| m.source_id.as_deref() == Some(&source))
        {
            return Ok(());
        }
    }
    ctx.chatwoot()
        .await
        .create_message(conversation, &note.private().source_id(source))
        .await?;
    Ok(())
}
