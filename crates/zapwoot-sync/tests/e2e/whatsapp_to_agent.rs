use super::support::*;

matrix! {
    async fn customer_text_becomes_one_incoming_message(h) {
        let id = h.customer_text(CUSTOMER, "Olá! Pedido *12345*");
        h.settle().await;
        let messages = h.cw_messages();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(messages[0]["content"], "Olá! Pedido **12345**", "WhatsApp bold became markdown");
        assert_eq!(messages[0]["message_type"], 0);
        assert_eq!(messages[0]["source_id"], format!("WAID:{id}"));
        let contacts = h.chatwoot.contacts();
        assert_eq!(contacts.len(), 1);
        assert_eq!(contacts[0]["phone_number"], "+5511987654321");
        assert_eq!(contacts[0]["name"], "Maria Silva");
        assert_eq!(h.chatwoot.conversations().len(), 1);
        // The echo Chatwoot posted back was recognised and nothing went to WhatsApp.
        assert!(h.sent_endpoints().is_empty());
        // A redelivered webhook changes nothing.
        h.customer_text(CUSTOMER, "segunda");
        h.settle().await;
        assert_eq!(h.cw_messages().len(), 2);
        assert_eq!(h.chatwoot.conversations().len(), 1, "same conversation");
        h.assert_clean();
    }

    async fn agent_reply_reaches_whatsapp_once_with_receipts(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        let reply = h.chatwoot.agent_reply(conversation, "**Olá!** Como posso _ajudar_?", Vec::new()).unwrap();
        h.settle().await;
        assert_eq!(h.sent_texts(), vec!["*Admin Alice*:\n*Olá!* Como posso _ajudar_?"]);
        let wa_id = h.sent_ids()[0].clone();
        h.customer_read(&[&wa_id]);
        h.settle().await;
        let stored = h.chatwoot.messages(conversation).into_iter().find(|m| m["id"] == reply).unwrap();
        assert_eq!(stored["status"], "read");
        assert_eq!(h.sent_texts().len(), 1, "status echo (message_updated) sends nothing");
        h.assert_clean();
    }
}

async fn download(h: &Harness, url: &str) -> Vec<u8> {
    let client = zapwoot_chatwoot::Client::builder(h.chatwoot.url(), h.chatwoot.admin_token())
        .build()
        .unwrap();
    client.download(url, 10_000_000).await.unwrap().0
}

matrix! {
    async fn media_with_caption_and_voice_notes(h) {
        let photo = b"\xff\xd8\xff\xe0 photo bytes".to_vec();
        h.customer_image(&photo, "foto do *produto*");
        let voice = b"OggS\x00\x02 voice".to_vec();
        h.customer_voice(&voice);
        h.settle().await;
        let messages = h.cw_messages();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(messages[0]["content"], "foto do **produto**", "the caption, once");
        let image = &messages[0]["attachments"][0];
        assert_eq!(image["file_type"], "image");
        assert_eq!(download(&h, image["data_url"].as_str().unwrap()).await, photo);
        let audio = &messages[1]["attachments"][0];
        assert_eq!(audio["file_type"], "audio");
        assert_eq!(audio["meta"]["is_voice_message"], true, "voice flagged as voice");
        assert!(audio["data_url"].as_str().unwrap().contains(".ogg"), "clean file name: {audio}");
        assert_eq!(download(&h, audio["data_url"].as_str().unwrap()).await, voice);
        h.assert_clean();
    }

    async fn lost_media_still_delivers_the_text(h) {
        h.customer_lost_media("segue a nota");
        h.settle().await;
        let messages = h.cw_messages();
        assert_eq!(messages.len(), 1);
        let content = messages[0]["content"].as_str().unwrap();
        assert!(content.starts_with("segue a nota") && content.contains("media unavailable"), "{content}");
        assert!(messages[0].get("attachments").is_none());
        h.assert_clean();
    }

    async fn replies_reactions_edits_and_revokes(h) {
        let first = h.customer_text(CUSTOMER, "pedido 1");
        h.settle().await;
        let reply = h.customer_reply(&first, "sobre esse");
        // A reaction that arrives BEFORE its message: it waits, the message passes, then it applies.
        let late = format!("3EB0LATE{}", reply.len());
        h.customer_reaction(&late, "👍");
        h.customer_text_with_id(&late, "o atrasado");
        h.settle().await;
        let late_reaction = h.cw_messages().into_iter().find(|m| m["content"] == "👍").expect("the early reaction was applied once its message arrived");
        let late_cw = h.cw_messages().into_iter().find(|m| m["content"] == "o atrasado").unwrap()["id"].clone();
        assert_eq!(late_reaction["content_attributes"]["in_reply_to"], late_cw);
        h.customer_reaction(&first, "❤️");
        h.settle().await;
        h.customer_reaction(&first, "😂");
        h.settle().await;
        h.customer_edit(&first, "pedido 2 (corrigido)");
        h.settle().await;

        let messages = h.cw_messages();
        let by_source = |s: &str| messages.iter().find(|m| m["source_id"] == s).cloned();
        let first_cw = by_source(&format!("WAID:{first}")).unwrap()["id"].as_u64().unwrap();
        let reply_cw = by_source(&format!("WAID:{reply}")).unwrap();
        assert_eq!(reply_cw["content_attributes"]["in_reply_to"], first_cw, "quoted reply threads");
        let reactions: Vec<&serde_json::Value> = messages
            .iter()
            .filter(|m| m["source_id"].as_str().is_some_and(|s| s.starts_with("WAREACT:")))
            .filter(|m| m["content_attributes"]["deleted"] != true && m["content_attributes"]["in_reply_to"] == first_cw)
            .collect();
        assert_eq!(reactions.len(), 1, "the second emoji replaced the first: {reactions:?}");
        assert_eq!(reactions[0]["content"], "😂");
        assert_eq!(reactions[0]["content_attributes"]["in_reply_to"], first_cw);
        let edited = messages.iter().find(|m| m["content"].as_str().is_some_and(|c| c.starts_with("✏️ Edited:"))).unwrap();
        assert_eq!(edited["content"], "✏️ Edited: pedido 2 (corrigido)");
        assert_eq!(edited["content_attributes"]["in_reply_to"], first_cw);

        // Removing the reaction deletes its threaded reply; revoking deletes the message.
        h.customer_reaction(&first, "");
        h.customer_revoke(&first);
        h.settle().await;
        let after = h.cw_messages();
        let reaction = after.iter().find(|m| m["id"] == reactions[0]["id"]).unwrap();
        assert_eq!(reaction["content_attributes"]["deleted"], true);
        let original = after.iter().find(|m| m["id"] == first_cw).unwrap();
        assert_eq!(original["content_attributes"]["deleted"], true);
        assert!(h.sent_endpoints().is_empty(), "nothing echoed back to WhatsApp");
        h.assert_clean();
    }

    async fn messages_typed_on_the_phone_are_outgoing_and_never_echoed(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        h.phone_typed_text("respondi pelo celular");
        h.settle().await;
        let messages = h.cw_messages();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1]["message_type"], 1, "outgoing");
        assert_eq!(messages[1]["content"], "respondi pelo celular");
        assert!(h.sent_endpoints().is_empty(), "the outgoing echo is not sent back");
        h.assert_clean();
    }

    async fn groups_are_one_conversation_with_named_senders(h) {
        let group = "120363025246125486@g.us";
        h.group_text(group, "5521999998888@s.whatsapp.net", "Carlos", "bom dia");
        h.group_text(group, "5531988887777@s.whatsapp.net", "Dora", "oi gente");
        h.settle().await;
        let messages = h.cw_messages();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["content"], "**Carlos** (+5521999998888):\nbom dia");
        assert_eq!(messages[1]["content"], "**Dora** (+5531988887777):\noi gente");
        assert_eq!(h.chatwoot.conversations().len(), 1, "one group conversation");
        let contacts = h.chatwoot.contacts();
        assert_eq!(contacts.len(), 1, "one group contact");
        assert!(contacts[0]["phone_number"].is_null(), "a group has no phone");
        // The agent answers in the group: sent to the group JID.
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.chatwoot.agent_reply(conversation, "bom dia a todos", Vec::new()).unwrap();
        h.settle().await;
        assert_eq!(h.sent_texts().len(), 1);
        h.assert_clean();
    }

    async fn lid_first_then_phone_is_one_person(h) {
        let lid = "123456789012345@lid";
        h.lid_text(lid, "primeira, só LID");
        h.settle().await;
        let contact = &h.chatwoot.contacts()[0];
        assert!(contact["phone_number"].is_null(), "a LID's digits are never a phone number");
        h.phone_and_lid_text(CUSTOMER, lid, "segunda, com telefone");
        h.settle().await;
        h.customer_text(CUSTOMER, "terceira, só telefone");
        h.settle().await;
        assert_eq!(h.chatwoot.contacts().len(), 1, "one contact");
        assert_eq!(h.chatwoot.conversations().len(), 1, "one conversation");
        assert_eq!(h.cw_messages().len(), 3);
        assert_eq!(h.chatwoot.contacts()[0]["phone_number"], "+5511987654321", "the phone is filled in once learned");
        // Replies go to the phone JID.
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.chatwoot.agent_reply(conversation, "olá", Vec::new()).unwrap();
        h.settle().await;
        assert_eq!(h.sent_texts().len(), 1);
        h.assert_clean();
    }

    async fn brazil_ninth_digit_forms_are_one_person(h) {
        h.customer_text("551187654321@s.whatsapp.net", "sem o nove");
        h.settle().await;
        h.customer_text("5511987654321@s.whatsapp.net", "com o nove");
        h.settle().await;
        assert_eq!(h.chatwoot.contacts().len(), 1);
        assert_eq!(h.chatwoot.conversations().len(), 1);
        h.assert_clean();
    }

    async fn locations_contacts_polls_and_unknown_kinds_are_readable(h) {
        h.customer_raw(
            serde_json::json!({ "locationMessage": { "degreesLatitude": -23.5613, "degreesLongitude": -46.6565, "name": "MASP" } }),
            &serde_json::json!({ "location": { "degreesLatitude": -23.5613, "degreesLongitude": -46.6565, "name": "MASP" } }),
        );
        h.customer_raw(
            serde_json::json!({ "contactMessage": { "displayName": "Ana", "vcard": "BEGIN:VCARD\nFN:Ana\nTEL:+55 11 91111-2222\nEND:VCARD" } }),
            &serde_json::json!({ "contact": { "displayName": "Ana", "vcard": "BEGIN:VCARD\nFN:Ana\nTEL:+55 11 91111-2222\nEND:VCARD" } }),
        );
        h.customer_raw(serde_json::json!({ "buttonsResponseMessage": { "selectedButtonID": "b" } }), &serde_json::json!({}));
        h.settle().await;
        let messages = h.cw_messages();
        assert_eq!(messages.len(), 3);
        assert!(messages[0]["content"].as_str().unwrap().contains("https://maps.google.com/?q=-23.5613,-46.6565"));
        assert!(messages[1]["content"].as_str().unwrap().contains("👤 Ana +55 11 91111-2222"));
        assert_eq!(messages[1]["attachments"][0]["file_type"], "file", "the vCard is attached");
        assert!(messages[2]["content"].as_str().unwrap().starts_with("⚠️ unsupported message type"), "{}", messages[2]["content"]);
        h.assert_clean();
    }
}

matrix! {
    async fn a_new_push_name_renames_the_contact_until_an_agent_renames_it(h) {
        h.customer_text_named(CUSTOMER, "Maria Silva", "oi");
        h.settle().await;
        let name = |h: &Harness| h.chatwoot.contacts()[0]["name"].as_str().unwrap().to_owned();
        assert_eq!(name(&h), "Maria Silva");
        h.customer_text_named(CUSTOMER, "Maria S. Oliveira", "mudei meu nome");
        h.settle().await;
        assert_eq!(name(&h), "Maria S. Oliveira", "still the bridge's name: follows WhatsApp");

        let contact = h.chatwoot.contacts()[0]["id"].as_u64().unwrap();
        assert!(h.chatwoot.agent_rename_contact(contact, "Maria (cliente VIP)"));
        h.customer_text_named(CUSTOMER, "Maria O.", "de novo");
        h.settle().await;
        assert_eq!(name(&h), "Maria (cliente VIP)", "an agent's name wins");
        h.customer_text_named(CUSTOMER, "Maria Oliveira", "e agora?");
        h.settle().await;
        assert_eq!(name(&h), "Maria (cliente VIP)", "and stays");
        assert_eq!(h.chatwoot.contacts().len(), 1);
        h.assert_clean();
    }
}
