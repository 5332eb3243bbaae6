//! Which Chatwoot conversation a chat's message goes to.

use zapwoot_chatwoot::{ConversationStatus, NewConversation};
use zapwoot_store::{ConversationMap, NewConversation as StoredConversation};

use crate::ConversationPolicy;
use crate::error::Failure;
use crate::identity::Party;
use crate::step::Ctx;

/// The conversation for `party`, creating one per the instance's policy.
pub(crate) async fn resolve(ctx: &Ctx<'_>, party: &Party) -> Result<u64, Failure> {
    let mut latest: Option<ConversationMap> = None;
    for key in &party.keys {
        if let Some(found) = ctx.conversation_for_chat(key).await?
            && latest.as_ref().is_none_or(|l| found.id > l.id)
        {
            latest = Some(found);
        }
    }
    let chat = party.chat.to_string();
    if let Some(latest) = latest {
        let usable = latest.conversation.status != "resolved"
            || ctx.rt.options.conversation == ConversationPolicy::Reopen;
        if usable {
            let id =
                u64::try_from(latest.conversation.chatwoot_conversation_id).unwrap_or_default();
            if latest.conversation.chat_jid != chat {
                // The identity learned its phone: the mapping follows.
                save(ctx, party, id, &latest.conversation.status).await?;
            }
            return Ok(id);
        }
    }
    let _guard = ctx.rt.identity_lock.lock().await;
    // A conversation created just before a crash (or by another worker) is adopted, not doubled.
    let inbox = ctx.rt.inbox_id;
    let adopt_resolved = ctx.rt.options.conversation == ConversationPolicy::Reopen;
    let existing = ctx
        .chatwoot()
        .await
        .contact_conversations(party.contact_id)
        .await?;
    if let Some(open) = existing.iter().find(|c| {
        c.inbox_id == inbox && (adopt_resolved || c.status != ConversationStatus::Resolved)
    }) {
        save(ctx, party, open.id, open.status.as_str()).await?;
        return Ok(open.id);
    }
    let created = ctx
        .chatwoot()
        .await
        .create_conversation(&NewConversation::new(
            party.source_id.clone(),
            inbox,
            party.contact_id,
        ))
        .await?;
    save(ctx, party, created.id, created.status.as_str()).await?;
    Ok(created.id)
}

async fn save(
    ctx: &Ctx<'_>,
    party: &Party,
    conversation: u64,
    status: &str,
) -> Result<(), Failure> {
    let mut map = StoredConversation::new(
        ctx.rt.id,
        party.chat.to_string(),
        i64::try_from(conversation).unwrap_or(i64::MAX),
        status,
    );
    map.identity_id = Some(party.identity.id);
    ctx.save_conversation(map).await?;
    Ok(())
}
