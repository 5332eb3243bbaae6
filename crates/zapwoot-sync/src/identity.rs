//! Who a chat is: one identity (phone JID, LID, Brazil variant) ⇄ one Chatwoot contact.

use zapwoot_chatwoot::NewContact;
use zapwoot_gateway::{Jid, Origin};
use zapwoot_store::{Identity, IdentityKeys, IdentityRecord};

use crate::error::Failure;
use crate::step::Ctx;

/// A chat resolved to its identity and Chatwoot contact.
#[derive(Debug, Clone)]
pub(crate) struct Party {
    /// Where to send: the phone JID when known, else the LID, or the group JID.
    pub(crate) chat: Jid,
    /// Every address of the chat (for conversation lookups).
    pub(crate) keys: Vec<String>,
    pub(crate) identity: Identity,
    pub(crate) contact_id: u64,
    pub(crate) source_id: String,
}

fn keys_of(origin: &Origin) -> Option<(IdentityKeys, bool)> {
    let chat = origin.chat.clone()?.to_non_device();
    if chat.is_group() {
        return Some((IdentityKeys::new(Some(chat.to_string()), None, None), true));
    }
    let lid = origin
        .chat_lid
        .clone()
        .or_else(|| chat.is_lid().then(|| chat.clone()));
    let phone = (!chat.is_lid()).then_some(chat);
    let variant = phone.as_ref().and_then(Jid::brazil_variant);
    Some((
        IdentityKeys::new(
            phone.map(|j| j.to_string()),
            variant.map(|j| j.to_string()),
            lid.map(|j| j.to_string()),
        ),
        false,
    ))
}

fn all_keys(keys: &IdentityKeys) -> Vec<String> {
    [&keys.phone_jid, &keys.phone_variant_jid, &keys.lid]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

/// Resolves (creating where needed) the identity and contact of `origin`'s chat. Serialized
/// per instance so concurrent first messages create one contact.
pub(crate) async fn resolve(ctx: &mut Ctx<'_>, origin: &Origin) -> Result<Party, Failure> {
    let (keys, is_group) =
        keys_of(origin).ok_or_else(|| Failure::permanent("event has no chat"))?;
    let _guard = ctx.rt.identity_lock.lock().await;
    let found = ctx.find_identities(keys.clone()).await?;
    let mut record = merge(ctx, found, &keys).await?.unwrap_or_else(|| {
        let mut r = IdentityRecord::new(ctx.rt.id, keys.clone());
        r.is_group = is_group;
        r
    });
    // Link what this event teaches (a LID learning its phone, or the reverse).
    let mut changed = record.id.is_none();
    for (slot, new) in [
        (&mut record.keys.phone_jid, &keys.phone_jid),
        (&mut record.keys.phone_variant_jid, &keys.phone_variant_jid),
        (&mut record.keys.lid, &keys.lid),
    ] {
        if slot.is_none() && new.is_some() {
            slot.clone_from(new);
            changed = true;
        }
    }
    let learned_phone = changed && record.id.is_some() && keys.phone_jid.is_some();
    let push_name = if is_group {
        None
    } else {
        origin.push_name.clone().filter(|n| !n.trim().is_empty())
    };
    if changed {
        record = ctx.save_identity(record).await?.record;
    }
    let contact_id = match record
        .chatwoot_contact_id
        .and_then(|c| u64::try_from(c).ok())
    {
        Some(id) => {
            if learned_phone {
                set_phone(ctx, id, &record).await;
            }
            id
        }
        None => {
            let (id, source) =
                find_or_create_contact(ctx, &record, is_group, push_name.as_deref()).await?;
            record.chatwoot_contact_id = Some(i64::try_from(id).unwrap_or(i64::MAX));
            record.contact_source_id = Some(source);
            if record.display_name.is_none() {
                record.display_name.clone_from(&push_name);
            }
            record = ctx.save_identity(record).await?.record;
            id
        }
    };
    if let Some(name) = push_name {
        refresh_name(ctx, contact_id, &mut record, &name).await?;
    }
    if !is_group && avatar_due(&record) {
        sync_avatar_later(ctx, contact_id, &record);
    }
    let chat_text = record
        .keys
        .phone_jid
        .clone()
        .or_else(|| record.keys.lid.clone())
        .unwrap_or_default();
    let chat =
        Jid::parse(&chat_text).map_err(|_| Failure::permanent("identity without a usable JID"))?;
    let identity_id = record.id.unwrap_or_default();
    let source_id = record
        .contact_source_id
        .clone()
        .unwrap_or_else(|| chat.to_string());
    Ok(Party {
        chat,
        keys: all_keys(&record.keys),
        identity: Identity::from_record(identity_id, record),
        contact_id,
        source_id,
    })
}

/// Two rows (a phone identity and a LID identity) turn out to be one person: keep the one
/// with a contact (else the oldest) and move the other's addresses onto it.
async fn merge(
    ctx: &Ctx<'_>,
    mut found: Vec<Identity>,
    _keys: &IdentityKeys,
) -> Result<Option<IdentityRecord>, Failure> {
    if found.len() <= 1 {
        return Ok(found.pop().map(|i| i.record));
    }
    found.sort_by_key(|i| (i.record.chatwoot_contact_id.is_none(), i.id));
    let mut primary = found.remove(0).record;
    for other in found {
        let mut cleared = other.record.clone();
        cleared.keys = IdentityKeys::default();
        ctx.save_identity(cleared).await?;
        for (slot, theirs) in [
            (&mut primary.keys.phone_jid, other.record.keys.phone_jid),
            (
                &mut primary.keys.phone_variant_jid,
                other.record.keys.phone_variant_jid,
            ),
            (&mut primary.keys.lid, other.record.keys.lid),
        ] {
            if slot.is_none() {
                *slot = theirs;
            }
        }
    }
    Ok(Some(ctx.save_identity(primary).await?.record))
}

/// Exact lookups by every address as a contact-inbox `source_id` (a contact created before a
/// crash is found, not duplicated), then by phone; else a new contact.
async fn find_or_create_contact(
    ctx: &Ctx<'_>,
    record: &IdentityRecord,
    is_group: bool,
    name: Option<&str>,
) -> Result<(u64, String), Failure> {
    let inbox = ctx.rt.inbox_id;
    for key in all_keys(&record.keys) {
        if let Some(contact) = ctx
            .chatwoot()
            .await
            .find_contact_by_source_id(inbox, &key)
            .await?
        {
            return Ok((contact.id, key));
        }
    }
    let source = record
        .keys
        .phone_jid
        .clone()
        .or_else(|| record.keys.lid.clone())
        .unwrap_or_default();
    let e164 = if is_group {
        None
    } else {
        record
            .keys
            .phone_jid
            .as_deref()
            .and_then(|p| Jid::parse(p).ok())
            .and_then(|j| j.to_e164())
    };
    let mut contact = NewContact::new();
    contact.inbox_id = Some(inbox);
    contact.source_id = Some(source.clone());
    contact.name = Some(match (name, &e164, is_group) {
        (_, _, true) => placeholder_group_name(&source),
        (Some(n), _, _) => n.to_owned(),
        (None, Some(p), _) => p.clone(),
        (None, None, _) => "WhatsApp contact".to_owned(),
    });
    contact.phone_number.clone_from(&e164);
    match ctx.chatwoot().await.create_contact(&contact).await {
        Ok(created) => Ok((created.contact.id, created.source_id.unwrap_or(source))),
        // The phone belongs to a contact of another inbox: join it instead.
        Err(e)
            if e.status() == Some(422)
                && e.to_string()
                    .contains("Phone number has already been taken") =>
        {
            let phone = e164.unwrap_or_default();
            let existing = ctx.chatwoot().await.find_contacts_by_phone(&phone).await?;
            let contact = existing
                .into_iter()
                .next()
                .ok_or_else(|| Failure::retry("phone taken but contact not found"))?;
            ctx.chatwoot()
                .await
                .add_contact_inbox(contact.id, inbox, &source)
                .await?;
            Ok((contact.id, source))
        }
        Err(e) if e.status() == Some(422) && e.to_string().contains("source_id") => {
            let contact = ctx
                .chatwoot()
                .await
                .find_contact_by_source_id(inbox, &source)
                .await?;
            contact
                .map(|c| (c.id, source))
                .ok_or_else(|| Failure::retry("source id taken but contact not found"))
        }
        Err(e) => Err(e.into()),
    }
}

/// A contact first known by LID gets its phone number once learned (best effort).
async fn set_phone(ctx: &Ctx<'_>, contact_id: u64, record: &IdentityRecord) {
    let Some(e164) = record
        .keys
        .phone_jid
        .as_deref()
        .and_then(|p| Jid::parse(p).ok())
        .and_then(|j| j.to_e164())
    else {
        return;
    };
    let mut change = NewContact::new();
    change.phone_number = Some(e164);
    if let Err(e) = ctx
        .chatwoot()
        .await
        .update_contact(contact_id, &change)
        .await
    {
        tracing::debug!(error = %e, "could not set the phone of a LID contact");
    }
}

/// The name a group's contact gets until its subject is known.
pub(crate) fn placeholder_group_name(group: &str) -> String {
    format!(
        "WhatsApp group {}",
        group.split('@').next().unwrap_or_default()
    )
}

/// Updates the contact name from a new push name, unless an agent renamed the contact.
async fn refresh_name(
    ctx: &Ctx<'_>,
    contact_id: u64,
    record: &mut IdentityRecord,
    push_name: &str,
) -> Result<(), Failure> {
    if record.name_locked || record.display_name.as_deref() == Some(push_name) {
        return Ok(());
    }
    let current = ctx.chatwoot().await.contact(contact_id).await?;
    let ours = current.name.as_deref().is_none_or(|n| {
        Some(n) == record.display_name.as_deref() || n.starts_with('+') || n == "WhatsApp contact"
    });
    if ours {
        let mut change = NewContact::new();
        change.name = Some(push_name.to_owned());
        ctx.chatwoot()
            .await
            .update_contact(contact_id, &change)
            .await?;
        record.display_name = Some(push_name.to_owned());
    } else {
        record.name_locked = true;
    }
    *record = ctx.save_identity(record.clone()).await?.record;
    Ok(())
}

const AVATAR_REFRESH_MS: i64 = 7 * 24 * 3600 * 1000;

fn avatar_due(record: &IdentityRecord) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    record
        .avatar_synced_at_ms
        .is_none_or(|t| now - t > AVATAR_REFRESH_MS)
}

/// Best effort, in the engine's background set: never delays or fails the message that
/// triggered it.
fn sync_avatar_later(ctx: &mut Ctx<'_>, contact_id: u64, record: &IdentityRecord) {
    let Some(jid) = record
        .keys
        .phone_jid
        .as_deref()
        .or(record.keys.lid.as_deref())
        .and_then(|j| Jid::parse(j).ok())
    else {
        return;
    };
    let runtime = std::sync::Arc::clone(&ctx.shared);
    let store = ctx.store_handle();
    let instance = ctx.rt.id;
    ctx.in_background(async move {
        let url = match runtime.gateway.avatar(&jid).await {
            Ok(url) => url,
            Err(e) => {
                tracing::debug!(error = %e, "avatar lookup failed");
                None
            }
        };
        if let Some(url) = url {
            let mut change = NewContact::new();
            change.avatar_url = Some(url);
            runtime.chatwoot_permit().await;
            if let Err(e) = runtime.chatwoot.update_contact(contact_id, &change).await {
                tracing::debug!(error = %e, "avatar update failed");
                return;
            }
        }
        let contact = i64::try_from(contact_id).unwrap_or(i64::MAX);
        if let Ok(Some(identity)) = store
            .mappings()
            .identity_by_contact(instance, contact)
            .await
        {
            let mut record = identity.record;
            record.avatar_synced_at_ms = Some(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            );
            let _ = store.mappings().save_identity(record).await;
        }
    });
}
