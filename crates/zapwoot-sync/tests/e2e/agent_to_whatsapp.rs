use super::support::*;
use zapwoot_fakes::{FakeChatwootConfig, WebhookOrder};
use zapwoot_gateway::GatewayKind;
use zapwoot_sync::InstanceOptions;

async fn conversation(h: &Harness) -> u64 {
    h.customer_text(CUSTOMER, "oi");
    h.settle().await;
    h.chatwoot.conversations()[0]["id"].as_u64().unwrap()
}

matrix! {
    async fn attachments_go_as_the_right_kinds_with_the_text_as_caption(h) {
        let conversation = conversation(&h).await;
        let png = b"\x89PNG\r\n\x1a\n image".to_vec();
        let pdf = b"%PDF-1.7 nota".to_vec();
        h.chatwoot
            .agent_reply(conversation, "segue", vec![("foto.png".into(), "image/png".into(), png), ("nota fiscal.pdf".into(), "application/pdf".into(), pdf)])
            .unwrap();
        h.settle().await;
        let endpoints = h.sent_endpoints();
        match h.kind {
            GatewayKind::Gowa => assert_eq!(endpoints, vec!["/send/image", "/send/file"]),
            _ => assert_eq!(endpoints, vec!["/chat/send/image", "/chat/send/document"]),
        }
        h.assert_clean();
    }

    async fn private_notes_are_not_sent_and_templates_are(h) {
        let conversation = conversation(&h).await;
        h.chatwoot.agent_note(conversation, "nota interna").unwrap();
        h.chatwoot.automation_template(conversation, "Avalie o atendimento").unwrap();
        h.settle().await;
        assert_eq!(h.sent_texts(), vec!["Avalie o atendimento"]);
        h.assert_clean();
    }

    async fn replies_carry_reply_context(h) {
        let customer = h.customer_text(CUSTOMER, "qual o prazo?");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        let cw = h.cw_messages()[0]["id"].as_u64().unwrap();
        let api = zapwoot_chatwoot::Client::builder(h.chatwoot.url(), h.chatwoot.admin_token()).build().unwrap().account(1);
        api.create_message(conversation, &zapwoot_chatwoot::NewMessage::outgoing("3 dias").in_reply_to(cw)).await.unwrap();
        h.settle().await;
        match &h.gateway {
            FakeGateway::Wuzapi(f) => assert_eq!(f.sends()[0].body["ContextInfo"]["StanzaId"], customer),
            FakeGateway::Gowa(f) => assert_eq!(f.sends()[0].fields["reply_message_id"], customer),
        }
        h.assert_clean();
    }

    async fn agent_deletion_revokes_on_whatsapp(h) {
        let conversation = conversation(&h).await;
        let reply = h.chatwoot.agent_reply(conversation, "mensagem errada", Vec::new()).unwrap();
        h.settle().await;
        let wa = h.sent_ids()[0].clone();
        assert!(h.chatwoot.agent_delete(reply));
        h.settle().await;
        let endpoints = h.sent_endpoints();
        match h.kind {
            GatewayKind::Gowa => assert_eq!(endpoints.last().unwrap(), &format!("/message/{wa}/revoke")),
            _ => assert_eq!(endpoints.last().unwrap(), "/chat/delete"),
        }
        assert_eq!(endpoints.len(), 2, "revoked once");
        h.assert_clean();
    }

    async fn resolved_conversations_are_not_reused(h) {
        let first = conversation(&h).await;
        h.chatwoot.agent_set_status(first, "resolved");
        h.settle().await;
        h.customer_text(CUSTOMER, "voltei");
        h.settle().await;
        let conversations = h.chatwoot.conversations();
        assert_eq!(conversations.len(), 2, "reuse_open starts a new conversation after resolution");
        h.assert_clean();
    }
}

async fn duplicated_and_reordered(kind: GatewayKind, db: Db) {
    let mut config = FakeChatwootConfig::default();
    config.duplicate_every = Some(1);
    config.webhook_order = WebhookOrder::Shuffled;
    let h = harness_with(db, kind, InstanceOptions::default(), config).await;
    h.customer_text(CUSTOMER, "oi");
    h.settle().await;
    let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
    for i in 0..5 {
        h.chatwoot
            .agent_reply(conversation, &format!("resposta {i}"), Vec::new())
            .unwrap();
    }
    h.settle().await;
    let mut sent = h.sent_texts();
    assert_eq!(
        sent.len(),
        5,
        "every Chatwoot webhook came twice, shuffled: still one send each: {sent:?}"
    );
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 5);
    assert_eq!(h.cw_messages().len(), 6, "no echo loops");
    h.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicated_and_reordered_chatwoot_webhooks_sqlite_wuzapi() {
    duplicated_and_reordered(GatewayKind::Wuzapi, Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicated_and_reordered_chatwoot_webhooks_postgres_gowa() {
    duplicated_and_reordered(GatewayKind::Gowa, Db::postgres()).await;
}
