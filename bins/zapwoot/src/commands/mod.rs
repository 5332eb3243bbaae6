//! The one-shot subcommands: `migrate`, `instance …`, `events …`, `subscription …`, `send`,
//! `doctor`. They work on the store directly; a running `zapwoot serve` picks instance
//! changes up within seconds.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use zapwoot_store::{EventFilter, EventStatus, Store};

use crate::cli::{EventsCommand, Global, InstanceCommand};

mod access;
mod connect;
mod import;
mod send;
mod subscriptions;
use crate::document::to_document;
use crate::instances;
pub(crate) use access::{key, tenant};
pub(crate) use send::send;
pub(crate) use subscriptions::subscription;

fn public_url() -> String {
    std::env::var("ZAPWOOT_PUBLIC_URL")
        .ok()
        .or_else(|| {
            std::env::var("ZAPWOOT_LISTEN")
                .ok()
                .map(|l| format!("http://{l}"))
        })
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned())
}

pub(super) fn print_json(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Reads a document from `file`, or standard input for `-`/none (secrets never on the
/// command line, so never in shell history or `ps`).
pub(super) fn read_document(file: Option<&PathBuf>) -> Result<Vec<u8>> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))
        }
        _ => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading standard input")?;
            Ok(bytes)
        }
    }
}

pub(super) fn fail(f: &instances::AdminError) -> anyhow::Error {
    anyhow::anyhow!("{f}")
}

/// `zapwoot migrate`.
pub(crate) async fn migrate(global: &Global) -> Result<()> {
    let store = crate::sealing::open_store(global).await?;
    let ran = store.migrate().await?;
    println!("database up to date ({ran} migrations applied now; the rest were applied on open)");
    Ok(())
}

/// `zapwoot instance …`.
pub(crate) async fn instance(global: &Global, command: InstanceCommand) -> Result<()> {
    let store = crate::sealing::open_store(global).await?;
    let public = public_url();
    match command {
        InstanceCommand::Add { file, secrets } => {
            let mut doc =
                instances::parse_document(&read_document(file.as_ref())?).map_err(|e| fail(&e))?;
            secrets.apply(&mut doc);
            let created = instances::create(&store, &doc)
                .await
                .map_err(|e| fail(&e))?;
            print_json(&to_document(&created, true, &public))
        }
        InstanceCommand::List => {
            for i in store.instances().list().await? {
                let c = &i.config;
                println!(
                    "{}\t{}\t{}\tinbox={}\t{}",
                    c.name,
                    c.gateway_kind,
                    c.gateway_url,
                    c.chatwoot_inbox_id
                        .map_or_else(|| "-".to_owned(), |i| i.to_string()),
                    if c.enabled { "enabled" } else { "disabled" }
                );
            }
            Ok(())
        }
        InstanceCommand::Show { name } => {
            let i = instances::get(&store, &name).await.map_err(|e| fail(&e))?;
            print_json(&to_document(&i, true, &public))
        }
        InstanceCommand::Update {
            name,
            file,
            secrets,
        } => {
            let mut patch =
                instances::parse_document(&read_document(file.as_ref())?).map_err(|e| fail(&e))?;
            secrets.apply(&mut patch);
            let updated = instances::update(&store, &name, &patch)
                .await
                .map_err(|e| fail(&e))?;
            print_json(&to_document(&updated, true, &public))
        }
        InstanceCommand::PairingLink { name, minutes } => {
            let i = instances::get(&store, &name).await.map_err(|e| fail(&e))?;
            let (token, hash) = crate::console::pair::new_token()
                .ok_or_else(|| anyhow::anyhow!("no random numbers"))?;
            let expires =
                std::time::SystemTime::now() + std::time::Duration::from_secs(minutes * 60);
            let link = store
                .pairing_links()
                .create(&hash, i.id, "cli", expires)
                .await?;
            print_json(&json!({
                "id": link.id,
                "instance": name,
                "url": format!("{}/pair/{token}", public.trim_end_matches('/')),
                "expires_at": jiff::Timestamp::from_millisecond(link.expires_at_ms)?.to_string(),
            }))
        }
        InstanceCommand::Remove { name } => {
            if !store.instances().delete(&name).await? {
                bail!("no instance named {name:?}");
            }
            println!("removed {name}");
            Ok(())
        }
        InstanceCommand::Reconcile { name, hours } => {
            let i = instances::get(&store, &name).await.map_err(|e| fail(&e))?;
            let engine =
                zapwoot_sync::Engine::new(store.clone(), zapwoot_sync::ActivityBus::default());
            let since = std::time::SystemTime::now()
                - std::time::Duration::from_secs(hours.clamp(1, 24 * 90) * 3600);
            let reports = instances::reconcile(&engine, &i, since)
                .await
                .map_err(|e| fail(&e))?;
            for r in &reports {
                match &r.skipped {
                    Some(why) => println!("{}: skipped ({why})", r.direction.as_str()),
                    None => println!(
                        "{}: {} conversations looked at, {} messages found, {} had no webhook and are queued",
                        r.direction.as_str(),
                        r.scanned,
                        r.candidates,
                        r.recorded
                    ),
                }
            }
            Ok(())
        }
        InstanceCommand::Import { name, days } => import::run(&store, &name, days).await,
        InstanceCommand::Status { name } => connect::status(&store, &name).await,
        InstanceCommand::Connect {
            name,
            phone,
            timeout,
        } => {
            connect::connect(
                &store,
                &name,
                phone.as_deref(),
                std::time::Duration::from_secs(timeout),
            )
            .await
        }
        InstanceCommand::Test { name } => {
            let i = instances::get(&store, &name).await.map_err(|e| fail(&e))?;
            let (report, ok) = instances::test(&i).await;
            print_json(&report)?;
            if !ok {
                bail!("instance {name} has problems (see above)");
            }
            Ok(())
        }
    }
}

/// `zapwoot events …`.
pub(crate) async fn events(global: &Global, command: EventsCommand) -> Result<()> {
    let store = crate::sealing::open_store(global).await?;
    match command {
        EventsCommand::List {
            instance,
            status,
            limit,
        } => {
            let mut filter = EventFilter::new().limit(limit.clamp(1, 10_000));
            if let Some(name) = instance {
                let i = instances::get(&store, &name).await.map_err(|e| fail(&e))?;
                filter = filter.instance(i.id);
            }
            if let Some(status) = status {
                let Some(status) = EventStatus::parse(&status) else {
                    bail!(
                        "unknown status {status:?}: pending, running, done, failed, dead or ignored"
                    );
                };
                filter = filter.status(status);
            }
            for e in store.events().list(filter).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\tattempts={}\t{}",
                    e.id,
                    e.source.as_str(),
                    e.kind,
                    e.status.as_str(),
                    e.lane,
                    e.attempts,
                    e.last_error.unwrap_or_default()
                );
            }
            Ok(())
        }
        EventsCommand::Show { id } => {
            let Some(e) = store.events().get(id).await? else {
                bail!("no event {id}")
            };
            let instance = store.instances().by_id(e.instance_id).await?;
            let mut body =
                String::from_utf8_lossy(e.body.as_deref().unwrap_or_default()).into_owned();
            for secret in instance.iter().flat_map(|i| i.config.secrets.values()) {
                if secret.expose().len() >= 4 {
                    body = body.replace(secret.expose(), "***");
                }
            }
            print_json(&json!({
                "id": e.id, "instance": instance.map(|i| i.config.name), "source": e.source.as_str(),
                "kind": e.kind, "status": e.status.as_str(), "attempts": e.attempts, "lane": e.lane,
                "dedupe_key": e.dedupe_key, "last_error": e.last_error,
                "body": serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body)),
            }))
        }
        EventsCommand::Retry { id } => {
            if store.events().retry(id).await? {
                println!("event {id} queued again");
                Ok(())
            } else {
                bail!(
                    "event {id} cannot be retried (absent, being processed, or its body was pruned)"
                )
            }
        }
    }
}

/// `zapwoot doctor`: every check, with what to do about failures; exit 1 if any failed.
pub(crate) async fn doctor(global: &Global) -> Result<()> {
    let mut problems = 0;
    let mut report = |ok: bool, what: &str, fix: &str| {
        if ok {
            println!("ok    {what}");
        } else {
            problems += 1;
            println!("FAIL  {what}\n      fix: {fix}");
        }
    };
    let sealer = crate::sealing::sealer(global);
    report(
        sealer.is_ok(),
        "secret key",
        "set ZAPWOOT_SECRET_KEY to 32 random bytes in base64 (`openssl rand -base64 32`)",
    );
    let store: Option<Store> = match crate::sealing::open_store(global).await {
        Ok(s) => {
            report(true, "database reachable and migrated", "");
            Some(s)
        }
        Err(e) => {
            report(
                false,
                &format!("database: {e:#}"),
                "check ZAPWOOT_DATABASE_URL and that the database is running",
            );
            None
        }
    };
    if let Some(store) = store {
        match store.instances().list().await {
            Ok(list) if list.is_empty() => {
                report(
                    false,
                    "no instances",
                    "add one: POST /api/v1/instances or `zapwoot instance add`",
                );
            }
            Ok(list) => {
                for i in list {
                    let (checks, ok) = instances::test(&i).await;
                    let detail = ["chatwoot_profile", "chatwoot_inbox", "gateway"]
                        .iter()
                        .filter(|k| checks.pointer(&format!("/{k}/ok")) == Some(&json!(false)))
                        .map(|k| {
                            format!(
                                "{k}: {}",
                                checks
                                    .pointer(&format!("/{k}/detail"))
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    report(
                        ok,
                        &format!("instance {} {}", i.config.name, detail),
                        "check the instance's URLs and tokens (`zapwoot instance show`), provision it, pair the phone",
                    );
                    for warning in instances::security_warnings(&i) {
                        println!("      {warning}");
                    }
                }
            }
            Err(e) => report(
                false,
                &format!("reading instances: {e}"),
                "the secret key must be the one the instances were stored with",
            ),
        }
    }
    if problems > 0 {
        bail!("{problems} problem(s) found");
    }
    println!("everything looks fine");
    Ok(())
}

/// `zapwoot healthcheck`: one `GET /healthz` over plain HTTP/1.1; ok only for a 200 answer
/// saying `"status":"ok"`.
pub(crate) async fn healthcheck(args: &crate::cli::HealthcheckArgs) -> Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut addr = args.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream
            .write_all(
                format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut answer = Vec::new();
        stream.take(64 * 1024).read_to_end(&mut answer).await?;
        anyhow::Ok(String::from_utf8_lossy(&answer).into_owned())
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(args.timeout), ask)
        .await
        .with_context(|| format!("no answer from {addr} within {} s", args.timeout))??;
    let status = answer.lines().next().unwrap_or_default();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") && body.contains("\"ok\"") {
        println!("ok");
        Ok(())
    } else {
        bail!("unhealthy: {status}")
    }
}

/// `zapwoot backup FILE`: the database copied while in use, and the key file that opens its
/// sealed secrets copied beside it (mode 0600 both).
pub(crate) async fn backup(global: &Global, file: &std::path::Path) -> Result<()> {
    let store = crate::sealing::open_store(global).await?;
    let key_file = global
        .secret_key
        .is_none()
        .then(|| crate::sealing::sqlite_key_file(&global.database_url))
        .flatten();
    let key_copy = key_file.as_ref().map(|_| {
        let mut name = file.as_os_str().to_owned();
        name.push(".key");
        PathBuf::from(name)
    });
    if let Some(copy) = &key_copy
        && copy.exists()
    {
        bail!("{} exists: not overwritten", copy.display());
    }
    store.backup_to(file).await?;
    match (key_file, key_copy) {
        (Some(key), Some(copy)) => {
            let text = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            crate::sealing::write_private(&copy, &text)
                .with_context(|| format!("writing {}", copy.display()))?;
            println!(
                "backup written to {} and its key to {}",
                file.display(),
                copy.display()
            );
        }
        _ => println!(
            "backup written to {}; keep ZAPWOOT_SECRET_KEY with it: the sealed secrets need it",
            file.display()
        ),
    }
    Ok(())
}
