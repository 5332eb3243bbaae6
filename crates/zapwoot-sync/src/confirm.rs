//! An unsigned Chatwoot webhook is a claim, not a fact: anyone who learns the instance's
//! webhook URL can post one. Before the bridge acts on it, Chatwoot's own API says what the
//! message really is and whom its conversation really belongs to, so a forged webhook can at
//! most make the bridge do what Chatwoot holds.

use zapwoot_chatwoot::webhook::{Sender, WebhookMessage};
use zapwoot_gateway::Jid;

use crate::error::Failure;
use crate::step::Ctx;

/// A webhook message as Chatwoot's API confirmed it.
#[derive(Debug)]
pub(crate) struct Confirmed {
    /// The webhook message with every field the bridge acts on replaced by the API's.
    pub(crate) message: WebhookMessage,
    /// The conversation's contact, as the API names it.
    pub(crate) contact_id: Option<u64>,
}

/// Reads message `m` back from Chatwoot: `None` when Chatwoot has no such message in that
/// conversation of the instance's inbox (a forged or stale webhook).
pub(crate) async fn message(
    ctx: &Ctx<'_>,
    m: &WebhookMessage,
) -> Result<Option<Confirmed>, Failure> {
    let Some(conversation) = m.conversation_id() else {
        return Ok(None);
    };
    let list = match ctx
        .chatwoot()
        .await
        .messages(conversation, None, Some(m.id.saturating_sub(1)))
        .await
    {
        Ok(list) => list,
        Err(e) if matches!(e.status(), Some(404 | 403)) => return Ok(None),
        Err(e) => return Err(Failure::from(e)),
    };
    let Some(found) = list.payload.iter().find(|x| x.id == m.id) else {
        return Ok(None);
    };
    if found.inbox_id != Some(ctx.rt.inbox_id) {
        return Ok(None);
    }
    let mut message = m.clone();
    message.content.clone_from(&found.content);
    message.content_type.clone_from(&found.content_type);
    message
        .content_attributes
        .clone_from(&found.content_attributes);
    message.message_type = found.message_type.clone();
    message.private = found.private;
    message.source_id.clone_from(&found.source_id);
    message.attachments.clone_from(&found.attachments);
    message.sender = found
        .sender
        .clone()
        .and_then(|s| serde_json::from_value::<Sender>(s).ok());
    let contact_id = list
        .meta
        .pointer("/contact/id")
        .and_then(serde_json::Value::as_u64);
    Ok(Some(Confirmed {
        message,
        contact_id,
    }))
}

/// The WhatsApp chat of contact `contact_id` in the instance's inbox: its contact inbox's
/// `source_id`, else its phone.
pub(crate) async fn contact_chat(ctx: &Ctx<'_>, contact_id: u64) -> Result<Option<Jid>, Failure> {
    let contact = ctx.chatwoot().await.contact(contact_id).await?;
    let source = contact
        .contact_inboxes
        .iter()
        .find(|ci| ci.inbox.id == ctx.rt.inbox_id)
        .and_then(|ci| Jid::parse(&ci.source_id).ok())
        .filter(|j| j.is_user() || j.is_lid() || j.is_group());
    Ok(source.or_else(|| {
        contact
            .phone_number
            .as_deref()
            .and_then(|p| Jid::from_phone(p).ok())
    }))
}
