//! Each example exercised against the fakes.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code, unreachable_pub)]
#[path = "../send_via_gateway.rs"]
mod send_via_gateway;

#[allow(dead_code, unreachable_pub)]
#[path = "../agent_bot.rs"]
mod agent_bot;

#[allow(dead_code, unreachable_pub)]
#[path = "../embed_engine.rs"]
mod embed_engine;

#[allow(dead_code, unreachable_pub)]
#[path = "../activity_tail.rs"]
mod activity_tail;

#[allow(dead_code, unreachable_pub)]
#[path = "../crm_send.rs"]
mod crm_send;

/// `examples/subscriber.rs`, as the CRM example includes it.
use crm_send::subscriber;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use zapwoot_fakes::{
    FakeChatwoot, FakeChatwootConfig, FakeGowa, FakeGowaConfig, FakeWuzapi, FakeWuzapiConfig,
    Receiver, WuzapiMessage,
};
use zapwoot_gateway::Jid;

const CUSTOMER: &str = "5511987654321@s.whatsapp.net";

#[tokio::test]
async fn send_via_gateway_sends_text_and_document_on_both_gateways() {
    let wuzapi = FakeWuzapi::start(FakeWuzapiConfig::default())
        .await
        .unwrap();
    let gowa = FakeGowa::start(FakeGowaConfig::default()).await.unwrap();
    let to = Jid::parse(CUSTOMER).unwrap();
    let pdf = b"%PDF-1.4 test".to_vec();

    let gateway = send_via_gateway::gateway("wuzapi", &wuzapi.url(), wuzapi.token(), "").unwrap();
    let (text, document) =
        send_via_gateway::send_text_and_document(gateway.as_ref(), &to, "Olá", pdf.clone())
            .await
            .unwrap();
    let sends = wuzapi.sends();
    assert_eq!(
        sends
            .iter()
            .map(|s| s.endpoint.as_str())
            .collect::<Vec<_>>(),
        ["/chat/send/text", "/chat/send/document"]
    );
    assert_eq!(sends[0].body["Body"], json!("Olá"));
    assert_eq!(
        (sends[0].id.as_str(), sends[1].id.as_str()),
        (text.message_id.as_str(), document.message_id.as_str())
    );

    let gateway = send_via_gateway::gateway("gowa", &gowa.url(), "admin", "gowa-password").unwrap();
    send_via_gateway::send_text_and_document(gateway.as_ref(), &to, "Olá", pdf)
        .await
        .unwrap();
    let sends = gowa.sends();
    assert_eq!(
        sends
            .iter()
            .map(|s| s.endpoint.as_str())
            .collect::<Vec<_>>(),
        ["/send/message", "/send/file"]
    );

    // Wrong credentials are the gateway's 401, not a panic.
    let gateway = send_via_gateway::gateway("gowa", &gowa.url(), "admin", "wrong").unwrap();
    let err = send_via_gateway::send_text_and_document(gateway.as_ref(), &to, "x", Vec::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(send_via_gateway::gateway("telegram", "http://x", "", "").is_err());
}

#[tokio::test]
async fn agent_bot_answers_customers_once_and_never_itself() {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bot_url = format!("http://{}/", listener.local_addr().unwrap());
    let inbox = chatwoot.add_api_inbox("Bot", Some(&bot_url));
    let client = zapwoot_chatwoot::Client::builder(chatwoot.url(), chatwoot.admin_token())
        .build()
        .unwrap()
        .account(1);
    let bot = agent_bot::Bot::new(client.clone(), Some(&inbox.secret)).unwrap();
    let server = tokio::spawn(agent_bot::serve(listener, Arc::new(bot)));

    let (_, conversation) = chatwoot.add_conversation(inbox.id, "cust-1", "Maria");
    client
        .create_message(
            conversation,
            &zapwoot_chatwoot::NewMessage::incoming("Oi, tudo bem?"),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while chatwoot.messages(conversation).len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reply: {:?}",
            chatwoot.messages(conversation)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The reply's own webhook reaches the bot too; it must not answer it.
    assert!(chatwoot.wait_for_webhooks(Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let messages = chatwoot.messages(conversation);
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert_eq!(
        messages[1]["content"],
        json!(agent_bot::reply_to("Oi, tudo bem?"))
    );

    // A private note is not answered; a forged webhook is refused.
    client
        .create_message(conversation, &{
            let mut note = zapwoot_chatwoot::NewMessage::outgoing("nota interna");
            note.private = true;
            note
        })
        .await
        .unwrap();
    assert!(chatwoot.wait_for_webhooks(Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(chatwoot.messages(conversation).len(), 3);
    let forged = reqwest_free_post(&bot_url, br#"{"event":"message_created"}"#).await;
    assert_eq!(forged, 401);
    server.abort();
}

/// A minimal HTTP/1.1 POST over a TCP stream (no signature headers); returns the status.
async fn reqwest_free_post(url: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn embed_engine_relays_persisted_webhooks_and_survives_a_restart() {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let inbox = chatwoot.add_api_inbox("WhatsApp", None);
    let wuzapi = FakeWuzapi::start(FakeWuzapiConfig::default())
        .await
        .unwrap();
    let receiver = Receiver::start().await.unwrap();
    wuzapi.set_webhook(&receiver.url(), &["All"]);
    let dir = std::env::temp_dir().join(format!("zapwoot-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("embedded.db").display());
    let key = || zapwoot_store::SealingKey::from_bytes(&[9; 32]).unwrap();
    let instance = || {
        let mut i = zapwoot_store::NewInstance::new(
            "alpha",
            zapwoot_store::GatewayKind::Wuzapi,
            wuzapi.url(),
            chatwoot.url(),
            1,
        );
        i.chatwoot_inbox_id = Some(i64::try_from(inbox.id).unwrap());
        i.secrets
            .insert("chatwoot_api_token".into(), chatwoot.admin_token().into());
        i.secrets
            .insert("gateway_token".into(), wuzapi.token().into());
        i
    };
    let embedded = embed_engine::Embedded::start(&url, key(), instance())
        .await
        .unwrap();
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "Olá do serviço embutido"));
    let webhook = receiver
        .wait_for(1, Duration::from_secs(10))
        .await
        .unwrap()
        .remove(0);
    let content_type = webhook.header("content-type").unwrap().to_owned();
    let id = embedded
        .accept_gateway_webhook(&content_type, None, &webhook.body)
        .await
        .unwrap();
    let incoming = |c: &FakeChatwoot| {
        c.all_messages()
            .into_iter()
            .filter(|m| m["message_type"] == json!(0))
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while incoming(&chatwoot) < 1 {
        assert!(tokio::time::Instant::now() < deadline, "not relayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(matches!(
        embedded
            .accept_gateway_webhook(&content_type, None, b"garbage")
            .await,
        Err(zapwoot_sync::ingest::IngestError::Malformed(_))
    ));
    embedded.shutdown().await;

    // Restarted on the same database: the same webhook again is a duplicate, nothing doubles.
    let embedded = embed_engine::Embedded::start(&url, key(), instance())
        .await
        .unwrap();
    assert_eq!(
        embedded
            .accept_gateway_webhook(&content_type, None, &webhook.body)
            .await
            .unwrap(),
        id
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(incoming(&chatwoot), 1);
    embedded.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A stand-in for the bridge's `/api/v1/activity` in its documented format: the first
/// connection gets records 1 and 2 and is then dropped; later ones get what follows the
/// `Last-Event-ID` they send. Returns the address and the `Last-Event-ID`s seen.
async fn activity_server() -> (String, Arc<std::sync::Mutex<Vec<Option<String>>>>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if stream.read(&mut byte).await.unwrap() == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).to_lowercase();
            if !head.contains("authorization: bearer tok") {
                let _ = stream.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
                continue;
            }
            let last = head.lines().find_map(|l| {
                l.strip_prefix("last-event-id: ")
                    .map(|v| v.trim().to_owned())
            });
            log.lock().unwrap().push(last.clone());
            let after: u64 = last.and_then(|l| l.parse().ok()).unwrap_or(0);
            let mut body = String::from("retry: 2000\n\n: heartbeat\n\n");
            for id in (after + 1)..=(after + 2).min(3) {
                body.push_str(&format!(
                    "id: {id}\nevent: message.received\ndata: {{\"type\":\"message.received\",\"instance\":\"alpha\",\"timestamp_ms\":1,\"data\":{{\"n\":{id}}}}}\n\n"
                ));
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn activity_tail_resumes_after_a_dropped_connection() {
    let (url, seen) = activity_server().await;
    let http = activity_tail::client().unwrap();
    let mut last_id = 0;
    let mut records = Vec::new();
    for _ in 0..2 {
        activity_tail::follow(&http, &url, "tok", &mut last_id, |r| {
            records.push(r.clone());
            true
        })
        .await
        .unwrap();
    }
    assert_eq!(records.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(*seen.lock().unwrap(), [None, Some("2".to_owned())]);
    assert!(activity_tail::timeline_line(&records[0]).contains("alpha"));
    assert_eq!(records[2].body["data"]["n"], json!(3));
    let refused = activity_tail::follow(&http, &url, "wrong", &mut last_id, |_| true)
        .await
        .unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(401));
}

#[test]
fn activity_frames_are_parsed_across_chunks() {
    let mut buffer =
        String::from("id: 7\nevent: reaction\ndata: {\"instance\":\"a\"}\n\nid: 8\nevent: mess");
    let first = activity_tail::drain_frames(&mut buffer);
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].id, first[0].kind.as_str()), (7, "reaction"));
    buffer.push_str("age.sent\ndata: {}\n\n: heartbeat\n\n");
    let second = activity_tail::drain_frames(&mut buffer);
    assert_eq!(
        second.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        ["message.sent"]
    );
    assert!(buffer.is_empty());
}

#[tokio::test]
async fn subscriber_verifies_dedupes_and_accepts_rotated_signatures() {
    use zapwoot_signing::{Keyring, Secret};
    let old = Secret::generate().unwrap();
    let new = Secret::generate().unwrap();
    let (subscriber, mut events) = subscriber::Subscriber::new(&old.expose_standard()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(subscriber::serve(listener, Arc::new(subscriber)));
    let http = activity_tail::client().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Mid-rotation zapwoot signs with the new secret first and the old one too.
    let rotating = Keyring::new(&new).with_secret(&old);
    let post = |id: &str, timestamp: u64, body: &str, keys: &Keyring| {
        let signature = keys.sign_standard(id, timestamp, body.as_bytes()).unwrap();
        http.post(&url)
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
    };
    let body = r#"{"type":"message.received","timestamp":"2026-11-21T08:00:00Z","data":{"instance":"alpha"}}"#;
    assert_eq!(
        post("msg_1", now, body, &rotating).await.unwrap().status(),
        204
    );
    // A retry of the same delivery is acknowledged but not handed on twice.
    assert_eq!(
        post("msg_1", now, body, &rotating).await.unwrap().status(),
        204
    );
    assert_eq!(
        post("msg_2", now, body, &Keyring::new(&old))
            .await
            .unwrap()
            .status(),
        204
    );
    let first = events.recv().await.unwrap();
    assert_eq!(
        (first.id.as_str(), first.kind.as_str()),
        ("msg_1", "message.received")
    );
    assert_eq!(events.recv().await.unwrap().id, "msg_2");
    // Wrong secret, stale timestamp, tampered body: 401; signed garbage: 400.
    let stranger = Keyring::new(&Secret::generate().unwrap());
    assert_eq!(
        post("msg_3", now, body, &stranger).await.unwrap().status(),
        401
    );
    assert_eq!(
        post("msg_4", now - 3600, body, &rotating)
            .await
            .unwrap()
            .status(),
        401
    );
    let signature = rotating
        .sign_standard("msg_5", now, body.as_bytes())
        .unwrap();
    let tampered = http
        .post(&url)
        .header("webhook-id", "msg_5")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signature)
        .body(body.replace("alpha", "omega"))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    assert_eq!(
        post("msg_6", now, "not json", &rotating)
            .await
            .unwrap()
            .status(),
        400
    );
    assert!(events.try_recv().is_err());
    server.abort();
}

#[tokio::test]
async fn subscriber_receives_what_the_bridge_dispatches() {
    use zapwoot_store::{
        NewSubscription, Notification, Sealer, SealingKey, SecretString, Store, StoreOptions,
    };
    use zapwoot_sync::webhooks::{WebhookDispatcher, WebhookPolicy};
    let dir =
        std::env::temp_dir().join(format!("zapwoot-example-subscriber-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(
        &format!("sqlite://{}", dir.join("store.db").display()),
        StoreOptions::with_sealer(Sealer::new(SealingKey::from_bytes(&[7; 32]).unwrap())),
    )
    .await
    .unwrap();
    let secret = zapwoot_signing::Secret::generate()
        .unwrap()
        .expose_standard();
    let (subscriber, mut events) = subscriber::Subscriber::new(&secret).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(subscriber::serve(listener, Arc::new(subscriber)));

    let mut new = NewSubscription::new(url, vec!["message.*".into()], SecretString::new(secret));
    new.allow_private_network = true;
    let sub = store.subscriptions().create(new).await.unwrap();
    let bus = zapwoot_sync::ActivityBus::default();
    let dispatcher = WebhookDispatcher::new(store.clone(), bus, WebhookPolicy::default()).unwrap();
    store
        .deliveries().notify(vec![Notification::new(
            "msg_e1_1_0",
            "message.sent",
            r#"{"type":"message.sent","timestamp":"2026-12-03T11:00:00.000Z","data":{"instance":"alpha","wa_message_id":"3EB0ABC"}}"#,
        )])
        .await
        .unwrap();
    assert_eq!(dispatcher.drain().await, 1);
    let got = events.recv().await.unwrap();
    assert_eq!(
        (got.id.as_str(), got.kind.as_str()),
        ("msg_e1_1_0", "message.sent")
    );
    assert_eq!(got.body["data"]["wa_message_id"], json!("3EB0ABC"));

    // After a rotation the subscriber, still on the old secret, keeps verifying.
    let rotated = zapwoot_signing::Secret::generate()
        .unwrap()
        .expose_standard();
    store
        .subscriptions()
        .rotate_secret(
            sub.id,
            SecretString::new(rotated),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    store
        .deliveries()
        .notify(vec![Notification::new(
            "msg_e2_1_0",
            "message.received",
            r#"{"type":"message.received","data":{"wa_message_id":"3EB0ABC"}}"#,
        )])
        .await
        .unwrap();
    dispatcher.drain().await;
    assert_eq!(events.recv().await.unwrap().id, "msg_e2_1_0");
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The CRM example against the real bridge: its order key sends once however often it asks,
/// and its own subscription tells it `delivered`, or `delivery.failed` with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crm_send_sends_once_per_order_and_hears_delivered() {
    use crm_send::{CrmError, Outcome, Zapwoot, listen, wait_for_delivery};
    use zapwoot_testkit::{ADMIN_TOKEN, Bridge, Db, HMAC_KEY, add_instance, wuzapi_doc};

    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let mut config = FakeWuzapiConfig::default();
    config.hmac_key = Some(HMAC_KEY.to_owned());
    let wuzapi = FakeWuzapi::start(config).await.unwrap();
    let db = Db::sqlite();
    let bridge = Bridge::start(&db);
    let mut doc = wuzapi_doc("alpha", &wuzapi, &chatwoot);
    doc["options"] = json!({ "send_rate_per_minute": 6000 });
    add_instance(&bridge, &doc).await;

    let zapwoot = Zapwoot::new(&bridge.url, ADMIN_TOKEN).unwrap();
    let secret = zapwoot_signing::Secret::generate()
        .unwrap()
        .expose_standard();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/", listener.local_addr().unwrap());
    let mut events = listen(listener, &secret).unwrap();
    zapwoot.subscribe(&hook, &secret, true).await.unwrap();

    let id = zapwoot
        .send(
            "alpha",
            "5511987654321",
            "Your order *12345* has shipped",
            "order-12345",
        )
        .await
        .unwrap();
    let again = zapwoot
        .send(
            "alpha",
            "5511987654321",
            "Your order *12345* has shipped",
            "order-12345",
        )
        .await
        .unwrap();
    assert_eq!(again, id, "the same order is the same message");
    let receipt = async {
        let wa_id = bridge
            .eventually_value("the bridge to send it", || async {
                wuzapi.sends().first().map(|s| s.id.clone())
            })
            .await;
        wuzapi.emit_receipt(CUSTOMER, &[wa_id.as_str()], "Delivered");
        wa_id
    };
    let (outcome, wa_id) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(30), wait_for_delivery(&mut events, &id)),
        receipt
    );
    assert_eq!(
        outcome.unwrap(),
        Some(Outcome::Delivered {
            wa_message_id: wa_id
        })
    );

    // A number WhatsApp refuses: delivery.failed names the message and the reason.
    wuzapi
        .faults()
        .fail(http::Method::POST, "/chat/send/text", 400, 20);
    let refused = zapwoot
        .send(
            "alpha",
            "5511987654321",
            "Your order *12346* has shipped",
            "order-12346",
        )
        .await
        .unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        wait_for_delivery(&mut events, &refused),
    )
    .await
    .unwrap();
    assert!(
        matches!(&outcome, Some(Outcome::Failed { reason }) if !reason.is_empty()),
        "{outcome:?}"
    );
    match zapwoot.send("alpha", "12ab", "x", "order-bad").await {
        Err(CrmError::Refused { status: 422, body }) => assert_eq!(body["error"]["field"], "to"),
        other => panic!("{other:?}"),
    }
    bridge.wait_idle().await;
    let texts: Vec<_> = wuzapi
        .sends()
        .into_iter()
        .filter(|s| s.endpoint == "/chat/send/text")
        .collect();
    assert_eq!(texts.len(), 1, "one WhatsApp message for the order");
    let mirrors = chatwoot
        .all_messages()
        .into_iter()
        .filter(|m| m["source_id"] == format!("ZAPWOOT:api:{id}"))
        .count();
    assert_eq!(
        mirrors, 1,
        "and one message in the customer's Chatwoot conversation"
    );
}
