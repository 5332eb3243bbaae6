//! [`Client`], its builder, and the request plumbing every call shares.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;

use crate::Error;

/// Name of the header carrying the token. The dashed form survives nginx, which drops
/// headers with underscores by default; Chatwoot reads both.
const TOKEN_HEADER: &str = "api-access-token";
const BODY_EXCERPT: usize = 512;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A Chatwoot API client. Cheap to clone.
///
/// Account-scoped calls go through [`Client::account`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    token: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("token", &format_args!("[redacted]"))
            .finish()
    }
}

/// Builds a [`Client`].
#[must_use = "has no effect unless built into a Client"]
pub struct ClientBuilder {
    base_url: String,
    token: String,
    timeout: Duration,
    user_agent: String,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Per-request timeout (default 30 s). Ignored when an HTTP client is injected.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `User-Agent` (default `zapwoot-chatwoot/<version>`). Ignored when an HTTP client is injected.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses this `reqwest::Client` (for connection pooling shared with other code, proxies,
    /// custom TLS roots). Build it with `redirect(Policy::none())`: the token travels in the
    /// `api_access_token` header, which reqwest does not strip on a redirect to another host.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] for a base URL that is not `http(s)://…`, [`Error::Build`] when
    /// the TLS configuration cannot be made.
    pub fn build(self) -> Result<Client, Error> {
        let mut base = Url::parse(&self.base_url).map_err(|e| Error::InvalidUrl(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::InvalidUrl(format!(
                "{}: expected http(s)://host",
                self.base_url
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .tls_backend_preconfigured(tls_config()?)
                .timeout(self.timeout)
                .connect_timeout(Duration::from_secs(10))
                // API calls carry the token in a custom header, which reqwest keeps on a
                // redirect to another host: redirects are answers, never followed. Attachment
                // downloads (no token) follow them by hand.
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(self.user_agent)
                .build()
                .map_err(|e| Error::Build(e.to_string()))?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                token: self.token,
            }),
        })
    }
}

/// rustls on the ring provider (no aws-lc, no OpenSSL), verifying against the platform's
/// trust store so self-hosted Chatwoot behind an internal CA works.
pub(crate) fn tls_config() -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
        .map_err(|e| Error::Build(e.to_string()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Build(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl Client {
    /// Starts building a client for the Chatwoot at `base_url` (e.g. `https://chat.example.com`)
    /// with a **user** access token (agent-bot tokens cannot call most endpoints).
    pub fn builder(
        base_url: impl Into<String>,
        api_access_token: impl Into<String>,
    ) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            token: api_access_token.into(),
            timeout: DEFAULT_TIMEOUT,
            user_agent: concat!("zapwoot-chatwoot/", env!("CARGO_PKG_VERSION")).to_owned(),
            http: None,
        }
    }

    /// The base URL.
    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Calls scoped to account `account_id`.
    #[must_use]
    pub fn account(&self, account_id: u64) -> crate::AccountClient {
        crate::AccountClient::new(self.clone(), account_id)
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url, Error> {
        self.inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::InvalidUrl(e.to_string()))
    }

    /// A request to an API path (relative to the base URL), with the token.
    pub(crate) fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, Error> {
        Ok(self
            .inner
            .http
            .request(method, self.url(path)?)
            .header(TOKEN_HEADER, &self.inner.token))
    }

    /// A request to `url` without the token (the public API).
    pub(crate) fn unauthenticated(&self, method: Method, url: Url) -> RequestBuilder {
        self.inner.http.request(method, url)
    }

    /// A request to an absolute URL without the token (attachment downloads).
    pub(crate) fn plain_get(&self, url: Url) -> RequestBuilder {
        self.inner.http.get(url)
    }

    /// Sends `request` and returns the response when its status is a success.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let response = self.send_raw(request).await?;
        self.check(response).await
    }

    /// Sends `request`; any answer is returned, only transport failures are errors.
    pub(crate) async fn send_raw(&self, request: RequestBuilder) -> Result<Response, Error> {
        request.send().await.map_err(|e| self.transport(e))
    }

    /// `response` when its status is a success, else [`Error::Status`] with an excerpt.
    pub(crate) async fn check(&self, response: Response) -> Result<Response, Error> {
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        Err(Error::Status {
            status,
            body: self.excerpt(&body),
            retry_after,
        })
    }

    /// Sends `request` and decodes its JSON body.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, Error> {
        let bytes = self
            .send(request)
            .await?
            .bytes()
            .await
            .map_err(|e| self.transport(e))?;
        serde_json::from_slice(&bytes).map_err(Error::Decode)
    }

    pub(crate) fn transport(&self, err: reqwest::Error) -> Error {
        Error::Transport {
            message: self.scrub(&err.to_string()),
            source: err.without_url(),
        }
    }

    fn excerpt(&self, body: &str) -> String {
        let cut: String = body.chars().take(BODY_EXCERPT).collect();
        self.scrub(&cut)
    }

    fn scrub(&self, text: &str) -> String {
        if self.inner.token.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.inner.token, "[redacted]")
        }
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}
