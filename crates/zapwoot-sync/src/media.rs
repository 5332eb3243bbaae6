//! Fetching media files that webhooks name by URL (Chatwoot attachments, wuzapi's S3 links)
//! under the address guard, an origin policy and a process-wide memory budget.
//!
//! A URL in a webhook is somebody else's word: it is fetched only from the origins the policy
//! trusts for a first request, each hop of a redirect is judged again (origin and address),
//! and every connection goes through [`GuardedResolver`], so a name cannot be re-pointed at an
//! inner address between the check and the connection.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use reqwest::{StatusCode, Url};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Failure;
use crate::netguard::{GuardedResolver, never_refusal, url_refusal};

/// At most this many redirects are followed.
const MAX_HOPS: usize = 5;
/// How long a fetch waits for room in the media budget before it is retried later.
const BUDGET_WAIT: Duration = Duration::from_secs(30);
/// Media bytes held in memory at once by one process, across all instances.
pub(crate) const MEDIA_BUDGET_BYTES: u64 = 256 * 1024 * 1024;

/// `scheme://host:port` of a URL, the unit the policy trusts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// The origin of `url`, or `None` for URLs without a host.
    #[must_use]
    pub fn of(url: &Url) -> Option<Self> {
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        Some(Self(format!(
            "{}://{}:{port}",
            url.scheme(),
            host.to_ascii_lowercase()
        )))
    }

    /// Parses `text` as a URL and takes its origin.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Url::parse(text).ok().as_ref().and_then(Self::of)
    }
}

/// Which URLs a media fetch may follow.
#[derive(Debug, Clone, Default)]
pub(crate) struct MediaPolicy {
    /// The first request must go to one of these (empty: any origin the address guard
    /// allows). Loopback and private addresses are allowed for them: they were configured by
    /// the operator or told by the upstream itself.
    pub(crate) first: Vec<Origin>,
    /// Further origins where loopback and private addresses are allowed (the instance's
    /// `media_origins`, e.g. a private MinIO).
    pub(crate) private_ok: Vec<Origin>,
    /// Whether a response from a `first` origin may redirect to another origin (Chatwoot's
    /// `data_url` redirects to its storage). Redirects between other origins never are.
    pub(crate) storage_redirect: bool,
}

/// Files larger than this are written to a temporary file as they arrive, not kept in memory.
pub(crate) const SPOOL_THRESHOLD: u64 = 1024 * 1024;

/// A fetched file: its bytes (in memory, or spooled to disk when large) and what the server
/// said about it.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) data: FetchedData,
    /// The first bytes, for sniffing the type.
    pub(crate) head: Vec<u8>,
    pub(crate) content_type: Option<String>,
    pub(crate) file_name: Option<String>,
    /// SHA-256 of every byte, lowercase hex.
    pub(crate) sha256: String,
}

/// Where a fetched file's bytes are.
#[derive(Debug)]
pub(crate) enum FetchedData {
    Memory(Vec<u8>),
    Spooled(SpoolFile),
}

/// A temporary file (mode 0600) holding one spooled media file; removed when dropped.
#[derive(Debug)]
pub(crate) struct SpoolFile {
    pub(crate) path: PathBuf,
    pub(crate) len: u64,
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a relayed media file holds until it has been handed on: its share of the media
/// budget and its spool file.
#[derive(Debug, Default)]
pub(crate) struct MediaHold {
    pub(crate) permit: Option<OwnedSemaphorePermit>,
    pub(crate) spool: Option<SpoolFile>,
}

/// The process-wide media fetcher: guarded HTTP clients and the memory budget.
#[derive(Debug)]
pub(crate) struct MediaFetcher {
    /// Loopback/private allowed (trusted origins); link-local and reserved never.
    inner: OnceLock<Result<(reqwest::Client, reqwest::Client), String>>,
    budget: Arc<Semaphore>,
    budget_kib: u32,
}

impl Default for MediaFetcher {
    fn default() -> Self {
        Self::with_budget(MEDIA_BUDGET_BYTES)
    }
}

impl MediaFetcher {
    pub(crate) fn with_budget(bytes: u64) -> Self {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX >> 4)
            .clamp(1, u32::MAX >> 4);
        Self {
            inner: OnceLock::new(),
            budget: Arc::new(Semaphore::new(kib as usize)),
            budget_kib: kib,
        }
    }

    fn clients(&self) -> Result<&(reqwest::Client, reqwest::Client), Failure> {
        self.inner
            .get_or_init(|| Ok((client(true)?, client(false)?)))
            .as_ref()
            .map_err(|e| Failure::permanent(format!("media HTTP client: {e}")))
    }

    /// Reserves `bytes` of the media budget (at most all of it), waiting a while for room.
    ///
    /// # Errors
    /// A retryable failure when the budget stays full.
    pub(crate) async fn reserve(&self, bytes: u64) -> Result<OwnedSemaphorePermit, Failure> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget_kib);
        match tokio::time::timeout(
            BUDGET_WAIT,
            Arc::clone(&self.budget).acquire_many_owned(kib),
        )
        .await
        {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Failure::retry(
                "too much media in flight in this process; trying again later",
            )),
        }
    }

    /// Fetches `url` under `policy`, at most `max_bytes`.
    ///
    /// # Errors
    /// Permanent failures for refused URLs, redirects and oversize files; retryable ones for
    /// transport errors and 5xx answers.
    pub(crate) async fn fetch(
        &self,
        url: &str,
        policy: &MediaPolicy,
        max_bytes: u64,
    ) -> Result<Fetched, Failure> {
        read(self.open(url, policy).await?, max_bytes).await
    }

    /// Follows `url` under `policy` to the answer that has the file and returns its declared
    /// size, without reading the body: the check a send makes before it is accepted.
    ///
    /// # Errors
    /// As [`Self::fetch`].
    pub(crate) async fn probe(
        &self,
        url: &str,
        policy: &MediaPolicy,
    ) -> Result<Option<u64>, Failure> {
        Ok(self.open(url, policy).await?.content_length())
    }

    /// The successful answer for `url`, each redirect hop judged under `policy`.
    async fn open(&self, url: &str, policy: &MediaPolicy) -> Result<reqwest::Response, Failure> {
        let (trusted, public) = self.clients()?;
        let mut url =
            Url::parse(url).map_err(|e| Failure::permanent(format!("bad media URL: {e}")))?;
        let mut previous: Option<Origin> = None;
        for _ in 0..=MAX_HOPS {
            let origin = judge(&url, previous.as_ref(), policy)?;
            let private_ok = policy.first.contains(&origin) || policy.private_ok.contains(&origin);
            let client = if private_ok { trusted } else { public };
            let response = client
                .get(url.clone())
                .send()
                .await
                .map_err(|e| Failure::retry(format!("media download failed: {}", chain(&e))))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| Failure::permanent("media redirect without a Location"))?;
                url = url
                    .join(location)
                    .map_err(|e| Failure::permanent(format!("bad media redirect: {e}")))?;
                previous = Some(origin);
                continue;
            }
            if !status.is_success() {
                let reason = format!("media download answered {status}");
                return Err(
                    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                        Failure::retry(reason)
                    } else {
                        Failure::permanent(reason)
                    },
                );
            }
            return Ok(response);
        }
        Err(Failure::permanent(format!(
            "media download redirected more than {MAX_HOPS} times"
        )))
    }
}

/// Whether `url` may be requested: its origin against the policy, its address against the
/// guard. Returns the origin.
fn judge(url: &Url, previous: Option<&Origin>, policy: &MediaPolicy) -> Result<Origin, Failure> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::permanent("media URLs must be http or https"));
    }
    let origin = Origin::of(url).ok_or_else(|| Failure::permanent("media URL without a host"))?;
    match previous {
        None if !policy.first.is_empty() && !policy.first.contains(&origin) => {
            return Err(Failure::permanent(format!(
                "media URL outside the trusted origins: {}",
                origin.0
            )));
        }
        Some(from)
            if *from != origin && !(policy.storage_redirect && policy.first.contains(from)) =>
        {
            return Err(Failure::permanent(format!(
                "media redirect to another origin refused: {}",
                origin.0
            )));
        }
        _ => {}
    }
    let private_ok = policy.first.contains(&origin) || policy.private_ok.contains(&origin);
    let refusal = if private_ok {
        never_refusal(url.as_str())
    } else {
        url_refusal(url.as_str(), false)
    };
    if let Some(refusal) = refusal {
        return Err(Failure::permanent(format!("media URL refused: {refusal}")));
    }
    Ok(origin)
}

async fn read(mut response: reqwest::Response, max_bytes: u64) -> Result<Fetched, Failure> {
    let too_large = || Failure::permanent(format!("media larger than {max_bytes} bytes"));
    if response.content_length().is_some_and(|len| len > max_bytes) {
        return Err(too_large());
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
    let mut bytes = Vec::new();
    let mut spool: Option<(SpoolFile, tokio::fs::File)> = None;
    let mut head = Vec::new();
    let mut len: u64 = 0;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Failure::retry(format!("media download broke off: {}", chain(&e))))?
    {
        len += chunk.len() as u64;
        if len > max_bytes {
            return Err(too_large());
        }
        digest.update(&chunk);
        if head.len() < 64 {
            head.extend(chunk.iter().take(64 - head.len()));
        }
        if spool.is_none() && len > SPOOL_THRESHOLD {
            let (file, mut handle) = create_spool().await?;
            write(&mut handle, &bytes).await?;
            bytes = Vec::new();
            spool = Some((file, handle));
        }
        match &mut spool {
            Some((_, handle)) => write(handle, &chunk).await?,
            None => bytes.extend_from_slice(&chunk),
        }
    }
    let data = match spool {
        Some((mut file, mut handle)) => {
            handle
                .flush()
                .await
                .map_err(|e| Failure::retry(format!("spooling media: {e}")))?;
            file.len = len;
            FetchedData::Spooled(file)
        }
        None => FetchedData::Memory(bytes),
    };
    Ok(Fetched {
        data,
        head,
        content_type,
        file_name,
        sha256: hex(digest.finish().as_ref()),
    })
}

/// SHA-256 of `bytes`, lowercase hex (the `sha256` of event payloads).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

async fn write(handle: &mut tokio::fs::File, bytes: &[u8]) -> Result<(), Failure> {
    handle
        .write_all(bytes)
        .await
        .map_err(|e| Failure::retry(format!("spooling media: {e}")))
}

/// A new, empty spool file only this user can read (it holds a customer's media).
async fn create_spool() -> Result<(SpoolFile, tokio::fs::File), Failure> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "zapwoot-media-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let path = std::env::temp_dir().join(name);
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let handle = options
        .open(&path)
        .await
        .map_err(|e| Failure::retry(format!("spooling media to {}: {e}", path.display())))?;
    Ok((SpoolFile { path, len: 0 }, handle))
}

/// `attachment; filename="a b.pdf"` → `a b.pdf`.
fn disposition_file_name(value: &str) -> Option<String> {
    value.split(';').map(str::trim).find_map(|part| {
        let name = part.strip_prefix("filename=")?.trim_matches('"');
        (!name.is_empty()).then(|| name.to_owned())
    })
}

/// An error with its causes (reqwest's `Display` leaves out the interesting part).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn client(allow_private: bool) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(crate::tls::config().map_err(|e| e.to_string())?)
        .dns_resolver(GuardedResolver { allow_private })
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("zapwoot/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_budget_bounds_media_in_flight() {
        let fetcher = MediaFetcher::with_budget(10 * 1024);
        let first = fetcher.reserve(8 * 1024).await;
        assert!(first.is_ok());
        // No room: waits, then gives up with a retryable failure.
        let second = fetcher.reserve(8 * 1024).await;
        assert!(matches!(second, Err(Failure::Retry { .. })), "{second:?}");
        drop(first);
        assert!(fetcher.reserve(8 * 1024).await.is_ok());
        // More than the whole budget still gets through, alone.
        assert!(fetcher.reserve(u64::MAX).await.is_ok());
    }

    #[tokio::test]
    async fn large_files_are_spooled_to_disk_and_removed_after() {
        let server = zapwoot_fakes::Receiver::start()
            .await
            .unwrap_or_else(|_| unreachable!());
        let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        server.set_reply(&[("content-type", "video/mp4")], big.clone());
        let policy = MediaPolicy {
            first: Origin::parse(&server.url()).into_iter().collect(),
            ..MediaPolicy::default()
        };
        let fetcher = MediaFetcher::default();
        let fetched = fetcher
            .fetch(&server.url(), &policy, 40 * 1024 * 1024)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(fetched.head, big[..64]);
        let FetchedData::Spooled(spool) = fetched.data else {
            panic!("a 3 MiB file stayed in memory")
        };
        assert_eq!(spool.len, big.len() as u64);
        let on_disk = std::fs::read(&spool.path).unwrap_or_default();
        assert!(on_disk == big, "the spooled file differs");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&spool.path)
                .map(|m| m.permissions().mode())
                .unwrap_or(0o777);
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        let path = spool.path.clone();
        drop(spool);
        assert!(!path.exists(), "the spool file was left behind");

        server.set_reply(&[("content-type", "image/png")], b"small".to_vec());
        let small = fetcher
            .fetch(&server.url(), &policy, 40 * 1024 * 1024)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(small.data, FetchedData::Memory(ref b) if b == b"small"));
        // Beyond the limit nothing is kept.
        server.set_reply(&[], big);
        let refused = fetcher.fetch(&server.url(), &policy, 1024 * 1024).await;
        assert!(matches!(refused, Err(Failure::Permanent { .. })));
    }

    fn policy(first: &[&str]) -> MediaPolicy {
        MediaPolicy {
            first: first.iter().filter_map(|o| Origin::parse(o)).collect(),
            private_ok: Vec::new(),
            storage_redirect: true,
        }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn first_requests_go_only_to_trusted_origins() {
        let p = policy(&["http://127.0.0.1:3000"]);
        assert!(judge(&url("http://127.0.0.1:3000/rails/x"), None, &p).is_ok());
        for bad in [
            "http://127.0.0.1:9999/x",
            "http://2130706433/x",
            "https://example.com/x",
            "http://169.254.169.254/latest",
        ] {
            assert!(judge(&url(bad), None, &p).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirects_leave_trusted_origins_only_for_public_storage() {
        let p = policy(&["http://127.0.0.1:3000"]);
        let chatwoot = Origin::parse("http://127.0.0.1:3000");
        let s3 = url("https://bucket.s3.amazonaws.com/blob");
        assert!(judge(&s3, chatwoot.as_ref(), &p).is_ok());
        assert!(judge(&url("http://127.0.0.1:9999/x"), chatwoot.as_ref(), &p).is_err());
        let storage = Origin::of(&s3);
        assert!(judge(&url("https://other.example/x"), storage.as_ref(), &p).is_err());
        assert!(
            judge(
                &url("https://bucket.s3.amazonaws.com/y"),
                storage.as_ref(),
                &p
            )
            .is_ok()
        );
    }

    #[test]
    fn without_trusted_origins_only_public_addresses() {
        let mut p = MediaPolicy::default();
        assert!(judge(&url("https://bucket.example/x"), None, &p).is_ok());
        for bad in [
            "http://127.0.0.1/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://localhost/x",
            "http://10.0.0.1/x",
        ] {
            assert!(judge(&url(bad), None, &p).is_err(), "{bad}");
        }
        p.private_ok =
            vec![Origin::parse("http://10.0.0.1:9000").unwrap_or_else(|| unreachable!())];
        assert!(judge(&url("http://10.0.0.1:9000/bucket/x"), None, &p).is_ok());
        assert!(judge(&url("http://10.0.0.1:9001/x"), None, &p).is_err());
    }
}
