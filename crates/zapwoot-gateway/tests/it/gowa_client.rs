use std::sync::Arc;
use std::time::Duration;

use http::Method;
use zapwoot_fakes::{FakeGowa, FakeGowaConfig, GowaGeneration, Receiver};
use zapwoot_gateway::gowa::{self, GowaClient};
use zapwoot_gateway::{
    Content, Error, File, Gateway, InboundEvent, Jid, MessageRef, Outgoing, OutgoingBody,
    ReceiptStatus, SendOutcome,
};
use zapwoot_signing::{Keyring, Secret};

const CUSTOMER: &str = "5511987654321@s.whatsapp.net";

async fn setup(config: FakeGowaConfig) -> (FakeGowa, Arc<dyn Gateway>, GowaClient) {
    let (user, pass) = (config.username.clone(), config.password.clone());
    let fake = FakeGowa::start(config).await.unwrap();
    let client = GowaClient::builder(fake.url())
        .basic_auth(user, pass)
        .device_id("5511900000000@s.whatsapp.net")
        .build()
        .unwrap();
    (fake, Arc::new(client.clone()), client)
}

fn customer() -> Jid {
    Jid::parse(CUSTOMER).unwrap()
}

#[tokio::test]
async fn sends_json_and_multipart() {
    let (fake, gateway, _) = setup(FakeGowaConfig::default()).await;
    let to = customer();
    let sent = gateway
        .send(
            &to,
            &Outgoing::text("Olá").replying_to(MessageRef::new("3EB0AA", false, None)),
        )
        .await
        .unwrap();
    assert!(sent.message_id.starts_with("3EB0"));
    let voice = File::new(
        b"OggS voice".to_vec(),
        "audio/ogg; codecs=opus",
        "voice.ogg",
    );
    gateway
        .send(&to, &Outgoing::new(OutgoingBody::Audio(voice, true)))
        .await
        .unwrap();
    let doc = File::new(b"%PDF".to_vec(), "application/pdf", "nota fiscal.pdf");
    gateway
        .send(
            &to,
            &Outgoing::new(OutgoingBody::Document(doc, Some("segue".into())))
                .replying_to(MessageRef::new("3EB0BB", true, None)),
        )
        .await
        .unwrap();
    gateway
        .send(
            &to,
            &Outgoing::new(OutgoingBody::Location {
                latitude: -23.5,
                longitude: -46.6,
                name: None,
            }),
        )
        .await
        .unwrap();
    gateway
        .send(
            &to,
            &Outgoing::new(OutgoingBody::Contact {
                name: "Ana".into(),
                phone: "5511911112222".into(),
            }),
        )
        .await
        .unwrap();

    let sends = fake.sends();
    assert_eq!(sends[0].endpoint, "/send/message");
    assert_eq!(sends[0].fields["reply_message_id"], "3EB0AA");
    assert_eq!(sends[0].fields["phone"], CUSTOMER);
    assert_eq!(
        sends[0].device, "org_1",
        "X-Device-Id given as the JID resolves to the device"
    );
    assert_eq!(sends[1].endpoint, "/send/audio");
    assert_eq!(sends[1].fields["ptt"], "true");
    let (field, name, mime, bytes) = sends[1].file.clone().unwrap();
    assert_eq!(
        (
            field.as_str(),
            name.as_str(),
            mime.as_str(),
            bytes.as_slice()
        ),
        (
            "audio",
            "voice.ogg",
            "audio/ogg; codecs=opus",
            &b"OggS voice"[..]
        )
    );
    assert_eq!(sends[2].file.as_ref().unwrap().1, "nota fiscal.pdf");
    assert_eq!(sends[2].fields["caption"], "segue");
    assert_eq!(
        sends[3].fields["latitude"], "-23.5",
        "coordinates travel as strings"
    );
    assert_eq!(sends[4].fields["contact_name"], "Ana");
    assert!(fake.unexpected_requests().is_empty());
}

#[tokio::test]
async fn actions_lookups_and_health() {
    let (fake, gateway, client) = setup(FakeGowaConfig::default()).await;
    let chat = customer();
    gateway
        .react(&chat, &MessageRef::new("3EB0X", false, None), Some("🙏"))
        .await
        .unwrap();
    gateway
        .react(&chat, &MessageRef::new("3EB0X", false, None), None)
        .await
        .unwrap();
    gateway.edit(&chat, "3EB0Y", "corrigido").await.unwrap();
    gateway.revoke(&chat, "3EB0Y").await.unwrap();
    gateway
        .mark_read(&chat, None, &["3EB0X".to_owned(), "3EB0Z".to_owned()])
        .await
        .unwrap();
    let endpoints: Vec<String> = fake.sends().iter().map(|s| s.endpoint.clone()).collect();
    assert_eq!(
        endpoints,
        vec![
            "/message/3EB0X/reaction",
            "/message/3EB0X/reaction",
            "/message/3EB0Y/update",
            "/message/3EB0Y/revoke",
        ]
    );
    assert_eq!(
        fake.read_marks(),
        vec![
            (CUSTOMER.to_owned(), "3EB0X".to_owned()),
            (CUSTOMER.to_owned(), "3EB0Z".to_owned())
        ],
        "GOWA marks one message per call"
    );
    gateway.set_typing(&chat, true).await.unwrap();
    gateway.set_typing(&chat, false).await.unwrap();
    assert_eq!(
        fake.presences(),
        vec![
            (CUSTOMER.to_owned(), "start".to_owned()),
            (CUSTOMER.to_owned(), "stop".to_owned())
        ]
    );
    assert_eq!(fake.sends()[1].fields["emoji"], "", "empty emoji removes");

    assert!(gateway.health().await.unwrap().logged_in);
    assert!(client.check(&chat).await.unwrap());
    assert_eq!(
        client.user_info(&chat).await.unwrap()["resolved_phone"],
        CUSTOMER
    );
    assert_eq!(client.avatar(&chat).await.unwrap(), None);
    assert_eq!(client.devices().await.unwrap().len(), 1);
    assert_eq!(client.info().await.unwrap()["chatwoot_enabled"], false);
}

#[tokio::test]
async fn errors_are_classified() {
    let mut config = FakeGowaConfig::default();
    config
        .devices
        .push(("org_2".into(), "5511922222222@s.whatsapp.net".into()));
    let (fake, gateway, _) = setup(config).await;
    let to = customer();

    let wrong = GowaClient::builder(fake.url())
        .basic_auth("admin", "nope")
        .device_id("org_1")
        .build()
        .unwrap();
    let err = Gateway::send(&wrong, &to, &Outgoing::text("x"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!format!("{err:?} {wrong:?}").contains("nope"));

    let anonymous_device = GowaClient::builder(fake.url())
        .basic_auth("admin", "gowa-password")
        .build()
        .unwrap();
    let err = Gateway::send(&anonymous_device, &to, &Outgoing::text("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Status { status: 400, code: Some(c), .. } if c == "DEVICE_ID_REQUIRED"),
        "{err}"
    );

    fake.set_logged_in("org_1", false);
    assert!(matches!(
        gateway.send(&to, &Outgoing::text("x")).await.unwrap_err(),
        Error::LoggedOut(_)
    ));
    fake.set_logged_in("org_1", true);

    fake.faults().fail(Method::POST, "/send/message", 504, 1);
    let err = gateway.send(&to, &Outgoing::text("x")).await.unwrap_err();
    assert_eq!(
        err.send_outcome(),
        SendOutcome::MaybeSent,
        "504: the send may have happened"
    );
    assert!(err.is_retryable());

    let err = gateway
        .send(
            &Jid::parse("05511987654321@s.whatsapp.net").unwrap(),
            &Outgoing::text("x"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Status { status: 400, code: Some(c), .. } if c == "VALIDATION_ERROR"),
        "{err}"
    );
}

#[tokio::test]
async fn webhooks_verify_parse_and_media_downloads_in_every_generation() {
    for generation in [
        GowaGeneration::V7Flat,
        GowaGeneration::V8_0,
        GowaGeneration::Current,
    ] {
        let receiver = Receiver::start().await.unwrap();
        let mut config = FakeGowaConfig::default();
        config.generation = generation;
        config.webhook_secret = "per-instance-secret".into();
        let (fake, gateway, _) = setup(config).await;
        fake.set_webhook(&receiver.url());
        let text_id = fake.emit_text(CUSTOMER, "Olá <b> & até já");
        let voice = b"OggS\x00\x02 voice note".to_vec();
        fake.emit_media(
            CUSTOMER,
            "audio",
            "1730293493-cd84.ogg; codecs=opus",
            &voice,
            "audio/ogg",
            None,
        );
        let photo = b"\xff\xd8\xff photo".to_vec();
        fake.emit_media(
            CUSTOMER,
            "image",
            "1781787734-9a8b.jpg",
            &photo,
            "image/jpeg",
            Some("foto do produto"),
        );
        fake.emit_ack(CUSTOMER, &[&text_id], "read");
        assert!(fake.wait_for_webhooks(Duration::from_secs(5)).await);

        let keys = Keyring::new(&Secret::from_bytes("per-instance-secret").unwrap());
        let own = Jid::parse("5511900000000@s.whatsapp.net").unwrap();
        let mut events = Vec::new();
        for request in receiver.received() {
            keys.verify_hub(
                request
                    .headers
                    .get(gowa::SIGNATURE_HEADER)
                    .map(|v| v.as_bytes()),
                &request.body,
            )
            .unwrap();
            events.extend(gowa::parse(&request.body, Some(&own)).unwrap().events);
        }
        assert_eq!(events.len(), 4, "{generation:?}");
        assert!(
            matches!(&events[0], InboundEvent::Message(m) if m.id == text_id && m.content == Content::Text { body: "Olá <b> & até já".into() }),
            "{generation:?}: {:?}",
            events[0]
        );
        let InboundEvent::Message(audio) = &events[1] else {
            panic!()
        };
        let file = gateway
            .fetch_media(audio.content.media().unwrap(), 1_000_000)
            .await
            .unwrap();
        assert_eq!(
            file.bytes, voice,
            "{generation:?}: the `; codecs=opus` name is requested as it is on disk"
        );
        assert_eq!(file.file_name.as_deref(), Some("1730293493-cd84.ogg"));
        let InboundEvent::Message(image) = &events[2] else {
            panic!()
        };
        assert!(
            matches!(&image.content, Content::Image { caption, .. } if caption.as_deref() == Some("foto do produto")),
            "{generation:?}"
        );
        assert_eq!(
            gateway
                .fetch_media(image.content.media().unwrap(), 1_000_000)
                .await
                .unwrap()
                .bytes,
            photo
        );
        assert!(matches!(&events[3], InboundEvent::Receipt(r) if r.status == ReceiptStatus::Read));
    }
}

#[tokio::test]
async fn device_webhooks_are_set_per_device() {
    const SECOND: &str = "5511922223333@s.whatsapp.net";
    const FIRST: &str = "5511900000000@s.whatsapp.net";
    let mut config = FakeGowaConfig::default();
    config.devices.push(("org_2".into(), SECOND.into()));
    let fake = FakeGowa::start(config).await.unwrap();
    let client = GowaClient::builder(fake.url())
        .basic_auth("admin", "gowa-password")
        .build()
        .unwrap();
    let receiver = Receiver::start().await.unwrap();
    client
        .set_device_webhook(SECOND, &receiver.url(), Some("device-secret"))
        .await
        .unwrap();
    assert_eq!(fake.device_webhook(SECOND), Some(receiver.url()));
    // By device id too; unknown devices are 404.
    client
        .set_device_webhook("org_1", &receiver.url(), None)
        .await
        .unwrap();
    assert_eq!(fake.device_webhook(FIRST), Some(receiver.url()));
    let err = client
        .set_device_webhook("org_9", &receiver.url(), None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    // Each device's events go there, signed with its own secret (else the global one).
    let mut payload = fake.message_payload(CUSTOMER);
    payload.insert("body".into(), serde_json::json!("to the first"));
    fake.emit(FIRST, "message", payload);
    let mut payload = fake.message_payload(CUSTOMER);
    payload.insert("body".into(), serde_json::json!("to the second"));
    fake.emit(SECOND, "message", payload);
    let got = receiver.wait_for(2, Duration::from_secs(10)).await.unwrap();
    let signed_with = |secret: &str, r: &zapwoot_fakes::FakeRequest| {
        Keyring::new(&Secret::from_bytes(secret).unwrap())
            .verify_hub(r.header("x-hub-signature-256").map(str::as_bytes), &r.body)
            .is_ok()
    };
    let find = |text: &str| {
        got.iter()
            .find(|r| String::from_utf8_lossy(&r.body).contains(text))
            .unwrap()
    };
    assert!(signed_with("device-secret", find("to the second")));
    assert!(signed_with("secret", find("to the first")));
    // Older servers have no such route.
    let mut old = FakeGowaConfig::default();
    old.device_webhooks = false;
    let old = FakeGowa::start(old).await.unwrap();
    let client = GowaClient::builder(old.url())
        .basic_auth("admin", "gowa-password")
        .build()
        .unwrap();
    assert_eq!(
        client
            .set_device_webhook("org_1", "http://x/", None)
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
}

#[tokio::test]
async fn history_rebuilds_the_webhooks_with_the_same_dedupe_keys() {
    let receiver = Receiver::start().await.unwrap();
    let (fake, gateway, _) = setup(FakeGowaConfig::default()).await;
    fake.set_webhook(&receiver.url());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap_or(i64::MAX);
    let old = fake.keep_text_at(CUSTOMER, "antes da ponte", now - 3 * 86_400);
    let live = fake.emit_text_at(CUSTOMER, "ao vivo", now - 60);
    let photo = fake.emit_media(
        CUSTOMER,
        "image",
        "1781787734-9a8b.jpg",
        b"\xff\xd8\xff photo",
        "image/jpeg",
        Some("foto"),
    );
    fake.keep_text_at(
        "5511944445555@s.whatsapp.net",
        "outro chat antigo",
        now - 10 * 86_400,
    );
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
        [old.as_str(), live.as_str(), photo.as_str()],
        "oldest first"
    );
    let own = Jid::parse("5511900000000@s.whatsapp.net").unwrap();
    let real: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| gowa::parse(&r.body, Some(&own)).unwrap().dedupe_key())
        .collect();
    for m in &history {
        let rebuilt = gowa::parse(&m.webhook, Some(&own)).unwrap();
        let InboundEvent::Message(message) = &rebuilt.events[0] else {
            panic!("not a message: {rebuilt:?}")
        };
        assert_eq!(message.id, m.id);
        assert_eq!(message.origin.timestamp, Some(m.timestamp));
        if m.id != old {
            assert!(
                real.contains(&rebuilt.dedupe_key()),
                "{} not among {real:?}",
                rebuilt.dedupe_key()
            );
        }
        match (&message.content, m.id == photo) {
            (Content::Image { caption, .. }, true) => assert_eq!(caption.as_deref(), Some("foto")),
            (Content::Text { body }, false) => {
                assert!(body == "antes da ponte" || body == "ao vivo")
            }
            (other, _) => panic!("unexpected content {other:?}"),
        }
    }
    // The window bounds the answer; the downloaded media is the real file.
    let recent = gateway
        .history(&customer(), now - 3600, now + 60)
        .await
        .unwrap();
    assert_eq!(recent.len(), 2);
    let rebuilt = gowa::parse(&recent[1].webhook, Some(&own)).unwrap();
    let InboundEvent::Message(message) = &rebuilt.events[0] else {
        unreachable!()
    };
    let Content::Image { media, .. } = &message.content else {
        unreachable!()
    };
    let file = gateway.fetch_media(media, 1 << 20).await.unwrap();
    assert_eq!(file.bytes, b"\xff\xd8\xff photo");
}

#[tokio::test]
async fn wuzapi_has_no_history_interface_here() {
    let fake = zapwoot_fakes::FakeWuzapi::start(zapwoot_fakes::FakeWuzapiConfig::default())
        .await
        .unwrap();
    let client = zapwoot_gateway::wuzapi::WuzapiClient::new(&fake.url(), fake.token()).unwrap();
    assert!(matches!(
        Gateway::chats(&client, 0).await,
        Err(Error::Unsupported(_))
    ));
}

/// A redirect from the configured GOWA is not followed: the basic-auth password stays with it.
#[tokio::test]
async fn api_calls_do_not_follow_redirects_with_the_credentials() {
    let elsewhere = Receiver::start().await.unwrap();
    let redirector = Receiver::start().await.unwrap();
    redirector.set_status(302);
    redirector.set_reply(
        &[("location", &format!("{}/app/status", elsewhere.url()))],
        Vec::new(),
    );
    let client = GowaClient::builder(redirector.url())
        .basic_auth("admin", "gowa-password")
        .build()
        .unwrap();
    let err = client.status().await.unwrap_err();
    assert_eq!(err.status(), Some(302), "{err}");
    assert_eq!(redirector.received().len(), 1);
    assert!(
        elsewhere.received().is_empty(),
        "the credentials followed the redirect"
    );
}
