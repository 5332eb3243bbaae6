use proptest::prelude::*;
use zapwoot_gateway::wuzapi::{self, WuzapiWebhook};
use zapwoot_gateway::{
    ConnectionState, Content, GroupAction, InboundEvent, MediaSource, Message, ParseError,
    PresenceState, ReceiptStatus,
};

use crate::fixture;

fn parse(name: &str) -> WuzapiWebhook {
    let (content_type, file) = if name.ends_with("_form") || name.contains("_form") {
        (
            "application/x-www-form-urlencoded",
            format!("wuzapi/{name}.form"),
        )
    } else {
        ("application/json", format!("wuzapi/{name}.json"))
    };
    wuzapi::parse(content_type, &fixture(&file)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn message(name: &str) -> Box<Message> {
    let webhook = parse(name);
    assert_eq!(webhook.events.len(), 1, "{name}");
    match webhook.events.into_iter().next().unwrap() {
        InboundEvent::Message(m) => m,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn text_message_from_a_customer() {
    let webhook = parse("text");
    assert_eq!(
        webhook.user_id.as_deref(),
        Some("bd4d8ab9e54f4b5fb0a1c2d3e4f5a6b7")
    );
    assert_eq!(webhook.instance_name.as_deref(), Some("alpha"));
    assert_eq!(webhook.event_type, "Message");
    let m = message("text");
    assert_eq!(m.id, "3EB0A0000000000000000001");
    assert_eq!(
        m.content,
        Content::Text {
            body: "Olá! Pedido *12345* <b> & você?".into()
        }
    );
    assert_eq!(
        m.origin.chat.as_ref().unwrap().to_string(),
        "5511987654321@s.whatsapp.net"
    );
    assert_eq!(m.origin.sender, m.origin.chat);
    assert!(!m.origin.from_me && !m.origin.is_group);
    assert_eq!(m.origin.push_name.as_deref(), Some("Maria Silva"));
    assert_eq!(m.origin.timestamp, Some(1_781_787_734));
    assert_eq!(m.origin.lane(), "5511987654321@s.whatsapp.net");
    assert_eq!(
        InboundEvent::Message(m).dedupe_key(),
        "msg:3EB0A0000000000000000001"
    );
}

#[test]
fn form_encoded_reply_decodes_plus_as_space() {
    let m = message("reply_form");
    assert_eq!(
        m.content,
        Content::Text {
            body: "Sim, esse mesmo + obrigado".into()
        }
    );
    let quote = m.quote.as_ref().unwrap();
    assert_eq!(quote.id, "3EB0FFFF00000000000000AA");
    assert_eq!(
        quote.participant.as_ref().unwrap().to_string(),
        "5511900000000@s.whatsapp.net"
    );
    assert_eq!(quote.text.as_deref(), Some("Qual pedido?"));
    assert!(m.forwarded);
}

#[test]
fn inline_base64_survives_form_decoding() {
    let m = message("image_base64_form");
    let Content::Image { media, caption } = &m.content else {
        panic!("{:?}", m.content)
    };
    assert_eq!(caption.as_deref(), Some("Foto do produto"));
    assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
    let MediaSource::Inline(bytes) = &media.source else {
        panic!("{:?}", media.source)
    };
    let mut expected = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01".to_vec();
    for _ in 0..20 {
        expected.extend([0xfb, 0xef, 0xbe, 0xff, 0xff, 0xfe]);
    }
    assert_eq!(
        bytes, &expected,
        "%2B decoded to + and + to space would corrupt this"
    );
}

#[test]
fn media_from_s3_and_from_download_keys() {
    let m = message("audio_ptt_s3");
    let Content::Audio { media, voice } = &m.content else {
        panic!()
    };
    assert!(voice);
    assert_eq!(
        media.source,
        MediaSource::Url("https://bucket.s3.test/users/x/inbox/a.ogg".into())
    );
    assert_eq!(media.mime_type.as_deref(), Some("audio/ogg; codecs=opus"));

    let m = message("document_no_media");
    let Content::Document { media, caption } = &m.content else {
        panic!()
    };
    assert_eq!(
        media.file_name.as_deref(),
        Some("nota fiscal nº 12.pdf"),
        "the sender's name, not <id>.pdf"
    );
    assert_eq!(media.size, Some(48213), "fileLength as a string parses");
    assert_eq!(caption.as_deref(), Some("segue a nota"));
    let MediaSource::WuzapiDownload { kind, keys } = &media.source else {
        panic!("{:?}", media.source)
    };
    assert_eq!(kind, "document");
    assert_eq!(keys["directPath"], "/v/t62.7118-24/abc.enc");

    let m = message("sticker");
    assert!(
        matches!(&m.content, Content::Sticker { media, animated: false } if matches!(media.source, MediaSource::Inline(_)))
    );
}

#[test]
fn location_contacts_poll_unsupported() {
    let m = message("location");
    assert!(
        matches!(&m.content, Content::Location { latitude, name, live: false, .. } if (*latitude + 23.5613).abs() < 1e-9 && name.as_deref() == Some("MASP"))
    );
    let m = message("contacts");
    let Content::Contacts { contacts } = &m.content else {
        panic!()
    };
    assert_eq!(contacts.len(), 2);
    assert!(contacts[0].vcard.contains("waid=5511911112222"));
    let m = message("poll");
    assert_eq!(
        m.content,
        Content::Poll {
            question: "Qual horário?".into(),
            options: vec!["Manhã".into(), "Tarde".into()],
            selectable: 1
        }
    );
    let m = message("unsupported");
    assert_eq!(
        m.content,
        Content::Unsupported {
            kind: "buttonsResponseMessage".into()
        }
    );
}

#[test]
fn lid_addressing_links_both_identities() {
    let m = message("lid_dm");
    assert_eq!(
        m.origin.chat.as_ref().unwrap().to_string(),
        "5511987654321@s.whatsapp.net",
        "phone form preferred"
    );
    assert_eq!(
        m.origin.chat_lid.as_ref().unwrap().to_string(),
        "123456789012345@lid"
    );
    assert_eq!(
        m.origin.sender.as_ref().unwrap().to_string(),
        "5511987654321@s.whatsapp.net"
    );
    assert_eq!(
        m.origin.sender_lid.as_ref().unwrap().to_string(),
        "123456789012345@lid"
    );
    assert_eq!(m.origin.lane(), "5511987654321@s.whatsapp.net");

    let g = message("group_lid");
    assert!(g.origin.is_group);
    assert_eq!(
        g.origin.chat.as_ref().unwrap().to_string(),
        "120363025246125486@g.us"
    );
    assert_eq!(
        g.origin.sender.as_ref().unwrap().to_string(),
        "5521999998888@s.whatsapp.net",
        "device suffix stripped"
    );
    assert_eq!(
        g.origin.sender_lid.as_ref().unwrap().to_string(),
        "98765432109876@lid"
    );
    assert_eq!(g.origin.push_name.as_deref(), Some("Carlos"));
}

#[test]
fn own_messages_typed_on_the_phone() {
    let m = message("from_me");
    assert!(m.origin.from_me);
    assert_eq!(
        m.origin.chat.as_ref().unwrap().to_string(),
        "5511987654321@s.whatsapp.net"
    );
    assert_eq!(
        m.origin.chat_lid.as_ref().unwrap().to_string(),
        "123456789012345@lid",
        "RecipientAlt"
    );
    assert_eq!(
        m.origin.sender.as_ref().unwrap().to_string(),
        "5511900000000@s.whatsapp.net"
    );
}

#[test]
fn wrappers_are_unwrapped() {
    let m = message("view_once_ephemeral");
    assert!(m.view_once && m.ephemeral);
    assert!(matches!(m.content, Content::Image { .. }));
}

#[test]
fn reactions_edits_revokes() {
    let InboundEvent::Reaction(r) = &parse("reaction").events[0] else {
        panic!()
    };
    assert_eq!(r.target_id, "3EB0FFFF00000000000000AA");
    assert_eq!(r.emoji.as_deref(), Some("❤️"));
    let InboundEvent::Reaction(r) = &parse("reaction_removed").events[0] else {
        panic!()
    };
    assert_eq!(r.emoji, None, "empty text = removed");
    let InboundEvent::Edit(e) = &parse("edit").events[0] else {
        panic!()
    };
    assert_eq!(e.target_id, "3EB0A0000000000000000001");
    assert_eq!(e.text.as_deref(), Some("Olá! Pedido 12346 (corrigido)"));
    let InboundEvent::Revoke(r) = &parse("revoke").events[0] else {
        panic!()
    };
    assert_eq!(r.target_id, "3EB0A0000000000000000001");
    assert_eq!(r.id, "3EB0A0000000000000000011");
}

#[test]
fn receipts() {
    let InboundEvent::Receipt(r) = &parse("read_receipt").events[0] else {
        panic!()
    };
    assert_eq!(r.status, ReceiptStatus::Read);
    assert_eq!(
        r.message_ids,
        vec!["3EB0FFFF00000000000000AA", "3EB0FFFF00000000000000AB"]
    );
    let InboundEvent::Receipt(d) = &parse("delivered_receipt_form").events[0] else {
        panic!()
    };
    assert_eq!(d.status, ReceiptStatus::Delivered);
    assert_eq!(
        d.origin.chat.as_ref().unwrap().to_string(),
        "5511987654321@s.whatsapp.net",
        "LID chat resolved via SenderAlt"
    );
    assert_ne!(
        parse("read_receipt").events[0].dedupe_key(),
        parse("delivered_receipt_form").events[0].dedupe_key()
    );
}

#[test]
fn legacy_builds_with_token_and_no_user_id() {
    let webhook = parse("legacy_token_form");
    assert_eq!(webhook.token.as_deref(), Some("legacy-user-token"));
    assert_eq!(webhook.user_id, None);
    assert!(
        matches!(&webhook.events[0], InboundEvent::Message(m) if m.content == Content::Text { body: "old build".into() })
    );
}

#[test]
fn session_presence_and_groups() {
    assert!(
        matches!(&parse("connected").events[0], InboundEvent::Connection(c) if c.state == ConnectionState::Connected)
    );
    assert!(
        matches!(&parse("logged_out").events[0], InboundEvent::Connection(c) if c.state == ConnectionState::LoggedOut)
    );
    assert!(
        matches!(&parse("chat_presence").events[0], InboundEvent::Presence(p) if p.state == PresenceState::Composing)
    );
    assert!(
        matches!(&parse("presence").events[0], InboundEvent::Presence(p) if p.state == PresenceState::Online)
    );
    let groups = parse("group_info").events;
    assert_eq!(groups.len(), 2, "one event per action");
    assert!(
        matches!(&groups[0], InboundEvent::GroupParticipants(g) if g.action == GroupAction::Join && g.group.to_string() == "120363025246125486@g.us")
    );
    assert!(
        matches!(&groups[1], InboundEvent::GroupParticipants(g) if g.action == GroupAction::Leave)
    );
    assert!(
        groups.iter().all(|e| matches!(e, InboundEvent::GroupParticipants(g) if g.by.as_ref().is_some_and(|b| b.to_string() == "5511900000000@s.whatsapp.net"))),
        "who made the change (Sender)"
    );
    assert!(
        matches!(&parse("call_offer").events[0], InboundEvent::Call(c) if c.call_id == "c1" && c.video.is_none() && c.origin.chat.as_ref().is_some_and(|j| j.to_string() == "5511987654321@s.whatsapp.net"))
    );
}

#[test]
fn malformed_input_gives_clear_errors() {
    let form = "application/x-www-form-urlencoded";
    assert_eq!(
        wuzapi::parse(form, b"userID=1"),
        Err(ParseError::Missing("jsonData"))
    );
    assert!(matches!(
        wuzapi::parse(form, b"jsonData=%7Bnot"),
        Err(ParseError::Json(_))
    ));
    assert!(matches!(
        wuzapi::parse("application/json", b"[]"),
        Err(ParseError::NotAnObject)
    ));
    assert_eq!(
        wuzapi::parse("application/json", b"{}"),
        Err(ParseError::Missing("type"))
    );
    assert_eq!(
        wuzapi::parse("application/json", br#"{"type":"Message","event":{}}"#),
        Err(ParseError::Missing("Info"))
    );
    assert_eq!(
        wuzapi::parse(
            "application/json",
            br#"{"type":"Message","event":{"Info":{}}}"#
        ),
        Err(ParseError::Missing("Info.ID"))
    );
    let full = fixture("wuzapi/text.json");
    for cut in [1, full.len() / 3, full.len() - 1] {
        assert!(wuzapi::parse("application/json", &full[..cut]).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bodies_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), form in any::<bool>()) {
        let content_type = if form { "application/x-www-form-urlencoded" } else { "application/json" };
        let _ = wuzapi::parse(content_type, &bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(index in any::<prop::sample::Index>(), byte in any::<u8>(), which in 0usize..4) {
        let name = ["wuzapi/text.json", "wuzapi/group_lid.json", "wuzapi/edit.json", "wuzapi/read_receipt.json"][which];
        let mut body = fixture(name);
        let i = index.index(body.len());
        body[i] = byte;
        let _ = wuzapi::parse("application/json", &body);
    }
}
