//! What subscribers are told: every event carries what was said, by whom, in which chat, and
//! the Chatwoot ids — and every payload matches its published schema (checked by the harness
//! for every record of every test).

use serde_json::{Value, json};

use super::support::*;

fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn by_wa_id<'a>(records: &'a [Value], id: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["wa_message_id"] == id)
        .unwrap_or_else(|| panic!("no record for {id} in {records:#?}"))
}

async fn fetch(h: &Harness, url: &str) -> Vec<u8> {
    let client = zapwoot_chatwoot::Client::builder(h.chatwoot.url(), h.chatwoot.admin_token())
        .build()
        .unwrap();
    client.download(url, 10_000_000).await.unwrap().0
}

matrix! {
    async fn received_events_carry_text_files_places_cards_and_quotes(h) {
        let text = h.customer_text(CUSTOMER, "Olá! Pedido *12345*");
        let photo = b"\xff\xd8\xff\xe0 photo bytes".to_vec();
        let image = h.customer_image(&photo, "foto do *produto*");
        let ogg = b"OggS\x00\x02 voice".to_vec();
        let voice = h.customer_voice(&ogg);
        let pdf = b"%PDF-1.4 a nota fiscal".to_vec();
        let document = h.customer_document(&pdf, "nota.pdf", "a nota");
        let location = h.customer_raw(
            json!({ "locationMessage": { "degreesLatitude": -23.5613, "degreesLongitude": -46.6565, "name": "MASP", "address": "Av. Paulista, 1578" } }),
            &json!({ "location": { "degreesLatitude": -23.5613, "degreesLongitude": -46.6565, "name": "MASP", "address": "Av. Paulista, 1578" } }),
        );
        let vcard = "BEGIN:VCARD\nFN:Ana\nTEL:+55 11 91111-2222\nEND:VCARD";
        let card = h.customer_raw(
            json!({ "contactMessage": { "displayName": "Ana", "vcard": vcard } }),
            &json!({ "contact": { "displayName": "Ana", "vcard": vcard } }),
        );
        h.settle().await;
        let reply = h.customer_reply(&text, "sobre esse");
        h.settle().await;
        let received = h.emitted("message.received");
        assert_eq!(received.len(), 7, "{received:#?}");

        let t = by_wa_id(&received, &text);
        assert_eq!(t["kind"], "text");
        assert_eq!(t["text"], "Olá! Pedido *12345*", "WhatsApp formatting as received");
        assert_eq!(t["chat"], CUSTOMER);
        assert_eq!(t["chat_type"], "direct");
        assert!(t["group"].is_null());
        assert_eq!(t["sender"]["jid"], CUSTOMER);
        assert_eq!(t["sender"]["phone"], "5511987654321", "E.164 digits");
        assert_eq!(t["sender"]["name"], "Maria Silva");
        assert!(t["timestamp"].as_str().unwrap().starts_with("20"), "{t}");
        for absent in ["reply_to", "media", "location", "contacts", "poll"] {
            assert!(t[absent].is_null(), "{absent} on a plain text: {t}");
        }
        let cw = h.cw_messages();
        let cw_of = |id: &str| cw.iter().find(|m| m["source_id"] == format!("WAID:{id}")).unwrap().clone();
        assert_eq!(t["chatwoot_message_id"], cw_of(&text)["id"]);

        let i = by_wa_id(&received, &image);
        assert_eq!(i["kind"], "image");
        assert_eq!(i["text"], "foto do *produto*", "the caption");
        assert_eq!(i["media"]["mime"], "image/jpeg");
        assert_eq!(i["media"]["size"], photo.len());
        assert_eq!(i["media"]["sha256"], sha256(&photo));
        assert_eq!(i["media"]["url"], cw_of(&image)["attachments"][0]["data_url"]);
        assert_eq!(fetch(&h, i["media"]["url"].as_str().unwrap()).await, photo, "the url serves the file");

        let v = by_wa_id(&received, &voice);
        assert_eq!(v["kind"], "voice");
        assert!(v["text"].is_null());
        assert!(v["media"]["mime"].as_str().unwrap().starts_with("audio/ogg"), "{v}");
        assert_eq!(v["media"]["sha256"], sha256(&ogg));

        let d = by_wa_id(&received, &document);
        assert_eq!(d["kind"], "document");
        assert_eq!(d["text"], "a nota");
        assert_eq!(d["media"]["file_name"], "nota.pdf");
        assert_eq!(d["media"]["mime"], "application/pdf");
        assert_eq!(d["media"]["sha256"], sha256(&pdf));

        let l = by_wa_id(&received, &location);
        assert_eq!(l["kind"], "location");
        assert_eq!(l["location"], json!({ "latitude": -23.5613, "longitude": -46.6565, "name": "MASP", "address": "Av. Paulista, 1578" }));

        let c = by_wa_id(&received, &card);
        assert_eq!(c["kind"], "contacts");
        assert_eq!(c["contacts"], json!([{ "name": "Ana", "vcard": vcard }]));
        assert!(c["media"].is_null(), "the vCard is in contacts, not media");

        let r = by_wa_id(&received, &reply);
        assert_eq!(r["text"], "sobre esse");
        assert_eq!(r["reply_to"], json!({ "wa_message_id": text, "chatwoot_message_id": t["chatwoot_message_id"] }));
        h.assert_clean();
    }

    async fn group_senders_and_lid_only_senders_are_told_apart(h) {
        let group = "120363025246125486@g.us";
        let in_group = h.group_text(group, "5521999998888@s.whatsapp.net", "Carlos", "bom dia");
        let lid = "123456789012345@lid";
        let lid_only = h.lid_text(lid, "só LID");
        h.settle().await;
        let received = h.emitted("message.received");
        let g = by_wa_id(&received, &in_group);
        assert_eq!(g["chat"], group);
        assert_eq!(g["chat_type"], "group");
        assert_eq!(g["group"]["jid"], group);
        assert_eq!(g["sender"]["jid"], "5521999998888@s.whatsapp.net");
        assert_eq!(g["sender"]["phone"], "5521999998888");
        assert_eq!(g["sender"]["name"], "Carlos");
        assert_eq!(g["text"], "bom dia", "the text as written, without the agent-facing name prefix");
        let l = by_wa_id(&received, &lid_only);
        assert_eq!(l["chat"], lid);
        assert_eq!(l["chat_type"], "direct");
        assert_eq!(l["sender"]["lid"], lid);
        assert!(l["sender"]["phone"].is_null(), "a LID's digits are never a phone: {l}");
        h.assert_clean();
    }

    async fn sent_events_carry_the_text_the_file_and_who_sent_it(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        let photo = b"\xff\xd8\xff\xe0 agent photo".to_vec();
        let reply = h.chatwoot.agent_reply(
            conversation,
            "segue a **foto**",
            vec![("foto.jpg".into(), "image/jpeg".into(), photo.clone())],
        ).unwrap();
        h.settle().await;
        let sent = h.emitted("message.sent");
        assert_eq!(sent.len(), 1, "{sent:#?}");
        let s = &sent[0];
        assert_eq!(s["via"], "chatwoot");
        assert_eq!(s["chatwoot_message_id"], reply);
        assert_eq!(s["chatwoot_conversation_id"], conversation);
        assert_eq!(s["wa_message_id"], h.sent_ids()[0].as_str());
        assert_eq!(s["text"], "*Admin Alice*:\nsegue a *foto*", "the caption as WhatsApp got it");
        assert_eq!(s["agent"]["type"], "user");
        assert_eq!(s["agent"]["name"], "Admin Alice");
        assert!(s["agent"]["id"].is_u64());
        assert_eq!(s["media"]["mime"], "image/jpeg");
        assert_eq!(s["media"]["file_name"], "foto.jpg");
        assert_eq!(s["media"]["size"], photo.len());
        assert_eq!(s["media"]["sha256"], sha256(&photo));
        assert!(s["api_message_id"].is_null() && s["idempotency_key"].is_null());

        let typed = h.phone_typed_text("respondi pelo celular");
        h.settle().await;
        let sent = h.emitted("message.sent");
        assert_eq!(sent.len(), 2, "{sent:#?}");
        let p = by_wa_id(&sent, &typed);
        assert_eq!(p["via"], "phone");
        assert_eq!(p["text"], "respondi pelo celular");
        assert!(p["agent"].is_null());
        let received = by_wa_id(&h.emitted("message.received"), &typed).clone();
        assert_eq!(received["from_me"], true, "still reported as received from the phone too");
        assert_eq!(p["chatwoot_message_id"], received["chatwoot_message_id"]);
        h.assert_clean();
    }

    async fn receipts_reactions_edits_and_deletions_name_their_chat_and_message(h) {
        let first = h.customer_text(CUSTOMER, "pedido 1");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        let first_cw = h.cw_messages()[0]["id"].as_u64().unwrap();
        let reply = h.chatwoot.agent_reply(conversation, "recebido", Vec::new()).unwrap();
        h.settle().await;
        let wa_reply = h.sent_ids()[0].clone();
        h.customer_read(&[&wa_reply]);
        h.customer_reaction(&first, "👍");
        h.customer_edit(&first, "pedido 2");
        h.settle().await;
        h.customer_revoke(&first);
        h.settle().await;
        let refs = |r: &Value| (r["chat"].clone(), r["chatwoot_conversation_id"].clone(), r["chatwoot_message_id"].clone());
        let status = h.emitted("message.status");
        let read = by_wa_id(&status, &wa_reply);
        assert_eq!(read["status"], "read");
        assert_eq!(refs(read), (json!(CUSTOMER), json!(conversation), json!(reply)));
        let on_first = (json!(CUSTOMER), json!(conversation), json!(first_cw));
        let reaction = h.emitted("reaction");
        assert_eq!(reaction.len(), 1);
        assert_eq!(reaction[0]["emoji"], "👍");
        assert_eq!(refs(&reaction[0]), on_first);
        let edited = h.emitted("message.edited");
        assert_eq!(edited.len(), 1);
        assert_eq!(edited[0]["text"], "pedido 2");
        assert_eq!(refs(&edited[0]), on_first);
        let deleted = h.emitted("message.deleted");
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0]["by"], "whatsapp");
        assert_eq!(refs(&deleted[0]), on_first);

        // An agent deletes their reply: revoked on WhatsApp, and said so.
        assert!(h.chatwoot.agent_delete(reply));
        h.settle().await;
        let deleted = h.emitted("message.deleted");
        let by_agent = deleted.iter().find(|r| r["by"] == "agent").expect("agent deletion reported");
        assert_eq!(by_agent["wa_message_id"], wa_reply.as_str());
        assert_eq!(refs(by_agent), (json!(CUSTOMER), json!(conversation), json!(reply)));
        h.assert_clean();
    }
}
