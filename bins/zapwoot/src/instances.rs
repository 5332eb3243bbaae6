//! Instance management shared by the admin API and the CLI: the same validation, the same
//! provisioning and the same checks, whichever front end calls them.

use serde_json::{Value, json};
use zapwoot_chatwoot::{Client, NewApiInbox};
use zapwoot_store::{GatewayKind, Instance, Store, StoreError};
use zapwoot_sync::{GatewayClient, InstanceRuntime, secret_names};

use crate::document::{self, to_document, to_new_instance};

/// Why an admin operation (instances, subscriptions) failed, with its HTTP answer.
#[derive(Debug)]
pub(crate) enum AdminError {
    /// 422: a field is invalid.
    Invalid(String, String),
    /// 400: the body is not JSON.
    Malformed(String),
    /// 404.
    NotFound(String),
    /// 409: the name is taken.
    Conflict(String),
    /// 502: an upstream refused or could not be reached.
    Upstream(String),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(what),
            other => Self::Store(other),
        }
    }
}

impl From<document::Invalid> for AdminError {
    fn from((field, message): document::Invalid) -> Self {
        Self::Invalid(field, message)
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(field, message) => write!(f, "invalid {field}: {message}"),
            Self::Malformed(m) => write!(f, "malformed document: {m}"),
            Self::NotFound(name) => write!(f, "no instance named {name:?}"),
            Self::Conflict(what) => write!(f, "conflict: {what}"),
            Self::Upstream(m) => write!(f, "upstream error: {m}"),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

/// Parses a JSON document.
pub(crate) fn parse_document(bytes: &[u8]) -> Result<Value, AdminError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| AdminError::Malformed(e.to_string()))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(AdminError::Malformed("expected a JSON object".to_owned()))
    }
}

/// Creates an instance from a document.
pub(crate) async fn create(store: &Store, doc: &Value) -> Result<Instance, AdminError> {
    let new = to_new_instance(doc)?;
    if store.instances().get(&new.name).await?.is_some() {
        return Err(AdminError::Conflict(format!(
            "an instance named {:?} exists",
            new.name
        )));
    }
    Ok(store.instances().create(new).await?)
}

/// The named instance.
pub(crate) async fn get(store: &Store, name: &str) -> Result<Instance, AdminError> {
    store
        .instances()
        .get(name)
        .await?
        .ok_or_else(|| AdminError::NotFound(name.to_owned()))
}

/// Merges `patch` (JSON merge patch; `"***"` keeps a secret) into the named instance.
pub(crate) async fn update(
    store: &Store,
    name: &str,
    patch: &Value,
) -> Result<Instance, AdminError> {
    let current = get(store, name).await?;
    let mut doc = to_document(&current, false, "");
    document::merge(&mut doc, patch);
    let new = to_new_instance(&doc)?;
    if new.name != name && store.instances().get(&new.name).await?.is_some() {
        return Err(AdminError::Conflict(format!(
            "an instance named {:?} exists",
            new.name
        )));
    }
    store
        .instances()
        .update(name, new)
        .await?
        .ok_or_else(|| AdminError::NotFound(name.to_owned()))
}

fn upstream(what: &str, e: &dyn std::fmt::Display) -> AdminError {
    AdminError::Upstream(format!("{what}: {e}"))
}

/// Creates the Chatwoot API inbox (or points the configured one at us), stores its webhook
/// secret and inbox id, and sets the wuzapi webhook. Returns the updated instance and notes
/// on what the operator still has to do by hand.
pub(crate) async fn provision(
    store: &Store,
    name: &str,
    public_url: &str,
) -> Result<(Instance, Vec<String>), AdminError> {
    let instance = get(store, name).await?;
    let doc = to_document(&instance, true, public_url);
    let chatwoot_hook = doc
        .pointer("/webhooks/chatwoot")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let gateway_hook = doc
        .pointer("/webhooks/gateway")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut config = instance.config.clone();
    let token = config
        .secrets
        .get(secret_names::CHATWOOT_API_TOKEN)
        .map(|t| t.expose().to_owned())
        .unwrap_or_default();
    let account = u64::try_from(config.chatwoot_account_id).unwrap_or_default();
    let chatwoot = Client::builder(&config.chatwoot_url, token)
        .build()
        .map_err(|e| upstream("chatwoot", &e))?
        .account(account);
    let inbox = match config.chatwoot_inbox_id.and_then(|i| u64::try_from(i).ok()) {
        Some(id) => chatwoot.set_inbox_webhook_url(id, &chatwoot_hook).await,
        None => {
            chatwoot
                .create_api_inbox(&NewApiInbox::new(
                    format!("WhatsApp {name}"),
                    &chatwoot_hook,
                ))
                .await
        }
    }
    .map_err(|e| upstream("chatwoot inbox", &e))?;
    let mut notes = Vec::new();
    config.chatwoot_inbox_id = i64::try_from(inbox.id).ok();
    match &inbox.secret {
        Some(secret) => {
            config.secrets.insert(
                secret_names::CHATWOOT_WEBHOOK_SECRET.to_owned(),
                zapwoot_store::SecretString::new(secret.expose()),
            );
        }
        None => notes.push(
            "Chatwoot did not return the inbox secret (Chatwoot < 4.13 or a non-admin token): its webhooks stay unsigned".to_owned(),
        ),
    }
    let client = GatewayClient::connect(&config).map_err(|e| upstream("gateway", &e))?;
    match client {
        GatewayClient::Wuzapi(wuzapi) => {
            wuzapi
                .set_webhook(&gateway_hook, &["All"])
                .await
                .map_err(|e| upstream("wuzapi webhook", &e))?;
            // Fresh wuzapi users deliver no media at all in webhooks (`media_delivery` ""):
            // switch them to inline base64 unless the operator chose S3.
            match wuzapi.media_delivery().await {
                Ok((Some(delivery), false)) if delivery.is_empty() => {
                    wuzapi
                        .deliver_media_inline()
                        .await
                        .map_err(|e| upstream("wuzapi media delivery", &e))?;
                    notes.push("wuzapi delivered no media in webhooks (a fresh user): set media_delivery to base64".to_owned());
                }
                Ok(_) => {}
                Err(e) => notes.push(format!(
                    "could not read wuzapi's media delivery ({e}); make sure media_delivery is base64, s3 or both"
                )),
            }
        }
        GatewayClient::Gowa(client) => {
            let manual = format!(
                "start GOWA with --webhook=\"{gateway_hook}\" (and --webhook-secret matching gateway.webhook_secret)"
            );
            match &config.gateway_device_id {
                Some(device) => {
                    let webhook_secret = config
                        .secrets
                        .get(secret_names::GATEWAY_WEBHOOK_SECRET)
                        .map(|s| s.expose().to_owned());
                    match client.set_device_webhook(device, &gateway_hook, webhook_secret.as_deref()).await {
                        Ok(()) => notes.push(format!("GOWA device {device} now posts its events to this instance")),
                        Err(e) if e.status() == Some(404) => notes.push(format!(
                            "GOWA has no per-device webhooks (< 8.10) or does not know device {device}: {manual}"
                        )),
                        Err(e) => return Err(upstream("gowa device webhook", &e)),
                    }
                }
                None => notes.push(format!(
                    "no gateway.device_id, so the webhook is server-wide: {manual}"
                )),
            }
        }
    }
    let updated = store
        .instances()
        .update(name, config)
        .await?
        .ok_or_else(|| AdminError::NotFound(name.to_owned()))?;
    // Opens the integration conversation (once per inbox), so agents have somewhere to type
    // `qr` before anything else happened.
    store
        .events()
        .record(zapwoot_sync::integration::welcome_event(
            updated.id, inbox.id,
        ))
        .await?;
    notes.extend(security_warnings(&updated));
    Ok((updated, notes))
}

/// What leaves `instance` open to forged webhooks, loudly, for `provision`, `test` and
/// `doctor`: an unsigned gateway (no wuzapi `hmac_key`, or GOWA's well-known default secret)
/// and an unsigned Chatwoot inbox.
pub(crate) fn security_warnings(instance: &Instance) -> Vec<String> {
    let c = &instance.config;
    let has = |name: &str| c.secrets.get(name).is_some_and(|v| !v.expose().is_empty());
    let mut warnings = Vec::new();
    if c.gateway_kind == GatewayKind::Wuzapi && !has(secret_names::GATEWAY_HMAC_KEY) {
        warnings.push("WARNING: wuzapi webhooks are unsigned (no gateway.hmac_key): anyone who learns the webhook URL can inject messages and media links; set an hmac_key of at least 32 characters here and in wuzapi".to_owned());
    }
    if c.gateway_kind == GatewayKind::Gowa
        && c.secrets
            .get(secret_names::GATEWAY_WEBHOOK_SECRET)
            .is_none_or(|v| v.expose().is_empty() || v.expose() == "secret")
    {
        warnings.push("WARNING: GOWA webhooks are signed with its well-known default secret: start GOWA with --webhook-secret and set the same gateway.webhook_secret".to_owned());
    }
    if !has(secret_names::CHATWOOT_WEBHOOK_SECRET) {
        warnings.push("WARNING: Chatwoot webhooks are unsigned (no inbox secret: Chatwoot < 4.13 or a non-admin token): every agent message is confirmed through Chatwoot's API before it is sent; upgrade Chatwoot or provision with an administrator's token".to_owned());
    }
    warnings
}

/// Checks Chatwoot (profile, inbox) and the gateway (reachable, logged in). Returns a report
/// and whether everything passed.
pub(crate) async fn test(instance: &Instance) -> (Value, bool) {
    let config = &instance.config;
    let token = config
        .secrets
        .get(secret_names::CHATWOOT_API_TOKEN)
        .map(|t| t.expose().to_owned())
        .unwrap_or_default();
    let mut ok = true;
    let mut check = |passed: bool, detail: String| {
        ok &= passed;
        json!({ "ok": passed, "detail": detail })
    };
    // The bridge's shared HTTP client: a probe every minute per instance must not build a TLS
    // configuration each time.
    let client = zapwoot_sync::upstream_http()
        .map_err(zapwoot_chatwoot::Error::Build)
        .and_then(|http| {
            Client::builder(&config.chatwoot_url, token)
                .http_client(http)
                .build()
        });
    let profile = match &client {
        Ok(c) => match c.profile().await {
            Ok(p) => check(true, format!("token of user {}", p.id)),
            Err(e) => check(false, e.to_string()),
        },
        Err(e) => check(false, e.to_string()),
    };
    let inbox = match (
        &client,
        config.chatwoot_inbox_id.and_then(|i| u64::try_from(i).ok()),
    ) {
        (Ok(c), Some(id)) => {
            match c
                .account(u64::try_from(config.chatwoot_account_id).unwrap_or_default())
                .inbox(id)
                .await
            {
                Ok(inbox) if inbox.is_api() => {
                    check(true, format!("API inbox {} ({})", inbox.id, inbox.name))
                }
                Ok(inbox) => check(
                    false,
                    format!(
                        "inbox {} is a {} inbox, not an API inbox",
                        inbox.id, inbox.channel_type
                    ),
                ),
                Err(e) => check(false, e.to_string()),
            }
        }
        (_, None) => check(false, "no inbox_id: provision the instance".to_owned()),
        (Err(e), _) => check(false, e.to_string()),
    };
    let gateway = match InstanceRuntime::connect(instance) {
        Ok(runtime) => match runtime.gateway.health().await {
            Ok(h) if h.logged_in => check(
                true,
                format!(
                    "logged in as {}",
                    h.jid.map(|j| j.to_string()).unwrap_or_default()
                ),
            ),
            Ok(h) => check(
                false,
                format!(
                    "reachable but not logged in (connected: {}); pair the phone",
                    h.connected
                ),
            ),
            Err(e) => check(false, e.to_string()),
        },
        Err(e) => check(false, e.to_string()),
    };
    (
        json!({ "ok": ok, "chatwoot_profile": profile, "chatwoot_inbox": inbox, "gateway": gateway,
                "warnings": security_warnings(instance) }),
        ok,
    )
}

/// The engine's runtime for `instance`, connected when the engine has none (the CLI).
fn ensure_runtime(engine: &zapwoot_sync::Engine, instance: &Instance) -> Result<(), AdminError> {
    if engine.runtime(instance.id).is_none() {
        let runtime = zapwoot_sync::InstanceRuntime::connect(instance)
            .map_err(|e| AdminError::Conflict(format!("the instance cannot run: {e}")))?;
        engine.set_runtime(runtime);
    }
    Ok(())
}

fn sync_failure(e: zapwoot_sync::SyncError) -> AdminError {
    match e {
        zapwoot_sync::SyncError::Store(e) => AdminError::Store(e),
        other => AdminError::Conflict(other.to_string()),
    }
}

/// Reconciles `instance` through `engine`, both ways: agent messages in conversations not
/// resolved or active since `since` whose Chatwoot webhook never came, and WhatsApp messages
/// since `since` whose gateway webhook never came, are recorded to be relayed. Returns one
/// report per direction.
pub(crate) async fn reconcile(
    engine: &zapwoot_sync::Engine,
    instance: &Instance,
    since: std::time::SystemTime,
) -> Result<Vec<zapwoot_sync::Reconciled>, AdminError> {
    ensure_runtime(engine, instance)?;
    let chatwoot = engine
        .reconcile_chatwoot(instance.id, since)
        .await
        .map_err(sync_failure)?;
    let gateway = engine
        .reconcile_gateway(instance.id, since)
        .await
        .map_err(sync_failure)?;
    Ok(vec![chatwoot, gateway])
}

/// The import job of the last `days` days for `instance` (resumed if one is unfinished).
pub(crate) async fn start_import(
    engine: &zapwoot_sync::Engine,
    instance: &Instance,
    days: u32,
) -> Result<zapwoot_store::ImportJob, AdminError> {
    ensure_runtime(engine, instance)?;
    engine
        .start_import(instance.id, days)
        .await
        .map_err(sync_failure)
}

/// The JSON shape of an import job.
pub(crate) fn import_json(job: &zapwoot_store::ImportJob, instance: &str) -> Value {
    serde_json::json!({
        "id": job.id,
        "instance": instance,
        "days": job.days,
        "since": job.since,
        "until": job.until,
        "state": job.state.as_str(),
        "chats_total": job.chats.len(),
        "chats_done": job.chats_done,
        "messages_found": job.messages_found,
        "messages_queued": job.messages_queued,
        "error": job.error,
        "created_at_ms": job.created_at_ms,
        "updated_at_ms": job.updated_at_ms,
        "finished_at_ms": job.finished_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zapwoot_store::{Sealer, SealingKey, StoreOptions};

    async fn store(db: &zapwoot_testkit::Db) -> Store {
        let sealer = Sealer::new(SealingKey::from_bytes(&[7; 32]).unwrap());
        Store::open(&db.url(), StoreOptions::with_sealer(sealer))
            .await
            .unwrap()
    }

    fn doc(name: &str) -> Value {
        json!({
            "name": name,
            "gateway": { "kind": "wuzapi", "base_url": "http://127.0.0.1:8080", "token": "tok" },
            "chatwoot": { "base_url": "http://127.0.0.1:3000", "account_id": 1, "api_token": "cw" },
        })
    }

    #[test]
    fn documents_must_be_json_objects() {
        assert!(parse_document(br#"{"name":"a"}"#).is_ok());
        for bad in [&b"[1]"[..], b"\"text\"", b"{not json"] {
            assert!(matches!(parse_document(bad), Err(AdminError::Malformed(_))));
        }
    }

    #[tokio::test]
    async fn create_get_update_answer_conflicts_and_unknown_names() {
        let db = zapwoot_testkit::Db::sqlite();
        let store = store(&db).await;
        let alpha = create(&store, &doc("alpha")).await.unwrap();
        assert_eq!(get(&store, "alpha").await.unwrap().id, alpha.id);
        assert!(matches!(
            create(&store, &doc("alpha")).await,
            Err(AdminError::Conflict(_))
        ));
        assert!(matches!(
            get(&store, "nope").await,
            Err(AdminError::NotFound(_))
        ));
        create(&store, &doc("beta")).await.unwrap();

        // A patch keeps what it does not name (and masked secrets), and is validated whole.
        let patched = update(
            &store,
            "alpha",
            &json!({ "chatwoot": { "api_token": "***", "inbox_id": 4 } }),
        )
        .await
        .unwrap();
        assert_eq!(patched.config.chatwoot_inbox_id, Some(4));
        assert_eq!(
            patched.config.secrets[secret_names::CHATWOOT_API_TOKEN].expose(),
            "cw"
        );
        let invalid = update(&store, "alpha", &json!({ "chatwoot": { "account_id": 0 } })).await;
        assert!(
            matches!(invalid, Err(AdminError::Invalid(field, _)) if field == "chatwoot.account_id")
        );
        assert!(matches!(
            update(&store, "alpha", &json!({ "name": "beta" })).await,
            Err(AdminError::Conflict(_))
        ));
        assert!(matches!(
            update(&store, "nope", &json!({})).await,
            Err(AdminError::NotFound(_))
        ));
        assert_eq!(
            get(&store, "alpha").await.unwrap().config.chatwoot_inbox_id,
            Some(4)
        );
    }

    #[tokio::test]
    async fn unsigned_webhooks_are_warned_about() {
        let db = zapwoot_testkit::Db::sqlite();
        let store = store(&db).await;
        let plain = create(&store, &doc("plain")).await.unwrap();
        let warnings = security_warnings(&plain);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("hmac_key") && warnings[1].contains("Chatwoot"));

        let mut signed = doc("signed");
        signed["gateway"]["hmac_key"] = json!("k".repeat(32));
        signed["chatwoot"]["webhook_secret"] = json!("whsec");
        let signed = create(&store, &signed).await.unwrap();
        assert!(security_warnings(&signed).is_empty());
    }
}
