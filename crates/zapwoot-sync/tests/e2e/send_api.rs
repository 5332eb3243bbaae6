//! The send API: accepted durably, sent once to WhatsApp in the chat's lane, mirrored once
//! into Chatwoot (its echo never sent back), idempotent by key, and Chatwoot being down never
//! holds the WhatsApp send up.

use serde_json::json;
use zapwoot_sync::send::{self, AcceptError, MediaInput, SendRequest};

use super::support::*;

async fn fast(db: Db, kind: zapwoot_gateway::GatewayKind) -> Harness {
    let mut options = zapwoot_sync::InstanceOptions::default();
    options.send_rate_per_minute = 60_000;
    harness_with(
        db,
        kind,
        options,
        zapwoot_fakes::FakeChatwootConfig::default(),
    )
    .await
}

async fn accept(
    h: &Harness,
    request: &SendRequest,
    key: Option<&str>,
) -> Result<send::Accepted, AcceptError> {
    let runtime = h.engine.runtime(h.instance_id).unwrap();
    send::accept(&h.engine, &runtime, request, key).await
}

async fn status(h: &Harness, id: &str) -> send::SendStatus {
    send::status(&h.store, h.instance_id, id)
        .await
        .unwrap()
        .unwrap()
}

macro_rules! send_matrix {
    ($(async fn $name:ident($h:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($h: Harness) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite_wuzapi() { run(fast(Db::sqlite(), zapwoot_gateway::GatewayKind::Wuzapi).await).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite_gowa() { run(fast(Db::sqlite(), zapwoot_gateway::GatewayKind::Gowa).await).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres_wuzapi() { run(fast(Db::postgres(), zapwoot_gateway::GatewayKind::Wuzapi).await).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres_gowa() { run(fast(Db::postgres(), zapwoot_gateway::GatewayKind::Gowa).await).await }
            }
        )*
    };
}

send_matrix! {
    async fn a_text_goes_out_once_and_is_mirrored_once(h) {
        let accepted = accept(&h, &SendRequest::text("+55 11 98765-4321", "Seu pedido *12345* saiu"), Some("order-12345")).await.unwrap();
        assert!(!accepted.repeat);
        assert_eq!(status(&h, &accepted.id).await.status, "queued", "accepted before anything is sent");
        h.settle().await;
        assert_eq!(h.sent_texts(), vec!["Seu pedido *12345* saiu"]);
        let mirrored = h.cw_messages();
        assert_eq!(mirrored.len(), 1, "{mirrored:?}");
        assert_eq!(mirrored[0]["message_type"], 1, "outgoing");
        assert_eq!(mirrored[0]["content"], "Seu pedido **12345** saiu");
        assert_eq!(mirrored[0]["source_id"], format!("ZAPWOOT:api:{}", accepted.id));
        assert_eq!(mirrored[0]["content_attributes"]["zapwoot"]["via"], "api");
        assert_eq!(h.chatwoot.contacts()[0]["phone_number"], "+5511987654321");
        let s = status(&h, &accepted.id).await;
        assert_eq!(s.status, "sent");
        assert_eq!(s.wa_message_id.as_deref(), Some(h.sent_ids()[0].as_str()));
        assert_eq!(s.chatwoot_message_id, mirrored[0]["id"].as_i64());
        assert_eq!(s.idempotency_key.as_deref(), Some("order-12345"));
        let sent = h.emitted("message.sent");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["via"], "api");
        assert_eq!(sent[0]["api_message_id"], accepted.id.as_str());
        assert_eq!(sent[0]["idempotency_key"], "order-12345");

        // The same key and body: the same answer, nothing sent again. Another body: refused.
        let again = accept(&h, &SendRequest::text("+55 11 98765-4321", "Seu pedido *12345* saiu"), Some("order-12345")).await.unwrap();
        assert_eq!((again.id.as_str(), again.repeat), (accepted.id.as_str(), true));
        assert!(matches!(accept(&h, &SendRequest::text("5511987654321", "outro"), Some("order-12345")).await, Err(AcceptError::KeyReused)));
        h.customer_read(&[&h.sent_ids()[0]]);
        h.settle().await;
        assert_eq!(status(&h, &accepted.id).await.status, "read");
        assert_eq!(h.sent_texts().len(), 1, "the mirror's echo is never sent to WhatsApp");
        assert_eq!(h.cw_messages().len(), 1);
        h.assert_clean();
    }

    async fn media_groups_and_replies_in_the_chats_order(h) {
        h.customer_text(CUSTOMER, "quero a nota");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        let customer_cw = h.cw_messages()[0]["id"].as_u64().unwrap();
        let pdf = b"%PDF-1.4 nota".to_vec();
        let mut with_file = SendRequest::text(CUSTOMER, "segue a nota");
        with_file.media = Some(MediaInput::Inline { base64: base64_of(&pdf), mime: "application/pdf".into(), file_name: Some("nota.pdf".into()) });
        with_file.reply_to = Some(format!("chatwoot:{customer_cw}"));
        let a = accept(&h, &with_file, None).await.unwrap();
        h.chatwoot.agent_reply(conversation, "mais alguma coisa?", Vec::new()).unwrap();
        let b = accept(&h, &SendRequest::text("120363025246125486@g.us", "aviso ao grupo"), None).await.unwrap();
        h.settle().await;
        assert_ne!(a.id, b.id);
        let endpoints = h.sent_endpoints();
        assert_eq!(endpoints.len(), 3, "{endpoints:?}");
        // In the customer's chat, the file accepted first went before the agent's later reply
        // (the group is another lane).
        let texts = h.sent_texts();
        let text_at: Vec<usize> = endpoints.iter().enumerate().filter(|(_, e)| *e == h.text_endpoint()).map(|(i, _)| i).collect();
        let agent_at = text_at[texts.iter().position(|t| t.contains("mais alguma coisa?")).unwrap()];
        let file_at = endpoints.iter().position(|e| e != h.text_endpoint()).unwrap();
        assert!(file_at < agent_at, "{endpoints:?} {texts:?}");
        let mirrored: Vec<_> = h.cw_messages().into_iter().filter(|m| m["source_id"].as_str().is_some_and(|s| s.starts_with("ZAPWOOT:api:"))).collect();
        assert_eq!(mirrored.len(), 2, "{mirrored:?}");
        let file = mirrored.iter().find(|m| m["content"] == "segue a nota").unwrap();
        assert_eq!(file["conversation_id"], conversation, "the customer's conversation");
        assert_eq!(file["attachments"][0]["file_type"], "file");
        assert_eq!(status(&h, &b.id).await.status, "sent");
        assert_eq!(h.chatwoot.conversations().len(), 2, "the group got its own conversation");
        h.assert_clean();
    }

    async fn chatwoot_down_never_holds_the_whatsapp_send(h) {
        h.chatwoot.faults().set_down(true);
        let first = accept(&h, &SendRequest::text(CUSTOMER, "um"), None).await.unwrap();
        let second = accept(&h, &SendRequest::text(CUSTOMER, "dois"), None).await.unwrap();
        h.engine.drain().await;
        assert_eq!(h.sent_texts(), vec!["um", "dois"], "sent while Chatwoot is down");
        assert_eq!(status(&h, &first.id).await.status, "sent");
        assert!(status(&h, &second.id).await.chatwoot_message_id.is_none());
        h.chatwoot.faults().set_down(false);
        h.settle().await;
        let mirrored: Vec<_> = h.cw_messages().iter().map(|m| m["content"].clone()).collect();
        assert_eq!(mirrored, vec![json!("um"), json!("dois")], "mirrors arrive after recovery, in order");
        assert_eq!(h.sent_texts().len(), 2);
        h.assert_clean();
    }

    async fn a_gateway_refusal_is_a_failed_message_with_its_reason(h) {
        h.gateway_faults().fail(http::Method::POST, h.text_endpoint(), 400, 10);
        let refused = accept(&h, &SendRequest::text(CUSTOMER, "oi"), None).await.unwrap();
        h.settle().await;
        let s = status(&h, &refused.id).await;
        assert_eq!(s.status, "failed");
        assert!(s.reason.as_deref().is_some_and(|r| !r.is_empty()), "{s:?}");
        assert!(h.cw_messages().is_empty(), "nothing mirrored for a message that was not sent");
        let failed = h.emitted("delivery.failed");
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0]["api_message_id"], refused.id);
        assert_eq!(failed[0]["chat"], "5511987654321@s.whatsapp.net");
        assert!(failed[0]["chatwoot_message_id"].is_null());
        h.assert_clean();
    }

    async fn media_by_url_is_followed_when_accepted_and_fetched_when_sent(h) {
        let mut h = h;
        let host = zapwoot_fakes::Receiver::start().await.unwrap();
        let pdf = b"%PDF-1.4 boleto".to_vec();
        host.set_reply(&[("content-type", "application/pdf")], pdf.clone());
        // Another origin that only redirects: to an inner address, and refused for it.
        let redirector = zapwoot_fakes::Receiver::start().await.unwrap();
        redirector.set_status(302);
        redirector.set_reply(&[("location", "http://10.1.2.3/boleto.pdf")], Vec::new());
        let big = zapwoot_fakes::Receiver::start().await.unwrap();
        big.set_reply(&[("content-type", "video/mp4")], vec![0u8; 4096]);
        h.options.media_origins = vec![host.url(), redirector.url(), big.url()];
        h.options.max_media_bytes = 2048;
        h.restart_engine();

        let mut by_url = SendRequest::text(CUSTOMER, "seu boleto");
        by_url.media = Some(MediaInput::Url { url: format!("{}/files/boleto.pdf", host.url()), file_name: None, mime: None });
        let sent = accept(&h, &by_url, None).await.unwrap();
        assert_eq!(host.received().len(), 1, "the URL was followed once when accepted");

        let mut redirected = SendRequest::text(CUSTOMER, "x");
        redirected.media = Some(MediaInput::Url { url: format!("{}/r", redirector.url()), file_name: None, mime: None });
        match accept(&h, &redirected, None).await {
            Err(AcceptError::Invalid(e)) => assert_eq!(e.field, "media.url", "{e}"),
            other => panic!("a redirect to an inner address is refused: {other:?}"),
        }
        let mut oversize = SendRequest::text(CUSTOMER, "x");
        oversize.media = Some(MediaInput::Url { url: format!("{}/v.mp4", big.url()), file_name: None, mime: None });
        match accept(&h, &oversize, None).await {
            Err(AcceptError::Invalid(e)) => assert!(e.too_large, "{e}"),
            other => panic!("a declared size over max_media_bytes is 413: {other:?}"),
        }

        h.settle().await;
        assert_eq!(h.sent_endpoints().len(), 1, "only the good one went out: {:?}", h.sent_endpoints());
        assert_eq!(host.received().len(), 2, "fetched once more, to send");
        let s = status(&h, &sent.id).await;
        assert_eq!(s.status, "sent");
        let mirrored = h.cw_messages();
        assert_eq!(mirrored.len(), 1, "{mirrored:?}");
        assert_eq!(mirrored[0]["content"], "seu boleto");
        assert_eq!(mirrored[0]["attachments"][0]["file_type"], "file");
        let event = &h.emitted("message.sent")[0];
        assert_eq!(event["media"]["file_name"], "boleto.pdf");
        assert_eq!(event["media"]["mime"], "application/pdf");
        assert_eq!(event["media"]["size"], pdf.len());
        h.assert_clean();
    }

    async fn bad_requests_send_nothing(h) {
        for (request, field) in [
            (SendRequest::text("", "oi"), "to"),
            (SendRequest::text("12ab", "oi"), "to"),
            (SendRequest::text(CUSTOMER, " "), "text"),
        ] {
            match accept(&h, &request, None).await {
                Err(AcceptError::Invalid(e)) => assert_eq!(e.field, field),
                other => panic!("{other:?}"),
            }
        }
        let mut private = SendRequest::text(CUSTOMER, "foto");
        private.media = Some(MediaInput::Url { url: "http://127.0.0.1:9/x.jpg".into(), file_name: None, mime: None });
        match accept(&h, &private, None).await {
            Err(AcceptError::Invalid(e)) => assert_eq!(e.field, "media.url"),
            other => panic!("{other:?}"),
        }
        h.settle().await;
        assert!(h.sent_endpoints().is_empty());
        assert!(h.cw_messages().is_empty());
        h.assert_clean();
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_is_refused_with_a_retry_time() {
    let mut options = zapwoot_sync::InstanceOptions::default();
    options.send_queue_limit = 2;
    options.send_rate_per_minute = 60;
    let h = harness_with(
        Db::sqlite(),
        zapwoot_gateway::GatewayKind::Wuzapi,
        options,
        zapwoot_fakes::FakeChatwootConfig::default(),
    )
    .await;
    accept(&h, &SendRequest::text(CUSTOMER, "1"), None)
        .await
        .unwrap();
    accept(&h, &SendRequest::text(CUSTOMER, "2"), None)
        .await
        .unwrap();
    match accept(&h, &SendRequest::text(CUSTOMER, "3"), None).await {
        Err(AcceptError::Busy {
            queued,
            retry_after_secs,
        }) => {
            assert_eq!(queued, 2);
            assert_eq!(
                retry_after_secs, 1,
                "one message over the limit at 60 a minute"
            );
        }
        other => panic!("{other:?}"),
    }
    h.settle().await;
    assert_eq!(
        h.sent_texts(),
        vec!["1", "2"],
        "paced, in order, the refused one not sent"
    );
    h.assert_clean();
}
