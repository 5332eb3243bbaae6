use zapwoot_chatwoot::{ConversationStatus, NewConversation};

use crate::support::env;

#[tokio::test]
async fn create_show_list_toggle_and_type() {
    let env = env().await;
    let (contact, conversation) = env.conversation("+5511922223333").await;
    let shown = env.api.conversation(conversation).await.unwrap();
    assert_eq!(shown.status, ConversationStatus::Open);
    assert_eq!(shown.inbox_id, env.inbox.id);
    assert_eq!(shown.meta.sender.as_ref().map(|s| s.id), Some(contact));

    let listed = env
        .api
        .conversations(Some(env.inbox.id), Some(ConversationStatus::Open), 1)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![conversation]
    );

    let change = env
        .api
        .set_conversation_status(conversation, &ConversationStatus::Resolved, None)
        .await
        .unwrap();
    assert_eq!(change.current_status, ConversationStatus::Resolved);
    assert!(
        env.api
            .conversations(Some(env.inbox.id), Some(ConversationStatus::Open), 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(env.api.conversations(None, None, 1).await.unwrap().len(), 1);

    let by_contact = env.api.contact_conversations(contact).await.unwrap();
    assert_eq!(by_contact[0].id, conversation);

    env.api.set_typing(conversation, true).await.unwrap();
    env.api.set_typing(conversation, false).await.unwrap();
    env.assert_no_unexpected_calls();
}

#[tokio::test]
async fn conversations_need_a_known_contact_inbox_and_a_valid_status() {
    let env = env().await;
    let (contact, _) = env.conversation("+5511933334444").await;
    // Unknown source id without inbox/contact: the legacy global lookup fails with 404.
    let mut orphan = NewConversation::new("nobody@s.whatsapp.net", env.inbox.id, contact);
    orphan.inbox_id = 0;
    let err = env.api.create_conversation(&orphan).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let (_, conversation) = env.conversation("+5511944445555").await;
    let err = env
        .api
        .set_conversation_status(
            conversation,
            &ConversationStatus::Unknown("closed".into()),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(500),
        "upstream raises on unknown enum values"
    );
    assert!(
        err.is_retryable(),
        "a 500 is classified retryable; callers must not send unknown statuses"
    );
}
