//! The fake Chatwoot's inbox routes: list, show, create, update, reset the HMAC secret.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the parent module, split out by topic"
)]
use super::*;

pub(super) fn list_inboxes(core: &Core, admin: bool) -> Answer {
    let state = core.state();
    ok(
        json!({ "payload": state.inboxes.values().map(|i| render::inbox(i, admin, core.config.sign_webhooks)).collect::<Vec<_>>() }),
    )
}

pub(super) fn show_inbox(core: &Core, inbox: &str, admin: bool) -> Answer {
    let state = core.state();
    let inbox = state.inboxes.get(&id(inbox)?).ok_or_else(not_found)?;
    ok(render::inbox(inbox, admin, core.config.sign_webhooks))
}

pub(super) fn create_inbox(core: &Core, req: &FakeRequest) -> Answer {
    let body = body_json(req)?;
    let name = opt_str(&body, "name")?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| unprocessable("Name can't be blank", "name"))?;
    let channel = opt_object(&body, "channel")?.ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "param is missing or the value is empty: channel",
        )
    })?;
    if channel.get("type").and_then(Value::as_str) != Some("api") {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid channel type",
        ));
    }
    let webhook_url = opt_str(&channel, "webhook_url")?;
    if webhook_url.as_ref().is_some_and(|u| u.len() > 2048) {
        return Err(unprocessable(
            "Webhook url is too long (maximum is 2048 characters)",
            "webhook_url",
        ));
    }
    let mut state = core.state();
    let inbox_id = state.next_id();
    let inbox = super::super::state::Inbox {
        id: inbox_id,
        name,
        api: true,
        webhook_url,
        secret: random::base58(24),
        identifier: random::base58(24),
        lock_to_single_conversation: flag(body.get("lock_to_single_conversation")),
    };
    let rendered = render::inbox(&inbox, true, core.config.sign_webhooks);
    state.inboxes.insert(inbox_id, inbox);
    ok(rendered)
}

pub(super) fn update_inbox(core: &Core, req: &FakeRequest, inbox: &str) -> Answer {
    let body = body_json(req)?;
    let mut state = core.state();
    let inbox = state.inboxes.get_mut(&id(inbox)?).ok_or_else(not_found)?;
    if let Some(name) = opt_str(&body, "name")? {
        inbox.name = name;
    }
    if let Some(channel) = opt_object(&body, "channel")?
        && let Some(url) = opt_str(&channel, "webhook_url")?
    {
        inbox.webhook_url = Some(url);
    }
    if body.contains_key("lock_to_single_conversation") {
        inbox.lock_to_single_conversation = flag(body.get("lock_to_single_conversation"));
    }
    ok(render::inbox(inbox, true, core.config.sign_webhooks))
}

pub(super) fn reset_secret(core: &Core, inbox: &str) -> Answer {
    let mut state = core.state();
    let inbox = state
        .inboxes
        .get_mut(&id(inbox)?)
        .filter(|i| i.api)
        .ok_or_else(not_found)?;
    inbox.secret = random::base58(24);
    ok(render::inbox(inbox, true, core.config.sign_webhooks))
}
