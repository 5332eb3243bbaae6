use proptest::prelude::*;
use zapwoot_gateway::gowa::{self, Generation, GowaWebhook};
use zapwoot_gateway::{
    Content, GroupAction, InboundEvent, Jid, MediaSource, Message, ParseError, PresenceState,
    ReceiptStatus,
};

use crate::fixture;

fn own() -> Jid {
    Jid::parse("5511900000000@s.whatsapp.net").unwrap()
}

fn parse(name: &str) -> GowaWebhook {
    gowa::parse(&fixture(&format!("gowa/{name}.json")), Some(&own()))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn message(name: &str) -> Box<Message> {
    match parse(name).events.into_iter().next() {
        Some(InboundEvent::Message(m)) => m,
        other => panic!("{name}: {other:?}"),
    }
}

fn path(content: &Content) -> String {
    match &content.media().unwrap().source {
        MediaSource::GowaPath(p) => p.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn flat_generation_text_group_and_own_device() {
    let webhook = parse("v6_flat_text");
    assert_eq!(webhook.generation, Generation::Flat);
    assert_eq!(webhook.device_id, None);
    let m = message("v6_flat_text");
    assert_eq!(m.id, "3EB0C0000000000000000001");
    assert_eq!(
        m.content,
        Content::Text {
            body: "Oi, tudo bem?".into()
        }
    );
    assert_eq!(
        m.origin.chat.as_ref().unwrap().to_string(),
        "5511987654321@s.whatsapp.net"
    );
    assert_eq!(m.origin.push_name.as_deref(), Some("Maria"));

    let g = message("v7_flat_group_reply");
    assert!(g.origin.is_group);
    assert_eq!(
        g.origin.chat.as_ref().unwrap().to_string(),
        "120363025246125486@g.us",
        "from the `X in Y` source string, not chat_id digits"
    );
    assert_eq!(
        g.origin.sender.as_ref().unwrap().to_string(),
        "5521999998888@s.whatsapp.net"
    );
    assert_eq!(g.quote.as_ref().unwrap().id, "3EB0C0000000000000000001");
    assert!(g.forwarded);

    let own = message("v7_flat_own_device");
    assert!(
        own.origin.from_me,
        "flat bodies have no is_from_me: compared with our number"
    );
    assert_eq!(
        own.origin.chat.as_ref().unwrap().to_string(),
        "5511987654321@s.whatsapp.net"
    );
}

#[test]
fn flat_v7_2_0_capitalised_fields_and_codecs_paths() {
    let m = message("v7_2_0_flat_image");
    assert_eq!(m.id, "3EB0C0000000000000000003");
    let Content::Image { media, caption } = &m.content else {
        panic!("{:?}", m.content)
    };
    assert_eq!(caption.as_deref(), Some("foto"));
    assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(path(&m.content), "statics/media/1730293493-cd84c6a8.jpg");

    let a = message("v7_flat_audio_codecs");
    assert!(matches!(&a.content, Content::Audio { voice: true, .. }));
    assert_eq!(
        path(&a.content),
        "statics/media/1730293493-cd84c6a8-0f576fb68aeb.ogg; codecs=opus",
        "kept raw for the download"
    );
    assert_eq!(
        a.content.media().unwrap().file_name.as_deref(),
        Some("1730293493-cd84c6a8-0f576fb68aeb.ogg"),
        "cleaned for the attachment name"
    );
}

#[test]
fn flat_actions() {
    assert!(
        matches!(&parse("v7_flat_reaction").events[0], InboundEvent::Reaction(r) if r.target_id == "3EB0C0000000000000000001" && r.emoji.as_deref() == Some("👍"))
    );
    assert!(
        matches!(&parse("v7_flat_revoked").events[0], InboundEvent::Revoke(r) if r.target_id == "3EB0C0000000000000000001")
    );
    assert!(
        matches!(&parse("v7_flat_edited").events[0], InboundEvent::Edit(e) if e.text.as_deref() == Some("Oi, tudo ótimo?"))
    );
    let webhook = parse("v8_0_flat_delete_for_me");
    assert_eq!(
        webhook.device_id.as_deref(),
        Some("5511900000000@s.whatsapp.net")
    );
    assert!(
        matches!(&webhook.events[0], InboundEvent::DeleteForMe(d) if d.target_id == "3EB0C0000000000000000001")
    );
    let InboundEvent::Receipt(r) = &parse("v7_ack").events[0] else {
        panic!()
    };
    assert_eq!(r.status, ReceiptStatus::Delivered);
    assert_eq!(r.message_ids, vec!["3EB0D0000000000000000001"]);
}

#[test]
fn envelope_generations_of_media() {
    let v80 = message("v8_0_image_object");
    assert!(
        matches!(&v80.content, Content::Image { caption, .. } if caption.as_deref() == Some("foto do produto"))
    );
    assert_eq!(path(&v80.content), "statics/media/1766560000-1b2c.jpg");
    let v82 = message("v8_2_image_string");
    assert_eq!(path(&v82.content), "statics/media/1766560001-2c3d.jpg");
    let current = message("image_caption");
    assert!(
        matches!(&current.content, Content::Image { caption, .. } if caption.as_deref() == Some("foto do produto")),
        "caption once, not as text too"
    );
    assert_eq!(path(&current.content), "statics/media/1781787734-9a8b.jpg");

    let voice = message("voice_codecs_bug");
    assert!(matches!(voice.content, Content::Audio { voice: true, .. }));
    assert_eq!(
        voice.content.media().unwrap().mime_type.as_deref(),
        Some("audio/ogg; codecs=opus")
    );
    let doc = message("document");
    assert!(
        matches!(&doc.content, Content::Document { media, .. } if media.file_name.as_deref() == Some("1781787736-77aa.pdf"))
    );
    let off = message("video_download_off");
    assert!(
        matches!(&off.content.media().unwrap().source, MediaSource::GowaDownload { message_id, chat } if message_id == "3EB0B0000000000000000007" && chat == "5511987654321@s.whatsapp.net")
    );
    assert!(matches!(
        message("sticker").content,
        Content::Sticker { .. }
    ));
    assert!(message("view_once").view_once);
}

#[test]
fn current_text_reply_lid_and_own() {
    let webhook = parse("text");
    assert_eq!(webhook.generation, Generation::Envelope);
    assert_eq!(webhook.event_name, "message");
    let m = message("text");
    assert_eq!(
        m.content,
        Content::Text {
            body: "Olá! <b> & você?".into()
        }
    );
    assert_eq!(m.origin.timestamp, Some(1_781_787_734));
    let r = message("reply_forwarded");
    assert_eq!(r.quote.as_ref().unwrap().text.as_deref(), Some("Olá!"));
    assert!(r.forwarded);

    let g = message("lid_group");
    assert!(g.origin.is_group);
    assert_eq!(
        g.origin.sender_lid.as_ref().unwrap().to_string(),
        "98765432109876@lid"
    );
    assert_eq!(
        g.origin.sender.as_ref().unwrap().to_string(),
        "5521999998888@s.whatsapp.net"
    );
    let u = message("lid_unresolved");
    assert_eq!(
        u.origin.chat.as_ref().unwrap().to_string(),
        "123456789012345@lid",
        "phone unknown: the LID stands in"
    );
    assert_eq!(u.origin.lane(), "123456789012345@lid");
    let own = message("from_me");
    assert!(own.origin.from_me);
}

#[test]
fn other_message_kinds() {
    assert!(matches!(
        message("location").content,
        Content::Location { .. }
    ));
    assert!(
        matches!(&message("contact").content, Content::Contacts { contacts } if contacts.len() == 1 && contacts[0].display_name == "Ana")
    );
    assert!(
        matches!(&message("contacts_array").content, Content::Contacts { contacts } if contacts.len() == 2)
    );
    assert_eq!(
        message("poll_no_content").content,
        Content::Unsupported {
            kind: "unknown".into()
        },
        "content-less messages become placeholders"
    );
}

#[test]
fn non_message_events() {
    assert!(
        matches!(&parse("reaction").events[0], InboundEvent::Reaction(r) if r.emoji.as_deref() == Some("🙏") && r.target_id == "3EB0D0000000000000000001")
    );
    assert!(
        matches!(&parse("reaction_removed").events[0], InboundEvent::Reaction(r) if r.emoji.is_none())
    );
    assert!(
        matches!(&parse("revoked").events[0], InboundEvent::Revoke(r) if r.target_id == "3EB0B0000000000000000001")
    );
    assert!(
        matches!(&parse("edited").events[0], InboundEvent::Edit(e) if e.text.as_deref() == Some("Olá! (editado)"))
    );
    assert!(matches!(
        &parse("deleted_for_me").events[0],
        InboundEvent::DeleteForMe(_)
    ));
    let InboundEvent::Receipt(r) = &parse("ack_read").events[0] else {
        panic!()
    };
    assert_eq!(r.status, ReceiptStatus::Read);
    assert_eq!(r.message_ids.len(), 2);
    assert_eq!(
        r.origin.sender.as_ref().unwrap().to_string(),
        "5511987654321@s.whatsapp.net"
    );
    assert!(
        matches!(&parse("group_participants").events[0], InboundEvent::GroupParticipants(g) if g.action == GroupAction::Leave && g.participants.len() == 1)
    );
    assert!(
        matches!(&parse("chat_presence").events[0], InboundEvent::Presence(p) if p.state == PresenceState::Recording)
    );
    assert!(
        matches!(&parse("call_offer").events[0], InboundEvent::Call(c) if c.call_id == "c1" && c.video.is_none() && !c.auto_rejected && c.origin.chat.as_ref().is_some_and(|j| j.to_string() == "5511987654321@s.whatsapp.net"))
    );
    // Dedupe keys: a retried delivery repeats, different events differ.
    assert_eq!(
        parse("reaction").dedupe_key(),
        parse("reaction").dedupe_key()
    );
    assert_ne!(
        parse("reaction").dedupe_key(),
        parse("reaction_removed").dedupe_key()
    );
}

#[test]
fn malformed_input_gives_clear_errors() {
    assert!(matches!(gowa::parse(b"", None), Err(ParseError::Json(_))));
    assert!(matches!(
        gowa::parse(b"\"text\"", None),
        Err(ParseError::NotAnObject)
    ));
    assert_eq!(
        gowa::parse(br#"{"event":"message","payload":{}}"#, None),
        Err(ParseError::Missing("payload.id"))
    );
    assert_eq!(
        gowa::parse(br#"{"from":"x"}"#, None),
        Err(ParseError::Missing("message.id"))
    );
    let full = fixture("gowa/text.json");
    assert!(gowa::parse(&full[..full.len() / 2], None).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bodies_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = gowa::parse(&bytes, Some(&own()));
    }

    #[test]
    fn mutated_fixtures_never_panic(index in any::<prop::sample::Index>(), byte in any::<u8>(), which in 0usize..4) {
        let name = ["gowa/text.json", "gowa/v7_flat_group_reply.json", "gowa/ack_read.json", "gowa/image_caption.json"][which];
        let mut body = fixture(name);
        let i = index.index(body.len());
        body[i] = byte;
        let _ = gowa::parse(&body, None);
    }
}
