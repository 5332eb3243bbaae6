//! Command line: flags with environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// zapwoot: WhatsApp (wuzapi, go-whatsapp-web-multidevice) ⇄ Chatwoot bridge.
#[derive(Debug, Parser)]
#[command(name = "zapwoot", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Settings every subcommand shares.
#[derive(Debug, Clone, Args)]
pub(crate) struct Global {
    /// A TOML file with any of these settings and instances to upsert at start.
    #[arg(long, env = "ZAPWOOT_CONFIG", global = true)]
    pub(crate) config: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://…`.
    #[arg(
        long,
        env = "ZAPWOOT_DATABASE_URL",
        default_value = "sqlite://zapwoot.db",
        global = true
    )]
    pub(crate) database_url: String,
    /// 32-byte key (base64) sealing stored secrets.
    #[arg(
        long,
        env = "ZAPWOOT_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    pub(crate) secret_key: Option<String>,
    /// Tracing filter (`info`, `zapwoot=debug`, …).
    #[arg(long, env = "ZAPWOOT_LOG", default_value = "info", global = true)]
    pub(crate) log: String,
    /// Log format: `pretty` or `json`.
    #[arg(
        long,
        env = "ZAPWOOT_LOG_FORMAT",
        default_value = "pretty",
        global = true
    )]
    pub(crate) log_format: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the bridge.
    Serve(Serve),
    /// Apply pending database migrations.
    Migrate,
    /// Manage instances (one WhatsApp number ⇄ one Chatwoot inbox).
    #[command(subcommand)]
    Instance(InstanceCommand),
    /// Inspect and replay stored events.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Manage outbound webhook subscriptions and their deliveries.
    #[command(subcommand)]
    Subscription(SubscriptionCommand),
    /// Manage tenants (the clients instances, subscriptions and keys belong to).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys (scoped, optionally limited to a tenant or instances).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Send a message through an instance, as the send API does (durably, mirrored into
    /// Chatwoot); a running bridge sends it.
    Send(SendArgs),
    /// Check the configuration, the store and every instance's upstreams.
    Doctor,
    /// Copy a SQLite database consistently while the bridge runs, with its key file beside
    /// the copy (`FILE.key`); restore by putting both back with the bridge stopped.
    Backup {
        /// The new file (never overwritten).
        file: PathBuf,
    },
    /// Run the bridge with a fake gateway and a fake Chatwoot and play a conversation.
    Demo,
    /// Ask a running bridge's `/healthz` (exit 0 when it answers ok): for container health
    /// checks, where no HTTP client is installed.
    Healthcheck(HealthcheckArgs),
    /// Print the shell completion script for `zapwoot` (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `zapwoot manpage | man -l -`; with `--out-dir`,
    /// write it and one page per subcommand (`zapwoot-serve.1`, …) there instead.
    Manpage {
        /// The directory to write every page into.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
}

/// `zapwoot healthcheck`.
#[derive(Debug, Clone, Args)]
pub(crate) struct HealthcheckArgs {
    /// The bridge's listen address (an unspecified address such as `0.0.0.0` means this host).
    #[arg(long, env = "ZAPWOOT_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    pub(crate) timeout: u64,
}

/// `serve` settings.
#[derive(Debug, Clone, Args)]
pub(crate) struct Serve {
    /// Listen address.
    #[arg(long, env = "ZAPWOOT_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Bearer token of the admin API (`/api/v1`); without it the admin API is off.
    #[arg(long, env = "ZAPWOOT_ADMIN_TOKEN", hide_env_values = true)]
    pub(crate) admin_token: Option<String>,
    /// Base of the webhook URLs handed to upstreams (default `http://{listen}`).
    #[arg(long, env = "ZAPWOOT_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// Largest gateway webhook body, bytes (inline media makes them large).
    #[arg(long, env = "ZAPWOOT_MAX_GATEWAY_BODY", default_value_t = 16 * 1024 * 1024)]
    pub(crate) max_gateway_body: usize,
    /// Largest Chatwoot webhook body, bytes.
    #[arg(long, env = "ZAPWOOT_MAX_CHATWOOT_BODY", default_value_t = 1024 * 1024)]
    pub(crate) max_chatwoot_body: usize,
    /// Most webhook body bytes held in memory at once, over all connections; beyond it new
    /// webhooks wait briefly, then get 503 (upstreams retry).
    #[arg(long, env = "ZAPWOOT_MAX_INFLIGHT_BODY", default_value_t = 256 * 1024 * 1024)]
    pub(crate) max_inflight_body: usize,
    /// Most open connections from one client address; more are closed at once.
    #[arg(
        long,
        env = "ZAPWOOT_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    pub(crate) max_connections_per_address: usize,
    /// Days the raw body of a processed event is kept (inline media makes them large).
    #[arg(long, env = "ZAPWOOT_RETAIN_BODIES_DAYS", default_value_t = 7)]
    pub(crate) retain_bodies_days: u32,
    /// Days a processed event stays in the audit log. Failed and dead events are never pruned.
    #[arg(long, env = "ZAPWOOT_RETAIN_EVENTS_DAYS", default_value_t = 30)]
    pub(crate) retain_events_days: u32,
}

/// `zapwoot send NAME --to … (--text … | --file PATH)`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("content").required(true).multiple(true).args(["text", "file"])))]
pub(crate) struct SendArgs {
    /// The instance.
    pub(crate) name: String,
    /// A phone number in international form, or a JID (`…@s.whatsapp.net`, `…@g.us`, `…@lid`).
    #[arg(long)]
    pub(crate) to: String,
    /// The text (with `--file`, its caption).
    #[arg(long)]
    pub(crate) text: Option<String>,
    /// A file to send.
    #[arg(long)]
    pub(crate) file: Option<PathBuf>,
    /// The file's MIME type (default: from its extension).
    #[arg(long, requires = "file")]
    pub(crate) mime: Option<String>,
    /// The message it quotes: a WhatsApp id, or `chatwoot:<message id>`.
    #[arg(long)]
    pub(crate) reply_to: Option<String>,
    /// Sending the same key again answers the same message instead of sending another.
    #[arg(long)]
    pub(crate) idempotency_key: Option<String>,
    /// Do not show it in the customer's Chatwoot conversation.
    #[arg(long)]
    pub(crate) no_mirror: bool,
    /// Print the status as it changes, until delivered, read or failed.
    #[arg(long)]
    pub(crate) wait: bool,
    /// With `--wait`, give up after this many seconds.
    #[arg(long, default_value_t = 120, requires = "wait")]
    pub(crate) timeout: u64,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InstanceCommand {
    /// Add an instance from an instance document (JSON, from `--file` or standard input).
    Add {
        /// The document; `-` or absent reads standard input.
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// List instances.
    List,
    /// Show an instance (secrets masked).
    Show {
        /// Name.
        name: String,
    },
    /// Merge a partial document into an instance (`--file` or standard input).
    Update {
        /// Name.
        name: String,
        /// The partial document.
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        secrets: SecretArgs,
    },
    /// Remove an instance and everything recorded for it.
    Remove {
        /// Name.
        name: String,
    },
    /// Check the instance's Chatwoot and gateway.
    Test {
        /// Name.
        name: String,
    },
    /// The instance's WhatsApp session as the bridge recorded it: state, who, since when, why.
    Status {
        /// Name.
        name: String,
    },
    /// Pair a phone: draws the QR code in the terminal (again each time it rotates), or with
    /// `--phone` prints a linking code to type on that phone; waits until it paired.
    Connect {
        /// Name.
        name: String,
        /// Pair by linking code for this phone number (international, with country code).
        #[arg(long)]
        phone: Option<String>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 180)]
        timeout: u64,
    },
    /// Make a link (`/pair/<token>`) that pairs this instance's phone without an account:
    /// prints its URL, the only time the token is shown.
    PairingLink {
        /// Name.
        name: String,
        /// Minutes until it expires (1 to 1440).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=1440))]
        minutes: u64,
    },
    /// Import the last N days of the gateway's chats into Chatwoot (resumes an unfinished
    /// import of the same length); a running bridge relays what is queued.
    Import {
        /// Name.
        name: String,
        /// Days of history (1 to 365).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=365))]
        days: u32,
    },
    /// Find messages whose webhook never came, both ways (bridge down, timeouts, gateway gave
    /// up) and queue them; a running bridge relays them.
    Reconcile {
        /// Name.
        name: String,
        /// Also look at resolved conversations active within this many hours.
        #[arg(long, default_value_t = 24)]
        hours: u64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// List events, newest first.
    List {
        /// Only this instance.
        #[arg(long)]
        instance: Option<String>,
        /// Only this status (pending, running, done, failed, dead, ignored).
        #[arg(long)]
        status: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Show one event with its body.
    Show {
        /// Event id.
        id: i64,
    },
    /// Put an event back in the queue.
    Retry {
        /// Event id.
        id: i64,
    },
}

/// `zapwoot subscription …`.
#[derive(Debug, Subcommand)]
pub(crate) enum SubscriptionCommand {
    /// Add a subscription from a subscription document (JSON, from `--file` or standard input);
    /// prints it with its secret (shown this once).
    Add {
        /// The document; `-` or absent reads standard input.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// List subscriptions.
    List,
    /// Show a subscription.
    Show {
        /// Subscription id.
        id: i64,
    },
    /// Merge a partial document into a subscription (`{"enabled": true}` re-enables one).
    Update {
        /// Subscription id.
        id: i64,
        /// The partial document; `-` or absent reads standard input.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Remove a subscription and its deliveries.
    Remove {
        /// Subscription id.
        id: i64,
    },
    /// List deliveries with their attempts, newest first.
    Deliveries {
        /// Subscription id.
        id: i64,
        /// Only in this state (pending, running, done, failed, dead).
        #[arg(long)]
        state: Option<String>,
        /// Recorded at or after (RFC 3339 or unix milliseconds).
        #[arg(long)]
        since: Option<String>,
        /// Recorded before (RFC 3339 or unix milliseconds).
        #[arg(long)]
        until: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print full JSON (payloads and every attempt).
        #[arg(long)]
        json: bool,
    },
    /// Send deliveries again: one (`--delivery`) or those recorded in a time range.
    Replay {
        /// Subscription id.
        id: i64,
        /// The delivery to send again.
        #[arg(long, conflicts_with_all = ["since", "until", "include_succeeded"])]
        delivery: Option<i64>,
        /// Start of the range (RFC 3339 or unix milliseconds).
        #[arg(long, required_unless_present = "delivery")]
        since: Option<String>,
        /// End of the range (default: now).
        #[arg(long)]
        until: Option<String>,
        /// Also send deliveries that succeeded (default: failed and given-up ones).
        #[arg(long)]
        include_succeeded: bool,
    },
    /// Replace the signing secret; the old one keeps signing for the overlap.
    Rotate {
        /// Subscription id.
        id: i64,
        /// Hours the old secret still signs.
        #[arg(long, default_value_t = 24)]
        overlap_hours: u64,
    },
    /// Queue a test event (`endpoint.test`) and wait for a running bridge to send it.
    Test {
        /// Subscription id.
        id: i64,
        /// Seconds to wait for the first attempt.
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
}

/// Secrets of `instance add|update`, from flags or (better: not visible in `ps`) the
/// environment; each overrides the same field of the document.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct SecretArgs {
    /// Chatwoot access token (`chatwoot.api_token`).
    #[arg(long, env = "ZAPWOOT_CHATWOOT_API_TOKEN", hide_env_values = true)]
    pub(crate) chatwoot_api_token: Option<String>,
    /// Chatwoot inbox webhook secret (`chatwoot.webhook_secret`).
    #[arg(long, env = "ZAPWOOT_CHATWOOT_WEBHOOK_SECRET", hide_env_values = true)]
    pub(crate) chatwoot_webhook_secret: Option<String>,
    /// wuzapi user token (`gateway.token`).
    #[arg(long, env = "ZAPWOOT_GATEWAY_TOKEN", hide_env_values = true)]
    pub(crate) gateway_token: Option<String>,
    /// wuzapi HMAC key (`gateway.hmac_key`).
    #[arg(long, env = "ZAPWOOT_GATEWAY_HMAC_KEY", hide_env_values = true)]
    pub(crate) gateway_hmac_key: Option<String>,
    /// GOWA basic-auth password (`gateway.basic_auth.password`).
    #[arg(long, env = "ZAPWOOT_GATEWAY_PASSWORD", hide_env_values = true)]
    pub(crate) gateway_password: Option<String>,
    /// GOWA webhook secret (`gateway.webhook_secret`).
    #[arg(long, env = "ZAPWOOT_GATEWAY_WEBHOOK_SECRET", hide_env_values = true)]
    pub(crate) gateway_webhook_secret: Option<String>,
}

impl SecretArgs {
    /// Writes the given secrets into `doc`.
    pub(crate) fn apply(&self, doc: &mut serde_json::Value) {
        let fields = [
            (&self.chatwoot_api_token, &["chatwoot", "api_token"][..]),
            (
                &self.chatwoot_webhook_secret,
                &["chatwoot", "webhook_secret"][..],
            ),
            (&self.gateway_token, &["gateway", "token"][..]),
            (&self.gateway_hmac_key, &["gateway", "hmac_key"][..]),
            (
                &self.gateway_password,
                &["gateway", "basic_auth", "password"][..],
            ),
            (
                &self.gateway_webhook_secret,
                &["gateway", "webhook_secret"][..],
            ),
        ];
        for (value, path) in fields {
            let Some(value) = value else { continue };
            let patch = path.iter().rev().fold(
                serde_json::Value::String(value.clone()),
                |inner, key| serde_json::json!({ *key: inner }),
            );
            crate::document::merge(doc, &patch);
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Add a tenant.
    Add {
        /// Name (letters, digits, '-' and '_').
        name: String,
        /// Free text (the client's name).
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List tenants with what belongs to them.
    List,
    /// Show a tenant and its instances.
    Show {
        /// Name.
        name: String,
    },
    /// Remove a tenant nothing belongs to any more.
    Remove {
        /// Name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Make an API key and print it (the only time it is shown).
    Add {
        /// What the key is for.
        #[arg(long)]
        name: String,
        /// A scope it holds (repeat for more): admin, instances:read, instances:write,
        /// messages:send, events:read, events:retry, subscriptions:read, subscriptions:write.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Limit it to this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Limit it to this instance (repeat for more).
        #[arg(long = "instance")]
        instances: Vec<String>,
        /// When it stops working (RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
        /// Most requests per minute.
        #[arg(long)]
        rate_per_minute: Option<u32>,
    },
    /// List keys (prefix, scopes, limits, use; never the key).
    List,
    /// Revoke a key (every replica refuses it within 5 s).
    Revoke {
        /// Its id.
        id: i64,
    },
}
