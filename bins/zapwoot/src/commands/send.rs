//! `zapwoot send NAME --to … (--text … | --file PATH) [--wait]`: the send API from the
//! command line. The message is accepted into the store exactly as `POST …/messages` accepts
//! it; a running bridge sends and mirrors it.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use zapwoot_sync::send::{self, AcceptError, MediaInput, SendRequest, SendStatus};
use zapwoot_sync::{ActivityBus, Engine, InstanceRuntime};

use super::fail;
use crate::cli::{Global, SendArgs};
use crate::instances;

/// How often `--wait` looks at the message.
const POLL: Duration = Duration::from_millis(250);

/// `zapwoot send …`.
pub(crate) async fn send(global: &Global, args: SendArgs) -> Result<()> {
    let store = crate::sealing::open_store(global).await?;
    let instance = instances::get(&store, &args.name)
        .await
        .map_err(|e| fail(&e))?;
    let runtime = InstanceRuntime::connect(&instance)
        .with_context(|| format!("instance {:?} cannot be used", args.name))?;
    let request = request(&args)?;
    let engine = Engine::new(store.clone(), ActivityBus::default());
    let accepted =
        match send::accept(&engine, &runtime, &request, args.idempotency_key.as_deref()).await {
            Ok(accepted) => accepted,
            Err(AcceptError::Invalid(e)) => bail!("{}: {}", option_of(e.field), e.reason),
            Err(e) => bail!("{e}"),
        };
    let repeat = if accepted.repeat {
        " (already accepted under this idempotency key; not sent again)"
    } else {
        ""
    };
    println!("{} queued{repeat}", accepted.id);
    if !args.wait {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut last = "queued";
    loop {
        let status = send::status(&store, instance.id, &accepted.id)
            .await?
            .context("the message is gone")?;
        if status.status != last {
            println!("{} {}", accepted.id, describe(&status));
            last = status.status;
        }
        match status.status {
            "delivered" | "read" => return Ok(()),
            "failed" => bail!(
                "not sent: {}",
                status.reason.as_deref().unwrap_or("no reason given")
            ),
            _ => {}
        }
        if Instant::now() >= deadline {
            bail!(
                "still {last} after {} s (is `zapwoot serve` running?)",
                args.timeout
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The request the flags describe.
fn request(args: &SendArgs) -> Result<SendRequest> {
    let mut request = SendRequest::text(args.to.clone(), args.text.clone().unwrap_or_default());
    if args.text.is_none() {
        request.text = None;
    }
    if let Some(path) = &args.file {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let mime = args
            .mime
            .clone()
            .unwrap_or_else(|| mime_of(path).to_owned());
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        request.media = Some(MediaInput::upload(&bytes, mime, name));
    }
    request.reply_to.clone_from(&args.reply_to);
    request.chatwoot.mirror = !args.no_mirror;
    Ok(request)
}

/// The flag a request field comes from.
fn option_of(field: &str) -> &str {
    match field {
        "to" => "--to",
        "text" => "--text",
        "reply_to" => "--reply-to",
        "media" | "media.base64" => "--file",
        "media.mime" => "--mime",
        other => other,
    }
}

/// One status line: the status and what is known with it.
fn describe(status: &SendStatus) -> String {
    let mut line = status.status.to_owned();
    if let Some(wa) = &status.wa_message_id {
        line.push_str(&format!(" wa_message_id={wa}"));
    }
    if let Some(id) = status.chatwoot_message_id {
        line.push_str(&format!(" chatwoot_message_id={id}"));
    }
    if let Some(reason) = &status.reason {
        line.push_str(&format!(" reason={reason:?}"));
    }
    line
}

/// The MIME type WhatsApp needs, from the file's extension.
fn mime_of(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "ogg" | "opus" => "audio/ogg; codecs=opus",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "zip" => "application/zip",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_get_the_type_whatsapp_needs() {
        assert_eq!(mime_of(Path::new("a/b/Foto.JPG")), "image/jpeg");
        assert_eq!(mime_of(Path::new("nota.pdf")), "application/pdf");
        assert_eq!(mime_of(Path::new("voz.ogg")), "audio/ogg; codecs=opus");
        assert_eq!(
            mime_of(Path::new("sem-extensao")),
            "application/octet-stream"
        );
    }
}
