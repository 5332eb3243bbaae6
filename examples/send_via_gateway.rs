//! Sends a text and a PDF through a WhatsApp gateway with `zapwoot-gateway`: the same code for
//! wuzapi and GOWA, behind the `Gateway` trait. Keep the returned message ids: edits, revokes,
//! reactions and receipts refer to them.
//!
//! ```sh
//! GATEWAY=wuzapi GATEWAY_URL=http://127.0.0.1:8080 GATEWAY_TOKEN=<user token> TO=5511987654321 \
//!   cargo run -p zapwoot-examples --example send_via_gateway
//! GATEWAY=gowa GATEWAY_URL=http://127.0.0.1:3000 GATEWAY_USER=admin GATEWAY_PASSWORD=<pw> \
//!   TO=5511987654321 cargo run -p zapwoot-examples --example send_via_gateway
//! ```

use std::sync::Arc;

use zapwoot_gateway::gowa::GowaClient;
use zapwoot_gateway::wuzapi::WuzapiClient;
use zapwoot_gateway::{File, Gateway, Jid, Outgoing, OutgoingBody, Sent};

/// Builds the client for `kind` (`wuzapi` with a user token, `gowa` with basic auth).
///
/// # Errors
/// An unknown kind or an invalid URL.
pub fn gateway(
    kind: &str,
    url: &str,
    token_or_user: &str,
    password: &str,
) -> Result<Arc<dyn Gateway>, Box<dyn std::error::Error>> {
    Ok(match kind {
        "wuzapi" => Arc::new(WuzapiClient::new(url, token_or_user)?),
        "gowa" => Arc::new(
            GowaClient::builder(url)
                .basic_auth(token_or_user, password)
                .build()?,
        ),
        other => return Err(format!("unknown gateway {other:?}: wuzapi or gowa").into()),
    })
}

/// Sends `text`, then `pdf` as a document with a caption, to `to`.
///
/// # Errors
/// The gateway's error; `Error::delivery()` says whether the message may still have been sent
/// (then do not blindly resend).
pub async fn send_text_and_document(
    gateway: &dyn Gateway,
    to: &Jid,
    text: &str,
    pdf: Vec<u8>,
) -> Result<(Sent, Sent), zapwoot_gateway::Error> {
    let first = gateway.send(to, &Outgoing::text(text)).await?;
    let file = File::new(pdf, "application/pdf", "invoice.pdf");
    let document = Outgoing::new(OutgoingBody::Document(
        file,
        Some("Your invoice".to_owned()),
    ));
    let second = gateway.send(to, &document).await?;
    Ok((first, second))
}

#[allow(dead_code, clippy::print_stdout)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let kind = var("GATEWAY");
    let credential = if kind == "gowa" {
        var("GATEWAY_USER")
    } else {
        var("GATEWAY_TOKEN")
    };
    let gateway = gateway(
        &kind,
        &var("GATEWAY_URL"),
        &credential,
        &var("GATEWAY_PASSWORD"),
    )?;
    let to = Jid::parse(&format!("{}@s.whatsapp.net", var("TO")))?;
    let pdf = b"%PDF-1.4\n% a tiny example document\n".to_vec();
    let (text, document) =
        send_text_and_document(gateway.as_ref(), &to, "Olá! Segue a fatura.", pdf).await?;
    println!(
        "sent text {} and document {}",
        text.message_id, document.message_id
    );
    Ok(())
}
