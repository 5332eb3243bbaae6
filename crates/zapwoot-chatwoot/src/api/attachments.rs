use reqwest::Url;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::{Client, Error};

/// Redirects a download follows (ActiveStorage → storage is one).
const MAX_REDIRECTS: usize = 5;

/// What a download delivered, besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Download {
    /// `Content-Type` of the final response.
    pub content_type: Option<String>,
    /// File name from `Content-Disposition`, else the last URL path segment.
    pub file_name: Option<String>,
    /// Bytes received.
    pub size: u64,
}

impl Client {
    /// Downloads an attachment's `data_url`/`thumb_url` into memory, following redirects
    /// (ActiveStorage answers 302), refusing more than `max_bytes`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] past the cap (announced or actual), [`Error::Status`] (a 404 right
    /// after creation is the S3 race: retry later), transport errors.
    pub async fn download(&self, url: &str, max_bytes: u64) -> Result<(Vec<u8>, Download), Error> {
        let mut buffer = Vec::new();
        let info = self.download_to(url, max_bytes, &mut buffer).await?;
        Ok((buffer, info))
    }

    /// Streams an attachment into `out` chunk by chunk, following redirects, refusing more
    /// than `max_bytes`; nothing larger than one chunk is held in memory.
    ///
    /// # Errors
    /// As [`download`](Self::download), plus [`Error::Write`].
    pub async fn download_to<W: AsyncWrite + Unpin + Send>(
        &self,
        url: &str,
        max_bytes: u64,
        out: &mut W,
    ) -> Result<Download, Error> {
        let mut url = Url::parse(url).map_err(|e| Error::InvalidUrl(e.to_string()))?;
        let mut hops = 0;
        let mut response = loop {
            let response = self.send_raw(self.plain_get(url.clone())).await?;
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok());
            match location {
                Some(to) if response.status().is_redirection() && hops < MAX_REDIRECTS => {
                    url = url.join(to).map_err(|e| Error::InvalidUrl(e.to_string()))?;
                    hops += 1;
                }
                _ => break self.check(response).await?,
            }
        };
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(Error::TooLarge { limit: max_bytes });
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let file_name = response
            .headers()
            .get(CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(disposition_file_name)
            .or_else(|| {
                response
                    .url()
                    .path_segments()
                    .and_then(|mut s| s.next_back())
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            });
        let mut size: u64 = 0;
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            size = size.saturating_add(chunk.len() as u64);
            if size > max_bytes {
                return Err(Error::TooLarge { limit: max_bytes });
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| Error::Write(e.to_string()))?;
        }
        out.flush().await.map_err(|e| Error::Write(e.to_string()))?;
        Ok(Download {
            content_type,
            file_name,
            size,
        })
    }
}

/// `attachment; filename="a b.pdf"` → `a b.pdf`.
fn disposition_file_name(value: &str) -> Option<String> {
    value.split(';').map(str::trim).find_map(|part| {
        let name = part.strip_prefix("filename=")?;
        let name = name.trim_matches('"');
        (!name.is_empty()).then(|| name.to_owned())
    })
}
