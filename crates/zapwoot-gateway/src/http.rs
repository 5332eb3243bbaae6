//! HTTP plumbing shared by both clients.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{RequestBuilder, Response, Url};

use crate::{Error, SendOutcome};

/// rustls on the ring provider, verifying against the platform's trust store.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
        .map_err(|e| Error::Build(e.to_string()))?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Build(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        // Every request carries the gateway's credentials: a redirect is an answer, never
        // followed, so they cannot be carried to another host.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("zapwoot-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Build(e.to_string()))
}

/// Parses a base URL and makes sure it ends with `/`, so relative joins keep its path.
pub(crate) fn base_url(text: &str) -> Result<Url, Error> {
    let mut url = Url::parse(text).map_err(|e| Error::InvalidUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::InvalidUrl(format!(
            "{text}: expected http(s)://host"
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Sends a request; transport failures are classified (connect errors were not sent).
pub(crate) async fn send(request: RequestBuilder, secret: &str) -> Result<Response, Error> {
    request.send().await.map_err(|e| Error::Transport {
        outcome: if e.is_connect() {
            SendOutcome::NotSent
        } else {
            SendOutcome::MaybeSent
        },
        message: scrub(&e.to_string(), secret),
        source: e.without_url(),
    })
}

/// Removes `secret` from a text.
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "[redacted]")
    }
}

/// Sends a media download, answering a non-success status as
/// [`Error::MediaUnavailable`] (naming `who` answered); the body (at most `max` bytes) and the
/// `Content-Type` it was served with.
pub(crate) async fn fetch_media(
    request: RequestBuilder,
    secret: &str,
    who: &str,
    max: u64,
) -> Result<(Vec<u8>, Option<String>), Error> {
    let response = send(request, secret).await?;
    if !response.status().is_success() {
        return Err(Error::MediaUnavailable(format!(
            "{who} answered {}",
            response.status()
        )));
    }
    let mime = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((read_capped(response, max).await?, mime))
}

/// Reads at most `max` bytes of a response.
pub(crate) async fn read_capped(mut response: Response, max: u64) -> Result<Vec<u8>, Error> {
    if response.content_length().is_some_and(|len| len > max) {
        return Err(Error::TooLarge { limit: max });
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| Error::Transport {
        message: e.to_string(),
        outcome: SendOutcome::NotSent,
        source: e.without_url(),
    })? {
        if (out.len() + chunk.len()) as u64 > max {
            return Err(Error::TooLarge { limit: max });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A fetched file as the engine gets it: size checked; MIME type declared by the sender, else
/// the served one unless generic, else sniffed; the sender's file name, else the served one.
pub(crate) fn media_file(
    media: &crate::Media,
    bytes: Vec<u8>,
    served_mime: Option<String>,
    served_name: Option<String>,
    max_bytes: u64,
) -> Result<crate::MediaFile, Error> {
    if bytes.len() as u64 > max_bytes {
        return Err(Error::TooLarge { limit: max_bytes });
    }
    let served_mime = served_mime
        .filter(|m| !m.starts_with("application/octet-stream") && !m.starts_with("text/plain"));
    let mime_type = media
        .mime_type
        .clone()
        .or(served_mime)
        .or_else(|| sniff_mime(&bytes).map(str::to_owned));
    Ok(crate::MediaFile {
        bytes,
        mime_type,
        file_name: media.file_name.clone().or(served_name),
    })
}

/// Guesses a MIME type from the first bytes (for gateways that do not declare one).
#[must_use]
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    let starts = |sig: &[u8]| bytes.starts_with(sig);
    Some(if starts(b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"GIF8") {
        "image/gif"
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        "image/webp"
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"%PDF") {
        "application/pdf"
    } else if starts(b"ID3") || starts(b"\xFF\xFB") {
        "audio/mpeg"
    } else if bytes.get(4..8) == Some(b"ftyp") {
        "video/mp4"
    } else {
        return None;
    })
}
