//! Group events: membership changes become activity lines (private notes) in the group's
//! Chatwoot conversation and `group.participants` activity; a new subject renames the group's
//! Chatwoot contact.

use zapwoot_chatwoot::{NewContact, NewMessage as CwMessage};
use zapwoot_gateway::{GroupAction, GroupParticipants, GroupSubject, Jid};
use zapwoot_store::IdentityKeys;

use super::find_by_source;
use crate::activity::{ActivityKind, GroupParticipantsChange};
use crate::error::Failure;
use crate::step::{Ctx, Outcome};

/// How a participant is named in an activity line: `+` and the phone digits, or the JID.
fn named(jid: &Jid) -> String {
    if jid.is_user() {
        format!("+{}", jid.user())
    } else {
        jid.to_string()
    }
}

/// The activity line for a membership change.
fn line(action: &GroupAction, participants: &[Jid], by: Option<&Jid>) -> String {
    let who = participants
        .iter()
        .map(named)
        .collect::<Vec<_>>()
        .join(", ");
    let by = by.filter(|by| !(participants.len() == 1 && participants.first() == Some(*by)));
    match (action, by) {
        (GroupAction::Join, Some(by)) => format!("👥 {} added {who}", named(by)),
        (GroupAction::Join, None) => format!("👥 {who} joined the group"),
        (GroupAction::Leave, Some(by)) => format!("👥 {} removed {who}", named(by)),
        (GroupAction::Leave, None) => format!("👥 {who} left the group"),
        (GroupAction::Promote, Some(by)) => {
            format!("👥 {} made {who} an admin", named(by))
        }
        (GroupAction::Promote, None) => format!("👥 {who} is now an admin"),
        (GroupAction::Demote, Some(by)) => {
            format!("👥 {} removed {who} as admin", named(by))
        }
        (GroupAction::Demote, None) => format!("👥 {who} is no longer an admin"),
        (other, _) => format!("👥 {who}: {}", other.as_str()),
    }
}

fn bridged(ctx: &Ctx<'_>, group: &Jid) -> bool {
    ctx.rt.options.groups
        && !ctx
            .rt
            .options
            .ignore_jids
            .iter()
            .any(|j| *j == group.to_string())
}

/// Participants joined, left, were promoted or demoted.
pub(super) async fn participants(
    ctx: &mut Ctx<'_>,
    g: &GroupParticipants,
) -> Result<Outcome, Failure> {
    if !bridged(ctx, &g.group) {
        return Ok(Outcome::Ignored("groups are not bridged".into()));
    }
    if g.participants.is_empty() {
        return Ok(Outcome::Ignored("a membership change of nobody".into()));
    }
    let Some(mapped) = ctx.conversation_for_chat(&g.group.to_string()).await? else {
        return Ok(Outcome::Ignored(
            "the group has no Chatwoot conversation yet".into(),
        ));
    };
    let conversation = u64::try_from(mapped.conversation.chatwoot_conversation_id).unwrap_or(0);
    // One line per event and action, also when the step is retried.
    let source = format!("ZAPWOOT:group:{}:{}", ctx.event_id, g.action.as_str());
    let existing = if ctx.attempt > 1 {
        find_by_source(ctx, conversation, &source).await?
    } else {
        None
    };
    if existing.is_none() {
        let note = CwMessage::outgoing(line(&g.action, &g.participants, g.by.as_ref()))
            .private()
            .source_id(source);
        ctx.chatwoot()
            .await
            .create_message(conversation, &note)
            .await?;
    }
    ctx.activity(ActivityKind::GroupParticipants(GroupParticipantsChange {
        chat: g.group.to_string(),
        action: g.action.as_str().to_owned(),
        participants: g.participants.iter().map(ToString::to_string).collect(),
        by: g.by.as_ref().map(ToString::to_string),
        chatwoot_conversation_id: conversation,
    }));
    Ok(Outcome::Done(Vec::new()))
}

/// The group got a new subject: its Chatwoot contact is renamed, unless an agent renamed it.
pub(super) async fn subject(ctx: &mut Ctx<'_>, g: &GroupSubject) -> Result<Outcome, Failure> {
    if !bridged(ctx, &g.group) {
        return Ok(Outcome::Ignored("groups are not bridged".into()));
    }
    let keys = IdentityKeys::new(Some(g.group.to_string()), None, None);
    let Some(identity) = ctx.find_identities(keys).await?.into_iter().next() else {
        return Ok(Outcome::Ignored(
            "the group has no Chatwoot contact yet".into(),
        ));
    };
    let mut record = identity.record;
    let Some(contact) = record
        .chatwoot_contact_id
        .and_then(|c| u64::try_from(c).ok())
    else {
        return Ok(Outcome::Ignored(
            "the group has no Chatwoot contact yet".into(),
        ));
    };
    if record.name_locked || record.display_name.as_deref() == Some(g.name.as_str()) {
        return Ok(Outcome::Ignored("nothing to rename".into()));
    }
    let current = ctx.chatwoot().await.contact(contact).await?;
    let ours = current.name.as_deref().is_none_or(|n| {
        Some(n) == record.display_name.as_deref()
            || n == crate::identity::placeholder_group_name(&g.group.to_string())
            || n.is_empty()
    });
    if ours {
        let mut change = NewContact::new();
        change.name = Some(g.name.clone());
        ctx.chatwoot()
            .await
            .update_contact(contact, &change)
            .await?;
        record.display_name = Some(g.name.clone());
    } else {
        record.name_locked = true;
    }
    ctx.save_identity(record).await?;
    Ok(Outcome::Done(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &GroupAction, who: &[&str], by: Option<&str>) -> String {
        let who: Vec<Jid> = who.iter().map(|j| Jid::parse(j).unwrap()).collect();
        let by = by.map(|j| Jid::parse(j).unwrap());
        line(action, &who, by.as_ref())
    }

    #[test]
    fn lines_name_who_and_by_whom() {
        let ana = "5521999998888@s.whatsapp.net";
        let admin = "5511900000000@s.whatsapp.net";
        assert_eq!(
            change(&GroupAction::Join, &[ana], Some(admin)),
            "👥 +5511900000000 added +5521999998888"
        );
        assert_eq!(
            change(&GroupAction::Join, &[ana], Some(ana)),
            "👥 +5521999998888 joined the group",
            "joining by oneself (an invite link)"
        );
        assert_eq!(
            change(&GroupAction::Leave, &[ana], None),
            "👥 +5521999998888 left the group"
        );
        assert_eq!(
            change(&GroupAction::Promote, &[ana], Some(admin)),
            "👥 +5511900000000 made +5521999998888 an admin"
        );
        assert_eq!(
            change(&GroupAction::Demote, &[ana], None),
            "👥 +5521999998888 is no longer an admin"
        );
    }
}
