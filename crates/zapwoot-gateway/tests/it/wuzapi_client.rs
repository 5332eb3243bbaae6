use std::sync::Arc;
use std::time::Duration;

use http::Method;
use serde_json::{Map, Value, json};
use zapwoot_fakes::{
    FakeWuzapi, FakeWuzapiConfig, FaultAction, Receiver, WuzapiFormat, WuzapiMessage,
};
use zapwoot_gateway::wuzapi::{self, WuzapiClient};
use zapwoot_gateway::{
    Content, Error, File, Gateway, InboundEvent, Jid, MediaSource, MessageRef, Outgoing,
    OutgoingBody, ReceiptStatus, SendOutcome,
};
use zapwoot_signing::{Keyring, Secret};

const CUSTOMER: &str = "5511987654321@s.whatsapp.net";

async fn setup(config: FakeWuzapiConfig) -> (FakeWuzapi, Arc<dyn Gateway>, WuzapiClient) {
    let fake = FakeWuzapi::start(config).await.unwrap();
    let client = WuzapiClient::new(&fake.url(), fake.token()).unwrap();
    (fake, Arc::new(client.clone()), client)
}

fn customer() -> Jid {
    Jid::parse(CUSTOMER).unwrap()
}

#[tokio::test]
async fn sends_every_kind_with_upstream_field_names() {
    let (fake, gateway, _) = setup(FakeWuzapiConfig::default()).await;
    let to = customer();
    let sent = gateway
        .send(&to, &Outgoing::text("*Olá*, tudo bem?"))
        .await
        .unwrap();
    assert!(sent.message_id.starts_with("3EB0"));
    assert!(sent.timestamp.is_some());
    let reply = Outgoing::text("sim").replying_to(MessageRef::new("3EB0AA", false, None));
    gateway.send(&to, &reply).await.unwrap();
    let png = File::new(b"\x89PNG\r\n\x1a\nxx".to_vec(), "image/png", "a.png");
    for body in [
        OutgoingBody::Image(png.clone(), Some("foto".into())),
        OutgoingBody::Video(
            File::new(b"\x00\x00\x00\x18ftypmp42".to_vec(), "video/mp4", "v.mp4"),
            None,
        ),
        OutgoingBody::Audio(
            File::new(b"OggS..".to_vec(), "audio/ogg; codecs=opus", "v.ogg"),
            true,
        ),
        OutgoingBody::Document(
            File::new(b"%PDF-1.7".to_vec(), "application/pdf", "nota fiscal.pdf"),
            Some("segue".into()),
        ),
        OutgoingBody::Sticker(File::new(b"RIFF....WEBP".to_vec(), "image/webp", "s.webp")),
        OutgoingBody::Location {
            latitude: -23.56,
            longitude: -46.65,
            name: Some("MASP".into()),
        },
        OutgoingBody::Contact {
            name: "Ana".into(),
            phone: "+55 11 91111-2222".into(),
        },
    ] {
        gateway.send(&to, &Outgoing::new(body)).await.unwrap();
    }
    let sends = fake.sends();
    let endpoints: Vec<&str> = sends.iter().map(|s| s.endpoint.as_str()).collect();
    assert_eq!(
        endpoints,
        vec![
            "/chat/send/text",
            "/chat/send/text",
            "/chat/send/image",
            "/chat/send/video",
            "/chat/send/audio",
            "/chat/send/document",
            "/chat/send/sticker",
            "/chat/send/location",
            "/chat/send/contact"
        ]
    );
    assert_eq!(
        sends[1].body["ContextInfo"],
        json!({ "StanzaId": "3EB0AA", "Participant": CUSTOMER }),
        "1:1 reply: the customer wrote it"
    );
    assert_eq!(sends[2].body["Caption"], "foto");
    assert!(
        sends[2].body["Image"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    assert_eq!(sends[4].body["ptt"], true);
    assert_eq!(sends[5].body["FileName"], "nota fiscal.pdf");
    assert!(
        sends[8].body["Vcard"]
            .as_str()
            .unwrap()
            .contains("waid=5511911112222")
    );
    assert!(fake.unexpected_requests().is_empty());
}

#[tokio::test]
async fn actions_and_lookups() {
    let (fake, gateway, client) = setup(FakeWuzapiConfig::default()).await;
    let chat = customer();
    gateway
        .react(&chat, &MessageRef::new("3EB0OWN", true, None), Some("👍"))
        .await
        .unwrap();
    gateway
        .react(&chat, &MessageRef::new("3EB0THEIRS", false, None), None)
        .await
        .unwrap();
    gateway.edit(&chat, "3EB0OWN", "corrigido").await.unwrap();
    gateway.revoke(&chat, "3EB0OWN").await.unwrap();
    gateway
        .mark_read(&chat, None, &["3EB0THEIRS".to_owned()])
        .await
        .unwrap();
    gateway.set_typing(&chat, true).await.unwrap();
    gateway.set_typing(&chat, false).await.unwrap();
    let sends = fake.sends();
    assert_eq!(
        sends[0].body["Id"], "me:3EB0OWN",
        "own messages are addressed as me:<id>"
    );
    assert_eq!(sends[1].body["Body"], "remove");
    assert_eq!(
        fake.read_marks(),
        vec![(CUSTOMER.to_owned(), vec!["3EB0THEIRS".to_owned()])]
    );
    assert_eq!(
        fake.presences(),
        vec![
            (CUSTOMER.to_owned(), "composing".to_owned()),
            (CUSTOMER.to_owned(), "paused".to_owned())
        ]
    );

    let health = gateway.health().await.unwrap();
    assert!(health.connected && health.logged_in);
    assert_eq!(
        health.jid.unwrap().to_string(),
        "5511900000000@s.whatsapp.net"
    );

    fake.set_not_on_whatsapp("5511000000000");
    let checked = client
        .check(&["5511987654321", "5511000000000"])
        .await
        .unwrap();
    assert!(checked[0].1 && !checked[1].1);
    assert_eq!(checked[0].2.as_ref().unwrap().to_string(), CUSTOMER);
    let info = client.user_info(std::slice::from_ref(&chat)).await.unwrap();
    assert!(info["Users"][CUSTOMER].is_object());
    assert_eq!(
        client.avatar(&chat).await.unwrap(),
        None,
        "no avatar is not an error"
    );
    fake.set_avatar(CUSTOMER, "https://pps.whatsapp.net/v/abc.jpg");
    assert_eq!(
        client.avatar(&chat).await.unwrap().as_deref(),
        Some("https://pps.whatsapp.net/v/abc.jpg")
    );
}

#[tokio::test]
async fn media_delivery_reads_and_switches_to_inline() {
    let (fake, _, client) = setup(FakeWuzapiConfig::default()).await;
    // A fresh wuzapi user: `media_delivery` "" means no media keys in webhooks at all.
    assert_eq!(
        client.media_delivery().await.unwrap(),
        (Some(String::new()), false)
    );
    client.deliver_media_inline().await.unwrap();
    assert_eq!(fake.media_delivery(), "base64");
    assert_eq!(
        client.media_delivery().await.unwrap(),
        (Some("base64".to_owned()), false)
    );
    // A wrong token is refused and changes nothing.
    let stranger = WuzapiClient::new(&fake.url(), "not-the-token").unwrap();
    assert_eq!(
        stranger.deliver_media_inline().await.unwrap_err().status(),
        Some(401)
    );
}

#[tokio::test]
async fn errors_are_classified() {
    let (fake, gateway, _) = setup(FakeWuzapiConfig::default()).await;
    let to = customer();
    let bad = WuzapiClient::new(&fake.url(), "wrong-token").unwrap();
    let err = Gateway::send(&bad, &to, &Outgoing::text("x"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!err.is_retryable());
    assert!(!format!("{err:?}").contains("wrong-token"));

    fake.set_logged_in(false);
    assert!(matches!(
        gateway.send(&to, &Outgoing::text("x")).await.unwrap_err(),
        Error::LoggedOut(_)
    ));
    fake.set_logged_in(true);

    fake.faults().fail(Method::POST, "/chat/send/text", 500, 1);
    let err = gateway.send(&to, &Outgoing::text("x")).await.unwrap_err();
    assert!(err.is_retryable() && err.send_outcome() == SendOutcome::NotSent);
    fake.faults().inject(
        Some(Method::POST),
        "/chat/send/text",
        FaultAction::Reset,
        Some(1),
    );
    let err = gateway.send(&to, &Outgoing::text("x")).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }) && err.is_retryable());
    assert!(fake.sends().is_empty(), "faults never reached the handler");

    // Validation as upstream: a location at 0,0 is "missing".
    let zero = Outgoing::new(OutgoingBody::Location {
        latitude: 0.0,
        longitude: 1.0,
        name: None,
    });
    let err = gateway.send(&to, &zero).await.unwrap_err();
    assert!(
        matches!(&err, Error::Status { status: 400, message, .. } if message.contains("Latitude")),
        "{err}"
    );
}

#[tokio::test]
async fn media_is_fetched_from_every_source() {
    let (fake, gateway, _) = setup(FakeWuzapiConfig::default()).await;
    let bytes = b"%PDF-1.7 nota".to_vec();
    let keys = fake.store_media(&bytes, "application/pdf");
    let media = match wuzapi::parse("application/json", &serde_json::to_vec(&json!({
            "type": "Message", "instanceName": "a", "userID": "u",
            "event": { "Info": { "ID": "X1", "Chat": CUSTOMER, "Sender": CUSTOMER, "IsFromMe": false, "IsGroup": false, "Timestamp": "2026-06-18T13:02:14Z" },
                       "Message": { "documentMessage": Value::Object(keys.as_object().cloned().unwrap().into_iter().chain([("fileName".to_owned(), json!("nota.pdf"))]).collect()) } }
        })).unwrap()).unwrap().events.remove(0) {
        InboundEvent::Message(m) => m.content.media().unwrap().clone(),
        other => panic!("{other:?}"),
    };
    assert!(matches!(media.source, MediaSource::WuzapiDownload { .. }));
    let file = gateway.fetch_media(&media, 1_000_000).await.unwrap();
    assert_eq!(file.bytes, bytes);
    assert_eq!(file.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(file.file_name.as_deref(), Some("nota.pdf"));
    assert!(matches!(
        gateway.fetch_media(&media, 4).await.unwrap_err(),
        Error::TooLarge { limit: 4 }
    ));
}

#[tokio::test]
async fn webhooks_verify_and_parse_in_every_format() {
    for format in [
        WuzapiFormat::Form,
        WuzapiFormat::Json,
        WuzapiFormat::LegacyForm,
    ] {
        let receiver = Receiver::start().await.unwrap();
        let mut config = FakeWuzapiConfig::default();
        config.format = format;
        config.hmac_key = Some("k".repeat(32));
        let (fake, _, client) = setup(config).await;
        client
            .set_webhook(&receiver.url(), &["Message", "ReadReceipt"])
            .await
            .unwrap();
        assert_eq!(
            fake.webhook(),
            (
                receiver.url(),
                vec!["Message".to_owned(), "ReadReceipt".to_owned()]
            )
        );

        let text = "Olá + até já: 100% <ok> & 😀";
        let id = fake.emit_message(WuzapiMessage::text(CUSTOMER, text));
        let image = b"\xfb\xef\xbe\xff\xff\xfe binary".to_vec();
        let mut photo = WuzapiMessage::new(
            CUSTOMER,
            json!({ "imageMessage": fake.store_media(&image, "image/jpeg") }),
        );
        photo.envelope = Map::from_iter([
            (
                "base64".to_owned(),
                json!(base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    &image
                )),
            ),
            ("mimeType".to_owned(), json!("image/jpeg")),
        ]);
        fake.emit_message(photo);
        fake.emit_receipt(CUSTOMER, &[&id], "Read");
        fake.emit("Presence", json!({}), Map::new()); // not subscribed: never sent
        assert!(fake.wait_for_webhooks(Duration::from_secs(5)).await);

        let received = receiver.received();
        assert_eq!(received.len(), 3, "{format:?}");
        let keys = Keyring::new(&Secret::from_bytes("k".repeat(32)).unwrap());
        let mut events = Vec::new();
        for request in &received {
            keys.verify_plain_hex(
                request
                    .headers
                    .get(wuzapi::SIGNATURE_HEADER)
                    .map(|v| v.as_bytes()),
                &request.body,
            )
            .unwrap();
            let parsed =
                wuzapi::parse(request.header("content-type").unwrap(), &request.body).unwrap();
            if format == WuzapiFormat::LegacyForm {
                assert_eq!(parsed.token.as_deref(), Some(fake.token()));
            } else {
                assert_eq!(parsed.instance_name.as_deref(), Some("alpha"));
            }
            events.extend(parsed.events);
        }
        assert!(
            matches!(&events[0], InboundEvent::Message(m) if m.content == Content::Text { body: text.into() }),
            "{format:?}: {:?}",
            events[0]
        );
        assert!(
            matches!(&events[1], InboundEvent::Message(m) if matches!(&m.content.media().unwrap().source, MediaSource::Inline(b) if *b == image))
        );
        assert!(
            matches!(&events[2], InboundEvent::Receipt(r) if r.status == ReceiptStatus::Read && r.message_ids == vec![id.clone()])
        );
    }
}

#[tokio::test]
async fn history_rebuilds_the_webhooks_with_the_same_dedupe_keys() {
    let receiver = Receiver::start().await.unwrap();
    let (fake, gateway, client) = setup(FakeWuzapiConfig::default()).await;
    client
        .set_webhook(&receiver.url(), &["Message"])
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap_or(i64::MAX);

    // wuzapi's default: no history kept, the endpoint answers 501.
    fake.emit_message(WuzapiMessage::text(CUSTOMER, "sem histórico"));
    for error in [
        gateway.chats(0).await.unwrap_err(),
        gateway.history(&customer(), 0, now + 60).await.unwrap_err(),
    ] {
        assert!(
            matches!(error, Error::Unsupported(why) if why.contains("history = 0")),
            "{error:?}"
        );
    }

    fake.set_history(4);
    let old = fake.keep_text_at(CUSTOMER, "antes da ponte", now - 3 * 86_400);
    let live = fake.emit_message(WuzapiMessage::text(CUSTOMER, "ao vivo"));
    let bytes = b"\xff\xd8\xff photo".to_vec();
    let mut photo = WuzapiMessage::new(
        CUSTOMER,
        json!({ "imageMessage": Value::Object(fake.store_media(&bytes, "image/jpeg").as_object().cloned().unwrap().into_iter().chain([("caption".to_owned(), json!("foto"))]).collect()) }),
    );
    photo.push_name = "Maria".into();
    let photo = fake.emit_message(photo);
    fake.keep_text_at(
        "5511944445555@s.whatsapp.net",
        "outro chat antigo",
        now - 10 * 86_400,
    );
    let sent = gateway
        .send(&customer(), &Outgoing::text("resposta pela API"))
        .await
        .unwrap();
    assert!(fake.wait_for_webhooks(Duration::from_secs(5)).await);

    // Only chats with messages in the window.
    let chats = gateway.chats(now - 4 * 86_400).await.unwrap();
    assert_eq!(
        chats.iter().map(|c| c.jid.to_string()).collect::<Vec<_>>(),
        [CUSTOMER]
    );
    let history = gateway
        .history(&customer(), now - 4 * 86_400, now + 60)
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        [
            old.as_str(),
            live.as_str(),
            photo.as_str(),
            sent.message_id.as_str()
        ],
        "oldest first"
    );
    let real: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| {
            wuzapi::parse(r.header("content-type").unwrap_or_default(), &r.body)
                .unwrap()
                .dedupe_key()
        })
        .collect();
    for m in &history {
        let rebuilt = wuzapi::parse(m.content_type, &m.webhook).unwrap();
        assert_eq!(
            rebuilt.user_id.as_deref(),
            Some("bd4d8ab9e54f4b5fb0a1c2d3e4f5a6b7")
        );
        let InboundEvent::Message(message) = &rebuilt.events[0] else {
            panic!("not a message: {rebuilt:?}")
        };
        assert_eq!(message.id, m.id);
        assert_eq!(message.origin.timestamp, Some(m.timestamp));
        if m.id == old {
            assert_eq!(m.timestamp, now - 3 * 86_400, "the original time");
        } else if m.id == sent.message_id {
            assert!(message.origin.from_me, "stored as `me`: ours");
            assert!(
                matches!(&message.content, Content::Text { body } if body == "resposta pela API")
            );
        } else {
            assert!(
                real.contains(&rebuilt.dedupe_key()),
                "same key as the webhook that carried it"
            );
        }
        if m.id == photo {
            let media = message.content.media().unwrap();
            let file = gateway.fetch_media(media, 1_000_000).await.unwrap();
            assert_eq!(file.bytes, bytes, "media still downloadable with its keys");
        }
    }

    // wuzapi keeps `history` messages per chat: the oldest fell out; a narrower window.
    fake.emit_message(WuzapiMessage::text(CUSTOMER, "mais uma"));
    let kept = gateway
        .history(&customer(), now - 4 * 86_400, now + 60)
        .await
        .unwrap();
    assert_eq!(kept.len(), 4);
    assert!(kept.iter().all(|m| m.id != old));
    let recent = gateway
        .history(&customer(), now - 60, now + 60)
        .await
        .unwrap();
    assert!(recent.iter().all(|m| m.timestamp >= now - 60));

    // Errors other than "off" are errors.
    fake.faults().fail(Method::GET, "/chat/history", 500, 1);
    assert_eq!(gateway.chats(0).await.unwrap_err().status(), Some(500));
    assert!(fake.unexpected_requests().is_empty());
}

/// A redirect from the configured wuzapi is not followed: the user token stays with it.
#[tokio::test]
async fn api_calls_do_not_follow_redirects_with_the_token() {
    let elsewhere = Receiver::start().await.unwrap();
    let redirector = Receiver::start().await.unwrap();
    redirector.set_status(302);
    redirector.set_reply(
        &[("location", &format!("{}/session/status", elsewhere.url()))],
        Vec::new(),
    );
    let client = WuzapiClient::new(&redirector.url(), "user-token-1234").unwrap();
    let err = client.session_status().await.unwrap_err();
    assert_eq!(err.status(), Some(302), "{err}");
    assert_eq!(redirector.received().len(), 1);
    assert!(
        elsewhere.received().is_empty(),
        "the token followed the redirect"
    );
}

/// Every kind of failure keeps what caused it where there is a cause, and neither the error,
/// its `Debug`, nor any cause in the chain names the token — even when the gateway echoes it.
#[tokio::test]
async fn errors_keep_their_cause_and_never_the_token() {
    use std::error::Error as _;
    const TOKEN: &str = "wz-token-NEVER-IN-ERRORS";
    fn chain(err: &Error) -> String {
        let mut text = format!("{err} {err:?}");
        let mut cause = err.source();
        while let Some(c) = cause {
            text.push_str(&format!(" | {c} {c:?}"));
            cause = c.source();
        }
        text
    }
    let to = zapwoot_gateway::Jid::parse("5511999990001@s.whatsapp.net").unwrap();
    let upstream = zapwoot_fakes::Receiver::start().await.unwrap();
    let client = WuzapiClient::new(&upstream.url(), TOKEN).unwrap();

    upstream.set_status(200);
    upstream.set_reply(
        &[("content-type", "application/json")],
        br#"{"code":200,"success":true,"data":{}}"#.to_vec(),
    );
    let err = client.send(&to, &Outgoing::text("x")).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(!chain(&err).contains(TOKEN), "{}", chain(&err));

    upstream.set_status(500);
    upstream.set_reply(
        &[("content-type", "application/json")],
        format!(r#"{{"code":500,"error":"bad token {TOKEN}","success":false}}"#).into_bytes(),
    );
    let err = client.send(&to, &Outgoing::text("x")).await.unwrap_err();
    assert!(matches!(err, Error::Status { .. }), "{err:?}");
    assert!(!chain(&err).contains(TOKEN), "{}", chain(&err));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = WuzapiClient::new(&url, TOKEN).unwrap();
    let err = client.send(&to, &Outgoing::text("x")).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.source().is_some(), "the HTTP client's error is kept");
    assert!(!chain(&err).contains(TOKEN), "{}", chain(&err));
}
