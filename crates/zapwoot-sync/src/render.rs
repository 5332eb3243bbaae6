//! How WhatsApp content reads in Chatwoot.

use zapwoot_chatwoot::markdown::whatsapp_to_markdown;
use zapwoot_gateway::{ContactCard, Content, Message};

/// The Chatwoot text for a message, without its attachment.
pub(crate) fn text(message: &Message) -> String {
    let mut out = match &message.content {
        Content::Text { body } => whatsapp_to_markdown(body),
        Content::Image { caption, .. }
        | Content::Video { caption, .. }
        | Content::Document { caption, .. } => caption
            .as_deref()
            .map(whatsapp_to_markdown)
            .unwrap_or_default(),
        Content::Audio { .. } | Content::Sticker { .. } => String::new(),
        Content::Location {
            latitude,
            longitude,
            name,
            address,
            live,
        } => {
            let title = [name.as_deref(), address.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" — ");
            let kind = if *live {
                "📍 Live location"
            } else {
                "📍 Location"
            };
            let title = if title.is_empty() {
                String::new()
            } else {
                format!(": {title}")
            };
            format!("{kind}{title}\nhttps://maps.google.com/?q={latitude},{longitude}")
        }
        Content::Contacts { contacts } => contacts.iter().map(card).collect::<Vec<_>>().join("\n"),
        Content::Poll {
            question, options, ..
        } => {
            let lines: Vec<String> = options
                .iter()
                .enumerate()
                .map(|(i, o)| format!("{}. {o}", i + 1))
                .collect();
            format!("📊 Poll: {question}\n{}", lines.join("\n"))
        }
        Content::Unsupported { kind } => format!("⚠️ unsupported message type: {kind}"),
        _ => "⚠️ unsupported message type".to_owned(),
    };
    if message.view_once {
        out = if out.is_empty() {
            "👁 (view once)".to_owned()
        } else {
            format!("👁 (view once) {out}")
        };
    }
    out
}

fn card(card: &ContactCard) -> String {
    let phone = card
        .vcard
        .lines()
        .find(|l| l.to_ascii_uppercase().starts_with("TEL"))
        .and_then(|l| l.rsplit(':').next())
        .map(|p| format!(" {}", p.trim()))
        .unwrap_or_default();
    format!("👤 {}{phone}", card.display_name)
}

/// A file name for media without one.
pub(crate) fn fallback_name(content: &Content, mime: Option<&str>) -> String {
    let base = match content {
        Content::Image { .. } => "image",
        Content::Video { .. } => "video",
        Content::Audio { voice: true, .. } => "voice",
        Content::Audio { .. } => "audio",
        Content::Sticker { .. } => "sticker",
        _ => "file",
    };
    let ext = match mime.map(|m| m.split(';').next().unwrap_or(m).trim()) {
        Some("image/jpeg") => "jpg",
        Some("image/png") => "png",
        Some("image/webp") => "webp",
        Some("image/gif") => "gif",
        Some("video/mp4") => "mp4",
        Some("audio/ogg") => "ogg",
        Some("audio/mpeg") => "mp3",
        Some("application/pdf") => "pdf",
        _ => "bin",
    };
    format!("{base}.{ext}")
}
