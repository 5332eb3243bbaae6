//! Identities, conversations, message mappings and delivery status.

use zapwoot_store::{
    Direction, Effect, IdentityKeys, IdentityRecord, MessageState, NewConversation, NewMessage,
    ReceiptLevel, StoreError,
};

use crate::support::instance_id;

fn phone(n: &str) -> Option<String> {
    Some(format!("{n}@s.whatsapp.net"))
}

both_backends! {
    async fn delivery_status_only_moves_up(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        for part in 0..2 {
            let mut m = NewMessage::intent(instance, "5511@s.whatsapp.net", Direction::Outgoing);
            m.wa_message_id = Some("wamid-1".to_owned());
            m.part = part;
            store.mappings().record_intent(m).await.unwrap();
        }
        assert!(store.mappings().raise_delivery(instance, "wamid-1", ReceiptLevel::Read).await.unwrap());
        assert!(!store.mappings().raise_delivery(instance, "wamid-1", ReceiptLevel::Delivered).await.unwrap(), "read never goes back to delivered");
        assert!(!store.mappings().raise_delivery(instance, "wamid-1", ReceiptLevel::Read).await.unwrap());
        let maps = store.mappings().messages_by_wa_id(instance, "wamid-1").await.unwrap();
        assert_eq!(maps.len(), 2);
        assert!(maps.iter().all(|m| m.delivery == ReceiptLevel::Read));

        store
            .mappings().apply(vec![Effect::Delivery { instance_id: instance, wa_message_id: "wamid-1".to_owned(), status: ReceiptLevel::Sent }])
            .await
            .unwrap();
        assert_eq!(store.mappings().messages_by_wa_id(instance, "wamid-1").await.unwrap()[0].delivery, ReceiptLevel::Read);
        assert!(store.mappings().raise_delivery(instance, "wamid-1", ReceiptLevel::Played).await.unwrap());
        assert!(!store.mappings().raise_delivery(instance, "unknown", ReceiptLevel::Read).await.unwrap());
    }

    async fn intents_are_idempotent_and_resume(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        // An agent message with two attachments: two WhatsApp sends, one intent per part.
        let mut intents = Vec::new();
        for part in 0..2 {
            let mut m = NewMessage::intent(instance, "5511@s.whatsapp.net", Direction::Outgoing);
            m.chatwoot_message_id = Some(900);
            m.chatwoot_conversation_id = Some(33);
            m.part = part;
            intents.push(m);
        }
        let first = store.mappings().record_intent(intents[0].clone()).await.unwrap();
        assert_eq!(first.message.state, MessageState::Intended);
        // A retried event records the same intent again: it gets the stored one back.
        assert_eq!(store.mappings().record_intent(intents[0].clone()).await.unwrap(), first);
        store.mappings().record_intent(intents[1].clone()).await.unwrap();

        // Part 0 was sent before a crash; the retry finds it done and does not resend.
        let mut sent = intents[0].clone();
        sent.wa_message_id = Some("wamid-out-0".to_owned());
        sent.state = MessageState::Done;
        store.mappings().apply(vec![Effect::Message(sent)]).await.unwrap();
        let parts = store.mappings().messages_by_chatwoot_id(instance, 900).await.unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].message.state, MessageState::Done);
        assert_eq!(parts[0].message.wa_message_id.as_deref(), Some("wamid-out-0"));
        assert_eq!(parts[1].message.state, MessageState::Intended);
        // A late "intended" never moves a done mapping back.
        let mut stale = intents[0].clone();
        stale.wa_message_id = Some("wamid-out-0".to_owned());
        store.mappings().apply(vec![Effect::Message(stale)]).await.unwrap();
        assert_eq!(store.mappings().messages_by_wa_id(instance, "wamid-out-0").await.unwrap()[0].message.state, MessageState::Done);

        let no_ids = NewMessage::intent(instance, "x", Direction::Incoming);
        assert!(matches!(store.mappings().record_intent(no_ids).await, Err(StoreError::Conflict(_))));
    }

    async fn intents_recorded_together_answer_each_caller(db) {
        // Intents of events processed at once share a commit (group commit): the same message
        // recorded by several callers is one row, a bad intent fails alone.
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let mut tasks = Vec::new();
        for i in 0..30 {
            let store = store.clone();
            let mut m = NewMessage::intent(instance, "5511@s.whatsapp.net", Direction::Incoming);
            m.wa_message_id = Some(format!("wamid-{}", i % 10));
            if i == 13 {
                m.wa_message_id = None;
            }
            tasks.push(tokio::spawn(async move { store.mappings().record_intent(m).await }));
        }
        let mut ids = std::collections::BTreeMap::new();
        for (i, task) in tasks.into_iter().enumerate() {
            let answer = task.await.unwrap();
            if i == 13 {
                assert!(matches!(answer, Err(StoreError::Conflict(_))), "{answer:?}");
                continue;
            }
            let map = answer.unwrap();
            let wa = map.message.wa_message_id.clone().unwrap();
            assert_eq!(*ids.entry(wa).or_insert(map.id), map.id, "one row per message");
        }
        assert_eq!(ids.len(), 10);
        for i in 0..10 {
            assert_eq!(store.mappings().messages_by_wa_id(instance, &format!("wamid-{i}")).await.unwrap().len(), 1);
        }
    }

    async fn identities_link_phone_lid_and_brazil_variants(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let by_phone = store
            .mappings().save_identity(IdentityRecord::new(instance, IdentityKeys::new(phone("5511987654321"), phone("551187654321"), None)))
            .await
            .unwrap();
        let by_lid = store
            .mappings().save_identity(IdentityRecord::new(instance, IdentityKeys::new(None, None, Some("123456789@lid".into()))))
            .await
            .unwrap();

        // An event carrying both finds both rows (the engine merges them).
        let both = store
            .mappings().find_identities(instance, IdentityKeys::new(phone("5511987654321"), None, Some("123456789@lid".into())))
            .await
            .unwrap();
        assert_eq!(both.iter().map(|i| i.id).collect::<Vec<_>>(), vec![by_phone.id, by_lid.id]);
        // The 9th-digit variant finds the same person.
        let variant = store.mappings().find_identities(instance, IdentityKeys::new(phone("551187654321"), None, None)).await.unwrap();
        assert_eq!(variant.len(), 1);
        assert_eq!(variant[0].id, by_phone.id);
        assert!(store.mappings().find_identities(instance, IdentityKeys::default()).await.unwrap().is_empty());

        // Linking: the LID moves onto the phone identity.
        let mut lid_row = by_lid.record.clone();
        lid_row.keys.lid = None;
        store.mappings().save_identity(lid_row).await.unwrap();
        let mut linked = by_phone.record.clone();
        linked.keys.lid = Some("123456789@lid".into());
        linked.chatwoot_contact_id = Some(55);
        linked.contact_source_id = Some("src-55".into());
        linked.display_name = Some("Maria".into());
        let linked = store.mappings().save_identity(linked).await.unwrap();
        assert_eq!(linked.id, by_phone.id);
        assert_eq!(store.mappings().identity_by_contact(instance, 55).await.unwrap().unwrap().id, by_phone.id);

        // Two identities cannot share a LID.
        let dup = IdentityRecord::new(instance, IdentityKeys::new(None, None, Some("123456789@lid".into())));
        assert!(matches!(store.mappings().save_identity(dup).await, Err(StoreError::Conflict(_))));
    }

    async fn conversations_map_and_track_the_last_seen_message(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let chat = "5511@s.whatsapp.net";
        store.mappings().save_conversation(NewConversation::new(instance, chat, 10, "open")).await.unwrap();
        // Resolved, then a new conversation for the same chat: the newest wins.
        store.mappings().save_conversation(NewConversation::new(instance, chat, 10, "resolved")).await.unwrap();
        store.mappings().save_conversation(NewConversation::new(instance, chat, 11, "open")).await.unwrap();
        let latest = store.mappings().conversation_for_chat(instance, chat).await.unwrap().unwrap();
        assert_eq!(latest.conversation.chatwoot_conversation_id, 11);
        assert_eq!(store.mappings().conversation_by_chatwoot_id(instance, 10).await.unwrap().unwrap().conversation.status, "resolved");

        let seen = |id| Effect::ConversationSeen { instance_id: instance, chatwoot_conversation_id: 11, message_id: id };
        store.mappings().apply(vec![seen(50), seen(40)]).await.unwrap();
        assert_eq!(store.mappings().conversation_by_chatwoot_id(instance, 11).await.unwrap().unwrap().last_chatwoot_message_id, Some(50));
        assert!(store.mappings().conversation_for_chat(instance, "other").await.unwrap().is_none());
    }
}
