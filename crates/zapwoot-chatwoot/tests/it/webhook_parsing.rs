//! Parsing realistic webhook bodies (tests/fixtures, written from what Chatwoot posts)
//! and hostile ones.

use proptest::prelude::*;
use zapwoot_chatwoot::webhook::{self, Event, ParseError, Sender};
use zapwoot_chatwoot::{ConversationStatus, MessageType};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> Event {
    webhook::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn incoming_message_from_a_contact_without_type() {
    let Event::MessageCreated(m) = parse("message_created_incoming") else {
        panic!()
    };
    assert_eq!(m.id, 1000);
    assert_eq!(m.message_type, MessageType::Incoming);
    assert_eq!(
        m.content.as_deref(),
        Some("Olá! Pedido 12345 <b>"),
        "\\u003c escapes decode"
    );
    assert_eq!(m.source_id.as_deref(), Some("3EB0C1A2B3C4D5E6F7"));
    assert_eq!(
        m.created_at.as_ref().and_then(|t| t.unix_seconds()),
        Some(1_781_787_734)
    );
    let Some(Sender::Contact(contact)) = &m.sender else {
        panic!("{:?}", m.sender)
    };
    assert_eq!(contact.phone_number.as_deref(), Some("+5511987654321"));
    assert!(m.attachments.is_empty());
    let conversation = m.conversation.as_ref().unwrap();
    assert_eq!(m.conversation_id(), Some(15));
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!(
        conversation
            .updated_at
            .as_ref()
            .and_then(|t| t.unix_seconds()),
        Some(1_781_787_734)
    );
    assert_eq!(conversation.messages[0].message_type, MessageType::Incoming);
    assert!(
        matches!(conversation.meta.sender, Some(Sender::Contact(_))),
        "typed contact push data"
    );
    assert_eq!(m.inbox.as_ref().map(|i| i.id), Some(7));
}

#[test]
fn agent_message_with_attachments_and_reply() {
    let Event::MessageCreated(m) = parse("message_created_agent_attachments") else {
        panic!()
    };
    assert_eq!(m.message_type, MessageType::Outgoing);
    assert!(matches!(&m.sender, Some(s @ Sender::User { id: 3, .. }) if s.is_agent()));
    assert_eq!(m.in_reply_to(), Some(1000));
    assert_eq!(m.attachments.len(), 2);
    assert_eq!(
        m.attachments[0].file_name().as_deref(),
        Some("foto do produto.jpg")
    );
    assert_eq!(m.attachments[1].file_type, "audio");
    assert_eq!(m.attachments[1].file_name().as_deref(), Some("voice.ogg"));
    assert_eq!(
        m.conversation.as_ref().unwrap().messages[0]
            .attachments
            .len(),
        2
    );
}

#[test]
fn templates_notes_and_bots() {
    let Event::MessageCreated(t) = parse("message_created_template") else {
        panic!()
    };
    assert_eq!(t.message_type, MessageType::Template);
    assert!(t.sender.is_none());
    assert_eq!(t.content_type.as_deref(), Some("input_csat"));
    let Event::MessageCreated(n) = parse("message_created_private_note") else {
        panic!()
    };
    assert!(n.private);
    let Event::MessageCreated(b) = parse("message_created_bot") else {
        panic!()
    };
    assert!(matches!(b.sender, Some(Sender::AgentBot { id: 2, .. })));
}

#[test]
fn message_updates() {
    let Event::MessageUpdated(d) = parse("message_updated_deleted") else {
        panic!()
    };
    assert!(d.is_deleted());
    let Event::MessageUpdated(f) = parse("message_updated_failed") else {
        panic!()
    };
    assert_eq!(f.external_error(), Some("503 Service Unavailable"));
    assert_ne!(
        webhook::parse(&fixture("message_updated_deleted"))
            .unwrap()
            .dedupe_key(),
        webhook::parse(&fixture("message_updated_failed"))
            .unwrap()
            .dedupe_key()
    );
}

#[test]
fn conversation_events() {
    let Event::ConversationCreated(c) = parse("conversation_created") else {
        panic!()
    };
    assert!(c.messages.is_empty());
    assert!(c.changed_attributes.is_none());
    let Event::ConversationUpdated(u) = parse("conversation_updated") else {
        panic!()
    };
    assert_eq!(u.changed_attributes.as_ref().map(Vec::len), Some(2));
    assert_eq!(u.labels, vec!["vip"]);
    let Event::ConversationStatusChanged(s) = parse("conversation_status_changed") else {
        panic!()
    };
    assert_eq!(s.status, ConversationStatus::Resolved);
    assert!(s.changed_attributes.is_none());
    assert_eq!(
        s.contact_inbox
            .as_ref()
            .and_then(|c| c.source_id.as_deref()),
        Some("5511987654321@s.whatsapp.net")
    );
    assert_eq!(
        Event::ConversationStatusChanged(s).conversation_id(),
        Some(15)
    );
}

#[test]
fn typing_contacts_and_widgets() {
    let Event::ConversationTypingOn(on) = parse("conversation_typing_on") else {
        panic!()
    };
    assert!(on.user.as_ref().is_some_and(Sender::is_agent));
    let Event::ConversationTypingOff(off) = parse("conversation_typing_off") else {
        panic!()
    };
    assert!(
        matches!(off.user, Some(Sender::Contact(_))),
        "a contact typing: no type key"
    );
    let Event::ContactCreated(c) = parse("contact_created") else {
        panic!()
    };
    assert_eq!(
        c.identifier.as_deref(),
        Some("5511987654321@s.whatsapp.net")
    );
    let Event::ContactUpdated(u) = parse("contact_updated") else {
        panic!()
    };
    assert!(u.changed_attributes.is_some());
    let Event::WebwidgetTriggered(w) = parse("webwidget_triggered") else {
        panic!()
    };
    assert_eq!(w.source_id.as_deref(), Some("c3b1e9"));
}

#[test]
fn unknown_events_are_kept_whole() {
    let Event::Unknown { event, raw } = parse("inbox_created") else {
        panic!()
    };
    assert_eq!(event, "inbox_created");
    assert_eq!(raw["id"], 11);
}

#[test]
fn unknown_fields_are_kept() {
    let mut body: serde_json::Value =
        serde_json::from_slice(&fixture("message_created_incoming")).unwrap();
    body["status"] = "sent".into(); // open upstream PR #15908 adds this
    body["conversation"]["sla_policy_id"] = 4.into();
    let Event::MessageCreated(m) = webhook::parse(body.to_string().as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(m.extra.get("status"), Some(&serde_json::json!("sent")));
    assert!(!m.extra.contains_key("event"));
    assert_eq!(
        m.conversation.unwrap().extra.get("sla_policy_id"),
        Some(&serde_json::json!(4))
    );
}

#[test]
fn hostile_bodies_give_clear_errors() {
    assert!(matches!(webhook::parse(b""), Err(ParseError::Json(_))));
    assert!(matches!(
        webhook::parse(b"not json"),
        Err(ParseError::Json(_))
    ));
    assert!(matches!(
        webhook::parse(b"[1,2]"),
        Err(ParseError::NotAnObject)
    ));
    assert!(matches!(
        webhook::parse(b"{\"id\":1}"),
        Err(ParseError::MissingEvent)
    ));
    assert!(matches!(
        webhook::parse(b"{\"event\":5}"),
        Err(ParseError::MissingEvent)
    ));
    let full = fixture("message_created_incoming");
    for cut in [1, 10, full.len() / 2, full.len() - 1] {
        assert!(webhook::parse(&full[..cut]).is_err(), "truncated at {cut}");
    }
    let err = webhook::parse(br#"{"event":"message_created","id":"x"}"#).unwrap_err();
    assert!(
        matches!(&err, ParseError::Shape { event, .. } if event == "message_created"),
        "{err}"
    );
    assert!(webhook::parse(br#"{"event":"message_created","id":1,"message_type":"incoming","conversation":{"id":-1,"status":"open"}}"#).is_err());

    // Deep nesting is refused by the JSON parser's recursion limit, not by a stack overflow.
    let deep = format!(
        "{{\"event\":\"x\",\"a\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(webhook::parse(deep.as_bytes()).is_err());

    // A 16 MiB message content parses.
    let mut big: serde_json::Value = serde_json::from_slice(&full).unwrap();
    big["content"] = "x".repeat(16 * 1024 * 1024).into();
    let Event::MessageCreated(m) = webhook::parse(big.to_string().as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(m.content.unwrap().len(), 16 * 1024 * 1024);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = webhook::parse(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut body = fixture("message_created_agent_attachments");
        let i = index.index(body.len());
        body[i] = byte;
        let _ = webhook::parse(&body);
    }
}
