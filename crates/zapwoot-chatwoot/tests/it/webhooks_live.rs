//! The fake posts webhooks like Chatwoot; they verify with zapwoot-signing and parse.

use std::time::Duration;

use zapwoot_chatwoot::webhook::{self, Event, Sender};
use zapwoot_chatwoot::{ConversationStatus, MessageStatus, MessageType, NewMessage, Upload};
use zapwoot_fakes::{FakeChatwootConfig, FakeRequest, Receiver};
use zapwoot_signing::{Keyring, Secret};

use crate::support::env_with;

fn verified(secret: &str, request: &FakeRequest) -> Event {
    let keys = Keyring::new(&Secret::from_bytes(secret).unwrap());
    keys.verify_chatwoot(
        request
            .headers
            .get("x-chatwoot-signature")
            .map(|v| v.as_bytes()),
        request
            .headers
            .get("x-chatwoot-timestamp")
            .map(|v| v.as_bytes()),
        &request.body,
    )
    .expect("signature verifies with the inbox secret");
    assert!(
        request
            .header("x-chatwoot-delivery")
            .is_some_and(|d| d.len() == 36)
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    webhook::parse(&request.body).expect("a fake webhook parses")
}

#[tokio::test]
async fn every_change_is_posted_back_signed_and_parses() {
    let receiver = Receiver::start().await.unwrap();
    let env = env_with(FakeChatwootConfig::default(), Some(&receiver.url())).await;
    let secret = env.inbox.secret.clone();
    let (contact, conversation) = env.conversation("+5511912340000").await;

    let incoming = env
        .api
        .create_message(
            conversation,
            &NewMessage::incoming("Oi").source_id("3EB0AA"),
        )
        .await
        .unwrap();
    let outgoing = env
        .api
        .create_message(
            conversation,
            &NewMessage::outgoing("").attach(Upload::new("a.png", "image/png", vec![1, 2, 3])),
        )
        .await
        .unwrap();
    env.api
        .update_message_status(conversation, outgoing.id, MessageStatus::Delivered, None)
        .await
        .unwrap();
    env.api.set_typing(conversation, true).await.unwrap();
    env.api
        .set_conversation_status(conversation, &ConversationStatus::Resolved, None)
        .await
        .unwrap();
    env.api
        .delete_message(conversation, incoming.id)
        .await
        .unwrap();
    assert!(env.fake.wait_for_webhooks(Duration::from_secs(5)).await);

    let events: Vec<Event> = receiver
        .received()
        .iter()
        .map(|r| verified(&secret, r))
        .collect();
    let names: Vec<&str> = events.iter().map(Event::name).collect();
    assert_eq!(
        names,
        vec![
            "conversation_created",
            "message_created",
            "message_created",
            "message_updated",
            "conversation_typing_on",
            "conversation_status_changed",
            "conversation_updated",
            "message_updated",
        ]
    );

    let Event::ConversationCreated(created) = &events[0] else {
        panic!()
    };
    assert_eq!(created.id, conversation);
    assert!(
        created.messages.is_empty(),
        "created before its first message"
    );
    assert_eq!(
        created
            .contact_inbox
            .as_ref()
            .and_then(|ci| ci.source_id.as_deref()),
        Some("5511912340000@s.whatsapp.net")
    );

    // The echo of our own incoming message: string type, sender = contact without `type`.
    let Event::MessageCreated(echo) = &events[1] else {
        panic!()
    };
    assert_eq!(echo.id, incoming.id);
    assert_eq!(echo.message_type, MessageType::Incoming);
    assert_eq!(echo.source_id.as_deref(), Some("3EB0AA"));
    assert!(matches!(&echo.sender, Some(Sender::Contact(c)) if c.id == contact));
    assert!(
        echo.created_at
            .as_ref()
            .and_then(|t| t.unix_seconds())
            .is_some()
    );
    assert!(
        echo.attachments.is_empty(),
        "the key is absent when there are none"
    );
    let last = &echo.conversation.as_ref().unwrap().messages[0];
    assert_eq!(
        last.message_type,
        MessageType::Incoming,
        "integer type inside the conversation"
    );

    let Event::MessageCreated(with_file) = &events[2] else {
        panic!()
    };
    assert!(matches!(&with_file.sender, Some(Sender::User { .. })));
    assert_eq!(with_file.attachments.len(), 1);

    let Event::ConversationTypingOn(typing) = &events[4] else {
        panic!()
    };
    assert!(typing.user.as_ref().is_some_and(Sender::is_agent));

    let Event::ConversationStatusChanged(status) = &events[5] else {
        panic!()
    };
    assert_eq!(status.status, ConversationStatus::Resolved);
    assert!(status.changed_attributes.is_none(), "null in practice");
    let Event::ConversationUpdated(updated) = &events[6] else {
        panic!()
    };
    assert!(
        updated
            .changed_attributes
            .as_ref()
            .is_some_and(|c| c[0].contains_key("status"))
    );

    let Event::MessageUpdated(deleted) = &events[7] else {
        panic!()
    };
    assert!(deleted.is_deleted());

    // Deliveries are unique per enqueue; the dedupe key is per content.
    assert_ne!(events[1].dedupe_key(), events[2].dedupe_key());
    assert_ne!(events[3].dedupe_key(), events[7].dedupe_key());
}

#[tokio::test]
async fn agent_replies_templates_and_failed_deliveries_look_like_upstream() {
    let receiver = Receiver::start().await.unwrap();
    let env = env_with(FakeChatwootConfig::default(), Some(&receiver.url())).await;
    let (_, conversation) = env.conversation("+5511912341111").await;
    let reply = env
        .fake
        .agent_reply(conversation, "**Olá!** Como posso ajudar?", Vec::new())
        .unwrap();
    env.fake
        .automation_template(conversation, "Please rate us")
        .unwrap();
    assert!(env.fake.wait_for_webhooks(Duration::from_secs(5)).await);
    let events: Vec<Event> = receiver
        .received()
        .iter()
        .map(|r| verified(&env.inbox.secret, r))
        .collect();
    let agent = events
        .iter()
        .filter_map(Event::message)
        .find(|m| m.id == reply)
        .unwrap();
    assert_eq!(agent.message_type, MessageType::Outgoing);
    assert!(agent.source_id.is_none() && !agent.private);
    assert!(matches!(agent.sender, Some(Sender::User { .. })));
    let template = events
        .iter()
        .filter_map(Event::message)
        .find(|m| m.message_type == MessageType::Template)
        .unwrap();
    assert!(
        template.sender.is_none(),
        "automation templates have no sender"
    );

    // The receiver fails: upstream marks the message failed and emits message_updated.
    receiver.set_status(503);
    let failed = env
        .fake
        .agent_reply(conversation, "are you there?", Vec::new())
        .unwrap();
    assert!(env.fake.wait_for_webhooks(Duration::from_secs(5)).await);
    receiver.set_status(200);
    let stored = env.api.messages(conversation, None, None).await.unwrap();
    let message = stored.payload.iter().find(|m| m.id == failed).unwrap();
    assert_eq!(message.status.as_deref(), Some("failed"));
    assert!(
        message
            .content_attributes
            .get("external_error")
            .and_then(|e| e.as_str())
            .is_some_and(|e| e.contains("503"))
    );
    let deliveries = env.fake.webhook_deliveries();
    assert!(
        deliveries
            .iter()
            .any(|d| d.event == "message_updated" && d.status == Some(503))
    );
    assert_eq!(
        deliveries
            .iter()
            .filter(|d| d.event == "message_created" && d.json()["id"] == failed)
            .count(),
        1,
        "no retries"
    );
}

#[tokio::test]
async fn unsigned_mode_and_duplicates() {
    let receiver = Receiver::start().await.unwrap();
    let mut config = FakeChatwootConfig::default();
    config.sign_webhooks = false;
    config.duplicate_every = Some(2);
    let env = env_with(config, Some(&receiver.url())).await;
    let (_, conversation) = env.conversation("+5511912342222").await;
    env.api
        .create_message(conversation, &NewMessage::incoming("one"))
        .await
        .unwrap();
    env.api
        .create_message(conversation, &NewMessage::incoming("two"))
        .await
        .unwrap();
    assert!(env.fake.wait_for_webhooks(Duration::from_secs(5)).await);
    let received = receiver.received();
    assert!(
        received
            .iter()
            .all(|r| r.header("x-chatwoot-signature").is_none()),
        "older Chatwoot: unsigned"
    );
    // 3 events, the 2nd and... every 2nd sent twice: 4 deliveries, one duplicated body.
    assert_eq!(received.len(), 4);
    let keys: Vec<String> = received
        .iter()
        .map(|r| webhook::parse(&r.body).unwrap().dedupe_key())
        .collect();
    let unique: std::collections::BTreeSet<_> = keys.iter().collect();
    assert_eq!(
        unique.len(),
        3,
        "the duplicate has the same dedupe key: {keys:?}"
    );
}
