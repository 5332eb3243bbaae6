//! What changes a bridged message: receipts, reactions, edits and deletions.

use serde_json::json;
use zapwoot_chatwoot::{MessageStatus, NewMessage as CwMessage};
use zapwoot_gateway::{Edit, Reaction, Receipt, ReceiptStatus, Revoke};
use zapwoot_store::{Direction, Effect, MessageState, NewMessage, ReceiptLevel};

use super::{id64, mapped_cw, target};
use crate::RevokePolicy;
use crate::activity::{
    self, ActivityKind, DeletedBy, MessageDeleted, MessageEdited, MessageStatusChange,
};
use crate::error::Failure;
use crate::read_marks;
use crate::step::{Ctx, Outcome};

pub(super) async fn receipt(ctx: &mut Ctx<'_>, r: &Receipt) -> Result<Outcome, Failure> {
    let (status, rank) = match r.status {
        ReceiptStatus::Delivered => (MessageStatus::Delivered, ReceiptLevel::Delivered),
        ReceiptStatus::Read | ReceiptStatus::Played => (MessageStatus::Read, ReceiptLevel::Read),
        ReceiptStatus::ReadSelf => return read_on_the_phone(ctx, r).await,
        _ => return Ok(Outcome::Ignored("receipt kind not bridged".into())),
    };
    let mut effects = Vec::new();
    let mut missing = 0;
    for id in &r.message_ids {
        let maps = ctx.messages_by_wa_id(id).await?;
        if maps.is_empty() {
            missing += 1;
            continue;
        }
        for map in maps.iter().filter(|x| x.delivery < rank) {
            if let Some((conversation, cw)) = mapped_cw(map) {
                ctx.chatwoot()
                    .await
                    .update_message_status(conversation, cw, status, None)
                    .await?;
            }
        }
        effects.push(Effect::Delivery {
            instance_id: ctx.rt.id,
            wa_message_id: id.clone(),
            status: rank,
        });
        let mapped = maps.iter().find_map(mapped_cw);
        ctx.activity(ActivityKind::MessageStatus(MessageStatusChange {
            wa_message_id: id.clone(),
            status: rank_name(rank).to_owned(),
            chat: maps.first().map(|x| x.message.chat_jid.clone()),
            chatwoot_conversation_id: mapped.map(|(c, _)| c),
            chatwoot_message_id: mapped.map(|(_, m)| m),
        }));
    }
    if missing > 0 && ctx.may_wait() {
        return Err(Failure::Wait {
            reason: format!("{missing} receipt target(s) not relayed yet"),
        });
    }
    if effects.is_empty() {
        return Ok(Outcome::Ignored("receipt for unknown messages".into()));
    }
    Ok(Outcome::Done(effects))
}

/// The customer's messages read on the phone itself: counted as marked, so an agent's reply
/// does not mark them again.
async fn read_on_the_phone(ctx: &mut Ctx<'_>, r: &Receipt) -> Result<Outcome, Failure> {
    let mut incoming = Vec::new();
    for id in &r.message_ids {
        let maps = ctx.messages_by_wa_id(id).await?;
        if maps
            .iter()
            .any(|m| m.message.direction == Direction::Incoming && m.delivery < ReceiptLevel::Read)
        {
            incoming.push(id.clone());
        }
    }
    if incoming.is_empty() {
        return Ok(Outcome::Ignored("read on our own device".into()));
    }
    Ok(Outcome::Done(read_marks::read(ctx, incoming)))
}

pub(super) fn rank_name(rank: ReceiptLevel) -> &'static str {
    match rank {
        ReceiptLevel::Sent => "sent",
        ReceiptLevel::Delivered => "delivered",
        ReceiptLevel::Read => "read",
        ReceiptLevel::Played => "played",
        _ => "unknown",
    }
}

/// Reactions are threaded replies; a new emoji replaces the previous one, removal deletes it.
pub(super) async fn reaction(ctx: &mut Ctx<'_>, r: &Reaction) -> Result<Outcome, Failure> {
    let Some((conversation, target_cw)) = target(ctx, &r.target_id).await? else {
        if ctx.may_wait() {
            return Err(Failure::Wait {
                reason: "reaction before its message".into(),
            });
        }
        return Ok(Outcome::Ignored("reaction to an unknown message".into()));
    };
    let reactor = r
        .origin
        .author()
        .map(ToString::to_string)
        .unwrap_or_default();
    let key = format!("react:{}:{reactor}", r.target_id);
    let marker = format!("reaction:{}", r.id);
    if !ctx.messages_by_wa_id(&marker).await?.is_empty() {
        return Ok(Outcome::Ignored("reaction already applied".into()));
    }
    let parts = ctx.messages_by_wa_id(&key).await?;
    let next_part = parts
        .iter()
        .map(|p| p.message.part)
        .max()
        .map_or(0, |p| p + 1);
    if let Some((c, current)) = parts.last().and_then(mapped_cw) {
        match ctx.chatwoot().await.delete_message(c, current).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut record = NewMessage::intent(
        ctx.rt.id,
        r.origin.lane(),
        if r.origin.from_me {
            Direction::Outgoing
        } else {
            Direction::Incoming
        },
    );
    record.wa_message_id = Some(key);
    record.part = next_part;
    record.chatwoot_conversation_id = Some(id64(conversation));
    record.state = MessageState::Done;
    if let Some(emoji) = &r.emoji {
        let new = if r.origin.from_me {
            CwMessage::outgoing(emoji.clone())
        } else {
            CwMessage::incoming(emoji.clone())
        };
        let mut new = new
            .in_reply_to(target_cw)
            .source_id(format!("WAREACT:{}", r.id));
        new.content_attributes
            .insert("reaction".into(), json!(true));
        let created = ctx
            .chatwoot()
            .await
            .create_message(conversation, &new)
            .await?;
        record.chatwoot_message_id = Some(id64(created.id));
    }
    let mut applied = record.clone();
    applied.wa_message_id = Some(marker);
    applied.chatwoot_message_id = None;
    applied.part = 0;
    ctx.activity(ActivityKind::Reaction(activity::Reaction {
        target: r.target_id.clone(),
        emoji: r.emoji.clone(),
        from_me: r.origin.from_me,
        chat: Some(r.origin.lane()),
        chatwoot_conversation_id: Some(conversation),
        chatwoot_message_id: Some(target_cw),
    }));
    Ok(Outcome::Done(vec![
        Effect::Message(record),
        Effect::Message(applied),
    ]))
}

/// Chatwoot has no edit API: an edit is a threaded "edited" reply.
pub(super) async fn edit(ctx: &mut Ctx<'_>, e: &Edit) -> Result<Outcome, Failure> {
    let key = format!("edit:{}", e.id);
    if !ctx.messages_by_wa_id(&key).await?.is_empty() {
        return Ok(Outcome::Ignored("edit already relayed".into()));
    }
    let Some((conversation, target_cw)) = target(ctx, &e.target_id).await? else {
        if ctx.may_wait() {
            return Err(Failure::Wait {
                reason: "edit before its message".into(),
            });
        }
        return Ok(Outcome::Ignored("edit of an unknown message".into()));
    };
    let text = e
        .text
        .as_deref()
        .map(zapwoot_chatwoot::markdown::whatsapp_to_markdown)
        .unwrap_or_default();
    let content = format!("✏️ Edited: {text}");
    let new = if e.origin.from_me {
        CwMessage::outgoing(content)
    } else {
        CwMessage::incoming(content)
    };
    let created = ctx
        .chatwoot()
        .await
        .create_message(
            conversation,
            &new.in_reply_to(target_cw)
                .source_id(format!("WAEDIT:{}", e.id)),
        )
        .await?;
    let mut record = NewMessage::intent(ctx.rt.id, e.origin.lane(), Direction::Incoming);
    record.wa_message_id = Some(key);
    record.chatwoot_conversation_id = Some(id64(conversation));
    record.chatwoot_message_id = Some(id64(created.id));
    record.state = MessageState::Done;
    ctx.activity(ActivityKind::MessageEdited(MessageEdited {
        target: e.target_id.clone(),
        text: e.text.clone(),
        chat: Some(e.origin.lane()),
        chatwoot_conversation_id: Some(conversation),
        chatwoot_message_id: Some(target_cw),
    }));
    Ok(Outcome::Done(vec![Effect::Message(record)]))
}

pub(super) async fn revoke(ctx: &mut Ctx<'_>, r: &Revoke) -> Result<Outcome, Failure> {
    let maps = ctx.messages_by_wa_id(&r.target_id).await?;
    let targets: Vec<(u64, u64)> = maps.iter().filter_map(mapped_cw).collect();
    if targets.is_empty() {
        if ctx.may_wait() {
            return Err(Failure::Wait {
                reason: "revoke before its message".into(),
            });
        }
        return Ok(Outcome::Ignored("revoke of an unknown message".into()));
    }
    for (conversation, cw) in &targets {
        match ctx.rt.options.revoke {
            RevokePolicy::Delete => match ctx
                .chatwoot()
                .await
                .delete_message(*conversation, *cw)
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            },
            RevokePolicy::Note => {
                let note = CwMessage::outgoing("🗑️ This message was deleted on WhatsApp")
                    .private()
                    .in_reply_to(*cw);
                ctx.chatwoot()
                    .await
                    .create_message(*conversation, &note)
                    .await?;
            }
        }
    }
    let first = targets.first();
    ctx.activity(ActivityKind::MessageDeleted(MessageDeleted {
        wa_message_id: r.target_id.clone(),
        by: DeletedBy::Whatsapp,
        chat: maps.first().map(|x| x.message.chat_jid.clone()),
        chatwoot_conversation_id: first.map(|(c, _)| *c),
        chatwoot_message_id: first.map(|(_, m)| *m),
    }));
    Ok(Outcome::Done(Vec::new()))
}
