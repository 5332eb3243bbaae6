//! `multipart/form-data` for the send API: the same message as the JSON document, with the
//! file uploaded as a part instead of given as a URL or base64.
//!
//! Fields: `to`, `text`, `reply_to`, `mirror` and `private` (`true` / `false`), and one file
//! part `file` (its file name and `Content-Type` are the file's; `file_name` and `mime`
//! fields override them).

use bytes::Bytes;
use zapwoot_sync::send::{MediaInput, SendRequest};

/// A form field at fault and why.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FormError {
    pub(super) field: String,
    pub(super) reason: String,
}

fn fault(field: &str, reason: impl Into<String>) -> FormError {
    FormError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Whether `content_type` is a form upload.
pub(super) fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| {
        c.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    })
}

/// The message a form upload asks for (not yet checked: [`SendRequest::check`] does that, as
/// for JSON).
pub(super) async fn parse(content_type: &str, body: Bytes) -> Result<SendRequest, FormError> {
    let boundary =
        multer::parse_boundary(content_type).map_err(|e| fault("Content-Type", e.to_string()))?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut request = SendRequest::text("", "");
    request.text = None;
    let mut seen: Vec<String> = Vec::new();
    let mut file: Option<(Bytes, Option<String>, Option<String>)> = None;
    let (mut mime, mut file_name) = (None, None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| fault("body", format!("not a readable form: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if seen.contains(&name) {
            return Err(fault(&name, "given more than once"));
        }
        seen.push(name.clone());
        if name == "file" {
            let part_name = field.file_name().map(str::to_owned);
            let part_type = field.content_type().map(ToString::to_string);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| fault("file", e.to_string()))?;
            file = Some((bytes, part_type, part_name));
            continue;
        }
        let value = field
            .text()
            .await
            .map_err(|e| fault(&name, e.to_string()))?;
        match name.as_str() {
            "to" => request.to = value,
            "text" => request.text = Some(value),
            "reply_to" => request.reply_to = Some(value),
            "mirror" => request.chatwoot.mirror = flag(&name, &value)?,
            "private" => request.chatwoot.private = flag(&name, &value)?,
            "mime" => mime = Some(value),
            "file_name" => file_name = Some(value),
            "" => return Err(fault("body", "a form part without a name")),
            _ => return Err(fault(&name, "unknown field")),
        }
    }
    match file {
        Some((bytes, part_type, part_name)) => {
            let mime = mime
                .or(part_type)
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            request.media = Some(MediaInput::upload(&bytes, mime, file_name.or(part_name)));
        }
        None if mime.is_some() || file_name.is_some() => {
            return Err(fault("file", "mime and file_name describe a file part"));
        }
        None => {}
    }
    Ok(request)
}

fn flag(field: &str, value: &str) -> Result<bool, FormError> {
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(fault(field, "true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str = "multipart/form-data; boundary=XyZ";

    /// A part: its name, its file name and type when it is a file, its bytes.
    type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

    fn form(parts: &[Part<'_>]) -> Bytes {
        let mut out = Vec::new();
        for (name, file, data) in parts {
            out.extend_from_slice(b"--XyZ\r\n");
            match file {
                Some((file_name, mime)) => out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {mime}\r\n\r\n").as_bytes(),
                ),
                None => out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        Bytes::from(out)
    }

    #[tokio::test]
    async fn a_form_is_the_same_message_with_an_uploaded_file() {
        let body = form(&[
            ("to", None, b"5511987654321"),
            ("text", None, "nota fiscal ✓".as_bytes()),
            ("private", None, b"true"),
            ("file", Some(("nota.pdf", "application/pdf")), b"%PDF-1.4"),
        ]);
        let request = parse(TYPE, body).await.unwrap();
        assert_eq!(request.to, "5511987654321");
        assert_eq!(request.text.as_deref(), Some("nota fiscal ✓"));
        assert!(request.chatwoot.private && request.chatwoot.mirror);
        assert_eq!(
            request.media,
            Some(MediaInput::upload(
                b"%PDF-1.4",
                "application/pdf",
                Some("nota.pdf".into())
            ))
        );
        assert!(request.check(1000).is_ok());
    }

    #[tokio::test]
    async fn bad_forms_name_the_field() {
        for (parts, field) in [
            (
                form(&[("to", None, b"1"), ("colour", None, b"red")]),
                "colour",
            ),
            (form(&[("to", None, b"1"), ("to", None, b"2")]), "to"),
            (form(&[("mirror", None, b"maybe")]), "mirror"),
            (form(&[("mime", None, b"image/png")]), "file"),
        ] {
            assert_eq!(parse(TYPE, parts).await.unwrap_err().field, field);
        }
        assert_eq!(
            parse("multipart/form-data", Bytes::new())
                .await
                .unwrap_err()
                .field,
            "Content-Type"
        );
        assert_eq!(
            parse(TYPE, Bytes::from_static(b"garbage"))
                .await
                .unwrap_err()
                .field,
            "body"
        );
    }
}
