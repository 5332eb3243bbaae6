//! Blue ticks: when an agent answers a chat, the customer's messages in it that nobody marked
//! read yet are marked read on WhatsApp, once each (`mark_read_on_reply`).
//!
//! What was marked is kept in the store (the message mapping's receipt level), so a retry, a
//! restart or the next reply never marks a message twice; messages read on the phone itself
//! (a `ReadSelf` receipt) count as marked. Only direct chats: in groups WhatsApp wants the
//! sender of every message, which the bridge does not keep.

use zapwoot_gateway::Jid;
use zapwoot_store::{Effect, ReceiptLevel};

use crate::step::Ctx;

/// At most this many of the newest unread messages are marked at once (GOWA takes one call
/// per message).
const BATCH: u32 = 50;

/// Marks the customer's unread messages in `chat` read; returns the effects that record it.
/// Best effort: when the gateway fails, nothing is recorded and the next reply tries again.
pub(crate) async fn mark_chat_read(ctx: &Ctx<'_>, chat: &Jid) -> Vec<Effect> {
    if !ctx.rt.options.mark_read_on_reply || !(chat.is_user() || chat.is_lid()) {
        return Vec::new();
    }
    let ids = match ctx.unread_incoming(&chat.to_string(), BATCH).await {
        Ok(ids) if !ids.is_empty() => ids,
        Ok(_) => return Vec::new(),
        Err(e) => {
            tracing::warn!(error = %e, "could not look up unread messages");
            return Vec::new();
        }
    };
    let marked = {
        let _slot = ctx.rt.gateway_slots.acquire().await;
        ctx.rt.gateway.mark_read(chat, None, &ids).await
    };
    if let Err(e) = marked {
        tracing::warn!(error = %e, chat = %chat, "could not mark the customer's messages read");
        return Vec::new();
    }
    read(ctx, ids)
}

/// The effects recording `ids` as read.
pub(crate) fn read(ctx: &Ctx<'_>, ids: Vec<String>) -> Vec<Effect> {
    ids.into_iter()
        .map(|wa_message_id| Effect::Delivery {
            instance_id: ctx.rt.id,
            wa_message_id,
            status: ReceiptLevel::Read,
        })
        .collect()
}
