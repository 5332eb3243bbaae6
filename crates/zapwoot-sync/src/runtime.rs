//! One instance's live parts: its Chatwoot and gateway clients, options, limits.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};
use zapwoot_chatwoot::Client;
use zapwoot_gateway::{Gateway, GatewayKind, Jid};
use zapwoot_signing::{Keyring, Secret};
use zapwoot_store::Instance;

use crate::media::{MediaPolicy, Origin};
use crate::{ChatwootApi, GatewayClient, InstanceOptions, SyncError};

/// Secret names in the instance's sealed secrets map.
pub mod secret_names {
    /// Chatwoot user access token.
    pub const CHATWOOT_API_TOKEN: &str = "chatwoot_api_token";
    /// The API inbox's webhook signing secret.
    pub const CHATWOOT_WEBHOOK_SECRET: &str = "chatwoot_webhook_secret";
    /// wuzapi user token.
    pub const GATEWAY_TOKEN: &str = "gateway_token";
    /// wuzapi HMAC key (webhook signatures).
    pub const GATEWAY_HMAC_KEY: &str = "gateway_hmac_key";
    /// GOWA basic-auth password.
    pub const GATEWAY_PASSWORD: &str = "gateway_password";
    /// GOWA webhook secret.
    pub const GATEWAY_WEBHOOK_SECRET: &str = "gateway_webhook_secret";
}

/// The HTTP client of every upstream API call, shared by all instances (one connection pool):
/// no redirects (tokens stay with the configured host), and a resolver that refuses
/// link-local (cloud metadata), multicast and reserved addresses. Loopback and private
/// addresses are fine: upstreams usually share the host or a Docker network.
///
/// # Errors
/// Why the client cannot be built (no TLS roots), as text: the same answer every time.
pub fn upstream_http() -> Result<reqwest::Client, String> {
    static CLIENT: std::sync::OnceLock<Result<reqwest::Client, String>> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .tls_backend_preconfigured(crate::tls::config().map_err(|e| e.to_string())?)
                .dns_resolver(crate::netguard::GuardedResolver {
                    allow_private: true,
                })
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .connect_timeout(Duration::from_secs(10))
                .user_agent(concat!("zapwoot/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// A token bucket: `rate` permits per second, bursts up to `rate`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, tokio::time::Instant)>,
}

impl TokenBucket {
    /// `rate` permits per second, a second's worth at once.
    pub(crate) fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        Self {
            rate,
            burst: rate,
            state: Mutex::new((rate, tokio::time::Instant::now())),
        }
    }

    /// `rate` permits per minute, one at a time.
    pub(crate) fn per_minute(rate: u32) -> Self {
        Self {
            rate: f64::from(rate.max(1)) / 60.0,
            burst: 1.0,
            state: Mutex::new((1.0, tokio::time::Instant::now())),
        }
    }

    /// Waits for one permit.
    pub(crate) async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = tokio::time::Instant::now();
                let refill = now.duration_since(state.1).as_secs_f64() * self.rate;
                state.0 = (state.0 + refill).min(self.burst);
                state.1 = now;
                if state.0 >= 1.0 {
                    state.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - state.0) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Everything the engine needs to act for one instance.
#[derive(Debug)]
#[non_exhaustive]
pub struct InstanceRuntime {
    /// Store id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Which gateway.
    pub kind: GatewayKind,
    /// Chatwoot, for the instance's account.
    pub chatwoot: Arc<dyn ChatwootApi>,
    /// The gateway.
    pub gateway: Arc<dyn Gateway>,
    /// The API inbox.
    pub inbox_id: u64,
    /// Behaviour options.
    pub options: InstanceOptions,
    /// The bridged number (tells own messages in GOWA ≤ v7 webhooks).
    pub own_jid: Option<Jid>,
    /// Keys that sign the gateway's webhooks (`None`: unsigned).
    pub gateway_keys: Option<Keyring>,
    /// Keys that sign Chatwoot's webhooks (`None`: unsigned, Chatwoot < 4.12).
    pub chatwoot_keys: Option<Keyring>,
    /// GOWA device this instance is (webhooks of other devices are not its own).
    pub device_id: Option<String>,
    pub(crate) chatwoot_limit: TokenBucket,
    /// Paces the send API's messages.
    pub(crate) send_pace: TokenBucket,
    pub(crate) gateway_slots: Semaphore,
    pub(crate) identity_lock: Mutex<()>,
    /// The typing indicator last shown per chat on WhatsApp (agents typing), for throttling.
    pub(crate) typing: crate::typing::TypingState,
    /// What the session notes in Chatwoot last said, for throttling.
    pub(crate) session_notes: std::sync::Mutex<SessionNotes>,
    /// The typing indicator last shown per chat in Chatwoot (customers typing).
    pub(crate) customer_typing: crate::typing::TypingState,
    /// How long a customer's "typing…" stays in Chatwoot when the gateway never says the
    /// customer stopped (default 25 s, about as long as WhatsApp shows it).
    pub typing_timeout: std::time::Duration,
    /// The inbox's public-API identifier, once asked.
    pub(crate) inbox_identifier: std::sync::OnceLock<String>,
    /// Origins attachments may be fetched from: Chatwoot's own, and the ones Chatwoot's API
    /// named in `data_url`s (its `FRONTEND_URL` may differ from the base URL the bridge uses).
    pub(crate) chatwoot_origins: std::sync::Mutex<Vec<Origin>>,
    /// The QR code on show while valid (GOWA restarts its QR flow on each login call).
    pub(crate) qr_shown: std::sync::Mutex<Option<crate::pairing::ShownQr>>,
    /// The `qr` command whose code is being re-posted in Chatwoot as it rotates.
    pub(crate) qr_watch: std::sync::Mutex<Option<i64>>,
}

impl InstanceRuntime {
    /// A runtime from explicit parts (embedders and tests).
    #[must_use]
    pub fn new(
        id: i64,
        name: impl Into<String>,
        kind: GatewayKind,
        chatwoot: Arc<dyn ChatwootApi>,
        gateway: Arc<dyn Gateway>,
        inbox_id: u64,
        options: InstanceOptions,
    ) -> Self {
        let chatwoot_limit = TokenBucket::new(options.chatwoot_rate_per_second);
        let send_pace = TokenBucket::per_minute(options.send_rate_per_minute);
        let chatwoot_origins = Origin::of(chatwoot.base_url()).into_iter().collect();
        let gateway_slots = Semaphore::new(options.gateway_concurrency.max(1) as usize);
        Self {
            id,
            name: name.into(),
            kind,
            chatwoot,
            gateway,
            inbox_id,
            options,
            own_jid: None,
            gateway_keys: None,
            chatwoot_keys: None,
            device_id: None,
            chatwoot_limit,
            send_pace,
            gateway_slots,
            identity_lock: Mutex::new(()),
            typing: crate::typing::TypingState::default(),
            session_notes: std::sync::Mutex::default(),
            customer_typing: crate::typing::TypingState::default(),
            typing_timeout: std::time::Duration::from_secs(25),
            inbox_identifier: std::sync::OnceLock::new(),
            chatwoot_origins: std::sync::Mutex::new(chatwoot_origins),
            qr_shown: std::sync::Mutex::new(None),
            qr_watch: std::sync::Mutex::new(None),
        }
    }

    /// Builds the real clients for a stored instance.
    ///
    /// # Errors
    /// [`SyncError::Config`] when a secret, the inbox id or a URL is missing or invalid.
    pub fn connect(instance: &Instance) -> Result<Self, SyncError> {
        use secret_names as s;
        let config = &instance.config;
        let bad = |reason: String| SyncError::Config {
            instance: config.name.clone(),
            reason,
        };
        let secret = |name: &str| config.secrets.get(name).map(|v| v.expose().to_owned());
        let keyring = |name: &str| {
            secret(name)
                .filter(|v| !v.is_empty())
                .and_then(|v| Secret::from_bytes(v).ok())
                .map(|k| Keyring::new(&k))
        };
        let inbox_id = config
            .chatwoot_inbox_id
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| bad("no Chatwoot inbox id (provision the instance first)".into()))?;
        let account = u64::try_from(config.chatwoot_account_id)
            .map_err(|_| bad("invalid Chatwoot account id".into()))?;
        let token =
            secret(s::CHATWOOT_API_TOKEN).ok_or_else(|| bad("no Chatwoot API token".into()))?;
        let http = upstream_http().map_err(|e| bad(format!("HTTP client: {e}")))?;
        let chatwoot = Client::builder(&config.chatwoot_url, token)
            .http_client(http.clone())
            .build()
            .map_err(|e| bad(e.to_string()))?
            .account(account);
        let gateway_keys = keyring(match config.gateway_kind {
            GatewayKind::Wuzapi => s::GATEWAY_HMAC_KEY,
            GatewayKind::Gowa => s::GATEWAY_WEBHOOK_SECRET,
        });
        let gateway: Arc<dyn Gateway> = match GatewayClient::for_instance(config, http)? {
            GatewayClient::Wuzapi(client) => Arc::new(client),
            GatewayClient::Gowa(client) => Arc::new(client),
        };
        let options = config.options.clone();
        let mut runtime = Self::new(
            instance.id,
            &config.name,
            config.gateway_kind,
            Arc::new(chatwoot),
            gateway,
            inbox_id,
            options,
        );
        runtime.gateway_keys = gateway_keys;
        runtime.chatwoot_keys = keyring(s::CHATWOOT_WEBHOOK_SECRET);
        runtime.device_id.clone_from(&config.gateway_device_id);
        runtime.own_jid = config
            .options
            .own_jid
            .as_deref()
            .and_then(|j| Jid::parse(j).ok())
            .or_else(|| {
                config
                    .gateway_device_id
                    .as_deref()
                    .and_then(|d| Jid::parse(d).ok())
            });
        Ok(runtime)
    }

    /// What a Chatwoot attachment URL may be fetched under: first from Chatwoot's origins,
    /// redirected at most to its storage; private addresses also at `media_origins`.
    pub(crate) fn chatwoot_media_policy(&self) -> MediaPolicy {
        MediaPolicy {
            first: self
                .chatwoot_origins
                .lock()
                .map(|o| o.clone())
                .unwrap_or_default(),
            private_ok: media_origins(&self.options),
            storage_redirect: true,
        }
    }

    /// What a gateway's media URL (wuzapi's S3 link) may be fetched under: public addresses,
    /// or the instance's `media_origins`; no redirect to another origin.
    pub(crate) fn gateway_media_policy(&self) -> MediaPolicy {
        MediaPolicy {
            first: Vec::new(),
            private_ok: media_origins(&self.options),
            storage_redirect: false,
        }
    }

    /// Remembers the origins of attachment URLs Chatwoot's API named.
    pub(crate) fn learn_chatwoot_origins<'a>(&self, urls: impl Iterator<Item = &'a str>) {
        if let Ok(mut known) = self.chatwoot_origins.lock() {
            for origin in urls.filter_map(Origin::parse) {
                if !known.contains(&origin) {
                    known.push(origin);
                }
            }
        }
    }

    /// Waits for a Chatwoot request permit.
    pub(crate) async fn chatwoot_permit(&self) {
        self.chatwoot_limit.acquire().await;
    }
}

/// `media_origins` as origins.
fn media_origins(options: &InstanceOptions) -> Vec<Origin> {
    options
        .media_origins
        .iter()
        .filter_map(|o| Origin::parse(o))
        .collect()
}

/// What the session notes of an instance last said (see `inbound::connection`).
#[derive(Debug, Default)]
pub(crate) struct SessionNotes {
    /// The state the last note was about.
    pub(crate) last: Option<zapwoot_store::SessionState>,
    /// When a note about each state was last posted, unix milliseconds.
    pub(crate) posted_ms: std::collections::HashMap<zapwoot_store::SessionState, i64>,
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;

    #[tokio::test(start_paused = true)]
    async fn token_bucket_paces_requests() {
        let bucket = TokenBucket::new(10);
        let start = tokio::time::Instant::now();
        for _ in 0..30 {
            bucket.acquire().await;
        }
        // 10 in the initial burst, then 20 more at 10 per second.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= std::time::Duration::from_millis(1900),
            "{elapsed:?}"
        );
        assert!(
            elapsed <= std::time::Duration::from_millis(2100),
            "{elapsed:?}"
        );
    }
}
