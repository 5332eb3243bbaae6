use serde_json::json;
use zapwoot_chatwoot::{Error, MessageStatus, MessageType, NewMessage, Upload};

use crate::support::env;

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..5000u32).map(|i| (i * 7 % 251) as u8));
    bytes
}

#[tokio::test]
async fn json_messages_with_replies_source_ids_and_listing() {
    let env = env().await;
    let (_, conversation) = env.conversation("+5511955556666").await;
    let first = env
        .api
        .create_message(
            conversation,
            &NewMessage::incoming("Olá! Pedido *12345*").source_id("WAID:3EB0A1"),
        )
        .await
        .unwrap();
    assert_eq!(first.message_type, MessageType::Incoming);
    assert_eq!(first.source_id.as_deref(), Some("WAID:3EB0A1"));
    assert_eq!(first.status.as_deref(), Some("sent"));

    let mut reply = NewMessage::outgoing("Claro, um momento").in_reply_to(first.id);
    reply.external_created_at = Some(1_781_787_734);
    reply.echo_id = Some("echo-1".into());
    let second = env.api.create_message(conversation, &reply).await.unwrap();
    assert_eq!(second.in_reply_to(), Some(first.id));
    assert_eq!(
        second.content_attributes.get("in_reply_to_external_id"),
        Some(&json!("WAID:3EB0A1"))
    );
    assert_eq!(
        second.content_attributes.get("external_created_at"),
        Some(&json!(1_781_787_734))
    );
    assert_eq!(second.echo_id, Some(json!("echo-1")));

    // A reply to a message of another conversation resolves to nothing, as upstream.
    let third = env
        .api
        .create_message(
            conversation,
            &NewMessage::outgoing("x").in_reply_to(999_999),
        )
        .await
        .unwrap();
    assert_eq!(
        third.content_attributes.get("in_reply_to"),
        Some(&json!(null))
    );

    let note = env
        .api
        .create_message(conversation, &NewMessage::outgoing("internal").private())
        .await
        .unwrap();
    assert!(note.private);

    let all = env.api.messages(conversation, None, None).await.unwrap();
    assert_eq!(
        all.payload.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![first.id, second.id, third.id, note.id]
    );
    let after = env
        .api
        .messages(conversation, None, Some(second.id))
        .await
        .unwrap();
    assert_eq!(
        after.payload.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![third.id, note.id]
    );
    let before = env
        .api
        .messages(conversation, Some(third.id), None)
        .await
        .unwrap();
    assert_eq!(
        before.payload.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![first.id, second.id]
    );
    env.assert_no_unexpected_calls();
}

#[tokio::test]
async fn multipart_attachments_round_trip_byte_for_byte() {
    let env = env().await;
    let (_, conversation) = env.conversation("+5511966667777").await;
    let image = png();
    let pdf = b"%PDF-1.7\n% invoice \xe2\x82\xac 12,50\n".to_vec();
    let mut message = NewMessage::incoming("Segue a foto e a nota")
        .attach(Upload::new(
            "foto do produto.png",
            "image/png",
            image.clone(),
        ))
        .attach(Upload::new(
            "nota fiscal nº 12.pdf",
            "application/pdf",
            pdf.clone(),
        ))
        .in_reply_to(0);
    message
        .content_attributes
        .insert("wa_id".into(), json!("3EB0FF"));
    let created = env
        .api
        .create_message(conversation, &message)
        .await
        .unwrap();
    assert_eq!(created.attachments.len(), 2);
    assert_eq!(created.attachments[0].file_type, "image");
    assert_eq!(created.attachments[1].file_type, "file");
    assert_eq!(
        created.content_attributes.get("wa_id"),
        Some(&json!("3EB0FF")),
        "content_attributes travelled as a JSON string"
    );
    assert_eq!(
        created.attachments[1].file_name().as_deref(),
        Some("nota fiscal nº 12.pdf")
    );

    // The data_url redirects (ActiveStorage) and the bytes come back unchanged.
    let client = env.api.client();
    let (bytes, info) = client
        .download(
            created.attachments[0].data_url.as_deref().unwrap(),
            10_000_000,
        )
        .await
        .unwrap();
    assert_eq!(bytes, image);
    assert_eq!(info.content_type.as_deref(), Some("image/png"));
    assert_eq!(info.file_name.as_deref(), Some("foto do produto.png"));
    let mut streamed = Vec::new();
    let info = client
        .download_to(
            created.attachments[1].data_url.as_deref().unwrap(),
            10_000_000,
            &mut streamed,
        )
        .await
        .unwrap();
    assert_eq!(streamed, pdf);
    assert_eq!(info.size, pdf.len() as u64);
    let (thumb, _) = client
        .download(
            created.attachments[0].thumb_url.as_deref().unwrap(),
            10_000_000,
        )
        .await
        .unwrap();
    assert_eq!(thumb, image);

    // The cap is enforced.
    let err = client
        .download(created.attachments[0].data_url.as_deref().unwrap(), 100)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { limit: 100 }), "{err}");

    // Voice notes are flagged.
    let mut voice = NewMessage::incoming("").attach(Upload::new(
        "voice.ogg",
        "audio/ogg; codecs=opus",
        b"OggS....".to_vec(),
    ));
    voice.is_voice_message = true;
    let voice = env.api.create_message(conversation, &voice).await.unwrap();
    assert_eq!(voice.attachments[0].file_type, "audio");
    assert!(voice.content.is_none());
    env.assert_no_unexpected_calls();
}

#[tokio::test]
async fn upstream_limits_are_enforced() {
    let env = env().await;
    let (_, conversation) = env.conversation("+5511977778888").await;
    let mut many = NewMessage::incoming("too many");
    for i in 0..16 {
        many = many.attach(Upload::new(format!("{i}.txt"), "text/plain", vec![b'x']));
    }
    let err = env
        .api
        .create_message(conversation, &many)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));

    // `incoming` is only for API inboxes.
    let widget = env.fake.add_widget_inbox("Website");
    let mut contact = zapwoot_chatwoot::NewContact::new();
    contact.inbox_id = Some(widget);
    contact.source_id = Some("visitor-1".into());
    let created = env.api.create_contact(&contact).await.unwrap();
    let web = env
        .api
        .create_conversation(&zapwoot_chatwoot::NewConversation::new(
            "visitor-1",
            widget,
            created.contact.id,
        ))
        .await
        .unwrap();
    let err = env
        .api
        .create_message(web.id, &NewMessage::incoming("hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Status { status: 422, body, .. } if body.contains("only allowed in Api inboxes")),
        "{err}"
    );
    let err = env
        .api
        .update_message_status(web.id, 1, MessageStatus::Read, None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
}

#[tokio::test]
async fn status_updates_are_monotonic_and_deletion_is_soft() {
    let env = env().await;
    let (_, conversation) = env.conversation("+5511988889999").await;
    let m = env
        .api
        .create_message(
            conversation,
            &NewMessage::outgoing("hello").attach(Upload::new("a.png", "image/png", png())),
        )
        .await
        .unwrap();
    let read = env
        .api
        .update_message_status(conversation, m.id, MessageStatus::Read, None)
        .await
        .unwrap();
    assert_eq!(read.status.as_deref(), Some("read"));
    let still = env
        .api
        .update_message_status(conversation, m.id, MessageStatus::Delivered, None)
        .await
        .unwrap();
    assert_eq!(
        still.status.as_deref(),
        Some("read"),
        "read never goes back to delivered"
    );
    let failed = env
        .api
        .update_message_status(
            conversation,
            m.id,
            MessageStatus::Failed,
            Some("number not on WhatsApp"),
        )
        .await
        .unwrap();
    assert_eq!(
        failed.content_attributes.get("external_error"),
        Some(&json!("number not on WhatsApp"))
    );

    let data_url = m.attachments[0].data_url.clone().unwrap();
    env.api.delete_message(conversation, m.id).await.unwrap();
    let after = env.api.messages(conversation, None, None).await.unwrap();
    let deleted = after.payload.iter().find(|x| x.id == m.id).unwrap();
    assert!(deleted.is_deleted());
    assert_eq!(deleted.content.as_deref(), Some("This message was deleted"));
    assert!(deleted.attachments.is_empty());
    assert!(
        env.api
            .client()
            .download(&data_url, 1_000_000)
            .await
            .unwrap_err()
            .is_not_found(),
        "attachments are destroyed"
    );
    assert!(
        env.api
            .delete_message(conversation, 424_242)
            .await
            .unwrap_err()
            .is_not_found()
    );
}
